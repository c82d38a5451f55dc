"""Bad input from a hostile sweep ends in one clear line and exit 2, never a traceback, a
hang on an endless file, or a destroyed store."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.support.captures import one_record_file
from tests.support.crypto import make_rsa_key, public_pem
from tests.test_cli import assert_clean_error
from tests.test_cli_walk import run


@pytest.fixture
def decoy(tmp_path: Path) -> Path:
    return tmp_path / "default-data-dir"


@pytest.mark.parametrize(
    "command",
    [["keys", "list"], ["export"], ["import", "x.jsonl"], ["listen", "--port", "0"]],
)
@pytest.mark.parametrize("shape", ["a file", "under a file"])
def test_a_data_dir_that_cannot_be_one_is_one_line(
    tmp_path: Path, decoy: Path, command: list[str], shape: str
) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    data_dir = blocker if shape == "a file" else blocker / "data"
    result = run(*command, "--data-dir", str(data_dir), decoy=decoy, check=False)
    assert_clean_error(result, str(data_dir), "--data-dir")


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "0", "ten"])
def test_body_limit_must_be_a_finite_positive_number(
    tmp_path: Path, decoy: Path, value: str
) -> None:
    result = run(
        "listen", "--body-limit-mb", value, "--data-dir", str(tmp_path), decoy=decoy, check=False
    )
    assert_clean_error(result, "--body-limit-mb", value)


def test_endless_key_and_body_files_are_refused_with_a_size(tmp_path: Path, decoy: Path) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    from_file = run("keys", "add", "k", "/dev/zero", *data, decoy=decoy, check=False)
    assert_clean_error(from_file, "/dev/zero", "1,024 KiB", "a key")
    from_stdin = run("keys", "add", "k", "-", *data, decoy=decoy, stdin="A" * 2**21, check=False)
    assert_clean_error(from_stdin, "larger than 1,024 KiB")
    huge = tmp_path / "huge"
    with huge.open("wb") as f:
        f.truncate(2 * 1024 * 1024)  # sparse: 2 MiB of zeros, not a key
    body = run(
        "verify",
        "--body",
        "/dev/zero",
        "--fluent-signature",
        "AAAA",
        "--key",
        "/dev/zero",
        *data,
        decoy=decoy,
        check=False,
    )
    assert_clean_error(body, "/dev/zero", "too large")  # the key: refused before any body
    key = tmp_path / "k.pem"
    key.write_bytes(public_pem(make_rsa_key(1024)))
    endless_body = run(
        "verify",
        "--body",
        "/dev/zero",
        "--fluent-signature",
        "AAAA",
        "--key",
        str(key),
        *data,
        decoy=decoy,
        check=False,
    )
    assert_clean_error(endless_body, "/dev/zero", "larger than 10,240 KiB", "webhook body")


def test_export_refuses_to_write_over_the_store(tmp_path: Path, decoy: Path) -> None:
    data = tmp_path / "data"
    source = one_record_file(tmp_path)
    run("import", str(source), "--data-dir", str(data), decoy=decoy)
    store = data / "captures.sqlite3"
    for target in (store, Path(str(store) + "-wal"), data / "." / "captures.sqlite3"):
        result = run(
            "export", "--output", str(target), "--data-dir", str(data), decoy=decoy, check=False
        )
        assert_clean_error(result, "capture store itself")
    with sqlite3.connect(store) as conn:  # still the store, with its capture
        assert conn.execute("SELECT count(*) FROM captures").fetchone() == (1,)


def test_error_lines_show_what_the_user_typed_escaped(tmp_path: Path, decoy: Path) -> None:
    # An id pasted from a hostile capture (or a terminal's escape) is quoted in the error.
    result = run(
        "diff",
        "0\x1b]0;owned\x07",
        "1\r\nFAKE",
        "--data-dir",
        str(tmp_path),
        decoy=decoy,
        check=False,
    )
    assert result.returncode == 2
    assert "\x1b" not in result.stderr and "\r" not in result.stderr
    assert "\\x1b]0;owned\\x07" in result.stderr or "\\r\\nFAKE" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
