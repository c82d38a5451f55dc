"""Fluent Webhook Inspector: capture, verify and follow up Fluent Commerce webhooks."""

__version__ = "0.1.0"
