"""Captures in and out of the store: export (JSON lines, HAR), import, and re-verification."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QUrl
from PySide6.QtGui import QDesktopServices

from inspector.core.jobs import (
    ImportResult,
    ImportTally,
    export_job,
    import_job,
    import_summary,
    reverify_job,
)
from inspector.core.redact import Redactor, RedactSpec
from inspector.core.store import CaptureQuery
from inspector.gui.commands import Command
from inspector.gui.context import AppContext
from inspector.gui.file_dialogs import open_file_name, save_file_name
from inspector.gui.widgets.redact_dialog import RedactRow
from inspector.gui.workers import Worker

__all__ = ["TransferController"]


class TransferController(QObject):
    def __init__(self, ctx: AppContext, on_imported: Callable[[], None]) -> None:
        super().__init__(ctx.window)
        self.ctx = ctx
        self._on_imported = on_imported
        has_rows, selected = ctx.selection.has_rows, ctx.selection.has_selection
        ctx.commands.register(
            Command(
                "transfer.reverify",
                "Re-verify all",
                self.reverify_all,
                icon="refresh",
                tip="Check every stored capture again with the current keys",
                enabled=has_rows,
            ),
            Command(
                "transfer.export",
                "Export…",
                self.export_shown,
                icon="export",
                tip="Export the captures the filter shows (JSON lines or HAR)",
                enabled=has_rows,
            ),
            Command(
                "transfer.export_selected",
                "Export selected…",
                self.export_selected,
                icon="export",
                enabled=selected,
            ),
            Command(
                "transfer.import",
                "Import…",
                self.import_captures,
                icon="import",
                tip="Import captures from JSON lines or HAR",
            ),
        )

    def reverify_all(self) -> Worker[int]:
        selection = self.ctx.selection

        def done(changed: int) -> None:
            selection.model.refresh_rows()
            selection.reload_detail()
            self.ctx.notify(f"Re-verified all captures: {changed} verdict(s) changed", 5000)

        return self.ctx.run_job(
            "Re-verify signatures",
            "Checking captures…",
            reverify_job,
            self.ctx.store,
            self.ctx.keyring,
            on_result=done,
        )

    def export_shown(self) -> Worker[int] | None:
        return self._ask_export(self.ctx.selection.model.query, "Export captures")

    def export_selected(self) -> Worker[int] | None:
        ids = self.ctx.selection.selected_ids()
        if not ids:
            return None
        return self._ask_export(CaptureQuery(ids=frozenset(ids)), "Export selected captures")

    def _start_dir(self) -> str:
        return self.ctx.settings.last_export_dir or str(Path.home())

    def redact_row(self) -> RedactRow:
        """The export dialog's *Redact…* line, with the last choice."""
        settings = self.ctx.settings
        return RedactRow(settings.export_redact, settings.export_redact_enabled)

    def _ask_export(self, query: CaptureQuery, title: str) -> Worker[int] | None:
        row = self.redact_row()
        path, chosen = save_file_name(
            self.ctx.window,
            title,
            str(Path(self._start_dir()) / "captures.jsonl"),
            "JSON lines (*.jsonl);;HAR (*.har)",
            extra=row,
        )
        if not path:
            return None
        fmt = "har" if "HAR" in chosen or path.lower().endswith(".har") else "jsonl"
        self.ctx.settings.last_export_dir = str(Path(path).parent)
        spec = self.remember_redaction(row)
        return self.export_to(Path(path), fmt, query, redact=spec)

    def remember_redaction(self, row: RedactRow) -> RedactSpec | None:
        """Keep the row's choice for the next export; the spec to export with, if ticked."""
        self.ctx.settings.export_redact = row.text
        self.ctx.settings.export_redact_enabled = row.enabled
        return row.spec

    def export_to(
        self,
        path: Path,
        fmt: str,
        query: CaptureQuery | None = None,
        *,
        redact: RedactSpec | None = None,
    ) -> Worker[int]:
        # The redactor runs in the export worker with the rest; its counts are read when
        # the worker is done.
        redactor = Redactor(redact) if redact else None

        def done(count: int) -> None:
            noun = "capture" if count == 1 else "captures"
            folder = QUrl.fromLocalFile(str(path.parent))
            note = f" ({redactor.note})" if redactor is not None else ""
            self.ctx.notify_action(
                f"Exported {count:,} {noun} to {path}{note}",
                "Open folder",
                lambda: QDesktopServices.openUrl(folder),
            )

        return self.ctx.run_job(
            "Export",
            f"Writing {path.name}…" + (" (redacted)" if redactor is not None else ""),
            export_job,
            self.ctx.store,
            query if query is not None else self.ctx.selection.model.query,
            path,
            fmt,
            redactor,
            on_result=done,
        )

    def import_captures(self) -> Worker[ImportResult] | None:
        path, _ = open_file_name(
            self.ctx.window,
            "Import captures",
            self._start_dir(),
            "Captures (*.jsonl *.json *.har *.ndjson);;All files (*)",
        )
        if not path:
            return None
        return self.import_from(Path(path))

    def import_from(self, path: Path) -> Worker[ImportResult]:
        # The job updates the tally as batches commit (on the worker's thread); it is read
        # here only once the worker has finished, so a cancel can say what was kept.
        tally = ImportTally()

        def done(result: ImportResult) -> None:
            self._on_imported()
            self.ctx.notify(import_summary(result), 8000)  # the CLI's final line, exactly

        def cancelled() -> None:
            self._on_imported()
            self.ctx.notify(
                f"Import cancelled: {import_summary(tally.result())}; those captures are "
                f"stored, the rest of {path.name} was not read",
                10000,
            )

        def failed(error: object) -> None:
            del error  # shown by run_job's error dialog
            if tally.read:  # stopped at a broken line: what came before it is stored
                self._on_imported()

        worker = self.ctx.run_job(
            "Import",
            f"Reading {path.name}…",
            import_job,
            self.ctx.store,
            path,
            tally,
            on_result=done,
            on_cancelled=cancelled,
        )
        worker.errored.connect(failed)
        return worker
