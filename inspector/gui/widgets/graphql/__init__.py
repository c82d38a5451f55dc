"""The GraphQL follow-up panel and its parts (see :mod:`.panel`)."""
