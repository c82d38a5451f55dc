"""Capture ids as people type them: a unique prefix, as in git, and the short form we print.

Ids are UUIDv7 hex (``capture.new_capture_id``): the first 12 digits are the arrival
millisecond, so a prefix only tells captures apart once it reaches past the time part of
those that arrived in the same millisecond. Short ids are therefore at least 13 digits.
"""

from __future__ import annotations

from collections.abc import Sequence

from inspector.core.errors import CaptureIdError

__all__ = ["MIN_SHORT", "ShortIds", "choose_id"]

#: 12 digits of milliseconds plus one random digit: unique unless two arrive in one ms.
MIN_SHORT = 13
_TIME_DIGITS = 12


def choose_id(prefix: str, candidates: Sequence[str], *, where: str, limit: int) -> str:
    """The one id ``prefix`` names among ``candidates`` (ids starting with it, at most
    ``limit`` of them looked up), or a :class:`CaptureIdError` saying what to type instead."""
    if prefix in candidates:
        return prefix  # an exact id wins even if it is also a prefix of another
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise CaptureIdError(
            f"No capture with id or id prefix {prefix!r} in {where}. "
            "Copy the id from `listen`, `export` or the window."
        )
    shown = ", ".join(candidates[: limit - 1])
    more = " and more" if len(candidates) >= limit else ""
    raise CaptureIdError(
        f"The id prefix {prefix!r} fits {len(candidates)}{'+' if more else ''} captures "
        f"({shown}{more}); type more of the id."
    )


class ShortIds:
    """Shortest prefix (at least :data:`MIN_SHORT`) that tells each id apart from the others
    seen in the same millisecond, for one printed line per capture. Ids from other
    milliseconds differ within the time digits already, so only one millisecond is kept."""

    def __init__(self) -> None:
        self._millis = ""
        self._same: list[str] = []

    def short(self, capture_id: str) -> str:
        millis = capture_id[:_TIME_DIGITS]
        if millis != self._millis:
            self._millis, self._same = millis, []
        length = MIN_SHORT
        for other in self._same:
            common = 0
            for a, b in zip(capture_id, other, strict=False):
                if a != b:
                    break
                common += 1
            length = max(length, common + 1)
        self._same.append(capture_id)
        return capture_id[:length]
