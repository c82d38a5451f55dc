"""Ingest benchmark: signed webhooks over loopback against the headless listener.

Not a test: prints figures and ratios, never asserts. For each server it runs the same load
(N concurrent keep-alive connections for T seconds) and reports req/s and p50/p99 latency:

- ``inspector``: ``fluent-inspector listen`` (verify both signatures with an RSA-1024 key,
  group-commit to SQLite, answer after commit), in its own process;
- ``bare-aiohttp``: an aiohttp server answering 200 without verifying or storing, measured in
  the same run as the baseline;
- ``mockttp`` (HTTP Toolkit's capture engine, recording every request to a file), when Node
  and npm are available.

The load comes from ``wrk`` (Debian package ``wrk``) when installed, else from a Python
aiohttp client (which saturates first: the figures then understate the servers).

    .venv/bin/python bench/ingest.py --connections 32 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import describe_machine  # noqa: E402
from inspector.core.keys import KeyRing  # noqa: E402
from inspector.core.signatures import sign_headers  # noqa: E402

BODY = json.dumps(
    {
        "id": "8c5e6a43-8d9e-4a0c-9b43-3b0f0f4f3c21",
        "name": "OrderCreated",
        "type": "NORMAL",
        "accountId": "ACME",
        "retailerId": "1",
        "entityId": "123456",
        "entityRef": "HD-000123",
        "entityType": "ORDER",
        "entitySubtype": "HD",
        "entityStatus": "CREATED",
        "rootEntityId": "123456",
        "rootEntityRef": "HD-000123",
        "rootEntityType": "ORDER",
        "attributes": {"orderTotal": 129.95, "channel": "web"},
        "meta": {"mode": "SYNC", "simulation": False, "models": []},
    },
    separators=(",", ":"),
).encode()

BARE_SERVER = textwrap.dedent(
    """
    import sys
    from aiohttp import web

    async def handler(request):
        await request.read()
        return web.Response(status=200, text='{"status":"received"}',
                            content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
    """
)

MOCKTTP_SERVER = textwrap.dedent(
    """
    const fs = require('fs');
    const mockttp = require('mockttp');
    const out = fs.createWriteStream(process.argv[3]);
    (async () => {
      const server = mockttp.getLocal();
      await server.start(parseInt(process.argv[2], 10));
      await server.forAnyRequest().thenReply(200, '{"status":"received"}');
      await server.on('request', (req) => {
        out.write(JSON.stringify({method: req.method, url: req.url, headers: req.rawHeaders,
                                  body: req.body.buffer.toString('base64')}) + '\\n');
      });
      console.log('ready');
    })();
    """
)


@dataclass
class Result:
    name: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, timeout: float = 20.0) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"server on port {port} did not start")


def wrk_script(headers: list[tuple[str, str]], body: bytes, path: Path) -> Path:
    lines = ['wrk.method = "POST"', f"wrk.body = {json.dumps(body.decode())}"]
    lines.append('wrk.headers["Content-Type"] = "application/json"')
    for name, value in headers:
        lines.append(f"wrk.headers[{json.dumps(name)}] = {json.dumps(value)}")
    path.write_text("\n".join(lines) + "\n")
    return path


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        return float("nan")
    value, unit = float(match.group(1)), match.group(2)
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def _percentile(out: str, label: str) -> float:
    # Only the "Latency Distribution" lines start with the percentage; "50%" also ends
    # values such as "+/- Stdev 67.50%" in the thread stats above them.
    match = re.search(rf"^\s+{label}\s+(\S+)\s*$", out, re.MULTILINE)
    return _ms(match.group(1)) if match else float("nan")


def run_wrk(name: str, port: int, script: Path, connections: int, seconds: float) -> Result:
    threads = max(1, min(2, connections))
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}/hooks/fluent",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    total = int(re.search(r"(\d+) requests in ([\d.]+)(\w+)", out).group(1))  # type: ignore[union-attr]
    errors = 0
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors += int(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        errors += sum(int(g) for g in m.groups())
    return Result(
        name, total - errors, seconds, _percentile(out, "50%"), _percentile(out, "99%"), errors
    )


async def _python_load(port: int, headers: dict[str, str], connections: int, seconds: float):
    import aiohttp

    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds
    url = f"http://127.0.0.1:{port}/hooks/fluent"
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal errors
            while time.monotonic() < deadline:
                start = time.perf_counter()
                async with session.post(url, data=BODY, headers=headers) as response:
                    await response.read()
                    if response.status // 100 != 2:
                        errors += 1
                        continue
                latencies.append(time.perf_counter() - start)

        await asyncio.gather(*(worker() for _ in range(connections)))
    return latencies, errors


def run_python_client(
    name: str, port: int, headers: list[tuple[str, str]], connections: int, seconds: float
) -> Result:
    hdrs = dict(headers, **{"Content-Type": "application/json"})
    latencies, errors = asyncio.run(_python_load(port, hdrs, connections, seconds))
    latencies.sort()

    def pct(p: float) -> float:
        return (
            latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else 0
        )

    return Result(name, len(latencies), seconds, pct(0.5), pct(0.99), errors)


def start_inspector(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "inspector",
            "listen",
            "--quiet",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def start_bare(port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", BARE_SERVER, str(port)])


def start_mockttp(workdir: Path, port: int) -> subprocess.Popen[bytes] | None:
    if not (shutil.which("node") and shutil.which("npm")):
        print("mockttp: skipped (node/npm not found)")
        return None
    prefix = ROOT / "bench" / "out" / "mockttp"
    if not (prefix / "node_modules" / "mockttp").is_dir():
        print("mockttp: installing with npm (once) ...", flush=True)
        prefix.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            ["npm", "install", "--silent", "--prefix", str(prefix), "mockttp"],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            print(f"mockttp: skipped (npm install failed: {result.stderr.strip()[:200]})")
            return None
    script = workdir / "mockttp-server.js"
    script.write_text(MOCKTTP_SERVER)
    env = dict(os.environ, NODE_PATH=str(prefix / "node_modules"))
    return subprocess.Popen(
        ["node", str(script), str(port), str(workdir / "mockttp-record.jsonl")],
        env=env,
        stdout=subprocess.DEVNULL,
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--bits", type=int, default=1024, help="RSA key size (Fluent: 1024)")
    parser.add_argument("--no-mockttp", action="store_true")
    parser.add_argument("--client", choices=["auto", "wrk", "python"], default="auto")
    args = parser.parse_args()

    use_wrk = args.client == "wrk" or (args.client == "auto" and shutil.which("wrk"))
    private = rsa.generate_private_key(public_exponent=65537, key_size=args.bits)
    headers = sign_headers(private, BODY)
    print(f"machine: {describe_machine()}")
    print(
        f"load: {'wrk' if use_wrk else 'python aiohttp client'}, {args.connections} keep-alive "
        f"connections, {args.seconds:g} s per server, {len(BODY)} B signed body, RSA-{args.bits}"
    )

    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="ingest-bench-") as tmp:
        workdir = Path(tmp)
        script = wrk_script(headers, BODY, workdir / "post.lua")
        data_dir = workdir / "data"
        data_dir.mkdir()
        ring = KeyRing.open(data_dir)
        from cryptography.hazmat.primitives import serialization

        ring.add(
            "bench",
            private.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
        )

        def measure(name: str, process: subprocess.Popen[bytes] | None, port: int) -> None:
            if process is None:
                return
            try:
                wait_port(port)
                if use_wrk:
                    run_wrk(name, port, script, args.connections, 1.0)  # warm-up
                    result = run_wrk(name, port, script, args.connections, args.seconds)
                else:
                    result = run_python_client(name, port, headers, args.connections, args.seconds)
                results.append(result)
                print(
                    f"{name:>13}: {result.rps:9,.0f} req/s   p50 {result.p50_ms:6.2f} ms   "
                    f"p99 {result.p99_ms:6.2f} ms   errors {result.errors}",
                    flush=True,
                )
            finally:
                stop(process)

        port = free_port()
        measure("inspector", start_inspector(data_dir, port), port)
        port = free_port()
        measure("bare-aiohttp", start_bare(port), port)
        if not args.no_mockttp:
            port = free_port()
            measure("mockttp", start_mockttp(workdir, port), port)

        from inspector.core.store import Store

        with Store.open(data_dir) as store:
            stored = store.count()

    by_name = {r.name: r for r in results}
    inspector = by_name.get("inspector")
    if inspector is not None:
        print(
            f"stored by the inspector: {stored:,} (answered 2xx: {inspector.requests:,} + warm-up)"
        )
        for other in ("bare-aiohttp", "mockttp"):
            if other in by_name and by_name[other].rps:
                print(f"ratio inspector / {other}: {inspector.rps / by_name[other].rps:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
