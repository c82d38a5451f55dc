"""What the Fluent API client reports: exception types, and Fluent's error codes explained.

Every public call of the client maps library errors to a :class:`FluentApiError` subclass
whose message says what happened and what to do; :func:`explain_error` turns a code such as
``C0020E`` in a GraphQL ``errors[]`` entry into one line of advice.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

# The exception types live in the one tree (core/errors.py); they are re-exported here for
# the client's modules, which raise them.
from inspector.core.errors import (
    ApiTimeoutError,
    AuthError,
    FluentApiError,
    GraphQLResponseError,
    HttpStatusError,
    IntrospectionError,
    NetworkError,
    ProfileError,
)

__all__ = [
    "KNOWN_ERROR_CODES",
    "ApiTimeoutError",
    "AuthError",
    "FluentApiError",
    "GraphQLResponseError",
    "HttpStatusError",
    "IntrospectionError",
    "NetworkError",
    "ProfileError",
    "error_codes",
    "explain_error",
]


# Fluent error codes

KNOWN_ERROR_CODES: Final[Mapping[str, str]] = {
    "C0001E": (
        "Query too complex for Fluent's limit (11,111): ask for fewer fields, less nesting "
        "or smaller pages (first: N), or split the query."
    ),
    "C0020E": (
        "The API user lacks a permission this query needs (the message lists the missing "
        "ones): grant them to the user's role, or remove those fields."
    ),
    "C0100E": "A date argument is not a valid UTC date-time: use ISO 8601 (2024-01-31T00:00:00Z).",
    "C0101E": "A date-range filter needs a 'from' or a 'to' value: pass at least one.",
    "C0102E": "This date-range filter needs both 'from' and 'to': pass both.",
    "C0103E": "The date range is too long for the chosen granularity: shorten it or coarsen it.",
    "C0120E": (
        "The entity the operation refers to was not found: check the id/ref (and catalogue "
        "or retailer) passed in the variables."
    ),
}

_CODE_RE = re.compile(r"\b([CST])(\d{4})([EW])\b")
_PREFIX_HINTS = {
    "C": "a client-side problem you can usually fix in the query or the user's setup",
    "S": "a Fluent server-side problem: retry later, or contact Fluent support with the message",
    "T": "a problem in a third-party system Fluent called",
}


def error_codes(error: Mapping[str, Any]) -> list[str]:
    """Fluent codes (``C0020E``...) found in one ``errors[]`` entry, message and extensions."""
    texts = [str(error.get("message", ""))]
    extensions = error.get("extensions")
    if isinstance(extensions, Mapping):
        texts.extend(str(v) for v in extensions.values() if isinstance(v, str | int))
    found: list[str] = []
    for text in texts:
        for match in _CODE_RE.finditer(text):
            code = match.group(0)
            if code not in found:
                found.append(code)
    return found


def explain_error(error: Mapping[str, Any]) -> str | None:
    """A one-line explanation for a Fluent error code in an ``errors[]`` entry, if any."""
    for code in error_codes(error):
        if code in KNOWN_ERROR_CODES:
            return f"{code}: {KNOWN_ERROR_CODES[code]}"
    codes = error_codes(error)
    if codes:
        code = codes[0]
        kind = "warning" if code.endswith("W") else "error"
        return f"{code}: an unlisted Fluent {kind}, {_PREFIX_HINTS[code[0]]}."
    return None
