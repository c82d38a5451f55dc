"""`listen`'s output: a line per capture a person can read, and a summary once they cannot.

The listener's thread only appends each stored capture to a deque (no formatting, no thread
wake-up: waking a printer thread per capture cost the listener ~20% of its rate in GIL
hand-overs). A printer thread of its own drains the deque every :data:`TICK_S`, formats the
lines and writes them in one write and one flush, so a slow terminal never slows the
listener and a fast one costs a few syscalls a second.

Above :data:`LINES_PER_SECOND` captures in a second nobody reads the lines, and formatting
them is most of what printing costs. Then each second gets one summary line instead
("1,234 captures in the last second"); the first says why and how to get every capture
(``--json``). A second with at most that many captures goes back to a line per capture (its
captures are printed then, at most a second late). ``every=True`` (``--json``) prints every
capture whatever the rate: machines read that.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from typing import IO

from inspector.core.capture import Capture

__all__ = ["LINES_PER_SECOND", "TICK_S", "CapturePrinter", "summary_line"]

LINES_PER_SECOND = 20
"""Above this many captures in a second, a summary per second replaces the lines: a person
reads a few lines a second at most, and at hundreds a second they only scroll past."""
TICK_S = 0.1
"""How often the printer wakes: a line shows at most this late."""
BACKLOG = 10_000
"""Most captures waiting to be printed (default output) while the terminal does not read."""


def summary_line(count: int, *, first: bool) -> str:
    """The summary of one busy second; ``first`` says why lines stopped."""
    line = f"{time.strftime('%H:%M:%S')}  {count:,} captures in the last second"
    if first:
        line += (
            f" (showing a summary per second above {LINES_PER_SECOND}/s; --json for every capture)"
        )
    return line


class CapturePrinter:
    """Give :attr:`add` each stored capture (from any thread); :meth:`stop` prints what is
    left."""

    def __init__(
        self, out: IO[str], line: Callable[[Capture], str], *, every: bool = False
    ) -> None:
        self._out = out
        self._line = line
        self._every = every
        # A terminal paused (Ctrl+S) or a pipe nobody reads blocks the printer: without
        # --json only the newest BACKLOG captures are kept meanwhile, never all of them.
        self._pending: collections.deque[Capture] = collections.deque(
            maxlen=None if every else BACKLOG
        )
        self.add: Callable[[Capture], None] = self._pending.append
        """Subscribe this: all the listener's thread does per capture (thread-safe)."""
        self._stopping = threading.Event()
        self._broken = False
        self._window_start = time.monotonic()
        self._window_count = 0
        self._summarising = False
        self._held: list[Capture] = []
        """While summarising: the first captures of the second, printed if it stays quiet."""
        self._thread = threading.Thread(target=self._run, name="listen-printer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Print what arrived so far (the last second by the same rule) and stop."""
        self._stopping.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stopping.wait(TICK_S):
            self._tick(time.monotonic())
        self._tick(time.monotonic())
        if not self._every:
            self._write(self._end_window())

    def _tick(self, now: float) -> None:
        lines: list[str] = []
        pending = self._pending
        if self._every:
            while pending:
                lines.append(self._line(pending.popleft()))
        else:
            limit = LINES_PER_SECOND
            while pending:
                capture = pending.popleft()
                self._window_count += 1
                if not self._summarising:
                    if self._window_count <= limit:
                        lines.append(self._line(capture))
                elif len(self._held) < limit:
                    self._held.append(capture)
            if now - self._window_start >= 1.0:
                lines += self._end_window()
                self._window_start = now
        self._write(lines)

    def _end_window(self) -> list[str]:
        """Close the current second: decide summary or lines for the next one."""
        count, held = self._window_count, self._held
        self._window_count, self._held = 0, []
        if count > LINES_PER_SECOND:
            first = not self._summarising
            self._summarising = True
            return [summary_line(count, first=first)]
        if self._summarising:
            # The rate dropped: back to a line per capture, starting with this second's.
            self._summarising = False
            return [self._line(capture) for capture in held]
        return []

    def _write(self, lines: list[str]) -> None:
        if not lines or self._broken:
            return
        try:
            self._out.write("\n".join(lines) + "\n")
            self._out.flush()
        except (OSError, ValueError):
            # The terminal or pipe went away (`listen | head`): keep listening, stop printing.
            self._broken = True
