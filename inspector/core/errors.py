"""The small exception tree of the core library.

Every error meant for a user carries a message that says what happened and what to do;
the CLI and the GUI show ``str(error)`` as it is.
"""

from __future__ import annotations


class InspectorError(Exception):
    """Base class: something the user can act on. ``str()`` is the user-facing message."""


class KeyLoadError(InspectorError):
    """A public key could not be loaded (wrong type, garbage, truncated, empty...)."""


class KeyRingError(InspectorError):
    """The key ring file or a key name is unusable (duplicate name, unknown name...)."""


class StoreError(InspectorError):
    """The capture store cannot be used (disk full, locked, read-only, corrupt...)."""


class ListenerError(InspectorError):
    """The listener could not start (port busy, address not available, bad TLS files...)."""


class ExchangeError(InspectorError):
    """An export or import file is unusable."""
