"""Signature verification against signatures made by the openssl CLI and by cryptography."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from inspector.core.capture import SignatureCheck, SignatureHeader, Verdict
from inspector.core.keys import PublicKey, load_public_key
from inspector.core.signatures import check_signature, sign_headers, verify_headers
from tests.support.crypto import (
    FLEX_HEADER,
    FLUENT_HEADER,
    crypto_sign,
    make_rsa_key,
    openssl_sign,
    signed_headers,
    spki_b64,
)

FLEX = SignatureHeader.FLEX
FLUENT = SignatureHeader.FLUENT

EVENT = {
    "id": "5c1c8e1a-6bd9-4a63-9b7e-8f7e9c0f2c11",
    "name": "OrderCreated",
    "accountId": "ACME",
    "retailerId": "1",
    "entityId": "123",
    "entityRef": "HD_123",
    "entityType": "ORDER",
    "entityStatus": "BOOKED",
    "attributes": {"note": "café ☕"},
}
# Deliberately not what json.dumps would produce, so re-serialising changes the bytes.
BODY = json.dumps(EVENT, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _key(bits: int = 1024, index: int = 0, name: str = "sydney-sandbox") -> PublicKey:
    return load_public_key(spki_b64(make_rsa_key(bits, index)), name)


def _verdicts(checks: tuple[SignatureCheck, SignatureCheck]) -> tuple[Verdict, Verdict]:
    return checks[0].verdict, checks[1].verdict


# --------------------------------------------------------------------------- valid


@pytest.mark.parametrize("bits", [1024, 2048])
def test_openssl_signatures_verify(bits: int, tmp_path: Path) -> None:
    private = make_rsa_key(bits)
    headers = signed_headers(private, BODY, tmp_dir=tmp_path)
    flex, fluent = verify_headers(headers, BODY, [_key(bits)])
    assert flex == SignatureCheck(
        FLEX,
        Verdict.VALID,
        key_name="sydney-sandbox",
        received_name="flex.signature",
        detail=flex.detail,
    )
    assert fluent.verdict is Verdict.VALID
    assert fluent.key_name == "sydney-sandbox"
    assert fluent.received_name == "fluent-signature"
    assert fluent.hint is None
    assert "sydney-sandbox" in fluent.detail


def test_4096_bit_key(tmp_path: Path) -> None:
    private = make_rsa_key(4096)
    headers = signed_headers(private, BODY, tmp_dir=tmp_path)
    assert len(base64.b64decode(headers[1][1])) == 512
    assert _verdicts(verify_headers(headers, BODY, [_key(4096)])) == (Verdict.VALID,) * 2


def test_each_header_alone_with_check_signature(tmp_path: Path) -> None:
    private = make_rsa_key(1024)
    key = _key()
    md5 = openssl_sign(private, BODY, "md5", tmp_path)
    sha512 = openssl_sign(private, BODY, "sha512", tmp_path)
    assert len(sha512) == 172  # 128 bytes, as Fluent's 1024-bit keys produce
    assert check_signature(FLEX, md5, BODY, [key]).verdict is Verdict.VALID
    assert check_signature(FLUENT, sha512, BODY, [key], "Fluent-Signature").received_name == (
        "Fluent-Signature"
    )
    assert check_signature(FLUENT, f"  {sha512}\r\n", BODY, [key]).verdict is Verdict.VALID


def test_sign_headers_matches_openssl(tmp_path: Path) -> None:
    # PKCS#1 v1.5 is deterministic, so our signer must produce openssl's exact bytes.
    private = make_rsa_key(1024)
    ours = sign_headers(private, BODY)
    assert ours == signed_headers(private, BODY, tmp_dir=tmp_path)
    assert [name for name, _ in ours] == ["flex.signature", "fluent-signature"]
    assert _verdicts(verify_headers(ours, BODY, [_key()])) == (Verdict.VALID, Verdict.VALID)


def test_binary_and_invalid_utf8_body_verifies_byte_exactly(tmp_path: Path) -> None:
    body = bytes(range(256)) + b"\xff\xfe\x00{not json\r\n"
    headers = signed_headers(make_rsa_key(1024), body, tmp_dir=tmp_path)
    assert _verdicts(verify_headers(headers, body, [_key()])) == (Verdict.VALID, Verdict.VALID)
    assert _verdicts(verify_headers(headers, body[:-1], [_key()])) == (Verdict.INVALID,) * 2


def test_empty_body() -> None:
    headers = signed_headers(make_rsa_key(1024), b"")
    assert _verdicts(verify_headers(headers, b"", [_key()])) == (Verdict.VALID, Verdict.VALID)


def test_second_of_several_keys_matches() -> None:
    keys = [
        _key(1024, index=1, name="dublin-prod"),
        _key(2048, name="big"),
        _key(1024, index=0, name="sydney-sandbox"),
    ]
    headers = signed_headers(make_rsa_key(1024), BODY)
    flex, fluent = verify_headers(headers, BODY, keys)
    assert (flex.verdict, flex.key_name) == (Verdict.VALID, "sydney-sandbox")
    assert (fluent.verdict, fluent.key_name) == (Verdict.VALID, "sydney-sandbox")


def test_header_names_are_case_insensitive_and_kept_as_received() -> None:
    (_, md5), (_, sha) = signed_headers(make_rsa_key(1024), BODY)
    headers = [
        ("Content-Type", "application/json"),
        ("FLEX.SIGNATURE", md5),
        ("Fluent-Signature", sha),
    ]
    flex, fluent = verify_headers(headers, BODY, [_key()])
    assert (flex.verdict, flex.received_name) == (Verdict.VALID, "FLEX.SIGNATURE")
    assert (fluent.verdict, fluent.received_name) == (Verdict.VALID, "Fluent-Signature")


def test_repeated_valid_checks_keep_each_requests_names_and_key() -> None:
    # Valid checks are shared between requests; each must still say what arrived.
    (_, md5), (_, sha) = signed_headers(make_rsa_key(1024), BODY)
    spellings = [("flex.signature", "fluent-signature"), ("Flex.Signature", "FLUENT-SIGNATURE")]
    rings = [[_key()], [_key(name="other-name")]]
    for ring in rings:
        for flex_name, fluent_name in spellings * 2:
            flex, fluent = verify_headers([(flex_name, md5), (fluent_name, sha)], BODY, ring)
            assert (flex.verdict, flex.received_name, flex.key_name) == (
                Verdict.VALID,
                flex_name,
                ring[0].name,
            )
            assert (fluent.verdict, fluent.received_name, fluent.key_name) == (
                Verdict.VALID,
                fluent_name,
                ring[0].name,
            )
            assert flex.header is FLEX and fluent.header is FLUENT
            assert repr(ring[0].name) in flex.detail and "MD5" in flex.detail
            assert "SHA-512" in fluent.detail


def test_header_order_does_not_matter() -> None:
    headers = list(reversed(signed_headers(make_rsa_key(1024), BODY)))
    flex, fluent = verify_headers(headers, BODY, [_key()])
    assert (flex.header, fluent.header) == (FLEX, FLUENT)
    assert _verdicts((flex, fluent)) == (Verdict.VALID, Verdict.VALID)


# --------------------------------------------------------------------------- invalid


@pytest.mark.parametrize(
    "changed",
    [
        BODY.replace(b"BOOKED", b"BOOKEd"),
        json.dumps(EVENT).encode(),  # re-serialised: other spacing, escaped non-ASCII
        json.dumps(EVENT, separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode(),
        BODY + b"\n",
        BODY.decode().encode("utf-16"),
    ],
    ids=["tampered", "reserialised", "sorted-keys", "newline-appended", "re-encoded"],
)
def test_changed_body_is_invalid(changed: bytes, tmp_path: Path) -> None:
    assert changed != BODY
    headers = signed_headers(make_rsa_key(1024), BODY, tmp_dir=tmp_path)
    flex, fluent = verify_headers(headers, changed, [_key()])
    assert (flex.verdict, fluent.verdict) == (Verdict.INVALID, Verdict.INVALID)
    assert flex.key_name is None
    assert "does not verify this body" in fluent.detail
    assert "wrong environment's or region's key" in fluent.detail
    assert "changed after signing" in fluent.detail


def test_wrong_key_is_invalid_and_names_the_keys() -> None:
    headers = signed_headers(make_rsa_key(1024), BODY)
    keys = [_key(1024, index=1, name="dublin-prod"), _key(1024, index=2, name="sydney-prod")]
    flex, fluent = verify_headers(headers, BODY, keys)
    assert _verdicts((flex, fluent)) == (Verdict.INVALID, Verdict.INVALID)
    assert "None of the 2 configured keys" in fluent.detail
    assert "'dublin-prod'" in fluent.detail and "'sydney-prod'" in fluent.detail


def test_swapped_headers_are_invalid_and_explained() -> None:
    (_, md5), (_, sha) = signed_headers(make_rsa_key(1024), BODY)
    swapped = [(FLEX_HEADER, sha), (FLUENT_HEADER, md5)]
    flex, fluent = verify_headers(swapped, BODY, [_key()])
    assert _verdicts((flex, fluent)) == (Verdict.INVALID, Verdict.INVALID)
    assert "swapped" in fluent.detail
    assert "MD5" in fluent.detail
    assert "swapped" in flex.detail


def test_one_valid_one_invalid_says_the_body_is_authentic() -> None:
    private = make_rsa_key(1024)
    # Some toolkits lack MD5 and wrongly sign flex.signature with SHA-1.
    sha1 = base64.b64encode(private.sign(BODY, padding.PKCS1v15(), hashes.SHA1())).decode()
    headers = [(FLEX_HEADER, sha1), (FLUENT_HEADER, crypto_sign(private, BODY, "sha512"))]
    flex, fluent = verify_headers(headers, BODY, [_key()])
    assert _verdicts((flex, fluent)) == (Verdict.INVALID, Verdict.VALID)
    assert "body is unchanged" in flex.detail
    assert "SHA-1" in flex.detail


# --------------------------------------------------------------------------- malformed


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("not base64 at all!", "not standard base64"),
        ("%%%%", "outside the base64 alphabet"),
        ("", "present but empty"),
        ("   ", "present but empty"),
    ],
)
def test_garbage_is_malformed(value: str, expected: str) -> None:
    check = check_signature(FLUENT, value, BODY, [_key()], "fluent-signature")
    assert check.verdict is Verdict.MALFORMED
    assert expected in check.detail
    assert check.received_name == "fluent-signature"


def test_truncated_base64_is_malformed() -> None:
    sha = crypto_sign(make_rsa_key(1024), BODY, "sha512")
    check = check_signature(FLUENT, sha[:-5], BODY, [_key()])
    assert check.verdict is Verdict.MALFORMED
    assert "not a multiple of 4" in check.detail
    # Cut on a 4-character boundary: decodes, but to the wrong length for the key.
    check = check_signature(FLUENT, sha[:100], BODY, [_key()])
    assert check.verdict is Verdict.MALFORMED
    assert "decodes to 75 bytes" in check.detail
    assert "128 bytes (1024-bit key)" in check.detail


def test_missing_padding_is_malformed() -> None:
    sha = crypto_sign(make_rsa_key(1024), BODY, "sha512")
    assert sha.endswith("=")
    check = check_signature(FLUENT, sha.rstrip("="), BODY, [_key()])
    assert check.verdict is Verdict.MALFORMED
    assert "padding" in check.detail


def test_urlsafe_alphabet_is_malformed_and_explained() -> None:
    private = make_rsa_key(1024)
    body = BODY
    # Find a body whose signature contains '+' or '/' so the URL-safe form differs.
    for n in range(50):
        body = BODY + b" " * n
        sha = crypto_sign(private, body, "sha512")
        if "+" in sha or "/" in sha:
            break
    urlsafe = sha.replace("+", "-").replace("/", "_")
    check = check_signature(FLUENT, urlsafe, body, [_key()])
    assert check.verdict is Verdict.MALFORMED
    assert "URL-safe" in check.detail
    assert check_signature(FLUENT, sha, body, [_key()]).verdict is Verdict.VALID


def test_line_breaks_inside_value_are_malformed() -> None:
    sha = crypto_sign(make_rsa_key(1024), BODY, "sha512")
    check = check_signature(FLUENT, sha[:64] + "\n" + sha[64:], BODY, [_key()])
    assert check.verdict is Verdict.MALFORMED
    assert "line breaks" in check.detail


def test_signature_size_matching_no_key_is_malformed() -> None:
    sha = crypto_sign(make_rsa_key(2048), BODY, "sha512")  # 256 bytes
    check = check_signature(FLUENT, sha, BODY, [_key(1024)])
    assert check.verdict is Verdict.MALFORMED
    assert "decodes to 256 bytes" in check.detail
    assert "128 bytes (1024-bit key)" in check.detail


def test_non_ascii_value_is_malformed() -> None:
    check = check_signature(FLEX, "sïgnature==", BODY, [_key()])
    assert check.verdict is Verdict.MALFORMED


# --------------------------------------------------------------------------- missing / no key


def test_only_fluent_signature_present() -> None:
    headers = [h for h in signed_headers(make_rsa_key(1024), BODY) if h[0] == FLUENT_HEADER]
    flex, fluent = verify_headers(headers, BODY, [_key()])
    assert _verdicts((flex, fluent)) == (Verdict.MISSING, Verdict.VALID)
    assert flex.received_name is None
    assert flex.hint is None
    assert "Only fluent-signature arrived" in flex.detail
    assert "nginx" in flex.detail and "dot" in flex.detail


def test_only_flex_signature_present() -> None:
    headers = [h for h in signed_headers(make_rsa_key(1024), BODY) if h[0] == FLEX_HEADER]
    flex, fluent = verify_headers(headers, BODY, [_key()])
    assert _verdicts((flex, fluent)) == (Verdict.VALID, Verdict.MISSING)
    assert "Only flex.signature arrived" in fluent.detail


def test_no_signature_headers() -> None:
    flex, fluent = verify_headers([("Content-Type", "application/json")], BODY, [_key()])
    assert _verdicts((flex, fluent)) == (Verdict.MISSING, Verdict.MISSING)
    assert "did not come from Fluent" in flex.detail
    assert check_signature(FLEX, None, BODY, [_key()]).verdict is Verdict.MISSING


@pytest.mark.parametrize(
    "rewritten",
    [
        "flex_signature",
        "FLEX_SIGNATURE",
        "flexsignature",
        "Flex-Signature",
        "x-flex-signature",
        "HTTP_FLEX_SIGNATURE",
    ],
)
def test_rewritten_flex_header_gives_a_hint(rewritten: str) -> None:
    (_, md5), fluent_header = signed_headers(make_rsa_key(1024), BODY)
    flex, fluent = verify_headers([(rewritten, md5), fluent_header], BODY, [_key()])
    assert flex.verdict is Verdict.MISSING
    assert fluent.verdict is Verdict.VALID
    assert flex.hint is not None
    assert flex.hint.startswith(f"arrived as '{rewritten}': a proxy rewrote the dotted name")
    assert "verifies with key 'sydney-sandbox'" in flex.hint
    assert "underscores_in_headers" in flex.detail
    assert "ignore_invalid_headers" in flex.detail


def test_rewritten_fluent_header_gives_a_hint() -> None:
    flex_header, (_, sha) = signed_headers(make_rsa_key(1024), BODY)
    flex, fluent = verify_headers([flex_header, ("fluent_signature", sha)], BODY, [_key()])
    assert (flex.verdict, fluent.verdict) == (Verdict.VALID, Verdict.MISSING)
    assert fluent.hint is not None and fluent.hint.startswith("arrived as 'fluent_signature'")


def test_rewritten_header_with_a_bad_value_says_so() -> None:
    flex, _ = verify_headers([("flex_signature", "garbage!")], BODY, [_key()])
    assert flex.verdict is Verdict.MISSING
    assert flex.hint is not None and "malformed" in flex.hint


def test_unrelated_signature_headers_are_not_hints() -> None:
    flex, fluent = verify_headers(
        [("X-Hub-Signature", "sha1=abc"), ("Stripe-Signature", "t=1,v1=abc")], BODY, [_key()]
    )
    assert flex.hint is None and fluent.hint is None


def test_empty_key_ring_is_no_key() -> None:
    flex, fluent = verify_headers(signed_headers(make_rsa_key(1024), BODY), BODY, [])
    assert _verdicts((flex, fluent)) == (Verdict.NO_KEY, Verdict.NO_KEY)
    assert "add Fluent's public key for this environment" in flex.detail
    assert flex.received_name == "flex.signature"
    # Without any signature header there is nothing to check: still MISSING.
    assert _verdicts(verify_headers([], BODY, [])) == (Verdict.MISSING, Verdict.MISSING)


def test_duplicate_header_checks_the_first_and_says_so() -> None:
    private = make_rsa_key(1024)
    (_, md5), (_, sha) = signed_headers(private, BODY)
    wrong = crypto_sign(make_rsa_key(1024, index=1), BODY, "sha512")
    headers = [(FLEX_HEADER, md5), (FLUENT_HEADER, sha), ("fluent-signature", wrong)]
    flex, fluent = verify_headers(headers, BODY, [_key()])
    assert fluent.verdict is Verdict.VALID
    assert "arrived 2 times" in fluent.detail
    assert "first value" in fluent.detail
    assert "arrived" not in flex.detail

    headers = [(FLEX_HEADER, md5), (FLUENT_HEADER, wrong), ("Fluent-Signature", sha)]
    assert verify_headers(headers, BODY, [_key()])[1].verdict is Verdict.INVALID


def test_accepts_any_sequence_of_keys_and_headers() -> None:
    headers = tuple(signed_headers(make_rsa_key(1024), BODY))
    keys = (_key(),)
    assert _verdicts(verify_headers(headers, BODY, keys)) == (Verdict.VALID, Verdict.VALID)


def test_never_raises_on_odd_input() -> None:
    odd_headers = [(None, None), ("flex.signature", 42)]
    flex, fluent = verify_headers(odd_headers, BODY, [_key()])  # type: ignore[list-item]
    assert flex.header is FLEX and fluent.header is FLUENT
    check = check_signature(FLUENT, "AAAA", None, [_key()])  # type: ignore[arg-type]
    assert check.verdict in (Verdict.MALFORMED, Verdict.INVALID)


def test_rewritten_header_with_empty_ring() -> None:
    (_, md5), _ = signed_headers(make_rsa_key(1024), BODY)
    flex, fluent = verify_headers([("flex_signature", md5)], BODY, [])
    assert flex.verdict is Verdict.MISSING
    assert flex.hint is not None and "no public keys are configured" in flex.hint
    assert fluent.verdict is Verdict.MISSING
