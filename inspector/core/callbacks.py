"""A thread-safe list of callbacks, for objects that notify whoever subscribed."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

log = logging.getLogger(__name__)


class Callbacks(Generic[T]):
    """Subscribers called with one value each; a subscriber that raises never reaches the
    caller (the listener must keep serving whatever a view does wrong)."""

    def __init__(self, what: str) -> None:
        self._what = what
        self._lock = threading.Lock()
        # A tuple swapped under the lock: calling iterates a snapshot without holding it.
        self._items: tuple[Callable[[T], None], ...] = ()
        self._failing: set[int] = set()

    def add(self, callback: Callable[[T], None]) -> Callable[[], None]:
        """Subscribe ``callback``; returns the function that unsubscribes it."""
        with self._lock:
            self._items = (*self._items, callback)

        def remove() -> None:
            with self._lock:
                self._items = tuple(c for c in self._items if c is not callback)

        return remove

    def __bool__(self) -> bool:
        return bool(self._items)

    def __call__(self, value: T) -> None:
        for callback in self._items:
            try:
                callback(value)
            except Exception:
                # Logged in full once per callback, then quietly: a broken subscriber at
                # thousands of webhooks a second would otherwise bury the log.
                key = id(callback)
                if key not in self._failing:
                    self._failing.add(key)
                    log.exception(
                        "%s %r failed (further failures logged at debug)", self._what, callback
                    )
                else:
                    log.debug("%s %r failed again", self._what, callback, exc_info=True)
