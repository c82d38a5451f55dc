"""Item 10 of issue 9: a path typed into a file dialog never blocks the GUI thread.

A FIFO with no writer stands in for ``/proc/kmsg``: opening it to sniff its type blocks
until someone writes, which is what froze the Export dialog."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QFileInfo, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QFileDialog, QLineEdit

from inspector.gui.file_dialogs import StatOnlyIconProvider, configure

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")


@pytest.fixture
def fifo_dir(tmp_path: Path) -> Path:
    os.mkfifo(tmp_path / "kmsg")
    (tmp_path / "captures.jsonl").write_text("")
    return tmp_path


def test_icon_provider_never_opens_a_special_file(qapp, fifo_dir: Path) -> None:  # type: ignore[no-untyped-def]
    provider = StatOnlyIconProvider()
    info = QFileInfo(str(fifo_dir / "kmsg"))
    answers: list[object] = []

    # The kind in a thread (a blocking read would hang the test otherwise), as Qt's file
    # info gatherer asks it; the icon on this thread, where a read would hang the test.
    worker = threading.Thread(target=lambda: answers.append(provider.type(info)), daemon=True)
    worker.start()
    worker.join(2.0)
    assert answers == ["File"], "the icon provider blocked on a FIFO (it read the file)"
    assert isinstance(provider.icon(info), QIcon)
    assert provider.type(QFileInfo(str(fifo_dir))) == "Folder"


# The offscreen platform cannot raise the completer's popup or grab the keyboard for it.
@pytest.mark.qt_log_ignore("does not support raise", "does not support grabbing the keyboard")
def test_typing_a_special_path_keeps_the_window_responsive(qtbot, fifo_dir: Path) -> None:  # type: ignore[no-untyped-def]
    dialog = configure(QFileDialog(None, "Export", str(fifo_dir), "All files (*)"))
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    qtbot.addWidget(dialog)
    assert dialog.testOption(QFileDialog.Option.DontUseNativeDialog)
    assert isinstance(dialog.iconProvider(), StatOnlyIconProvider)
    dialog.show()
    edit = dialog.findChild(QLineEdit, "fileNameEdit")
    assert edit is not None
    gaps: list[float] = []
    last = [time.monotonic()]

    def tick() -> None:
        now = time.monotonic()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(20)
    edit.setFocus()
    QTest.keyClicks(edit, f"{fifo_dir}/k")
    QTest.keyClicks(edit, "msg")
    qtbot.wait(1500)
    QTest.keyClicks(edit, "/")
    qtbot.wait(300)
    timer.stop()
    assert len(gaps) > 40
    assert max(gaps) < 1.0, f"the GUI thread stalled for {max(gaps):.1f} s"
