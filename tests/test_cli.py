"""The command line, run as a user runs it: a real subprocess, real files, real HTTP."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.support.crypto import make_rsa_key, openssl_sign, public_pem, spki_b64

ROOT = Path(__file__).resolve().parents[1]
BODY = (
    b'{"id":"ev-1","name":"OrderCreated","accountId":"ACME","retailerId":"1",'
    b'"entityId":"5","entityRef":"HD-1","entityType":"ORDER","entityStatus":"CREATED"}'
)


def cli(
    *args: str,
    data_dir: Path,
    stdin: bytes | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the command as a user would; ``env`` adds variables to the inherited environment."""
    return subprocess.run(
        [sys.executable, "-m", "inspector", *args, "--data-dir", str(data_dir)],
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
        env={**os.environ, **env} if env else None,
    )


def assert_clean_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


@pytest.fixture
def key_files(tmp_path: Path) -> dict[str, Path]:
    private = make_rsa_key(1024)
    other = make_rsa_key(1024, index=1)
    files = {
        "b64": tmp_path / "sydney.b64",
        "pem": tmp_path / "sydney.pem",
        "other": tmp_path / "dublin.pem",
        "ec": tmp_path / "ec.pem",
    }
    files["b64"].write_text(spki_b64(private) + "\n")
    files["pem"].write_bytes(public_pem(private))
    files["other"].write_bytes(public_pem(other))
    files["ec"].write_bytes(
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return files


def test_keys_add_list_remove(data_dir: Path, key_files: dict[str, Path]) -> None:
    added = cli("keys", "add", "sydney-sandbox", str(key_files["b64"]), data_dir=data_dir)
    assert added.returncode == 0, added.stderr
    assert "RSA-1024" in added.stdout
    piped = cli(
        "keys", "add", "dublin", "-", data_dir=data_dir, stdin=key_files["other"].read_bytes()
    )
    assert piped.returncode == 0, piped.stderr
    listed = cli("keys", "list", data_dir=data_dir)
    assert listed.returncode == 0
    lines = listed.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["dublin", "sydney-sandbox"]
    assert "RSA-1024" in lines[0]
    assert "SHA256" in lines[1]
    assert cli("keys", "remove", "dublin", data_dir=data_dir).returncode == 0
    assert "dublin" not in cli("keys", "list", data_dir=data_dir).stdout


def test_keys_errors_are_one_line(
    data_dir: Path, key_files: dict[str, Path], tmp_path: Path
) -> None:
    assert_clean_error(cli("keys", "add", "ec", str(key_files["ec"]), data_dir=data_dir), "RSA")
    garbage = tmp_path / "garbage.txt"
    garbage.write_text("hello there")
    assert_clean_error(cli("keys", "add", "g", str(garbage), data_dir=data_dir))
    assert_clean_error(
        cli("keys", "add", "x", str(tmp_path / "missing.pem"), data_dir=data_dir), "missing.pem"
    )
    assert_clean_error(cli("keys", "remove", "nobody", data_dir=data_dir), "nobody")
    assert_clean_error(cli("keys", "frobnicate", data_dir=data_dir))


def test_verify_exit_codes(data_dir: Path, key_files: dict[str, Path], tmp_path: Path) -> None:
    private = make_rsa_key(1024)
    body = tmp_path / "body.json"
    body.write_bytes(BODY)
    md5 = openssl_sign(private, BODY, "md5", tmp_path)
    sha512 = openssl_sign(private, BODY, "sha512", tmp_path)
    key = str(key_files["pem"])
    ok = cli(
        "verify",
        "--key",
        key,
        "--body",
        str(body),
        "--flex-signature",
        md5,
        "--fluent-signature",
        sha512,
        data_dir=data_dir,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.count("valid") == 2
    wrong_key = cli(
        "verify",
        "--key",
        str(key_files["other"]),
        "--body",
        str(body),
        "--fluent-signature",
        sha512,
        data_dir=data_dir,
    )
    assert wrong_key.returncode == 1
    assert "invalid" in wrong_key.stdout
    tampered = tmp_path / "tampered.json"
    tampered.write_bytes(BODY + b"\n")
    as_json = cli(
        "verify",
        "--key",
        key,
        "--body",
        str(tampered),
        "--flex-signature",
        md5,
        "--json",
        data_dir=data_dir,
    )
    assert as_json.returncode == 1
    assert json.loads(as_json.stdout)["flex.signature"]["verdict"] == "invalid"
    malformed = cli(
        "verify", "--key", key, "--body", str(body), "--fluent-signature", "@@@", data_dir=data_dir
    )
    assert malformed.returncode == 1
    assert "malformed" in malformed.stdout
    assert_clean_error(
        cli(
            "verify",
            "--key",
            str(key_files["ec"]),
            "--body",
            str(body),
            "--fluent-signature",
            sha512,
            data_dir=data_dir,
        ),
        "RSA",
    )
    assert_clean_error(cli("verify", "--key", key, "--body", str(body), data_dir=data_dir))
    # The key ring is used when no --key is given.
    assert cli("keys", "add", "sydney", key, data_dir=data_dir).returncode == 0
    ring = cli("verify", "--body", str(body), "--fluent-signature", sha512, data_dir=data_dir)
    assert ring.returncode == 0
    assert "sydney" in ring.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def listen(data_dir: Path) -> Iterator[tuple[subprocess.Popen[str], int]]:
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "inspector",
            "listen",
            "--port",
            str(port),
            "--json",
            "--data-dir",
            str(data_dir),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert process.stderr is not None
    banner = process.stderr.readline()
    assert f"127.0.0.1:{port}" in banner, banner
    yield process, port
    if process.poll() is None:
        process.kill()
        process.wait()


def test_listen_prints_json_lines_and_stops_on_ctrl_c(
    data_dir: Path, listen: tuple[subprocess.Popen[str], int], tmp_path: Path
) -> None:
    process, port = listen
    private = make_rsa_key(1024)
    headers = {
        "flex.signature": openssl_sign(private, BODY, "md5", tmp_path),
        "fluent-signature": openssl_sign(private, BODY, "sha512", tmp_path),
        "Content-Type": "application/json",
    }
    response = httpx.post(f"http://127.0.0.1:{port}/hooks?x=1", content=BODY, headers=headers)
    assert response.status_code == 200
    capture_id = response.json()["id"]
    assert process.stdout is not None
    record = json.loads(process.stdout.readline())
    assert record["id"] == capture_id
    assert record["query"] == "x=1"
    # No key configured yet in this data dir: both headers are present but unverifiable.
    assert record["signatures"]["flex.signature"]["verdict"] == "no_key"
    assert record["event"]["entity_ref"] == "HD-1"
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=15) == 0
    exported = cli("export", data_dir=data_dir)
    assert exported.returncode == 0
    assert json.loads(exported.stdout.splitlines()[0])["id"] == capture_id


def test_listen_readable_line_has_both_badges(
    data_dir: Path, key_files: dict[str, Path], tmp_path: Path
) -> None:
    assert cli("keys", "add", "sydney", str(key_files["pem"]), data_dir=data_dir).returncode == 0
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "inspector",
            "listen",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert process.stderr is not None and process.stdout is not None
        process.stderr.readline()
        private = make_rsa_key(1024)
        httpx.post(
            f"http://127.0.0.1:{port}/hook",
            content=BODY,
            headers={"fluent-signature": openssl_sign(private, BODY, "sha512", tmp_path)},
        )
        line = process.stdout.readline()
        assert "OrderCreated ORDER HD-1" in line
        assert "flex – missing" in line
        assert "fluent ✓ valid (sydney)" in line
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_listen_busy_port_and_remote_refusal(data_dir: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        busy = cli("listen", "--port", str(port), data_dir=data_dir)
    assert_clean_error(busy, str(port), "--port")
    remote = cli("listen", "--host", "0.0.0.0", "--port", "0", data_dir=data_dir)
    assert_clean_error(remote, "--allow-remote")


def test_listen_machine_speaks_json_lines_and_stops_at_stdin_eof(
    data_dir: Path, key_files: dict[str, Path], tmp_path: Path
) -> None:
    """The protocol the window reads, as any other program would read it."""
    assert cli("keys", "add", "sydney", str(key_files["pem"]), data_dir=data_dir).returncode == 0
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "inspector",
            "listen",
            "--machine",
            "--port=0",
            "--data-dir",
            str(data_dir),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert child.stdout is not None and child.stdin is not None
        events = [json.loads(child.stdout.readline())]
        while events[-1]["event"] != "listening":
            events.append(json.loads(child.stdout.readline()))
        assert [e["state"] for e in events[:-1]] == ["starting", "listening"]
        port = events[-1]["port"]
        assert events[-1]["url"] == f"http://127.0.0.1:{port}/"
        private = make_rsa_key(1024)
        headers = {"fluent-signature": openssl_sign(private, BODY, "sha512", tmp_path)}
        reply = httpx.post(f"http://127.0.0.1:{port}/h", content=BODY, headers=headers)
        captured = json.loads(child.stdout.readline())
        record = captured.pop("capture")
        assert captured == {"event": "capture", "id": reply.json()["id"], "seq": 1}
        # The record the window shows without reading the store: all but the bodies.
        assert record["id"] == reply.json()["id"] and record["body_size"] == len(BODY)
        assert "body_b64" not in record and "body_b64" not in record["response"]
        assert record["signatures"]["fluent-signature"]["verdict"] == "valid"
        assert record["signatures"]["fluent-signature"]["key"] == "sydney"
        child.stdin.close()  # EOF: the driving program is gone
        assert child.wait(timeout=15) == 0
        rest = [json.loads(line) for line in child.stdout.read().splitlines()]
        assert rest[-1] == {"event": "status", "state": "stopped", "url": None, "error": None}
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_listen_machine_busy_port_is_one_line_on_stderr_and_a_status(data_dir: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        busy = cli("listen", "--machine", "--port", str(port), data_dir=data_dir, stdin=b"")
    assert_clean_error(busy, str(port), "--port")
    events = [json.loads(line) for line in busy.stdout.splitlines()]
    failed = [e for e in events if e.get("state") == "failed"]
    assert len(failed) == 1 and str(port) in failed[0]["error"]
    assert not any(e["event"] == "listening" for e in events)


def test_export_import_round_trip(
    data_dir: Path, tmp_path: Path, listen: tuple[subprocess.Popen[str], int]
) -> None:
    process, port = listen
    bodies = [BODY, b"\xff\xfe binary", b"plain text"]
    for body in bodies:
        assert httpx.post(f"http://127.0.0.1:{port}/h", content=body).status_code == 200
    process.send_signal(signal.SIGINT)
    process.wait(timeout=15)
    for fmt in ("jsonl", "har"):
        out = tmp_path / f"all.{fmt}"
        result = cli("export", "--format", fmt, "--output", str(out), data_dir=data_dir)
        assert result.returncode == 0, result.stderr
        fresh = tmp_path / f"fresh-{fmt}"
        imported = cli("import", str(out), data_dir=fresh)
        assert imported.returncode == 0, imported.stderr
        assert "imported 3" in imported.stdout
        again = cli("import", str(out), data_dir=fresh)
        assert "imported 0" in again.stdout
        back = cli("export", data_dir=fresh)
        restored = sorted(
            base64.b64decode(json.loads(line)["body_b64"]) for line in back.stdout.splitlines()
        )
        assert restored == sorted(bodies)
    broken = tmp_path / "broken.jsonl"
    broken.write_text("{nope\n")
    assert_clean_error(cli("import", str(broken), data_dir=data_dir), "line 1")


def test_gui_without_display_points_to_listen(data_dir: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    result = subprocess.run(
        [sys.executable, "-m", "inspector", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
        check=False,
    )
    if sys.platform.startswith("linux"):
        assert_clean_error(result, "fluent-inspector listen")
        assert "qt.qpa" not in result.stderr


def test_usage_errors_exit_2(data_dir: Path) -> None:
    assert_clean_error(cli("export", "--format", "xml", data_dir=data_dir))
    assert_clean_error(cli("listen", "--port", "notaport", data_dir=data_dir))


def test_python_dash_m_and_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "inspector", "--version"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0
    assert result.stdout.startswith("fluent-inspector ")


def test_profile_and_follow_up_against_the_sandbox(
    data_dir: Path, listen: tuple[subprocess.Popen[str], int]
) -> None:
    from inspector.core.sandbox import Sandbox

    process, port = listen
    with Sandbox() as sandbox:
        deliveries = sandbox.run_scenario(
            "order-lifecycle", f"http://127.0.0.1:{port}/hooks", step_seconds=0.01
        )
        assert deliveries and all(d.status == 200 for d in deliveries)
        env_secrets = {
            "FLUENT_CLIENT_SECRET": sandbox.client_secret,
            "FLUENT_PASSWORD": sandbox.password,
        }
        added = cli(
            "profile",
            "add",
            "demo",
            "--base-url",
            sandbox.base_url,
            "--client-id",
            sandbox.client_id,
            "--username",
            sandbox.username,
            "--retailer-id",
            "1",
            data_dir=data_dir,
            env=env_secrets,
        )
        assert added.returncode == 0, added.stderr
        listed = cli("profile", "list", data_dir=data_dir)
        assert "demo" in listed.stdout
        assert sandbox.client_secret not in listed.stdout
        assert sandbox.client_secret not in (data_dir / "profiles.json").read_text()

        process.send_signal(signal.SIGINT)
        process.wait(timeout=15)
        records = [
            json.loads(line) for line in cli("export", data_dir=data_dir).stdout.splitlines()
        ]
        order = next(r for r in records if r["event"] and r["event"]["entity_type"] == "ORDER")

        answered = cli("follow-up", order["id"], data_dir=data_dir, env=env_secrets)
        assert answered.returncode == 0, answered.stderr
        result = json.loads(answered.stdout)
        assert result["data"]["orderById"]["ref"] == order["event"]["entity_ref"]
        assert result["data"]["orderById"]["status"] == "COMPLETE"

        no_secret = cli("follow-up", order["id"], data_dir=data_dir)
        assert no_secret.returncode == 1
        assert "FLUENT_PASSWORD" in no_secret.stderr
        assert "Traceback" not in no_secret.stderr
    assert_clean_error(cli("follow-up", "no-such-capture", data_dir=data_dir), "no-such-capture")
    assert cli("profile", "remove", "demo", data_dir=data_dir).returncode == 0
    assert_clean_error(cli("profile", "remove", "demo", data_dir=data_dir), "demo")


def test_sandbox_command_emits_signed_webhooks(
    data_dir: Path, tmp_path: Path, listen: tuple[subprocess.Popen[str], int]
) -> None:
    from inspector.core.resources import resource_path

    _, port = listen
    sandbox = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "inspector",
            "sandbox",
            "--emit-to",
            f"http://127.0.0.1:{port}/hooks",
            "--scenario",
            "retry-storm",
            "--step-seconds",
            "0.01",
            "--data-dir",
            str(data_dir),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert sandbox.stdout is not None
        lines = []
        while not lines or lines[-1].strip() != "scenario finished":
            line = sandbox.stdout.readline()
            assert line, sandbox.stderr.read() if sandbox.stderr else ""
            lines.append(line)
        sent = [line for line in lines if line.strip().startswith("sent ")]
        assert len(sent) == 4
    finally:
        sandbox.send_signal(signal.SIGINT)
        assert sandbox.wait(timeout=15) == 0
    # The retry storm repeats one event id: the store numbers the attempts 1..4.
    records = [json.loads(line) for line in cli("export", data_dir=data_dir).stdout.splitlines()]
    assert sorted(r["attempt"] for r in records) == [1, 2, 3, 4]
    assert len({r["event"]["id"] for r in records}) == 1
    # Each delivery is signed with the shipped demo key: check it with openssl, independently.
    spki = resource_path("demo", "demo-public.b64").read_text().strip()
    pem = tmp_path / "demo.pem"
    lines = [spki[i : i + 64] for i in range(0, len(spki), 64)]
    pem.write_text(
        "-----BEGIN PUBLIC KEY-----\n" + "\n".join(lines) + "\n-----END PUBLIC KEY-----\n"
    )
    record = records[0]
    headers = {name.lower(): value for name, value in record["headers"]}
    body = tmp_path / "body"
    body.write_bytes(base64.b64decode(record["body_b64"]))
    for header, digest in (("fluent-signature", "-sha512"), ("flex.signature", "-md5")):
        signature = tmp_path / f"{header}.sig"
        signature.write_bytes(base64.b64decode(headers[header]))
        checked = subprocess.run(
            [
                "openssl",
                "dgst",
                digest,
                "-verify",
                str(pem),
                "-signature",
                str(signature),
                str(body),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr


def test_listen_refuses_a_bad_rules_file_and_forward_options(
    data_dir: Path, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.json"
    rules.write_text('{"rules": [\n  {"name": "x", "respond": {"status": "500"}}\n]}')
    bad = cli("listen", "--port", "0", "--rules", str(rules), data_dir=data_dir)
    assert_clean_error(bad, "line 2", "status")
    missing = cli(
        "listen", "--port", "0", "--rules", str(tmp_path / "nope.json"), data_dir=data_dir
    )
    assert_clean_error(missing, "does not exist")
    url = cli("listen", "--port", "0", "--forward-to", "localhost:3000", data_dir=data_dir)
    assert_clean_error(url, "http://")
    spec = cli("listen", "--port", "0", "--forward-path", "nourl", data_dir=data_dir)
    assert_clean_error(spec, "GLOB=URL")


def test_replay_exit_codes_prefixes_signing_and_json(data_dir: Path, tmp_path: Path) -> None:
    from inspector.core.store import Store
    from tests.support.captures import make_capture
    from tests.support.crypto import private_pem
    from tests.support.target import closed_port, target

    with Store.open(data_dir) as store:
        first = store.add(make_capture(target="/hooks/a"))
        second = store.add(make_capture(target="/hooks/b"))
    key_file = tmp_path / "test-key.pem"
    key_file.write_bytes(private_pem(make_rsa_key(1024, index=1)))
    body = tmp_path / "edited.json"
    body.write_bytes(b'{"edited":true}')
    with target("ok") as ok, target("500") as failing:
        done = cli("replay", first.id[:20], second.id, "--to", ok.url, data_dir=data_dir)
        assert done.returncode == 0, done
        assert len(done.stdout.splitlines()) == 2 and " 201 " in done.stdout
        assert [r.target for r in ok.received] == ["/hooks/a", "/hooks/b"]
        edited = cli("replay", first.id, "--to", ok.url, "--body", str(body), data_dir=data_dir)
        assert edited.returncode == 0 and "will not verify" in edited.stderr
        signed = cli(
            "replay", first.id, "--to", ok.url, "--body", str(body), "--sign-key",
            str(key_file), "--json", data_dir=data_dir,
        )  # fmt: skip
        assert signed.returncode == 0, signed
        line = json.loads(signed.stdout)
        assert line["id"] == first.id and line["replay"]["signed_with"] == "test-key"
        assert "BEGIN" not in signed.stdout + signed.stderr  # the key is never printed
        bad = cli("replay", first.id, "--to", failing.url, "--sign-demo", data_dir=data_dir)
        assert bad.returncode == 1
        assert "answered 500" in bad.stderr and len(bad.stderr.splitlines()) == 1
    down = cli("replay", first.id, "--to", f"http://127.0.0.1:{closed_port()}", data_dir=data_dir)
    assert down.returncode == 1 and "connection refused" in down.stderr
    assert_clean_error(cli("replay", "zzzz", "--to", "http://127.0.0.1:1", data_dir=data_dir))
    assert_clean_error(cli("replay", first.id, "--to", "nowhere", data_dir=data_dir), "http://")
    both = cli("replay", first.id, "--to", "http://127.0.0.1:1", "--sign-demo", "--sign-key", "k",
               data_dir=data_dir)  # fmt: skip
    assert both.returncode == 2
    with Store.open(data_dir) as store:
        replays = store.replays(first.id)
    assert [r.status for r in replays] == [201, 201, 201, 500, None]
    assert [r.signed_with for r in replays] == [None, None, "test-key", "demo", None]
    assert [r.edited for r in replays] == [False, True, True, False, False]
