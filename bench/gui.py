"""Desktop-window benchmark: the inspector window over a store of 100,000 captures.

Not a test: prints figures next to the targets, never asserts. It measures

1. launch to the first painted table: a fresh Python process (a subprocess of this script)
   imports the app, creates the QApplication, builds the main window over the seeded store and
   shows it; the first paint of the table's viewport is caught by an event filter;
2. applying a text filter through the real filter bar (``set_text``: what Enter does, without
   the 250 ms typing debounce) until the model has reset and the viewport has repainted;
3. resident memory (VmRSS) after the first paint and after scrolling through 5,000 rows;
4. the GUI event loop's longest stall: a 10 ms timer's largest gap while a separate process
   posts signed webhooks (RSA-1024, both headers) at a paced 1,000 req/s to the window's real
   listener, against the same timer with no load in the same run.

The store, key ring and settings live in a temporary directory (a user's real data and
settings are never touched). Qt runs on the ``offscreen`` platform unless told otherwise:

    .venv/bin/python bench/gui.py [--captures 100000] [--seconds 10] [--rate 1000]
    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python bench/gui.py --platform xcb
"""

from __future__ import annotations

import time

_T_PROCESS = time.monotonic()  # the first thing a --child process does: its own start time

import argparse  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import textwrap  # noqa: E402
import traceback  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
# --baseline: the child (and the seeding) import the app from another checkout - the base
# commit - and are measured by this script's code, so both sides measure the same way.
CODE = os.environ.get("BENCH_CODE")
if CODE:
    sys.path.insert(0, CODE)

from bench import machine  # noqa: E402

TARGET_FIRST_PAINT_S = 1.5
TARGET_FILTER_MS = 200.0
TARGET_BODY_MS = 500.0
TARGET_RSS_MB = 300.0
TARGET_STALL_MS = 50.0
TICK_MS = 10
SCROLL_ROWS = 5000
RESULT_PREFIX = "BENCH-RESULT "
BENCH_KEY = "bench-rsa1024"

# (entity type, event name, entity status, entity ref format); weights give a realistic skew.
EVENTS: tuple[tuple[str, str, str, str, int], ...] = (
    ("ORDER", "CREATE", "CREATED", "HD-{n:07d}", 14),
    ("ORDER", "ORDER_BOOKED", "BOOKED", "HD-{n:07d}", 10),
    ("ORDER", "ORDER_COMPLETE", "COMPLETE", "CC-{n:07d}", 6),
    ("FULFILMENT", "FULFILMENT_READY", "READY", "FF-{n:07d}", 12),
    ("FULFILMENT", "PICK_CONFIRMED", "PICKED", "FF-{n:07d}", 9),
    ("CONSIGNMENT", "CONSIGNMENT_CREATED", "CREATED", "CON-{n:07d}", 6),
    ("ARTICLE", "ARTICLE_DISPATCHED", "DISPATCHED", "ART-{n:07d}", 6),
    ("INVENTORY_POSITION", "INVENTORY_CHANGED", "ACTIVE", "SKU-{n:05d}:DC_SYD", 25),
    ("RETURN_ORDER", "RETURN_CREATED", "CREATED", "RET-{n:07d}", 4),
    ("LOCATION", "LOCATION_UPDATED", "ACTIVE", "LOC_{n:04d}", 2),
    ("BILLING_ACCOUNT", "CREDIT_MEMO_CREATED", "ACTIVE", "BA-{n:06d}", 2),
)
PATHS = (
    "/hooks/fluent?env=sandbox",
    "/hooks/fluent?env=prod&region=syd",
    "/hooks/fluent?env=uat",
    "/webhooks/orders",
    "/webhooks/inventory/dc-syd",
    "/fluent/events?tenant=acme",
)
# Text filters typed into the filter bar: an event name (~9 %), an entity ref prefix (rare),
# a query-string value (~1/6), a nonexistent string (scans everything), and back to none.
FILTERS = ("pick_confirmed", "hd-00123", "env=uat", "no-such-capture-zz", "")


# --------------------------------------------------------------------------- machine
def describe_machine() -> str:
    try:
        import PySide6
        from PySide6 import QtCore

        qt = f"PySide6 {PySide6.__version__} (Qt {QtCore.qVersion()})"
    except ImportError:
        qt = "PySide6 not installed"
    return machine.describe_machine(qt)


def process_cpu_seconds(pid: int | None) -> float:
    """User + system CPU seconds of another process (0 when unknown)."""
    if not pid:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def rss_mb() -> tuple[float, float]:
    """(VmRSS, VmHWM) of this process in MB."""
    found = {"VmRSS": 0.0, "VmHWM": 0.0}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in found:
                found[name] = int(value.split()[0]) / 1024
    except OSError:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return peak, peak
    return found["VmRSS"], found["VmHWM"]


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


# --------------------------------------------------------------------------- seeding
def open_unchecked(store_class: Any, data_dir: Path) -> Any:
    """The store as the app opens it: without the quick check, which the window runs in the
    background (~2.5 s at a million captures); a base checkout older than the check has no
    ``check`` argument."""
    try:
        return store_class.open(data_dir, check=False)
    except TypeError:
        return store_class.open(data_dir)


def seed(data_dir: Path, count: int) -> None:
    """Fill the store with ``count`` varied captures (add_many, chunked) and say how long."""
    import random

    from inspector.core.capture import Verdict
    from inspector.core.store import Store
    from tests.support.captures import make_capture

    rng = random.Random(20240501)
    kinds = [e for e in EVENTS for _ in range(e[4])]
    # (flex, fluent) verdict mix: mostly valid, the rest spread over every failure kind.
    verdicts = (
        [(Verdict.VALID, Verdict.VALID)] * 85
        + [(Verdict.VALID, Verdict.INVALID)] * 4
        + [(Verdict.INVALID, Verdict.INVALID)] * 3
        + [(Verdict.MISSING, Verdict.VALID)] * 3
        + [(Verdict.NO_KEY, Verdict.NO_KEY)] * 3
        + [(Verdict.MALFORMED, Verdict.VALID)] * 2
    )
    start_time = datetime.now(UTC) - timedelta(seconds=count)
    recent_ids: list[str] = []

    def one(i: int) -> Any:
        entity_type, name, status, ref, _weight = rng.choice(kinds)
        flex, fluent = rng.choice(verdicts)
        target = rng.choice(PATHS)
        received = start_time + timedelta(seconds=i, microseconds=rng.randrange(1_000_000))
        if i % 250 == 7:
            # A body that is not JSON (a misconfigured sender): no event, raw view only.
            return make_capture(
                body=b"<html><body>502 Bad Gateway</body></html>",
                flex=Verdict.MISSING,
                fluent=Verdict.MISSING,
                target=target,
                received_at=received,
            )
        if recent_ids and rng.random() < 0.04:
            event_id = rng.choice(recent_ids)  # a retry: same event id, "2/3" attempts
        else:
            event_id = f"{rng.getrandbits(32):08x}-{i:04x}-4000-8000-{rng.getrandbits(48):012x}"
            recent_ids.append(event_id)
            if len(recent_ids) > 200:
                del recent_ids[0]
        n = rng.randrange(1, 99999)
        method = "POST" if rng.random() > 0.01 else "PUT"
        return make_capture(
            flex=flex,
            fluent=fluent,
            key=BENCH_KEY,
            target=target,
            method=method,
            received_at=received,
            event_id=event_id,
            event_name=name,
            entity_type=entity_type,
            entity_id=str(n),
            entity_ref=ref.format(n=n),
            entity_status=status,
            root_entity_type="ORDER" if entity_type in ("FULFILMENT", "ARTICLE") else entity_type,
            root_entity_ref=f"HD-{n:07d}",
        )

    chunk = 5000
    started = time.perf_counter()
    built = stored = 0.0
    with Store.open(data_dir) as store:
        for first in range(0, count, chunk):
            t0 = time.perf_counter()
            captures = [one(i) for i in range(first, min(count, first + chunk))]
            t1 = time.perf_counter()
            store.add_many(captures)
            t2 = time.perf_counter()
            built += t1 - t0
            stored += t2 - t1
            done = first + len(captures)
            if done % 25000 == 0 or done == count:
                print(f"  seeded {done:,} / {count:,}", flush=True)
        total = store.count()
        # Indexed for search as the window would find a store the listener kept up with
        # (an import leaves it to the idle writer; bench/import.py times that part).
        t3 = time.perf_counter()
        indexed = store.catch_up_search() if hasattr(store, "catch_up_search") else 0
        if indexed:
            print(f"  indexed {indexed:,} for search in {time.perf_counter() - t3:.1f} s")
    elapsed = time.perf_counter() - started
    size = sum(p.stat().st_size for p in data_dir.iterdir() if p.is_file()) / 1e6
    print(
        f"seeding: {total:,} captures in {elapsed:.1f} s ({total / elapsed:,.0f}/s; building "
        f"Capture objects {built:.1f} s, Store.add_many {stored:.1f} s); files {size:.0f} MB"
    )


def make_bench_key(workdir: Path, data_dir: Path, *others: Path) -> Path:
    """An RSA-1024 key pair: public half in the store's key ring (and in ``others``' rings:
    the base commit's copy), private PEM for the client."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from inspector.core.keys import KeyRing

    private = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    ring = KeyRing.open(data_dir)
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    ring.add(BENCH_KEY, public, replace=True)
    for other in others:
        KeyRing.open(other).add(BENCH_KEY, public, replace=True)
    pem = workdir / "bench-private.pem"
    pem.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return pem


# --------------------------------------------------------------------------- load generator
# Runs in its own process: pre-signs every request (so signing never paces the load), prints
# READY, then sends them on keep-alive connections at a paced rate over raw asyncio streams
# (far cheaper per request than an HTTP client library) and prints one JSON line of results.
LOAD_CLIENT = textwrap.dedent(
    """
    import asyncio, json, sys, time, uuid
    from pathlib import Path

    root, port, rate, seconds, pem, connections = sys.argv[1:7]
    sys.path.insert(0, root)
    port, rate, seconds, connections = int(port), float(rate), float(seconds), int(connections)

    from cryptography.hazmat.primitives import serialization
    from inspector.core.signatures import sign_headers

    key = serialization.load_pem_private_key(Path(pem).read_bytes(), password=None)
    kinds = [("ORDER", "CREATE", "CREATED", "HD-"), ("FULFILMENT", "PICK_CONFIRMED", "PICKED",
             "FF-"), ("INVENTORY_POSITION", "INVENTORY_CHANGED", "ACTIVE", "SKU-"),
             ("CONSIGNMENT", "CONSIGNMENT_CREATED", "CREATED", "CON-")]
    total = int(rate * seconds)
    requests = []
    for i in range(total):
        etype, name, status, prefix = kinds[i % len(kinds)]
        body = json.dumps({
            "id": str(uuid.uuid4()), "name": name, "accountId": "ACME", "retailerId": "1",
            "entityId": str(900000 + i), "entityRef": f"{prefix}LIVE-{i:06d}",
            "entityType": etype, "entitySubtype": "HD", "entityStatus": status,
            "rootEntityId": str(900000 + i), "rootEntityRef": f"HD-LIVE-{i:06d}",
            "rootEntityType": "ORDER", "type": "NORMAL",
            "attributes": {"totalPrice": 42.5 + i % 100, "channel": "web"},
            "meta": {"mode": "SYNC", "simulation": False, "models": []},
        }, separators=(",", ":")).encode()
        head = [f"POST /hooks/fluent?env=live&n={i} HTTP/1.1", f"Host: 127.0.0.1:{port}",
                "User-Agent: Apache-HttpClient/4.5.13 (Java/11.0.20)",
                "Content-Type: application/json", f"Content-Length: {len(body)}"]
        head += [f"{name}: {value}" for name, value in sign_headers(key, body)]
        requests.append(("\\r\\n".join(head) + "\\r\\n\\r\\n").encode() + body)
    print("READY", flush=True)

    async def main():
        loop = asyncio.get_running_loop()
        t0 = loop.time() + 0.05
        next_index = 0
        ok = errors = 0
        statuses = {}
        latencies = []
        max_lag = 0.0

        async def connect():
            return await asyncio.open_connection("127.0.0.1", port)

        async def worker():
            nonlocal next_index, ok, errors, max_lag
            reader, writer = await connect()
            try:
                while next_index < total:
                    i = next_index
                    next_index += 1
                    due = t0 + i / rate
                    delay = due - loop.time()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    else:
                        max_lag = max(max_lag, -delay)
                    start = time.perf_counter()
                    try:
                        writer.write(requests[i])
                        head = await reader.readuntil(b"\\r\\n\\r\\n")
                        lines = head.decode("latin-1").split("\\r\\n")
                        status = int(lines[0].split()[1])
                        length, close = 0, False
                        for line in lines[1:]:
                            name, _, value = line.partition(":")
                            if name.lower() == "content-length":
                                length = int(value)
                            elif name.lower() == "connection" and "close" in value.lower():
                                close = True
                        await reader.readexactly(length)
                    except (OSError, asyncio.IncompleteReadError, ValueError):
                        errors += 1
                        writer.close()
                        reader, writer = await connect()
                        continue
                    latencies.append(time.perf_counter() - start)
                    statuses[status] = statuses.get(status, 0) + 1
                    if 200 <= status < 300:
                        ok += 1
                    else:
                        errors += 1
                    if close:
                        writer.close()
                        reader, writer = await connect()
            finally:
                writer.close()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - started
        latencies.sort()
        pick = lambda p: latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000
        import resource
        usage = resource.getrusage(resource.RUSAGE_SELF)
        print(json.dumps({
            "cpu": usage.ru_utime + usage.ru_stime,
            "sent": total, "ok": ok, "errors": errors, "statuses": statuses,
            "seconds": elapsed, "max_lag_ms": max_lag * 1000,
            "p50_ms": pick(0.5) if latencies else None,
            "p99_ms": pick(0.99) if latencies else None,
            "max_ms": latencies[-1] * 1000 if latencies else None,
        }), flush=True)

    asyncio.run(main())
    """
)


# --------------------------------------------------------------------------- GUI child
def child(args: argparse.Namespace) -> dict[str, Any]:
    """Runs in a fresh process: launch the window, then (mode 'full') every measurement."""
    marks: dict[str, float] = {"process": _T_PROCESS}
    from PySide6.QtCore import QEvent, QEventLoop, QObject, QSettings, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from inspector.core import demo
    from inspector.core.keys import KeyRing
    from inspector.core.store import Store
    from inspector.gui import app as gui_app
    from inspector.gui import theme, workers
    from inspector.gui.errors import install_excepthook
    from inspector.gui.icons import icon
    from inspector.gui.settings import Settings

    marks["imported"] = time.monotonic()

    class PaintWatch(QObject):
        """Stamps the end of the next paint of ``widget`` (re-sent inside the filter, so the
        stamp is taken after the widget painted, not before)."""

        def __init__(self, widget: Any) -> None:
            super().__init__()
            self.widget = widget
            self.painted_at: float | None = None
            self.paints = 0
            self.durations: list[float] = []
            self._inside = False
            widget.installEventFilter(self)

        def arm(self) -> None:
            self.painted_at = None

        def eventFilter(self, obj: Any, event: Any) -> bool:
            if obj is self.widget and event.type() == QEvent.Type.Paint and not self._inside:
                self._inside = True
                began = time.perf_counter()
                try:
                    QApplication.sendEvent(obj, event)
                finally:
                    self._inside = False
                self.durations.append(time.perf_counter() - began)
                self.paints += 1
                if self.painted_at is None:
                    self.painted_at = time.monotonic()
                return True
            return False

    def spin_until(predicate: Any, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                return False
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)
        return True

    def spin_for(seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)

    # -- launch: what inspector.gui.app.run does, with injected store / settings ------------
    data_dir = Path(args.data_dir)
    app = gui_app._application()
    marks["app"] = time.monotonic()
    app.setWindowIcon(icon("app"))
    settings = Settings(QSettings(str(args.settings), QSettings.Format.IniFormat))
    theme.apply_theme(app, settings.theme)
    theme.set_zoom(app, settings.zoom)
    window: Any = None
    hooks = install_excepthook(lambda: window, log_path=Path(args.settings).with_suffix(".log"))
    store = open_unchecked(Store, data_dir)
    keyring = KeyRing.open(data_dir)
    demo.ensure_demo_key(keyring, data_dir)
    config = gui_app.listener_config_from(settings, "127.0.0.1", 0)
    marks["core"] = time.monotonic()
    factory = None
    if args.listener_thread:
        from inspector.core.listener import Listener

        factory = Listener
    # The app's default: the listener starts in its own process in the background while the
    # window paints (with --listener-thread: in this process, before the window returns).
    window = gui_app.build_main_window(store, keyring, settings, config, listener_factory=factory)
    marks["built"] = time.monotonic()
    table = window.table
    watch = PaintWatch(table.viewport())
    window.show()
    marks["shown"] = time.monotonic()
    painted = spin_until(lambda: watch.painted_at is not None, 30.0)
    marks["painted"] = watch.painted_at or float("nan")
    listening_at_paint = window.listener.url() is not None
    spin_until(lambda: window.listener.url() is not None, 30.0)
    marks["listening"] = time.monotonic()
    result: dict[str, Any] = {
        "painted": painted,
        "marks": marks,
        "rows_loaded": window.model.rowCount(),
        "total": window.model.total,
        "listener": window.listener.url(),
        "listener_kind": type(window.listener.handle).__name__,
        "listening_at_paint": listening_at_paint,
        "screen": app.primaryScreen().size().toTuple() if app.primaryScreen() else None,
        "window": window.size().toTuple(),
        "platform": app.platformName(),
    }
    result["rss_first_paint"] = rss_mb()
    spin_for(0.5)
    result["rss_settled"] = rss_mb()

    if args.child == "full":
        model = window.model
        bar = window.filter_bar

        # -- 2. text filters (and body search), with a 10 ms timer watching the loop ---------
        ticks: list[float] = []
        ticker = QTimer()
        ticker.setTimerType(Qt.TimerType.PreciseTimer)
        ticker.setInterval(TICK_MS)
        ticker.timeout.connect(lambda: ticks.append(time.perf_counter()))
        body_toggle = getattr(bar, "body_search", None)  # the base commit has none

        def apply_filter(text: str, bodies: bool) -> dict[str, Any]:
            spin_for(0.2)
            if body_toggle is not None and body_toggle.isChecked() != bodies:
                body_toggle.setChecked(bodies)  # applies at once: let it land first
                spin_until(lambda: not getattr(model, "loading", False), 30.0)
                spin_for(0.2)
            watch.arm()
            resets: list[float] = []
            counted: list[float] = []

            def on_reset() -> None:
                resets.append(time.monotonic())
                watch.arm()  # the paint that counts is the one after the new rows

            def on_counts(_m: int, _t: int) -> None:
                counted.append(time.monotonic())

            model.modelReset.connect(on_reset)
            model.counts_changed.connect(on_counts)
            ticks.clear()
            ticks.append(time.perf_counter())
            ticker.start()
            t0 = time.monotonic()
            bar.set_text(text)
            t_call = time.monotonic()
            ok = spin_until(lambda: bool(resets) and watch.painted_at is not None, 30.0)
            spin_until(lambda: bool(counted), 30.0)
            ticker.stop()
            model.modelReset.disconnect(on_reset)
            model.counts_changed.disconnect(on_counts)
            gaps = [b - a for a, b in itertools.pairwise(ticks)]
            return {
                "text": text,
                "bodies": bodies,
                "call_ms": (t_call - t0) * 1000,
                "model_ms": ((resets[0] if resets else t_call) - t0) * 1000,
                "paint_ms": ((watch.painted_at or t_call) - t0) * 1000,
                "count_ms": ((counted[0] if counted else t_call) - t0) * 1000,
                "stall_ms": max(gaps) * 1000 if gaps else 0.0,
                "painted": ok,
                "matching": model.matching,
                "rows": model.rowCount(),
            }

        result["filters"] = [apply_filter(text, False) for text in FILTERS]
        result["body_filters"] = (
            [apply_filter(text, True) for text in FILTERS[:-1]] if body_toggle is not None else []
        )
        if body_toggle is not None:
            body_toggle.setChecked(False)
        bar.set_text("")
        spin_until(lambda: not getattr(model, "loading", False), 30.0)
        spin_for(0.5)

        # -- 3. scroll through SCROLL_ROWS rows (fetchMore pages) --------------------------
        bar_v = table.verticalScrollBar()
        steps: list[float] = []
        t0 = time.monotonic()
        while model.rowCount() < SCROLL_ROWS and model.canFetchMore(table.rootIndex()):
            watch.arm()
            s0 = time.monotonic()
            bar_v.setValue(bar_v.maximum())  # the view calls fetchMore at the bottom
            spin_until(lambda: watch.painted_at is not None, 5.0)
            steps.append(time.monotonic() - s0)
        result["scroll"] = {
            "rows": model.rowCount(),
            "seconds": time.monotonic() - t0,
            "steps": len(steps),
            "max_step_ms": max(steps) * 1000 if steps else 0.0,
            "median_step_ms": statistics.median(steps) * 1000 if steps else 0.0,
        }
        spin_for(0.3)
        result["rss_scrolled"] = rss_mb()
        bar_v.setValue(0)  # back to the newest rows, where live captures appear
        spin_for(0.3)

        # -- 4. event-loop gaps: idle, then under load ---------------------------------------
        def measure_gaps(until: Any, limit: float) -> list[float]:
            gaps: list[float] = []
            last = [time.perf_counter()]
            loop = QEventLoop()
            started = time.monotonic()

            def tick() -> None:
                now = time.perf_counter()
                gaps.append(now - last[0])
                last[0] = now
                if until(time.monotonic() - started) or time.monotonic() - started > limit:
                    loop.quit()

            timer = QTimer()
            timer.setTimerType(Qt.TimerType.PreciseTimer)
            timer.setInterval(TICK_MS)
            timer.timeout.connect(tick)
            timer.start()
            loop.exec()
            timer.stop()
            return gaps

        if args.no_follow:
            window.commands["captures.follow"].setChecked(False)
        if args.batch_ms:
            model.set_batch_interval(int(args.batch_ms), int(args.batch_ms))
        if args.switch_interval:
            sys.setswitchinterval(args.switch_interval / 1000)
        result["switch_interval_ms"] = sys.getswitchinterval() * 1000
        stalls: list[str] = []
        watching = [False]
        if args.watch_stalls:
            # Diagnosis: a watchdog thread samples the GUI thread's Python stack whenever
            # the event loop has not ticked for 40 ms (what was it doing during a stall?).
            import threading

            gui_ident = threading.get_ident()
            last_tick = [time.perf_counter()]

            def watchdog() -> None:
                reported = 0.0
                while watching[0]:
                    time.sleep(0.005)
                    late = time.perf_counter() - last_tick[0]
                    if late > 0.04 and last_tick[0] != reported:
                        reported = last_tick[0]
                        frame = sys._current_frames().get(gui_ident)
                        stack = traceback.format_stack(frame)[-6:] if frame else ["?"]
                        stalls.append(f"{late * 1000:.0f} ms: " + "".join(stack))

            def ticker() -> None:
                last_tick[0] = time.perf_counter()

            stall_timer = QTimer(window)
            stall_timer.setTimerType(Qt.TimerType.PreciseTimer)
            stall_timer.setInterval(TICK_MS)
            stall_timer.timeout.connect(ticker)
            stall_timer.start()
            watching[0] = True
            threading.Thread(target=watchdog, daemon=True).start()
        # The cost of one full repaint of the table viewport, with nothing else running.
        forced = []
        for _ in range(20):
            watch.durations.clear()
            table.viewport().repaint()
            forced.extend(watch.durations)
        result["idle_repaint"] = summarise_durations(forced)

        rows_before = model.rowCount()
        stored_before = store.count()
        watch.durations.clear()
        idle = measure_gaps(lambda elapsed: elapsed >= args.seconds, args.seconds + 5)
        result["idle"] = summarise_gaps(idle)
        result["idle"]["repaints"] = summarise_durations(watch.durations)

        port = window.listener.handle.port if window.listener.handle is not None else 0
        listener_pid = getattr(window.listener.handle, "pid", None)
        client = subprocess.Popen(
            [
                sys.executable,
                "-c",
                LOAD_CLIENT,
                str(ROOT),
                str(port),
                str(args.rate),
                str(args.seconds),
                str(args.key_pem),
                str(args.connections),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        # Pre-signing happens before this line; the timed phase starts after it.
        ready = client.stdout.readline().strip() if client.stdout is not None else ""
        profiler = None
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        # Cycle-collector passes during the load: a full (generation 2) one walks every
        # tracked object and holds the GIL throughout, whichever thread triggered it.
        import gc

        gc_passes: list[tuple[int, float]] = []
        gc_started = [0.0]

        def on_gc(phase: str, info: dict[str, Any]) -> None:
            if phase == "start":
                gc_started[0] = time.perf_counter()
            else:
                gc_passes.append((info["generation"], time.perf_counter() - gc_started[0]))

        gc.callbacks.append(on_gc)
        watch.durations.clear()
        cpu0 = os.times()
        gui0 = time.thread_time()
        child0 = process_cpu_seconds(listener_pid)
        t_load = time.monotonic()
        loaded = measure_gaps(lambda _elapsed: client.poll() is not None, args.seconds * 4 + 30)
        load_seconds = time.monotonic() - t_load
        gc.callbacks.remove(on_gc)
        gui_cpu = time.thread_time() - gui0
        cpu1 = os.times()
        child_cpu = process_cpu_seconds(listener_pid) - child0
        process_cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)
        out, _ = client.communicate(timeout=60)
        spin_for(0.5)  # the last live batch
        result["load"] = summarise_gaps(loaded)
        result["load"].update(
            {
                "repaints": summarise_durations(watch.durations),
                "client_ready": ready,
                "client": json.loads(out.strip().splitlines()[-1]) if out.strip() else None,
                "gui_seconds": load_seconds,
                "process_cpu": process_cpu,
                "listener_process_cpu": child_cpu if listener_pid else None,
                "gui_thread_cpu": gui_cpu,
                "received": store.count() - stored_before,
                "rows_before": rows_before,
                "rows_after": model.rowCount(),
                "model_total": model.total,
                "model_matching": model.matching,
                "follow_newest": window.commands["captures.follow"].isChecked(),
                "gc_full": sum(1 for gen, _ in gc_passes if gen == 2),
                "gc_max_ms": max((d for _, d in gc_passes), default=0.0) * 1000,
                "gc_frozen": gc.get_freeze_count(),
            }
        )
        result["rss_after_load"] = rss_mb()
        watching[0] = False
        result["stalls"] = stalls

    window.shutdown()
    workers.shutdown()
    store.close()
    hooks.uninstall()
    window.close()
    return result


def summarise_durations(durations: list[float]) -> dict[str, Any]:
    ms = [d * 1000 for d in durations]
    return {
        "count": len(ms),
        "median_ms": statistics.median(ms) if ms else float("nan"),
        "max_ms": max(ms) if ms else float("nan"),
        "total_ms": sum(ms),
    }


def summarise_gaps(gaps: list[float]) -> dict[str, Any]:
    ms = [g * 1000 for g in gaps]
    return {
        "ticks": len(ms),
        "max_ms": max(ms) if ms else float("nan"),
        "p99_ms": percentile(ms, 0.99),
        "p50_ms": percentile(ms, 0.5),
        "over_50ms": sum(1 for g in ms if g > TARGET_STALL_MS),
    }


def upgrade(base_dir: Path, data_dir: Path) -> None:
    """Copy the base commit's store and open it with this code: how long the schema
    migration blocks the open, how long the background fill of the search indexes takes,
    and what they add on disk."""
    from inspector.core.store import Store

    data_dir.mkdir(parents=True, exist_ok=True)
    for name in ("captures.sqlite3", "captures.sqlite3-wal"):
        if (base_dir / name).is_file():
            shutil.copyfile(base_dir / name, data_dir / name)
    before = sum(p.stat().st_size for p in data_dir.iterdir() if p.is_file())
    t0 = time.perf_counter()
    store = open_unchecked(Store, data_dir)
    t1 = time.perf_counter()
    indexed = getattr(store, "search_indexed", None)
    while indexed is not None and not indexed():
        time.sleep(0.5)
    t2 = time.perf_counter()
    rows = store.count()
    store.close()
    after = sum(p.stat().st_size for p in data_dir.iterdir() if p.is_file())
    print(
        f"upgrade of the base commit's store ({rows:,} captures): the open (schema migration) "
        f"took {t1 - t0:.2f} s; the background fill of the search indexes {t2 - t1:.1f} s "
        f"({rows / max(t2 - t1, 1e-9):,.0f} captures/s); files {before / 1e6:,.0f} MB -> "
        f"{after / 1e6:,.0f} MB (+{(after - before) / 1e6:,.0f} MB, "
        f"+{(after - before) / max(before, 1) * 100:.0f}%)",
        flush=True,
    )


# --------------------------------------------------------------------------- parent
def run_child(
    mode: str,
    args: argparse.Namespace,
    workdir: Path,
    key_pem: Path,
    tag: str,
    *,
    code: Path | None = None,
    data_dir: Path | None = None,
) -> dict[str, Any]:
    settings = workdir / f"settings-{tag}.ini"
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        mode,
        "--data-dir",
        str(data_dir or args.data_dir),
        "--settings",
        str(settings),
        "--key-pem",
        str(key_pem),
        "--seconds",
        str(args.seconds),
        "--rate",
        str(args.rate),
        "--connections",
        str(args.connections),
    ]
    if args.profile and mode == "full":
        command += ["--profile", args.profile]
    if args.no_follow:
        command.append("--no-follow")
    if args.listener_thread:
        command.append("--listener-thread")
    if args.batch_ms:
        command += ["--batch-ms", str(args.batch_ms)]
    if args.switch_interval:
        command += ["--switch-interval", str(args.switch_interval)]
    if args.watch_stalls and mode == "full":
        command.append("--watch-stalls")
    env = dict(os.environ, QT_QPA_PLATFORM=args.platform)
    if code is not None:
        env["BENCH_CODE"] = str(code)
    spawned = time.monotonic()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    for line in done.stderr.splitlines():
        print(f"  [child stderr] {line}", file=sys.stderr)
    log = settings.with_suffix(".log")
    if done.returncode and log.is_file():
        for line in log.read_text(errors="replace").splitlines()[-40:]:
            print(f"  [child log] {line}", file=sys.stderr)
    for line in done.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            result: dict[str, Any] = json.loads(line[len(RESULT_PREFIX) :])
            result["marks"]["spawned"] = spawned
            return result
    raise RuntimeError(f"the {mode} child failed (exit {done.returncode}); see stderr above")


def verdict(value: float, target: float) -> str:
    return "meets" if value <= target else "MISSES"


def report_launch(results: list[dict[str, Any]]) -> None:
    print()
    print(f"1. launch to first painted table (target <= {TARGET_FIRST_PAINT_S} s)")
    cold: list[float] = []
    for n, r in enumerate(results, start=1):
        m = r["marks"]
        spawn = m["painted"] - m["spawned"]
        cold.append(spawn)
        print(
            f"   run {n}: process start -> first paint {spawn * 1000:7.0f} ms   "
            f"(interpreter start {(m['process'] - m['spawned']) * 1000:.0f} ms, imports "
            f"{(m['imported'] - m['process']) * 1000:.0f} ms; in-process: QApplication -> "
            f"paint {(m['painted'] - m['app']) * 1000:.0f} ms, build_main_window "
            f"{(m['built'] - m['core']) * 1000:.0f} ms, show -> paint "
            f"{(m['painted'] - m['shown']) * 1000:.0f} ms)  rows loaded {r['rows_loaded']}, "
            f"store {r['total']:,}; listening "
            + (
                "before the first paint"
                if r["listening_at_paint"]
                else f"{(m['listening'] - m['painted']) * 1000:.0f} ms after it"
            )
        )
    med = statistics.median(cold)
    print(
        f"   median process start -> first paint: {med * 1000:.0f} ms  "
        f"[{verdict(med, TARGET_FIRST_PAINT_S)} target]"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--captures", type=int, default=100_000, help="captures in the store")
    parser.add_argument("--seconds", type=float, default=10.0, help="load (and idle) phase")
    parser.add_argument("--rate", type=float, default=1000.0, help="webhooks per second")
    parser.add_argument("--connections", type=int, default=32, help="client keep-alive conns")
    parser.add_argument("--launches", type=int, default=3, help="cold launches to time")
    parser.add_argument(
        "--platform",
        default="offscreen",
        help="QT_QPA_PLATFORM for the window (offscreen; xcb under xvfb-run)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="reuse this (seeded) data dir instead of a temporary one; seeded when empty",
    )
    parser.add_argument("--profile", help="cProfile the GUI thread during the load to this file")
    parser.add_argument(
        "--no-follow", action="store_true", help="turn 'Follow newest' off before the load"
    )
    parser.add_argument(
        "--switch-interval",
        type=float,
        default=0.0,
        help="diagnosis: sys.setswitchinterval in ms for the GUI process (Python default 5)",
    )
    parser.add_argument(
        "--batch-ms",
        type=float,
        default=0.0,
        help="diagnosis: the table model's live-batch interval in ms (the app uses 50)",
    )
    parser.add_argument(
        "--listener-thread",
        action="store_true",
        help="the old mode: the listener as threads inside the window's process (the app "
        "runs it as a child process)",
    )
    parser.add_argument(
        "--watch-stalls",
        action="store_true",
        help="diagnosis: print the GUI thread's Python stack during each stall over 40 ms",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        help="a checkout of the base commit (git worktree add --detach DIR main): its app is "
        "measured by the same child code in the same run, on its own copy of the store",
    )
    parser.add_argument(
        "--baseline-data-dir",
        type=Path,
        help="the base commit's (seeded) data dir; seeded by the base code when empty. The "
        "current data dir, when empty, starts as a copy of it upgraded by this code: the "
        "migration and the background index fill are timed",
    )
    # Internal: the GUI process this script starts.
    parser.add_argument("--child", choices=["launch", "full"], help=argparse.SUPPRESS)
    parser.add_argument("--settings", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--key-pem", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--seed-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.seed_only:
        seed(args.data_dir, args.captures)
        return 0

    if args.child:
        try:
            result = child(args)
        except BaseException:
            # The app's excepthook would only log it (to a file in the temp dir): say it here.
            traceback.print_exc()
            return 1
        print(RESULT_PREFIX + json.dumps(result), flush=True)
        return 0

    print(f"machine: {describe_machine()}")
    print(
        f"Qt platform: {args.platform}"
        + (
            " (QT_QPA_PLATFORM=offscreen: real widget painting into an in-memory backing "
            "store, no window system or compositor; use --platform xcb under xvfb-run for X11)"
            if args.platform == "offscreen"
            else ""
        )
    )
    with tempfile.TemporaryDirectory(prefix="gui-bench-") as tmp:
        workdir = Path(tmp)
        if args.data_dir is None:
            args.data_dir = workdir / "data"
        args.data_dir.mkdir(parents=True, exist_ok=True)
        from inspector.core.store import Store

        base_dir = None
        if args.baseline is not None:
            base_dir = args.baseline_data_dir or workdir / "base-data"
            base_dir.mkdir(parents=True, exist_ok=True)
            if not (base_dir / "captures.sqlite3").is_file():
                print(f"seeding the base commit's store with {args.baseline} ...", flush=True)
                subprocess.run(
                    [
                        sys.executable,
                        str(Path(__file__).resolve()),
                        "--seed-only",
                        *("--data-dir", str(base_dir), "--captures", str(args.captures)),
                    ],
                    env=dict(os.environ, BENCH_CODE=str(args.baseline)),
                    check=True,
                )
            if not (args.data_dir / "captures.sqlite3").is_file():
                upgrade(base_dir, args.data_dir)
        with Store.open(args.data_dir) as store:
            existing = store.count()
        if existing >= args.captures:
            print(f"seeding: reusing {existing:,} captures in {args.data_dir}")
        else:
            seed(args.data_dir, args.captures - existing)
        key_pem = make_bench_key(workdir, args.data_dir, *([base_dir] if base_dir else []))

        launches = [
            run_child("launch", args, workdir, key_pem, f"launch{n}")
            for n in range(max(0, args.launches - 1))
        ]
        baseline = None
        if base_dir is not None:
            # The base first, then this code: the same store size, back to back.
            baseline = run_child(
                "full", args, workdir, key_pem, "base", code=args.baseline, data_dir=base_dir
            )
        full = run_child("full", args, workdir, key_pem, "full")
        report(args, [*launches, full], full, baseline)
    return 0


def report_filters(
    filters: list[dict[str, Any]], base: list[dict[str, Any]] | None
) -> tuple[list[float], float]:
    """Print one line per filter (and the base commit's figure for the same text)."""
    times: list[float] = []
    stalls: list[float] = []
    by_text = {f["text"]: f for f in base or []}
    for f in filters:
        label = repr(f["text"]) if f["text"] else "'' (clear)"
        times.append(f["paint_ms"])
        stalls.append(f["stall_ms"])
        line = (
            f"   {label:22} rows painted {f['paint_ms']:7.1f} ms, counted "
            f"{f['count_ms']:7.1f} ms, longest stall {f['stall_ms']:6.1f} ms   matching "
            f"{f['matching']:,} ({f['rows']} rows loaded)"
        )
        other = by_text.get(f["text"])
        if other is not None:
            line += (
                f"   | base: painted {other['paint_ms']:7.1f} ms, stall {other['stall_ms']:6.1f} ms"
                f" = {f['paint_ms'] / max(other['paint_ms'], 0.001):.2f}x"
            )
        print(line)
    if base:
        base_times = [f["paint_ms"] for f in base]
        print(
            f"   base commit: median {statistics.median(base_times):.1f} ms, worst "
            f"{max(base_times):.1f} ms, longest stall {max(f['stall_ms'] for f in base):.1f} ms"
        )
    med = statistics.median(times)
    print(
        f"   median to repaint: {med:.1f} ms, worst {max(times):.1f} ms, longest stall "
        f"{max(stalls):.1f} ms  [{verdict(med, TARGET_FILTER_MS)} target; stall "
        f"{verdict(max(stalls), TARGET_STALL_MS)}]  (the 250 ms typing debounce is not "
        f"included: Enter applies at once)"
    )
    return times, max(stalls)


def report(
    args: argparse.Namespace,
    launches: list[dict[str, Any]],
    full: dict[str, Any],
    baseline: dict[str, Any] | None = None,
) -> None:
    print(
        f"window: {full['window'][0]}x{full['window'][1]} on a "
        f"{full['screen'][0]}x{full['screen'][1]} {full['platform']} screen; listener "
        f"{full['listener']} ({full['listener_kind']}"
        + (
            ", the window's child process)"
            if full["listener_kind"] == "ListenerProcess"
            else ", threads in the window's process)"
        )
    )
    report_launch(launches)

    print()
    print(
        f"2. text filter through the filter bar (target <= {TARGET_FILTER_MS:.0f} ms to the "
        f"repainted rows; event loop's longest stall <= {TARGET_STALL_MS:.0f} ms)"
    )
    paint_times, stall = report_filters(full["filters"], baseline and baseline["filters"])
    med = statistics.median(paint_times)
    body = full.get("body_filters") or []
    if body:
        print(f"   body search (toggle on; target <= {TARGET_BODY_MS:.0f} ms median):")
        body_times, body_stall = report_filters(body, None)
        print(
            f"   body search median {statistics.median(body_times):.1f} ms, worst "
            f"{max(body_times):.1f} ms, longest stall {body_stall:.1f} ms  "
            f"[{verdict(statistics.median(body_times), TARGET_BODY_MS)} target]; base: n/a "
            f"(no body search)"
        )

    print()
    print(f"3. resident memory (target <= {TARGET_RSS_MB:.0f} MB)")
    rows = [
        ("after first paint", full["rss_first_paint"]),
        ("0.5 s later", full["rss_settled"]),
        (f"after scrolling to {full['scroll']['rows']:,} rows", full["rss_scrolled"]),
        ("after the load phase", full["rss_after_load"]),
    ]
    for label, (rss, hwm) in rows:
        print(
            f"   {label:30} RSS {rss:6.1f} MB (peak {hwm:6.1f} MB)  [{verdict(rss, TARGET_RSS_MB)}]"
        )
    s = full["scroll"]
    print(
        f"   scrolling: {s['steps']} fetchMore pages to {s['rows']:,} rows in "
        f"{s['seconds'] * 1000:.0f} ms (page + repaint: median {s['median_step_ms']:.1f} ms, "
        f"worst {s['max_step_ms']:.1f} ms)"
    )

    print()
    print(
        f"4. GUI event loop, {TICK_MS} ms PreciseTimer, longest gap "
        f"(target <= {TARGET_STALL_MS:.0f} ms)"
    )
    idle, load = full["idle"], full["load"]
    print(
        f"   idle ({args.seconds:g} s, listener up, no requests): max {idle['max_ms']:6.1f} ms,"
        f" p99 {idle['p99_ms']:5.1f} ms, p50 {idle['p50_ms']:5.1f} ms, "
        f"{idle['ticks']} ticks, {idle['over_50ms']} gaps > 50 ms"
    )
    print(
        f"   load ({args.rate:g}/s for {args.seconds:g} s):  max {load['max_ms']:6.1f} ms, "
        f"p99 {load['p99_ms']:5.1f} ms, p50 {load['p50_ms']:5.1f} ms, {load['ticks']} ticks, "
        f"{load['over_50ms']} gaps > 50 ms  [{verdict(load['max_ms'], TARGET_STALL_MS)} target]"
    )
    if idle["max_ms"]:
        print(
            f"   ratio loaded / idle: max gap {load['max_ms'] / idle['max_ms']:.2f}x, "
            f"p99 {load['p99_ms'] / idle['p99_ms']:.2f}x"
        )
    for label, d in (
        ("forced full repaint, idle", full["idle_repaint"]),
        ("table repaints, idle phase", idle["repaints"]),
        ("table repaints, load phase", load["repaints"]),
    ):
        if not d["count"]:
            print(f"   {label:27}    0 paints (nothing changed on screen)")
            continue
        print(
            f"   {label:27} {d['count']:4} paints, median {d['median_ms']:5.1f} ms, "
            f"max {d['max_ms']:6.1f} ms, total {d['total_ms']:6.0f} ms"
        )
    c = load["client"] or {}
    if c:
        print(
            f"   client (separate process, {args.connections} keep-alive connections, paced): "
            f"sent {c['sent']:,} in {c['seconds']:.1f} s = {c['sent'] / c['seconds']:,.0f}/s, "
            f"2xx {c['ok']:,}, errors {c['errors']}, latency p50 {c['p50_ms']:.1f} ms "
            f"p99 {c['p99_ms']:.1f} ms max {c['max_ms']:.1f} ms, "
            f"fell behind schedule by up to {c['max_lag_ms']:.0f} ms"
        )
    wall = load["gui_seconds"]
    child_cpu = load.get("listener_process_cpu")
    where = (
        f"other threads {load['process_cpu'] - load['gui_thread_cpu']:.1f} s); listener process "
        f"{child_cpu:.1f} s"
        if child_cpu is not None
        else f"listener + store threads {load['process_cpu'] - load['gui_thread_cpu']:.1f} s)"
    )
    print(
        f"   CPU during the load ({wall:.1f} s wall): window process {load['process_cpu']:.1f} s "
        f"(GUI thread {load['gui_thread_cpu']:.1f} s, {where}; client process "
        f"{c.get('cpu', float('nan')):.1f} s incl. pre-signing; machine has {os.cpu_count()} cores"
    )
    if c:
        print(
            f"   sustained: {c['ok'] / c['seconds']:,.0f} webhooks/s answered 2xx "
            f"(asked for {args.rate:g}/s)"
        )
    print(
        f"   webhooks received (stored) during the load: {load['received']:,}; rows in the "
        f"model: {load['rows_before']:,} before -> {load['rows_after']:,} after "
        f"(model total {load['model_total']:,}, follow newest "
        f"{'on' if load['follow_newest'] else 'off'}); GIL switch interval "
        f"{full.get('switch_interval_ms', float('nan')):g} ms"
    )
    if "gc_full" in load:
        print(
            f"   cycle collector during the load: {load['gc_full']} full passes, longest pass "
            f"{load['gc_max_ms']:.1f} ms; {load['gc_frozen']:,} objects frozen (never walked)"
        )
    for stall in full.get("stalls", []):
        print(f"   stall {stall}")

    print()
    print("summary (target):")
    median_launch = statistics.median(
        r["marks"]["painted"] - r["marks"]["spawned"] for r in launches
    )
    print(
        f"   first paint      {median_launch:6.2f} s   (<= {TARGET_FIRST_PAINT_S} s)   "
        f"{verdict(median_launch, TARGET_FIRST_PAINT_S)}"
    )
    print(
        f"   text filter      {med:6.0f} ms  median, {max(paint_times):.0f} ms worst, stall "
        f"{stall:.0f} ms  (<= {TARGET_FILTER_MS:.0f} ms)   {verdict(med, TARGET_FILTER_MS)}"
    )
    peak_rss = max(full["rss_scrolled"][0], full["rss_first_paint"][0])
    print(
        f"   RSS              {full['rss_first_paint'][0]:6.0f} MB  first paint, "
        f"{full['rss_scrolled'][0]:.0f} MB after {s['rows']:,} rows  (<= {TARGET_RSS_MB:.0f} MB)"
        f"   {verdict(peak_rss, TARGET_RSS_MB)}"
    )
    print(
        f"   longest stall    {load['max_ms']:6.1f} ms  at {args.rate:g}/s, p99 "
        f"{load['p99_ms']:.1f} ms (idle {idle['max_ms']:.1f} ms)  (<= {TARGET_STALL_MS:.0f} ms)"
        f"   {verdict(load['max_ms'], TARGET_STALL_MS)}"
    )
    c = load["client"] or {}
    if c:
        print(
            f"   sustained        {c['ok'] / c['seconds']:6,.0f} /s  webhooks answered 2xx "
            f"(asked for {args.rate:g}/s; listener: {full['listener_kind']})"
        )


if __name__ == "__main__":
    raise SystemExit(main())
