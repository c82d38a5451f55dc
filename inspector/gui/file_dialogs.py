"""File dialogs that never block the window on a path the user types.

Typing ``/proc/k`` into Qt's own file dialog (what Qt uses under X11 without a desktop
theme) hung the app for good: the dialog's file system model asked the icon provider for
the icon and "kind" of every entry, and Qt's provider finds those with a MIME-type lookup
that *reads the file's first bytes* when the name has no known extension - and reading
``/proc/kmsg`` waits for the next kernel message, forever, on the GUI thread.

So every dialog here is Qt's non-native dialog (the same on every platform, testable) with
an icon provider that decides from ``stat`` alone (directory, file, link); it never opens a
file, so no special file (``/proc``, ``/dev``, FIFOs) can block the listing or the completer.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QFileInfo
from PySide6.QtGui import QAbstractFileIconProvider, QIcon
from PySide6.QtWidgets import QFileDialog, QFileIconProvider, QGridLayout, QWidget

__all__ = ["StatOnlyIconProvider", "add_row", "configure", "open_file_name", "save_file_name"]


class StatOnlyIconProvider(QFileIconProvider):
    """Icons and kinds from the file's type only: no MIME sniffing, so no read."""

    def icon(self, what: object) -> QIcon:
        if isinstance(what, QFileInfo):
            what = (
                QAbstractFileIconProvider.IconType.Folder
                if what.isDir()
                else QAbstractFileIconProvider.IconType.File
            )
        found: QIcon = super().icon(what)  # type: ignore[call-overload]
        return found

    def type(self, info: QFileInfo) -> str:
        if info.isDir():
            return "Folder"
        if info.isSymLink():
            return "Link"
        suffix = info.suffix()
        return f"{suffix.upper()} file" if suffix else "File"


def configure(dialog: QFileDialog) -> QFileDialog:
    """Make ``dialog`` one that cannot block on a typed path (see the module docstring)."""
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
    dialog.setOption(QFileDialog.Option.DontUseCustomDirectoryIcons, True)
    provider = StatOnlyIconProvider()
    # The dialog does not take ownership of the provider: keep it alive with the dialog.
    dialog._stat_only_icons = provider  # type: ignore[attr-defined]
    dialog.setIconProvider(provider)
    return dialog


def _run(dialog: QFileDialog) -> tuple[str, str]:
    configure(dialog)
    try:
        if dialog.exec() != QFileDialog.DialogCode.Accepted or not dialog.selectedFiles():
            return "", ""
        return dialog.selectedFiles()[0], dialog.selectedNameFilter()
    finally:
        dialog.deleteLater()


def save_file_name(
    parent: QWidget | None,
    title: str,
    start: str,
    filters: str,
    *,
    extra: QWidget | None = None,
) -> tuple[str, str]:
    """Like ``QFileDialog.getSaveFileName``: (path, chosen filter), ("", "") if cancelled.

    ``extra`` is a row of options shown under the file name and type (the export's
    *Redact…*); read it before returning to the event loop, which deletes the dialog."""
    dialog = QFileDialog(parent, title, str(Path(start).parent), filters)
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.setFileMode(QFileDialog.FileMode.AnyFile)
    dialog.selectFile(Path(start).name)
    if extra is not None:
        add_row(dialog, extra)
    return _run(dialog)


def add_row(dialog: QFileDialog, widget: QWidget) -> None:
    """Put ``widget`` on a row of its own at the bottom of Qt's (non-native) file dialog,
    aligned with the file name field."""
    configure(dialog)  # only the non-native dialog has a layout to add to
    layout = dialog.layout()
    if isinstance(layout, QGridLayout):
        layout.addWidget(widget, layout.rowCount(), 1, 1, max(1, layout.columnCount() - 1))
    elif layout is not None:
        layout.addWidget(widget)


def open_file_name(parent: QWidget | None, title: str, start: str, filters: str) -> tuple[str, str]:
    """Like ``QFileDialog.getOpenFileName``: (path, chosen filter), ("", "") if cancelled."""
    dialog = QFileDialog(parent, title, start, filters)
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptOpen)
    dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
    return _run(dialog)
