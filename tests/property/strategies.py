"""Hypothesis strategies shared by the property tests: captures and their parts.

Text is generated without lone surrogates (category ``Cs``): they are not Unicode scalar
values, cannot be written as UTF-8, and import rejects them on purpose (see
tests/core/test_exchange.py); everything else in Unicode is fair game.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import strategies as st

from inspector.core.capture import (
    Capture,
    ResponseRecord,
    SignatureCheck,
    SignatureHeader,
    Verdict,
    split_target,
)
from inspector.core.events import parse_event
from tests.support.captures import event_body

# RFC 9110 tchar: any token of these is a method (and a header name).
TCHAR = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

texts = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=40)
tokens = st.text(alphabet=TCHAR, min_size=1, max_size=24)

methods = st.one_of(
    st.sampled_from(["POST", "PUT", "GET", "PATCH", "DELETE", "post", "FOOBAR", "M-SEARCH"]),
    tokens,
)

# Raw request targets: origin form with any printable path/query characters (percent-escapes
# kept as typed), plus the asterisk and absolute forms HTTP also allows.
_TARGET_CHARS = st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="?#")
targets = st.one_of(
    st.builds(
        lambda path, query: "/" + path + (f"?{query}" if query is not None else ""),
        st.text(_TARGET_CHARS, max_size=30),
        st.none() | st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=30),
    ),
    st.sampled_from(["*", "http://example.com/hooks?x=1", "/hooks/fluent?env=uat&a=%2F"]),
)

header_names = st.one_of(tokens, texts.filter(bool))
headers = st.lists(st.tuples(header_names, texts), max_size=6)
content_types = st.sampled_from(
    ["application/json", "text/plain; charset=utf-8", "application/octet-stream", "tëxt/ünïcode"]
)

bodies = st.one_of(
    st.binary(max_size=400),
    texts.map(lambda text: text.encode("utf-8")),
    st.builds(lambda name, ref: event_body(name=name, entityRef=ref), texts, texts),
)

moments = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)

signature_checks = st.builds(
    SignatureCheck,
    header=st.just(SignatureHeader.FLEX),
    verdict=st.sampled_from(Verdict),
    key_name=st.none() | texts.filter(bool),
    received_name=st.none() | texts.filter(bool),
    detail=texts,
    hint=st.none() | texts.filter(bool),
)


@st.composite
def captures(draw: st.DrawFn) -> Capture:
    """Any capture the listener could have stored: odd methods and targets, unicode and
    duplicate headers, binary or JSON bodies, any verdicts and response."""
    target = draw(targets)
    path, query = split_target(target)
    request_headers = draw(headers)
    if draw(st.booleans()):
        request_headers.insert(draw(st.integers(0, len(request_headers))), ("Host", draw(texts)))
    if draw(st.booleans()):
        request_headers.append(("Content-Type", draw(content_types)))
    body = draw(bodies)
    checks = tuple(
        draw(signature_checks.map(lambda check, h=header: _with_header(check, h)))
        for header in SignatureHeader
    )
    return Capture(
        id=draw(st.text("0123456789abcdef", min_size=32, max_size=32)),
        received_at=draw(moments),
        method=draw(methods),
        target=target,
        path=path,
        query=query,
        headers=tuple(request_headers),
        body=body,
        remote=draw(st.sampled_from(["127.0.0.1:50000", "[::1]:8080", ""]) | texts),
        tls=draw(st.booleans()),
        response=ResponseRecord(
            status=draw(st.integers(100, 599)),
            headers=tuple(draw(headers)),
            body=draw(st.binary(max_size=100) | texts.map(lambda text: text.encode("utf-8"))),
        ),
        signatures=checks,
        event=parse_event(body),
        rejected=draw(st.none() | texts.filter(bool)),
    )


def _with_header(check: SignatureCheck, header: SignatureHeader) -> SignatureCheck:
    return SignatureCheck(
        header,
        check.verdict,
        key_name=check.key_name,
        received_name=check.received_name,
        detail=check.detail,
        hint=check.hint,
    )
