"""Cold-start benchmark: process start to a visible window, in a real X server.

Not a test: prints figures next to the target (1.5 s), never asserts. Each launch is what a
user runs, ``python -m inspector gui --data-dir DIR --port 0``, over a store of 100,000
captures (seeded as ``bench/gui.py`` does), on Qt's ``xcb`` platform. The clock starts just
before the process is spawned and stops when ``xdotool search --sync --onlyvisible --pid``
finds a mapped window of that process; it then also records when the window's title first
shows the listener's URL (the listener child listening).

With ``--base DIR`` (another checkout, e.g. ``git worktree add --detach ../base main``) every
round launches both, alternating which goes first, so the pair sees the same machine load:

    .venv/bin/python bench/coldstart.py --base ../base [--runs 7] [--captures 100000]

Without ``DISPLAY`` it re-runs itself under ``xvfb-run -a -s "-screen 0 1280x800x24"``. The
store, settings (``HOME``/``XDG_CONFIG_HOME``) and key ring live in a temporary directory; the
file cache is warm after the first (uncounted) launch of each side, as for a user's second
start of the day.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TARGET_S = 1.5
WINDOW_TIMEOUT_S = 30.0
LISTEN_TIMEOUT_S = 15.0


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by process ``pid`` (its own threads only)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def launch(
    checkout: Path, data_dir: Path, home: Path, screenshot: Path | None = None
) -> tuple[float, float | None, float]:
    """(seconds to a visible window, seconds until the title shows the listener URL or
    None, CPU seconds the window process had used when it became visible) for one launch
    of the app in ``checkout``; the app is then stopped."""
    env = dict(os.environ)
    env.pop("QT_QPA_PLATFORM", None)  # the real X server, not offscreen
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_DATA_HOME=str(home / "data"),
        PYTHONPATH=str(checkout),
        FLUENT_INSPECTOR_HOME=str(data_dir),
    )
    cmd = [sys.executable, "-m", "inspector", "gui", "--data-dir", str(data_dir), "--port", "0"]
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        cwd=checkout,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # one process group: the window and its listener child
    )
    try:
        found = subprocess.run(
            ["xdotool", "search", "--sync", "--onlyvisible", "--pid", str(proc.pid)],
            capture_output=True,
            text=True,
            timeout=WINDOW_TIMEOUT_S,
        )
        visible = time.perf_counter() - started
        cpu = process_cpu_seconds(proc.pid)
        windows = found.stdout.split()
        if found.returncode != 0 or not windows:
            said = proc.stderr.read1().decode(errors="replace")[-2000:] if proc.stderr else ""
            raise RuntimeError(
                f"no visible window (DISPLAY={os.environ.get('DISPLAY')}): "
                f"{found.stderr.strip()}; the app said: {said}"
            )
        if screenshot is not None:  # as mapped, and a quarter of a second later
            subprocess.run(["import", "-window", "root", str(screenshot)], check=False)
            time.sleep(0.25)
            later = screenshot.with_name(screenshot.stem + "-later" + screenshot.suffix)
            subprocess.run(["import", "-window", "root", str(later)], check=False)
        listening: float | None = None
        deadline = time.perf_counter() + LISTEN_TIMEOUT_S
        while time.perf_counter() < deadline:
            title = subprocess.run(
                ["xdotool", "getwindowname", windows[-1]], capture_output=True, text=True
            ).stdout
            if "http://" in title or "https://" in title:
                listening = time.perf_counter() - started
                break
            time.sleep(0.01)
        return visible, listening, cpu
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stops the window (SIGTERM to its process group; the listener child also stops at its
    stdin's EOF) and waits until every process of the group is gone."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.02)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def summary(
    name: str, visible: list[float], listening: list[float | None], cpu: list[float]
) -> str:
    ok = [x for x in listening if x is not None]
    listen = f"listening {statistics.median(ok):.2f} s median" if ok else "listening: not seen"
    verdict = "meets" if statistics.median(visible) <= TARGET_S else "MISSES"
    return (
        f"{name:>6}: visible window {statistics.median(visible):.2f} s median, "
        f"{max(visible):.2f} s worst, {min(visible):.2f} s best (n={len(visible)}; "
        f"{verdict} ≤ {TARGET_S} s); {listen}; CPU to visible {statistics.median(cpu):.2f} s"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--captures", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7, help="counted launches per side")
    parser.add_argument("--base", type=Path, help="a checkout to pair against (alternating)")
    parser.add_argument("--data-dir", type=Path, help="reuse a store seeded by an earlier run")
    parser.add_argument(
        "--screenshot",
        type=Path,
        help="PNG of the screen right after the "
        "window became visible (first counted launch of this checkout)",
    )
    args = parser.parse_args()

    if not os.environ.get("DISPLAY"):
        if shutil.which("xvfb-run") is None:
            print("coldstart: needs an X server (DISPLAY) or xvfb-run", file=sys.stderr)
            return 2
        argv = ["xvfb-run", "-a", "-s", "-screen 0 1280x800x24", sys.executable, *sys.argv]
        return subprocess.call(argv)
    if shutil.which("xdotool") is None:
        print("coldstart: needs xdotool (apt-get install xdotool)", file=sys.stderr)
        return 2

    from bench import machine

    print(machine.describe_machine())
    with tempfile.TemporaryDirectory(prefix="inspector-coldstart-") as tmp:
        work = Path(tmp)
        data_dir = args.data_dir or work / "data"
        if args.data_dir is None:
            data_dir.mkdir()
            from bench.gui import seed

            seed(data_dir, args.captures)
        sides = [("new", ROOT)]
        if args.base is not None:
            sides.append(("base", args.base.resolve()))
        results: dict[str, tuple[list[float], list[float | None], list[float]]] = {
            name: ([], [], []) for name, _ in sides
        }
        for name, checkout in sides:  # warm-up, not counted: file cache, first store open
            home = work / f"home-{name}"
            home.mkdir(exist_ok=True)
            launch(checkout, data_dir, home)
        for round_no in range(args.runs):
            order = sides if round_no % 2 == 0 else sides[::-1]
            line = []
            for name, checkout in order:
                shot = args.screenshot if (round_no == 0 and name == "new") else None
                visible, listening, cpu = launch(checkout, data_dir, work / f"home-{name}", shot)
                results[name][0].append(visible)
                results[name][1].append(listening)
                results[name][2].append(cpu)
                heard = f"{listening:.2f}" if listening is not None else "-"
                line.append(f"{name} {visible:.2f} s (listening {heard}, CPU {cpu:.2f} s)")
            print(f"round {round_no + 1}: " + ", ".join(line), flush=True)
        print()
        for name, _ in sides:
            print(summary(name, *results[name]))
        if args.base is not None:
            new = statistics.median(results["new"][0])
            base = statistics.median(results["base"][0])
            pairs = [n / b for n, b in zip(results["new"][0], results["base"][0], strict=True)]
            print(
                f" ratio: new / base = {new / base:.2f} (medians); per round "
                + ", ".join(f"{p:.2f}" for p in pairs)
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
