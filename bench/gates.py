"""What signed-only mode and the path prefix cost, and what a flood of refused requests costs.

Not a test: prints figures and ratios, never asserts. ``fluent-inspector listen`` in its own
process, loaded by ``wrk`` (required) with the signed 412-byte webhook of ``ingest.py``, in
alternating rounds so the machine's noise falls on both sides alike:

- ``plain``: no gates (the baseline, same run);
- ``gated``: ``--require-signature --path-prefix /h/…``, the webhook posted under the prefix;
- ``refused``: the same gated listener, every request to a path outside the prefix (404,
  nothing read, nothing stored): how fast a scanner is turned away.

    .venv/bin/python bench/gates.py --rounds 3 --seconds 5
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest import BODY, free_port, stop, wait_port, wrk_script  # noqa: E402
from bench.machine import describe_machine  # noqa: E402
from inspector.core.keys import KeyRing  # noqa: E402
from inspector.core.signatures import sign_headers  # noqa: E402

PREFIX = "/h/bench-0123456789abcdefghij"


def start(data_dir: Path, port: int, *gates: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "inspector",
            "listen",
            "--quiet",
            "--port",
            str(port),
            *gates,
            "--data-dir",
            str(data_dir),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wrk(port: int, path: str, script: Path, connections: int, seconds: float) -> float:
    """Answers per second (any status: the refused round counts its 404s)."""
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}{path}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    return float(match.group(1)) if match else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk not found (Debian package wrk): nothing measured")
        return 1
    private = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    print(f"machine: {describe_machine()}")
    print(
        f"load: wrk, {args.connections} keep-alive connections, {args.seconds:g} s per "
        f"measurement, {args.rounds} alternating rounds, {len(BODY)} B body, RSA-1024"
    )
    figures: dict[str, list[float]] = {"plain": [], "gated": [], "refused": []}
    with tempfile.TemporaryDirectory(prefix="gates-bench-") as tmp:
        workdir = Path(tmp)
        script = wrk_script(sign_headers(private, BODY), BODY, workdir / "post.lua")
        data_dir = workdir / "data"
        data_dir.mkdir()
        pem = private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        KeyRing.open(data_dir).add("bench", pem)
        gates = ("--require-signature", "--path-prefix", PREFIX)
        for round_no in range(1, args.rounds + 1):
            for name, flags, path in (
                ("plain", (), "/hooks/fluent"),
                ("gated", gates, PREFIX + "/hooks/fluent"),
                ("refused", gates, "/hooks/fluent"),
            ):
                port = free_port()
                process = start(data_dir, port, *flags)
                try:
                    wait_port(port)
                    wrk(port, path, script, args.connections, 1.0)  # warm-up
                    rps = wrk(port, path, script, args.connections, args.seconds)
                finally:
                    stop(process)
                figures[name].append(rps)
                print(f"round {round_no} {name:>8}: {rps:9,.0f} req/s", flush=True)
    plain = statistics.median(figures["plain"])
    for name, values in figures.items():
        median = statistics.median(values)
        spread = (max(values) - min(values)) / median * 100 if median else 0
        print(
            f"{name:>8}: median {median:9,.0f} req/s  (spread {spread:.0f}%)  "
            f"ratio to plain {median / plain:.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
