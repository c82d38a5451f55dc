"""Loading public keys in every form users bring them, and the persisted key ring."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import threading
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from inspector.core import paths
from inspector.core.errors import InspectorError, KeyLoadError, KeyRingError
from inspector.core.keys import (
    KeyRing,
    PublicKey,
    is_valid_key_name,
    load_public_key,
    load_public_key_file,
    parse_key_table,
)
from tests.support.crypto import (
    cert_der,
    cert_pem,
    make_ec_key,
    make_rsa_key,
    private_pem,
    public_pem,
    rsa_public_pem,
    spki_b64,
    spki_der,
    wrap_b64,
)
from tests.support.fs import read_only


def _fingerprint_by_openssl(pem: bytes, tmp_path: Path) -> str:
    """SHA-256 of the DER SPKI computed by openssl, as an independent reference."""
    pem_file = tmp_path / "pub.pem"
    pem_file.write_bytes(pem)
    der = subprocess.run(
        ["openssl", "pkey", "-pubin", "-in", str(pem_file), "-outform", "DER"],
        check=True,
        capture_output=True,
        timeout=60,
    ).stdout
    digest = subprocess.run(
        ["openssl", "dgst", "-sha256", "-hex", "-r"],
        input=der,
        check=True,
        capture_output=True,
        timeout=60,
    ).stdout.split()[0]
    hex_digest = digest.decode()
    return ":".join(hex_digest[i : i + 2] for i in range(0, len(hex_digest), 2))


# --------------------------------------------------------------------------- formats


def test_base64_spki_as_fluent_publishes_it(tmp_path: Path) -> None:
    private = make_rsa_key(1024)
    text = spki_b64(private)
    assert text.startswith("MIGfMA0GCSqGSIb3DQEBAQUAA4GNAD")
    key = load_public_key(text, "sydney-sandbox")
    assert key.name == "sydney-sandbox"
    assert key.bits == 1024
    assert key.source == "base64 SPKI"
    assert key.spki_b64 == text
    assert key.signature_size == 128
    assert key.key.public_numbers() == private.public_key().public_numbers()
    assert key.fingerprint == _fingerprint_by_openssl(public_pem(private), tmp_path)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda s: wrap_b64(s, 64),
        lambda s: wrap_b64(s, 76).replace("\n", "\r\n"),
        lambda s: f'  "{s}"\n',
        lambda s: f"'{s}'",
        lambda s: " ".join(s[i : i + 40] for i in range(0, len(s), 40)),
        lambda s: "\ufeff" + s + "\n",
        lambda s: s.rstrip("="),
    ],
    ids=["wrapped", "crlf", "double-quoted", "single-quoted", "spaces", "bom", "no-padding"],
)
def test_base64_spki_tolerates_copy_paste_damage(mangle: object) -> None:
    text = spki_b64(make_rsa_key(2048))
    key = load_public_key(mangle(text))  # type: ignore[operator]
    assert key.spki_b64 == text
    assert key.bits == 2048


def test_every_format_gives_the_same_key() -> None:
    private = make_rsa_key(2048)
    expected = spki_b64(private)
    forms = {
        "base64 SPKI": spki_b64(private),
        "PEM public key": public_pem(private),
        "PEM RSA public key": rsa_public_pem(private),
        "PEM certificate": cert_pem(private),
        "DER certificate": cert_der(private),
        "DER public key": spki_der(private),
    }
    for source, data in forms.items():
        key = load_public_key(data, "k")
        assert key.source == source
        assert key.spki_b64 == expected, source
        assert key.bits == 2048


def test_str_and_bytes_inputs_agree() -> None:
    private = make_rsa_key(1024)
    assert load_public_key(public_pem(private).decode()).spki_b64 == spki_b64(private)
    assert load_public_key(spki_b64(private).encode()).spki_b64 == spki_b64(private)


def test_pem_with_surrounding_text_and_a_certificate_chain() -> None:
    private = make_rsa_key(1024)
    other = make_rsa_key(2048)
    text = b"Bag Attributes: none\nsubject=CN = fluent\n" + cert_pem(private) + cert_pem(other)
    key = load_public_key(text)
    assert key.spki_b64 == spki_b64(private)


def test_4096_bit_key_is_accepted() -> None:
    key = load_public_key(spki_b64(make_rsa_key(4096)))
    assert key.bits == 4096
    assert key.signature_size == 512


def test_key_from_openssl_genrsa(tmp_path: Path) -> None:
    priv_file = tmp_path / "priv.pem"
    subprocess.run(
        ["openssl", "genrsa", "-out", str(priv_file), "1024"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    pub = subprocess.run(
        ["openssl", "rsa", "-in", str(priv_file), "-pubout"],
        check=True,
        capture_output=True,
        timeout=60,
    ).stdout
    key = load_public_key(pub)
    assert key.bits == 1024
    assert key.spki_b64.startswith("MIGfMA0GCSqGSIb3DQEBAQUAA4GNAD")


# --------------------------------------------------------------------------- errors


def _load_error(data: bytes | str) -> str:
    with pytest.raises(KeyLoadError) as info:
        load_public_key(data)
    assert isinstance(info.value, InspectorError)
    return str(info.value)


@pytest.mark.parametrize("data", ["", "   \n\t", b"", b"\n"])
def test_empty_input(data: bytes | str) -> None:
    assert "empty" in _load_error(data)


def test_private_key_pem_is_refused_with_a_warning() -> None:
    message = _load_error(private_pem(make_rsa_key(1024)))
    assert "private key" in message
    assert "PUBLIC key" in message
    assert "never share the private key" in message


def test_private_key_in_other_encodings_is_refused() -> None:
    private = make_rsa_key(1024)
    traditional = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    der = private.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    for data in (traditional, der, base64.b64encode(der)):
        assert "private key" in _load_error(data)


def test_pem_bundle_with_a_private_key_is_refused() -> None:
    private = make_rsa_key(1024)
    assert "private key" in _load_error(cert_pem(private) + private_pem(private))


def test_ec_key_is_refused() -> None:
    public = make_ec_key().public_key()
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for data in (pem, base64.b64encode(der).decode()):
        message = _load_error(data)
        assert "is an EC key" in message
        assert "Fluent signs" in message and "RSA" in message


def test_ed25519_key_is_refused() -> None:
    public = ed25519.Ed25519PrivateKey.generate().public_key()
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert "Ed25519" in _load_error(pem)


@pytest.mark.parametrize("modulus_bits", [512, 8192])
def test_rsa_size_out_of_range(modulus_bits: int) -> None:
    # Public numbers need no key generation: any odd modulus of the right length will do.
    modulus = (1 << (modulus_bits - 1)) | 1 | (1 << 40)
    public = rsa.RSAPublicNumbers(65537, modulus).public_key()
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    message = _load_error(base64.b64encode(der).decode())
    assert f"{modulus_bits} bits" in message
    assert "1024 to 4096" in message


def test_truncated_base64() -> None:
    text = spki_b64(make_rsa_key(1024))
    for cut in (text[:100], text[:101], text[:-8], text[:-3]):
        message = _load_error(cut)
        assert "looks truncated - copy the whole key" in message


def test_truncated_der_bytes() -> None:
    assert "truncated" in _load_error(spki_der(make_rsa_key(1024))[:-10])


def test_truncated_pem() -> None:
    pem = public_pem(make_rsa_key(1024))
    assert "truncated" in _load_error(pem[: len(pem) // 2])
    lines = pem.splitlines()
    damaged = b"\n".join(lines[:2] + lines[3:])
    assert "truncated or damaged" in _load_error(damaged)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("this is not a key!", "not base64"),
        ("<html><body>Not found</body></html>", "not base64"),
        ("SGVsbG8gd29ybGQ=", "not a key"),
        (b"\x00\x01\x02\xff garbage", "not a key"),
        ("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ user@host", "OpenSSH"),
        ('{"kty": "RSA", "n": "abc", "e": "AQAB"}', "JSON"),
        (
            b"-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n",
            "not a public key",
        ),
    ],
)
def test_garbage_is_refused_clearly(data: bytes | str, expected: str) -> None:
    message = _load_error(data)
    assert expected in message
    assert "MIGfMA0G" in message or "RSA" in message or "PUBLIC KEY" in message


# --------------------------------------------------------------------------- files


def test_load_from_file_defaults_name_to_stem(tmp_path: Path) -> None:
    path = tmp_path / "dublin-prod.pem"
    path.write_bytes(public_pem(make_rsa_key(1024)))
    key = load_public_key_file(path)
    assert key.name == "dublin-prod"
    assert load_public_key_file(path, "other").name == "other"


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pem"
    with pytest.raises(KeyLoadError, match="not found") as info:
        load_public_key_file(missing)
    assert str(missing) in str(info.value)

    empty = tmp_path / "empty.pem"
    empty.write_bytes(b"\n")
    with pytest.raises(KeyLoadError, match="is empty"):
        load_public_key_file(empty)

    with pytest.raises(KeyLoadError, match="folder"):
        load_public_key_file(tmp_path)

    ec_file = tmp_path / "ec.pem"
    ec_file.write_bytes(
        make_ec_key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(KeyLoadError, match="EC key") as info:
        load_public_key_file(ec_file)
    assert str(ec_file) in str(info.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read anything")
def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "locked.pem"
    path.write_bytes(public_pem(make_rsa_key(1024)))
    path.chmod(0)
    with pytest.raises(KeyLoadError, match="permission"):
        load_public_key_file(path)


# --------------------------------------------------------------------------- key tables


def test_parse_connect_sdk_application_yml() -> None:
    one, two = spki_b64(make_rsa_key(1024)), spki_b64(make_rsa_key(1024, index=1))
    text = f"""
spring:
  application:
    name: connector
fluent-webhook-keys:
  "[sydney_sandbox]": {one}
  '[dublin_production]': "{two}"
  # a comment
other:
  not_a_key: {one}
"""
    assert parse_key_table(text) == [("sydney_sandbox", one), ("dublin_production", two)]


def test_parse_plain_entries_and_folded_values() -> None:
    one, two = spki_b64(make_rsa_key(1024)), spki_b64(make_rsa_key(1024, index=1))
    text = f"sydney_sandbox: {one}\nsingapore.prod: >-\n  {two[:100]}\n  {two[100:]}\nport: 8080\n"
    assert parse_key_table(text) == [("sydney_sandbox", one), ("singapore.prod", two)]
    for _, value in parse_key_table(text):
        load_public_key(value)


def test_parse_key_table_finds_nothing() -> None:
    assert parse_key_table("") == []
    assert parse_key_table("server:\n  port: 8080\nname: demo\n") == []


# --------------------------------------------------------------------------- key ring


def test_key_names() -> None:
    assert is_valid_key_name("sydney-sandbox")
    assert is_valid_key_name("a.b_c-1")
    assert is_valid_key_name("x" * 64)
    for bad in ("", "x" * 65, "has space", "slash/name", "ünïcode"):
        assert not is_valid_key_name(bad)


def test_in_memory_ring() -> None:
    ring = KeyRing()
    assert ring.keys() == ()
    assert ring.version == 0
    b = ring.add("b-key", spki_b64(make_rsa_key(1024)))
    a = ring.add("a-key", public_pem(make_rsa_key(2048)))
    assert ring.keys() == (a, b)
    assert ring.get("b-key") is b
    assert ring.version == 2
    assert ring.reload_if_changed() is False


def test_persistence_round_trip(data_dir: Path) -> None:
    ring = KeyRing.open(data_dir)
    assert ring.path == data_dir / paths.KEYRING_FILENAME
    ring.add("sydney-sandbox", spki_b64(make_rsa_key(1024)))
    ring.add("dublin-prod", cert_pem(make_rsa_key(2048)))

    path = data_dir / paths.KEYRING_FILENAME
    document = json.loads(path.read_text())
    assert document["version"] == 1
    assert [entry["name"] for entry in document["keys"]] == ["dublin-prod", "sydney-sandbox"]
    assert document["keys"][1]["spki_b64"] == spki_b64(make_rsa_key(1024))
    assert all(entry["added_at"].endswith("Z") for entry in document["keys"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    again = KeyRing.open(data_dir)
    assert [k.name for k in again.keys()] == ["dublin-prod", "sydney-sandbox"]
    assert [k.fingerprint for k in again.keys()] == [k.fingerprint for k in ring.keys()]
    assert again.get("dublin-prod").bits == 2048


def test_write_is_atomic_and_leaves_no_temp_files(data_dir: Path) -> None:
    ring = KeyRing.open(data_dir)
    path = data_dir / paths.KEYRING_FILENAME
    ring.add("one", spki_b64(make_rsa_key(1024)))
    first_inode = path.stat().st_ino
    ring.add("two", spki_b64(make_rsa_key(1024, index=1)))
    # os.replace swaps in a new file rather than rewriting the old one in place.
    assert path.stat().st_ino != first_inode
    assert sorted(p.name for p in data_dir.iterdir()) == [paths.KEYRING_FILENAME]


def test_failed_write_keeps_old_file_and_keys(data_dir: Path) -> None:
    ring = KeyRing.open(data_dir)
    ring.add("one", spki_b64(make_rsa_key(1024)))
    before = (data_dir / paths.KEYRING_FILENAME).read_bytes()
    with read_only(data_dir), pytest.raises(KeyRingError, match="Could not save"):
        ring.add("two", spki_b64(make_rsa_key(1024, index=1)))
    assert (data_dir / paths.KEYRING_FILENAME).read_bytes() == before
    assert [k.name for k in ring.keys()] == ["one"]


def test_creates_missing_data_dir(tmp_path: Path) -> None:
    ring = KeyRing.open(tmp_path / "new" / "dir")
    ring.add("k", spki_b64(make_rsa_key(1024)))
    assert (tmp_path / "new" / "dir" / paths.KEYRING_FILENAME).is_file()


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("{not json", "not valid JSON"),
        ('["a list"]', '"keys" list'),
        ('{"version": 1, "keys": [{"name": "x", "spki_b64": "AAAA"}]}', "unusable"),
        ('{"version": 1, "keys": [{"name": "bad name", "spki_b64": "AAAA"}]}', "valid name"),
    ],
)
def test_corrupt_file_names_the_file_and_says_what_to_do(
    data_dir: Path, content: str, why: str
) -> None:
    path = data_dir / paths.KEYRING_FILENAME
    path.write_text(content)
    with pytest.raises(KeyRingError) as info:
        KeyRing.open(data_dir)
    message = str(info.value)
    assert str(path) in message
    assert why in message
    assert "Fix it, or delete it" in message


def test_newer_format_version(data_dir: Path) -> None:
    (data_dir / paths.KEYRING_FILENAME).write_text('{"version": 9, "keys": []}')
    with pytest.raises(KeyRingError, match="newer version"):
        KeyRing.open(data_dir)


def test_duplicate_name_and_replace(data_dir: Path) -> None:
    ring = KeyRing.open(data_dir)
    ring.add("env", spki_b64(make_rsa_key(1024)))
    with pytest.raises(KeyRingError, match="already exists"):
        ring.add("env", spki_b64(make_rsa_key(1024, index=1)))
    assert ring.get("env").spki_b64 == spki_b64(make_rsa_key(1024))
    replaced = ring.add("env", spki_b64(make_rsa_key(1024, index=1)), replace=True)
    assert ring.get("env") is replaced
    assert KeyRing.open(data_dir).get("env").spki_b64 == spki_b64(make_rsa_key(1024, index=1))


def test_bad_names_and_bad_keys() -> None:
    ring = KeyRing()
    with pytest.raises(KeyRingError, match="not a usable key name"):
        ring.add("has space", spki_b64(make_rsa_key(1024)))
    with pytest.raises(KeyRingError, match="not a usable key name"):
        ring.add_key(load_public_key(spki_b64(make_rsa_key(1024))))  # name ""
    with pytest.raises(KeyLoadError):
        ring.add("fine", "garbage!")
    assert ring.keys() == ()
    assert ring.version == 0


def test_add_key_object() -> None:
    ring = KeyRing()
    key = load_public_key(public_pem(make_rsa_key(1024)), "from-pem")
    assert ring.add_key(key) is key
    assert isinstance(ring.get("from-pem"), PublicKey)


def test_remove(data_dir: Path) -> None:
    ring = KeyRing.open(data_dir)
    ring.add("one", spki_b64(make_rsa_key(1024)))
    ring.remove("one")
    assert ring.keys() == ()
    assert KeyRing.open(data_dir).keys() == ()
    with pytest.raises(KeyRingError, match="no key named 'one'"):
        ring.remove("one")
    with pytest.raises(KeyRingError, match="no key named 'ghost'"):
        ring.get("ghost")


def test_keys_snapshot_is_immutable_and_stable() -> None:
    ring = KeyRing()
    ring.add("one", spki_b64(make_rsa_key(1024)))
    snapshot = ring.keys()
    assert ring.keys() is snapshot  # cheap to call per request
    ring.add("two", spki_b64(make_rsa_key(1024, index=1)))
    assert len(snapshot) == 1
    assert len(ring.keys()) == 2


def test_reload_if_changed_sees_another_instance(data_dir: Path) -> None:
    gui = KeyRing.open(data_dir)
    cli = KeyRing.open(data_dir)
    assert gui.reload_if_changed() is False

    cli.add("sydney-sandbox", spki_b64(make_rsa_key(1024)))
    version = gui.version
    assert gui.reload_if_changed() is True
    assert [k.name for k in gui.keys()] == ["sydney-sandbox"]
    assert gui.version > version
    assert gui.reload_if_changed() is False

    cli.remove("sydney-sandbox")
    assert gui.reload_if_changed() is True
    assert gui.keys() == ()

    (data_dir / paths.KEYRING_FILENAME).unlink()
    assert gui.reload_if_changed() is True
    assert gui.keys() == ()


def test_changes_from_two_instances_do_not_overwrite_each_other(data_dir: Path) -> None:
    first = KeyRing.open(data_dir)
    second = KeyRing.open(data_dir)
    first.add("one", spki_b64(make_rsa_key(1024)))
    second.add("two", spki_b64(make_rsa_key(1024, index=1)))  # re-reads before changing
    assert [k.name for k in KeyRing.open(data_dir).keys()] == ["one", "two"]


def test_reload_of_corrupt_file_keeps_current_keys(data_dir: Path) -> None:
    ring = KeyRing.open(data_dir)
    ring.add("one", spki_b64(make_rsa_key(1024)))
    (data_dir / paths.KEYRING_FILENAME).write_text("{broken")
    with pytest.raises(KeyRingError, match="corrupt"):
        ring.reload_if_changed()
    assert [k.name for k in ring.keys()] == ["one"]


def test_concurrent_adds_from_threads(data_dir: Path) -> None:
    ring = KeyRing.open(data_dir)
    key = spki_b64(make_rsa_key(1024))
    errors: list[BaseException] = []

    def add(i: int) -> None:
        try:
            ring.add(f"key-{i}", key)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(ring.keys()) == 8
    assert len(KeyRing.open(data_dir).keys()) == 8


def test_unusable_location_gives_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the data dir should be")
    with pytest.raises(KeyRingError, match="Cannot use the key ring") as info:
        KeyRing.open(blocker)
    assert str(blocker) in str(info.value)
    assert "data dir" in str(info.value)


def test_pasted_text_with_non_ascii_is_reported_as_text() -> None:
    message = _load_error("clé: " + spki_b64(make_rsa_key(1024)))
    assert "not base64" in message
    assert "'é'" in message
