"""Import benchmark: ``fluent-inspector import`` of JSON lines, paired against a base commit.

Not a test: prints figures and ratios, never asserts. It writes N captures of the real
611-byte Fluent webhook as the listener stores them (both signature headers made with an
RSA-1024 key, both verdicts valid, a 200 answer), exported as JSON lines, then imports the
file with the CLI into a fresh data dir, alternating between this checkout and a base
commit (checked out with ``git worktree`` into a temporary folder), and reports
captures/s (wall clock of the whole ``fluent-inspector import`` process, start-up included)
and the ratio of the medians.

    .venv/bin/python bench/import.py                       # 100,000 captures, 3 rounds
    .venv/bin/python bench/import.py --million             # also 1,000,000 (one round)
    .venv/bin/python bench/import.py --base 922715b --rounds 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import describe_machine  # noqa: E402
from inspector.core import codec  # noqa: E402
from inspector.core.capture import (  # noqa: E402
    Capture,
    ResponseRecord,
    SignatureCheck,
    SignatureHeader,
    Verdict,
    new_capture_id,
)
from inspector.core.events import parse_event  # noqa: E402
from inspector.core.signatures import sign_headers  # noqa: E402

# The commit before the fast import: what "today's rate" was measured on.
DEFAULT_BASE = "922715b"

# A Fluent ORDER CREATED event as Fluent sends it (compact JSON), 611 bytes.
_EVENT: dict[str, object] = {
    "id": "5f1c2b7e-8d4a-4c31-9a0e-2b6f3d9e7a41",
    "name": "CREATE",
    "accountId": "ACME",
    "retailerId": "1",
    "entityId": "12345",
    "entityRef": "HD-000123",
    "entityType": "ORDER",
    "entitySubtype": "HD",
    "entityStatus": "CREATED",
    "rootEntityId": "12345",
    "rootEntityRef": "HD-000123",
    "rootEntityType": "ORDER",
    "type": "NORMAL",
    "source": "order-service",
    "scheduledOn": "2024-05-14T03:12:45.482Z",
    "attributes": {
        "orderType": "HD",
        "totalPrice": 129.95,
        "currency": "AUD",
        "customerRef": "CUST-0042",
        "itemCount": 3,
        "deliveryType": "STANDARD",
        "fulfilmentChoiceRef": "FC-000123",
    },
    "meta": {"mode": "SYNC", "simulation": False, "models": [], "correlationId": ""},
}
WEBHOOK_SIZE = 611


def webhook_body(n: int) -> bytes:
    """The n-th webhook: its own event id and order, padded to exactly 611 bytes."""
    event = dict(_EVENT, id=f"5f1c2b7e-8d4a-4c31-9a0e-{n:012d}", entityRef=f"HD-{n:06d}")
    event["rootEntityRef"] = event["entityRef"]
    meta = dict(event["meta"])  # type: ignore[call-overload]
    body = json.dumps(event, separators=(",", ":")).encode()
    meta["correlationId"] = "c" * (WEBHOOK_SIZE - len(body))
    event["meta"] = meta
    body = json.dumps(event, separators=(",", ":")).encode()
    assert len(body) == WEBHOOK_SIZE, len(body)
    return body


def write_captures(path: Path, count: int, distinct: int = 2000) -> None:
    """``count`` JSON-lines records; ``distinct`` signed bodies are made (RSA signing is
    slow) and reused, each capture with its own id, as retries of an event would be."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    bodies = []
    for n in range(min(count, distinct)):
        body = webhook_body(n)
        bodies.append((body, tuple(sign_headers(key, body)), parse_event(body)))
    checks = tuple(
        SignatureCheck(header, Verdict.VALID, key_name="bench", detail="valid")
        for header in SignatureHeader
    )
    answer = b'{"status":"received"}'
    start = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    with path.open("wb") as fp:
        for n in range(count):
            body, signed, event = bodies[n % len(bodies)]
            capture = Capture(
                id=new_capture_id(),
                received_at=start + timedelta(microseconds=250 * n),
                method="POST",
                target="/hooks/fluent",
                path="/hooks/fluent",
                query="",
                headers=(
                    ("Host", "127.0.0.1:8765"),
                    ("User-Agent", "Apache-HttpClient/4.5.13 (Java/11.0.20)"),
                    ("Content-Type", "application/json"),
                    ("Content-Length", str(len(body))),
                    ("Accept-Encoding", "gzip,deflate"),
                    *signed,
                ),
                body=body,
                remote=f"127.0.0.1:{40000 + n % 20000}",
                response=ResponseRecord(200, (("Content-Type", "application/json"),), answer),
                signatures=checks,
                event=event,
            )
            fp.write(json.dumps(codec.encode_capture(capture), ensure_ascii=False).encode())
            fp.write(b"\n")


def checkout(ref: str, into: Path) -> Path:
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(into), ref],
        check=True,
    )
    return into


def import_seconds(tree: Path, source: Path, data_dir: Path) -> tuple[float, str]:
    env = dict(os.environ, PYTHONPATH=str(tree))
    began = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "inspector", "import", str(source), "--data-dir", str(data_dir)],
        cwd=tree,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - began
    if result.returncode != 0:
        raise SystemExit(f"import failed in {tree}: {result.stderr.strip()[-500:]}")
    return elapsed, result.stdout.strip().splitlines()[-1]


def index_seconds(tree: Path, data_dir: Path) -> tuple[int, float]:
    """(captures indexed, seconds) for bringing the search indexes up to date."""
    code = (
        "import sys, time; from pathlib import Path; from inspector.core.store import Store\n"
        "s = Store.open(Path(sys.argv[1]), check=False); t = time.perf_counter()\n"
        "n = s.catch_up_search(); print(n, time.perf_counter() - t); s.close()"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(data_dir)],
        cwd=tree,
        env=dict(os.environ, PYTHONPATH=str(tree)),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return int(out[0]), float(out[1])


def measure(count: int, rounds: int, base: Path | None, tmp: Path) -> None:
    source = tmp / f"captures-{count}.jsonl"
    began = time.perf_counter()
    write_captures(source, count)
    size = source.stat().st_size
    print(
        f"\n{count:,} captures, {size / 2**20:.0f} MiB of JSON lines "
        f"(written in {time.perf_counter() - began:.0f} s)",
        flush=True,
    )
    trees = [("this checkout", ROOT)] + ([("base", base)] if base is not None else [])
    times: dict[str, list[float]] = {name: [] for name, _ in trees}
    for round_no in range(rounds):
        # Alternate which goes first, so a slow patch of the shared machine hits both.
        order = trees if round_no % 2 == 0 else trees[::-1]
        for name, tree in order:
            data_dir = tmp / f"data-{name.replace(' ', '-')}-{count}-{round_no}"
            seconds, line = import_seconds(tree, source, data_dir)
            times[name].append(seconds)
            print(
                f"  round {round_no + 1}  {name:14} {seconds:6.2f} s  {count / seconds:9,.0f}/s"
                f"   ({line})",
                flush=True,
            )
            # Importing again: everything is already present (the dedupe path).
            if name == "this checkout" and round_no == 0:
                again, line = import_seconds(tree, source, data_dir)
                print(f"  re-import      {name:14} {again:6.2f} s  ({line})", flush=True)
                # What the import leaves to the next writer (the window's or a listener's,
                # in the background when idle): the search indexes' catch-up.
                indexed, took = index_seconds(tree, data_dir)
                print(
                    f"  then indexed   {name:14} {took:6.2f} s  for search ({indexed:,} "
                    "captures, catch_up_search; the filter scans them until then)",
                    flush=True,
                )
            for leftover in data_dir.iterdir():
                leftover.unlink()
            data_dir.rmdir()
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, value in medians.items():
        spread = (max(times[name]) - min(times[name])) / value * 100 if value else 0.0
        print(f"  median {name:14} {count / value:9,.0f} captures/s  (spread {spread:.0f}%)")
    if base is not None:
        print(f"  ratio this/base: {medians['base'] / medians['this checkout']:.2f}x")
    source.unlink()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--captures", type=int, default=100_000)
    parser.add_argument("--million", action="store_true", help="also 1,000,000 (one round)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--base", default=DEFAULT_BASE, help=f"commit to pair against ({DEFAULT_BASE})"
    )
    parser.add_argument("--no-base", action="store_true", help="measure this checkout alone")
    args = parser.parse_args()
    print(f"machine: {describe_machine()}")
    with tempfile.TemporaryDirectory(prefix="import-bench-") as tmp_name:
        tmp = Path(tmp_name)
        base = None if args.no_base else checkout(args.base, tmp / "base")
        try:
            measure(args.captures, args.rounds, base, tmp)
            if args.million:
                measure(1_000_000, 1, base, tmp)
        finally:
            if base is not None:
                subprocess.run(
                    ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)],
                    check=False,
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
