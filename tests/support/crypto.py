"""RSA test helpers: real keys, every key file format, and signatures made by an independent
signer (the ``openssl`` command line) as well as by ``cryptography``.

Key generation is slow, so keys are cached for the session per (bits, index): use
``make_rsa_key(1024)`` for "the" Fluent-like key and ``make_rsa_key(1024, index=1)`` for a
different key of the same size (a "wrong environment" key).
"""

from __future__ import annotations

import base64
import datetime
import functools
import shutil
import subprocess
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.x509.oid import NameOID

Digest = Literal["md5", "sha512"]

FLEX_HEADER = "flex.signature"
FLUENT_HEADER = "fluent-signature"

_HASHES: dict[str, hashes.HashAlgorithm] = {"md5": hashes.MD5(), "sha512": hashes.SHA512()}


def make_rsa_key(bits: int = 1024, index: int = 0) -> RSAPrivateKey:
    """A real RSA private key, cached per (bits, index) for the whole test session."""
    # Normalised here: functools.cache would treat make_rsa_key(1024) and
    # make_rsa_key(1024, 0) as different calls and hand out different keys.
    return _cached_rsa_key(int(bits), int(index))


@functools.cache
def _cached_rsa_key(bits: int, index: int) -> RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


@functools.cache
def make_ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def spki_der(private_key: RSAPrivateKey) -> bytes:
    return private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def spki_b64(private_key: RSAPrivateKey) -> str:
    """The public key as Fluent publishes it: base64 DER SPKI, no armour, one line."""
    return base64.b64encode(spki_der(private_key)).decode("ascii")


def public_pem(private_key: RSAPrivateKey) -> bytes:
    """``-----BEGIN PUBLIC KEY-----`` (SPKI) PEM."""
    return private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def rsa_public_pem(private_key: RSAPrivateKey) -> bytes:
    """``-----BEGIN RSA PUBLIC KEY-----`` (PKCS#1) PEM."""
    return private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.PKCS1
    )


def private_pem(private_key: RSAPrivateKey) -> bytes:
    """Unencrypted PKCS#8 ``-----BEGIN PRIVATE KEY-----`` PEM."""
    return private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def self_signed_cert(
    private_key: RSAPrivateKey, common_name: str = "fluent-test"
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=3650))
        .sign(private_key, hashes.SHA256())
    )


def cert_pem(private_key: RSAPrivateKey) -> bytes:
    return self_signed_cert(private_key).public_bytes(serialization.Encoding.PEM)


def cert_der(private_key: RSAPrivateKey) -> bytes:
    return self_signed_cert(private_key).public_bytes(serialization.Encoding.DER)


def wrap_b64(text: str, width: int = 64) -> str:
    """Break a base64 string into lines, as keys copied from a web page often are."""
    return "\n".join(text[i : i + width] for i in range(0, len(text), width))


def crypto_sign(private_key: RSAPrivateKey, body: bytes, digest: Digest) -> str:
    """Base64 RSA PKCS#1 v1.5 signature of ``body`` made with ``cryptography``."""
    signature = private_key.sign(body, padding.PKCS1v15(), _HASHES[digest])
    return base64.b64encode(signature).decode("ascii")


def openssl_available() -> bool:
    return shutil.which("openssl") is not None


def openssl_sign(private_key: RSAPrivateKey, body: bytes, digest: Digest, tmp_dir: Path) -> str:
    """Base64 signature of ``body`` made by the ``openssl`` CLI (independent of our code)."""
    if digest not in _HASHES:
        raise ValueError(f"digest must be 'md5' or 'sha512', not {digest!r}")
    tmp_dir = Path(tmp_dir)
    tmp_dir.mkdir(parents=True, exist_ok=True)
    stem = f"openssl-{id(private_key):x}-{digest}"
    key_file = tmp_dir / f"{stem}.key.pem"
    body_file = tmp_dir / f"{stem}.body"
    sig_file = tmp_dir / f"{stem}.sig"
    key_file.write_bytes(private_pem(private_key))
    body_file.write_bytes(body)
    subprocess.run(
        [
            "openssl",
            "dgst",
            f"-{digest}",
            "-sign",
            str(key_file),
            "-out",
            str(sig_file),
            str(body_file),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return base64.b64encode(sig_file.read_bytes()).decode("ascii")


def signed_headers(
    private_key: RSAPrivateKey, body: bytes, *, tmp_dir: Path | None = None
) -> list[tuple[str, str]]:
    """Both Fluent signature headers for ``body``: (flex.signature, MD5), (fluent-signature,
    SHA-512). Signed by the ``openssl`` CLI when ``tmp_dir`` is given, else by cryptography."""
    if tmp_dir is not None:
        return [
            (FLEX_HEADER, openssl_sign(private_key, body, "md5", tmp_dir)),
            (FLUENT_HEADER, openssl_sign(private_key, body, "sha512", tmp_dir)),
        ]
    return [
        (FLEX_HEADER, crypto_sign(private_key, body, "md5")),
        (FLUENT_HEADER, crypto_sign(private_key, body, "sha512")),
    ]
