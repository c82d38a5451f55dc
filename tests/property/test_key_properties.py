"""Key loading over generated input: every accepted form of one key loads as that key,
however it was wrapped or quoted, and anything else ends in KeyLoadError, never another
exception. The key pair comes from the ``openssl`` command line, not from our code."""

from __future__ import annotations

import base64
import hashlib
import subprocess
from functools import cache
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from inspector.core.errors import KeyLoadError
from inspector.core.keys import load_public_key
from tests.support.crypto import openssl_available

pytestmark = pytest.mark.skipif(not openssl_available(), reason="needs the openssl CLI")


@cache
def openssl_forms(folder: Path) -> dict[str, bytes]:
    """One RSA-1024 key made by openssl, in every public form openssl writes."""
    private = folder / "key.pem"
    run = ["openssl"]
    subprocess.run([*run, "genrsa", "-out", str(private), "1024"], check=True, capture_output=True)

    def out(*args: str) -> bytes:
        return subprocess.run([*run, *args], check=True, capture_output=True).stdout

    spki_pem = out("rsa", "-in", str(private), "-pubout")
    spki_der = out("rsa", "-in", str(private), "-pubout", "-outform", "DER")
    cert_pem = out(
        "req", "-new", "-x509", "-key", str(private), "-subj", "/CN=fluent", "-days", "2"
    )
    return {
        "spki_pem": spki_pem,
        "spki_der": spki_der,
        "pkcs1_pem": out("rsa", "-in", str(private), "-RSAPublicKey_out"),
        "cert_pem": cert_pem,
        "cert_der": _cert_der(cert_pem),
        "b64": base64.b64encode(spki_der),
    }


def _cert_der(cert_pem: bytes) -> bytes:
    return subprocess.run(
        ["openssl", "x509", "-outform", "DER"], input=cert_pem, check=True, capture_output=True
    ).stdout


@pytest.fixture(scope="module")
def forms(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    return openssl_forms(tmp_path_factory.mktemp("openssl-key"))


def _fingerprint(forms: dict[str, bytes]) -> str:
    """SHA-256 of the DER SPKI openssl wrote, as the key ring spells fingerprints."""
    der = forms["spki_der"]
    return ":".join(f"{b:02x}" for b in hashlib.sha256(der).digest())


# How people paste a base64 key: wrapped at any width, with CR/LF or literal "\n", quoted,
# indented, after a BOM.
wrappings = st.fixed_dictionaries(
    {
        "width": st.integers(1, 200),
        "newline": st.sampled_from(["\n", "\r\n", " ", "\\n", "\t"]),
        "quote": st.sampled_from(["", '"', "'", "`"]),
        "pad": st.sampled_from(["", " ", "\n", "  \t"]),
        "bom": st.booleans(),
        "as_bytes": st.booleans(),
    }
)


def _wrap(b64: str, how: dict[str, object]) -> bytes | str:
    width = int(how["width"])  # type: ignore[call-overload]
    lines = [b64[i : i + width] for i in range(0, len(b64), width)]
    text = f"{how['pad']}{how['quote']}{str(how['newline']).join(lines)}{how['quote']}{how['pad']}"
    if how["bom"]:
        text = "\ufeff" + text
    return text.encode("utf-8") if how["as_bytes"] else text


@given(how=wrappings)
def test_a_wrapped_or_quoted_base64_key_loads_as_the_same_key(
    forms: dict[str, bytes], how: dict[str, object]
) -> None:
    key = load_public_key(_wrap(forms["b64"].decode(), how))
    assert key.fingerprint == _fingerprint(forms)
    assert key.bits == 1024


@given(form=st.sampled_from(["spki_pem", "spki_der", "pkcs1_pem", "cert_pem", "cert_der", "b64"]))
def test_every_form_openssl_writes_loads_as_the_same_key(
    forms: dict[str, bytes], form: str
) -> None:
    assert load_public_key(forms[form]).fingerprint == _fingerprint(forms)


def _load_or_error(data: bytes | str) -> None:
    try:
        load_public_key(data)
    except KeyLoadError as exc:
        assert str(exc), "a KeyLoadError must say what is wrong"


@given(st.binary(max_size=600))
@example(b"-----BEGIN PUBLIC KEY-----")
@example(b"\x30\x82\xff\xff")
@example(b"\xef\xbb\xbf")
def test_garbage_bytes_never_raise_anything_but_key_load_error(data: bytes) -> None:
    _load_or_error(data)


@given(st.text(max_size=300))
@example("MIGfMA0G")
@example("ssh-rsa AAAA")
@example('{"kty": "RSA"}')
def test_garbage_text_never_raises_anything_but_key_load_error(data: str) -> None:
    _load_or_error(data)


@given(
    form=st.sampled_from(["spki_pem", "spki_der", "pkcs1_pem", "cert_pem", "cert_der", "b64"]),
    cut=st.integers(0, 2000),
    flips=st.lists(st.tuples(st.integers(0, 2000), st.integers(1, 255)), max_size=3),
)
def test_a_damaged_key_loads_or_says_why(
    forms: dict[str, bytes], form: str, cut: int, flips: list[tuple[int, int]]
) -> None:
    data = bytearray(forms[form][: max(1, cut)])
    for where, mask in flips:
        data[where % len(data)] ^= mask
    _load_or_error(bytes(data))


def test_a_certificate_with_an_unknown_version_says_why(forms: dict[str, bytes]) -> None:
    """Regression (found by test_a_damaged_key_loads_or_says_why with the thorough profile):
    a flipped bit in a certificate's version field raised cryptography's InvalidVersion."""
    der = forms["cert_der"]
    v3 = der.index(b"\xa0\x03\x02\x01\x02")  # [0] EXPLICIT INTEGER 2 (X.509 v3)
    damaged = der[: v3 + 4] + b"\x05" + der[v3 + 5 :]
    pem = (
        b"-----BEGIN CERTIFICATE-----\n"
        + base64.encodebytes(damaged)
        + b"-----END CERTIFICATE-----\n"
    )
    for data in (damaged, pem, base64.b64encode(damaged)):
        with pytest.raises(KeyLoadError, match="damaged"):
            load_public_key(data)
