"""Ingest benchmark: signed webhooks over loopback against the headless listener.

Not a test: prints figures and ratios, never asserts. For each server it runs the same load
(N concurrent keep-alive connections for T seconds) and reports req/s and p50/p99 latency:

- ``listen``: ``fluent-inspector listen`` with its default output, printed to a
  pseudo-terminal this script drains (what a user runs), and ``listen --quiet``: verify both
  signatures with an RSA-1024 key, group-commit to SQLite, answer after the commit; each in
  its own process (and the same from ``--base``'s checkout, to pair before/after);
- ``mockttp`` (HTTP Toolkit's capture engine, recording every request to a file), when Node
  and npm are available;
- ``bare aiohttp``: an aiohttp server answering 200 without verifying or storing.

Rounds alternate (each round runs every server once, every other round in reverse order)
and the summary gives medians and ratios to mockttp, so a busy machine shows up as spread
rather than as a bias against whoever ran last.

The load comes from ``wrk`` (Debian package ``wrk``) when installed, else from a Python
aiohttp client (which saturates first: the figures then understate the servers).

    .venv/bin/python bench/ingest.py                 # issue 13's run: wrk -t1 -c16, 3 rounds
    .venv/bin/python bench/ingest.py --base ../base  # plus the listener of another checkout
    .venv/bin/python bench/ingest.py --preset c32    # the older -c32 --quiet run
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import describe_machine  # noqa: E402
from inspector.core.keys import KeyRing  # noqa: E402
from inspector.core.signatures import sign_headers  # noqa: E402

# The real webhook: the shipped sample Fluent event (an ORDER CREATE) exactly as "Send test
# webhook" posts it (indented JSON), with a fixed id so every run sends the same bytes.
# Every request is the same event id, so the listener also numbers attempts 1, 2, 3...
BODY = json.dumps(
    json.loads((ROOT / "resources" / "samples" / "order-created.json").read_text("utf-8")),
    indent=2,
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
    cpu_us: float = float("nan")
    """CPU time (user + system) the server process used per answered request: steadier than
    req/s on a shared machine, where other work takes turns on the cores."""

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its reaped children (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return float("nan")
    # utime, stime are fields 14 and 15 of stat (1-based); the split starts at field 3.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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


def run_wrk(
    name: str, port: int, script: Path, connections: int, seconds: float, threads: int
) -> Result:
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


def start_inspector(
    data_dir: Path, port: int, *, quiet: bool, root: Path = ROOT
) -> tuple[subprocess.Popen[bytes], Terminal | None]:
    """``fluent-inspector listen`` from ``root`` (this tree, or ``--base``'s), with ``--quiet``
    or with its default output on a pseudo-terminal (what a user runs), drained here."""
    terminal = None if quiet else Terminal()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "inspector",
            "listen",
            *(["--quiet"] if quiet else []),
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
        ],
        cwd=root,
        env=dict(os.environ, PYTHONPATH=str(root)),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL if terminal is None else terminal.slave,
        stderr=subprocess.DEVNULL,
    )
    if terminal is not None:
        terminal.started()
    return process, terminal


class Terminal:
    """A pseudo-terminal the listener prints to, read (and dropped) by a thread here, as a
    terminal emulator would; counts the lines it saw."""

    def __init__(self) -> None:
        import pty
        import threading

        self.master, self.slave = pty.openpty()
        self.lines = 0
        self._thread = threading.Thread(target=self._drain, daemon=True)

    def started(self) -> None:
        os.close(self.slave)
        self._thread.start()

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.lines += chunk.count(b"\n")

    def close(self) -> None:
        self._thread.join(timeout=5)
        os.close(self.master)


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
    parser.add_argument(
        "--preset",
        choices=["issue13", "c32"],
        default="issue13",
        help="issue13: wrk -t1 -c16, listen with its default output and --quiet, mockttp and "
        "bare aiohttp, alternating rounds (default); c32: the older -t2 -c32 --quiet run",
    )
    parser.add_argument("--connections", type=int, help="override the preset's connections")
    parser.add_argument("--threads", type=int, help="override the preset's wrk threads")
    parser.add_argument("--seconds", type=float, default=10.0, help="per server per round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds")
    parser.add_argument("--bits", type=int, default=1024, help="RSA key size (Fluent: 1024)")
    parser.add_argument(
        "--base",
        type=Path,
        help="also run the listener from this checkout (e.g. a worktree of the base commit), "
        "paired in the same rounds",
    )
    parser.add_argument("--no-mockttp", action="store_true")
    parser.add_argument("--no-bare", action="store_true")
    parser.add_argument("--client", choices=["auto", "wrk", "python"], default="auto")
    args = parser.parse_args()
    c32 = args.preset == "c32"
    connections = args.connections or (32 if c32 else 16)
    threads = args.threads or (2 if c32 else 1)
    outputs = [True] if c32 else [False, True]  # quiet?

    use_wrk = args.client == "wrk" or (args.client == "auto" and shutil.which("wrk"))
    private = rsa.generate_private_key(public_exponent=65537, key_size=args.bits)
    headers = sign_headers(private, BODY)
    print(f"machine: {describe_machine()}")
    print(
        f"load: {f'wrk -t{threads} -c{connections}' if use_wrk else 'python aiohttp client'}, "
        f"{args.seconds:g} s per server per round, {args.rounds} alternating round(s), "
        f"{len(BODY)} B Fluent webhook, both signature headers, RSA-{args.bits}"
    )

    samples: dict[str, list[Result]] = {}
    with tempfile.TemporaryDirectory(prefix="ingest-bench-") as tmp:
        workdir = Path(tmp)
        script = wrk_script(headers, BODY, workdir / "post.lua")
        from cryptography.hazmat.primitives import serialization

        public_pem = private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        data_dirs: dict[str, Path] = {}

        def data_dir_for(name: str) -> Path:
            if name not in data_dirs:
                data_dirs[name] = workdir / f"data-{name}"
                data_dirs[name].mkdir()
                KeyRing.open(data_dirs[name]).add("bench", public_pem)
            return data_dirs[name]

        # (name, starter) in the order each round runs them.
        servers: list[tuple[str, Any]] = []
        trees = [("", ROOT)] + ([("base ", args.base.resolve())] if args.base else [])
        for label, root in trees:
            for quiet in outputs:
                name = f"{label}listen{' --quiet' if quiet else ''}"
                servers.append(
                    (
                        name,
                        lambda port, name=name, quiet=quiet, root=root: start_inspector(
                            data_dir_for(name), port, quiet=quiet, root=root
                        ),
                    )
                )
        if not args.no_mockttp:
            servers.append(("mockttp", lambda port: (start_mockttp(workdir, port), None)))
        if not args.no_bare:
            servers.append(("bare aiohttp", lambda port: (start_bare(port), None)))

        def measure(name: str, start: Any) -> None:
            port = free_port()
            process, terminal = start(port)
            if process is None:
                return
            try:
                wait_port(port)
                if use_wrk:
                    run_wrk(name, port, script, connections, 1.0, threads)  # warm-up
                cpu_before = cpu_seconds(process.pid)
                if use_wrk:
                    result = run_wrk(name, port, script, connections, args.seconds, threads)
                else:
                    result = run_python_client(name, port, headers, connections, args.seconds)
                if result.requests:
                    cpu = cpu_seconds(process.pid) - cpu_before
                    result.cpu_us = cpu / result.requests * 1e6
                samples.setdefault(name, []).append(result)
                print(
                    f"{name:>22}: {result.rps:9,.0f} req/s   p50 {result.p50_ms:6.2f} ms   "
                    f"p99 {result.p99_ms:6.2f} ms   errors {result.errors}   "
                    f"CPU {result.cpu_us:4.0f} us/req",
                    flush=True,
                )
            finally:
                stop(process)
                if terminal is not None:
                    terminal.close()
                    print(f"{'':>22}  ({terminal.lines:,} lines on its terminal)")

        for round_no in range(args.rounds):
            print(f"-- round {round_no + 1}/{args.rounds}", flush=True)
            # Alternate the order too, so no server always runs first (or last) in a round.
            for name, start in servers if round_no % 2 == 0 else servers[::-1]:
                measure(name, start)

        from inspector.core.store import Store

        stored = {}
        for name, path in data_dirs.items():
            with Store.open(path) as store:
                stored[name] = store.count()

    def median(name: str) -> float:
        return statistics.median(r.rps for r in samples[name])

    print("-- median req/s over the rounds (min-max), and ratio to mockttp")
    mock = median("mockttp") if "mockttp" in samples else None
    for name in samples:
        rates = [r.rps for r in samples[name]]
        cpu = statistics.median(r.cpu_us for r in samples[name])
        line = (
            f"{name:>22}: {median(name):9,.0f} req/s ({min(rates):,.0f}-{max(rates):,.0f})"
            f"  CPU {cpu:4.0f} us/req"
        )
        if mock:
            line += f"   {median(name) / mock:.2f}x mockttp"
        if name in stored:
            answered = sum(r.requests for r in samples[name])
            line += f"   stored {stored[name]:,} (2xx {answered:,} + warm-ups)"
        print(line)
    for label, _root in trees[1:]:
        for quiet in outputs:
            name = f"listen{' --quiet' if quiet else ''}"
            if name in samples and label + name in samples:
                cpu, base_cpu = (
                    statistics.median(r.cpu_us for r in samples[n]) for n in (name, label + name)
                )
                print(
                    f"{name} / {label}{name}: {median(name) / median(label + name):.2f}x req/s, "
                    f"{cpu / base_cpu:.2f}x CPU per request"
                )
    if not c32 and "listen" in samples and "listen --quiet" in samples:
        cost = 1 - median("listen") / median("listen --quiet")
        print(f"default output costs {cost:.1%} against --quiet")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
