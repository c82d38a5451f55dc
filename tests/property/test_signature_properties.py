"""Signature headers over generated input: any value, any header list gives a verdict by the
rules (never the fallback for an internal error), and a real signature verifies exactly for
its own body. Keys are generated in the test; fixed examples are signed by the openssl CLI."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inspector.core.capture import SignatureCheck, SignatureHeader, Verdict
from inspector.core.keys import PublicKey, load_public_key
from inspector.core.signatures import check_signature, verify_headers
from tests.support.crypto import (
    FLEX_HEADER,
    FLUENT_HEADER,
    crypto_sign,
    make_rsa_key,
    openssl_available,
    openssl_sign,
    spki_b64,
)

# What check_signature/verify_headers say when their own code raised: never on any input.
INTERNAL_ERROR = "could not be checked ("
DIGESTS = {SignatureHeader.FLEX: "md5", SignatureHeader.FLUENT: "sha512"}


@pytest.fixture(scope="module")
def keys() -> list[PublicKey]:
    return [
        load_public_key(spki_b64(make_rsa_key(1024)), "sydney"),
        load_public_key(spki_b64(make_rsa_key(2048)), "big"),
    ]


def _by_the_rules(check: SignatureCheck) -> None:
    assert INTERNAL_ERROR not in check.detail, check.detail
    assert check.detail


header_values = st.one_of(
    st.text(max_size=400),
    # Base64 of the right or wrong length: signatures that parse but do not verify.
    st.binary(max_size=300).map(lambda b: base64.b64encode(b).decode()),
)


@given(header=st.sampled_from(SignatureHeader), value=header_values, body=st.binary(max_size=200))
def test_any_header_value_gets_a_verdict_by_the_rules(
    keys: list[PublicKey], header: SignatureHeader, value: str, body: bytes
) -> None:
    check = check_signature(header, value, body, keys)
    _by_the_rules(check)
    assert check.header is header
    assert check.verdict in (Verdict.MALFORMED, Verdict.INVALID)
    no_keys = check_signature(header, value, body, [])
    _by_the_rules(no_keys)
    assert no_keys.verdict in (Verdict.MALFORMED, Verdict.NO_KEY)


names = st.sampled_from(
    [
        FLEX_HEADER,
        FLUENT_HEADER,
        "Flex.Signature",
        "FLUENT-SIGNATURE",
        "flex_signature",
        "HTTP_FLUENT_SIGNATURE",
        "x-fluent-signature",
        "signature",
        "content-type",
    ]
) | st.text(max_size=30)


@given(
    headers=st.lists(st.tuples(names, header_values), max_size=8),
    body=st.binary(max_size=200),
)
def test_any_header_list_gets_both_checks_in_order(
    keys: list[PublicKey], headers: list[tuple[str, str]], body: bytes
) -> None:
    flex, fluent = verify_headers(headers, body, keys)
    assert (flex.header, fluent.header) == (SignatureHeader.FLEX, SignatureHeader.FLUENT)
    for check in (flex, fluent):
        _by_the_rules(check)
        assert check.verdict is not Verdict.VALID


@given(
    header=st.sampled_from(SignatureHeader),
    body=st.binary(max_size=300),
    other=st.binary(max_size=300),
    padding=st.sampled_from(["", " ", "\t", " \r\n"]),
)
def test_a_real_signature_verifies_for_its_body_only(
    keys: list[PublicKey], header: SignatureHeader, body: bytes, other: bytes, padding: str
) -> None:
    value = padding + crypto_sign(make_rsa_key(1024), body, DIGESTS[header]) + padding  # type: ignore[arg-type]
    check = check_signature(header, value, body, keys)
    assert check.verdict is Verdict.VALID and check.key_name == "sydney"
    if other != body:
        assert check_signature(header, value, other, keys).verdict is Verdict.INVALID


@pytest.mark.skipif(not openssl_available(), reason="needs the openssl CLI")
@pytest.mark.parametrize("body", [b"", b"{}", "ünïcode ✓".encode(), bytes(range(256))])
def test_openssl_signatures_verify_in_both_headers(
    keys: list[PublicKey], body: bytes, tmp_path: Path
) -> None:
    private = make_rsa_key(2048)
    headers = [
        ("Flex.Signature", openssl_sign(private, body, "md5", tmp_path)),
        ("fluent-signature", openssl_sign(private, body, "sha512", tmp_path)),
    ]
    flex, fluent = verify_headers(headers, body, keys)
    assert (flex.verdict, fluent.verdict) == (Verdict.VALID, Verdict.VALID)
    assert flex.key_name == fluent.key_name == "big"
