from __future__ import annotations

import logging

import pytest

from inspector.core.callbacks import Callbacks


def test_every_subscriber_is_called_even_after_one_raises(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[tuple[str, int]] = []
    callbacks: Callbacks[int] = Callbacks("test subscriber")

    def broken(value: int) -> None:
        raise RuntimeError("boom")

    callbacks.add(broken)
    callbacks.add(lambda value: seen.append(("second", value)))
    with caplog.at_level(logging.DEBUG, logger="inspector.core.callbacks"):
        callbacks(1)
        callbacks(2)
    assert seen == [("second", 1), ("second", 2)]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1, "a failing subscriber is logged in full once, then at debug"
    assert "test subscriber" in errors[0].getMessage()


def test_unsubscribe_and_truthiness() -> None:
    seen: list[int] = []
    callbacks: Callbacks[int] = Callbacks("test subscriber")
    assert not callbacks
    remove = callbacks.add(seen.append)
    assert callbacks
    callbacks(1)
    remove()
    callbacks(2)
    assert seen == [1]
    assert not callbacks
