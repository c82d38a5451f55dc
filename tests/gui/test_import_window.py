"""Import in the window: a worker behind a progress dialog with Cancel; the confirmation is
the CLI's final line; a cancel or a broken line says what is in the store."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox, QProgressDialog, QPushButton

from inspector.core.jobs import IMPORT_BATCH
from inspector.core.store import Store
from inspector.gui.mainwindow import MainWindow
from tests.test_cli_import import FINAL, _jsonl

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


def _boxes() -> list[QMessageBox]:
    return [
        w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()
    ]


@pytest.fixture(autouse=True)
def _close_boxes(qapp) -> Iterator[None]:  # type: ignore[no-untyped-def]
    yield
    for box in _boxes():
        box.close()


def test_the_confirmation_is_the_final_line(
    qtbot,  # type: ignore[no-untyped-def]
    main_window: MainWindow,
    store: Store,
    tmp_path: Path,
) -> None:
    source = _jsonl(tmp_path / "in.jsonl", 7)
    for expected in ("7", "0"), ("0", "7"):
        worker = main_window.transfer.import_from(source)
        qtbot.waitUntil(lambda w=worker: w.is_done, timeout=30000)
        message = main_window.statusBar().currentMessage()
        match = FINAL.match(message)
        assert match and match.groups() == expected, message
    assert store.count() == 7


def test_cancel_keeps_the_committed_batches_and_says_so(
    qtbot,  # type: ignore[no-untyped-def]
    main_window: MainWindow,
    store: Store,
    tmp_path: Path,
) -> None:
    total = 40 * IMPORT_BATCH
    source = _jsonl(tmp_path / "big.jsonl", total)
    worker = main_window.transfer.import_from(source)

    def dialog() -> QProgressDialog | None:
        shown = [d for d in main_window.findChildren(QProgressDialog) if d.isVisible()]
        return shown[0] if shown else None

    # The dialog shows itself once the import has taken a moment; the window stays live
    # meanwhile (waitUntil spins its event loop), and the first batches commit.
    qtbot.waitUntil(lambda: dialog() is not None and store.count() > 0, timeout=120000)
    progress = dialog()
    assert progress is not None and progress.maximum() > 0  # a bar, not a spinner
    [cancel] = [b for b in progress.findChildren(QPushButton) if b.text() == "Cancel"]
    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: worker.is_done, timeout=120000)
    message = main_window.statusBar().currentMessage()
    match = re.match(
        r"Import cancelled: imported (\d+) \(0 already present\) in \d+\.\d s; those captures "
        r"are stored, the rest of big\.jsonl was not read",
        message,
    )
    assert match, message
    assert 0 < int(match[1]) == store.count() < total
    qtbot.waitUntil(lambda: main_window.model.rowCount() > 0)  # the table shows them


def test_a_broken_line_shows_what_was_imported(
    qtbot,  # type: ignore[no-untyped-def]
    main_window: MainWindow,
    store: Store,
    tmp_path: Path,
) -> None:
    source = _jsonl(tmp_path / "in.jsonl", 30)
    lines = source.read_text().splitlines(keepends=True)
    lines[20] = "[" * 100_000 + "\n"  # issue 12, item 11, in the window
    source.write_text("".join(lines))
    worker = main_window.transfer.import_from(source)
    qtbot.waitUntil(lambda: worker.is_done and bool(_boxes()), timeout=30000)
    [box] = _boxes()
    assert "imported 20, stopped at line 21: nested too deeply to read" in box.text()
    assert "Traceback" not in box.text() + (box.detailedText() or "")
    assert store.count() == 20
    qtbot.waitUntil(lambda: main_window.model.rowCount() == 20)
