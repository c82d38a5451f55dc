"""Issue 12 item 6 in the window: the export dialog's *Redact…* choice, the confirmation that
says what was redacted, and "redacted" badges on an imported redacted export after a real
re-verification (keys generated in the test, bodies signed by ``openssl``)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QCheckBox, QDialogButtonBox, QFileDialog, QLineEdit

from inspector.core.capture import SignatureHeader, Verdict
from inspector.core.redact import PLACEHOLDER, REDACTED, parse_spec
from inspector.core.store import Store
from inspector.gui.controllers.transfer import TransferController
from inspector.gui.delegates.verdict_badge import VERDICT_ROLE
from inspector.gui.file_dialogs import add_row, configure
from inspector.gui.mainwindow import MainWindow
from inspector.gui.models.capture_table import COL_FLEX, COL_FLUENT
from inspector.gui.settings import Settings
from inspector.gui.widgets.redact_dialog import DEFAULT_CHOICE, RedactDialog, RedactRow
from tests.support.captures import make_capture
from tests.support.crypto import signed_headers

CUSTOMER_BODY = json.dumps(
    {
        "id": "ev-7",
        "name": "OrderCreated",
        "accountId": "ACME",
        "retailerId": "1",
        "entityId": "5",
        "entityRef": "HD-7",
        "entityType": "ORDER",
        "entityStatus": "CREATED",
        "attributes": {"customerRef": "CUST-0042"},
        "customer": {"primaryEmail": "jane.doe@example.com", "firstName": "Jane"},
    },
    separators=(",", ":"),
).encode()


def _ok(dialog: RedactDialog) -> bool:
    return dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).isEnabled()


def test_the_dialog_offers_suggestions_and_checks_what_is_typed(qtbot) -> None:  # type: ignore[no-untyped-def]
    dialog = RedactDialog(DEFAULT_CHOICE)
    qtbot.addWidget(dialog)
    assert dialog.header_boxes["Authorization"].isChecked()
    assert not dialog.header_boxes["fluent-signature"].isChecked()
    assert dialog.path_boxes["$..email"].isChecked()
    assert _ok(dialog)
    dialog.header_boxes["fluent-signature"].setChecked(True)
    dialog.other_headers.setText("X-Api-Key, x-tenant")
    dialog.other_paths.setPlainText("$.items[*].address\ncustomer.lastName\n")
    spec = dialog.spec()
    assert spec.headers == ("authorization", "fluent-signature", "x-api-key", "x-tenant")
    assert [p.text for p in spec.paths][-2:] == ["$.items[*].address", "$.customer.lastName"]
    assert dialog.problem.text() == ""
    # An unsupported path: said at once, and OK waits until it is fixed.
    dialog.other_paths.setPlainText("$.items[?(@.price > 1)]")
    assert not _ok(dialog)
    assert "filters" in dialog.problem.text() and "Supported:" in dialog.problem.text()
    dialog.other_paths.setPlainText("")
    for box in (*dialog.header_boxes.values(), *dialog.path_boxes.values()):
        box.setChecked(False)
    dialog.other_headers.setText("")
    assert not _ok(dialog) and "Nothing chosen" in dialog.problem.text()


def test_a_saved_choice_is_shown_again(qtbot) -> None:  # type: ignore[no-untyped-def]
    dialog = RedactDialog("Cookie,$.customer.email,$..toAddress")
    qtbot.addWidget(dialog)
    assert dialog.header_boxes["Cookie"].isChecked()
    assert not dialog.header_boxes["Authorization"].isChecked()
    assert dialog.path_boxes["$..toAddress"].isChecked()
    assert dialog.other_paths.toPlainText() == "$.customer.email"
    assert dialog.text() == "Cookie,$..toAddress,$.customer.email"


def _accept_next_dialog(qtbot, change) -> None:  # type: ignore[no-untyped-def]
    def run() -> None:
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, RedactDialog)
        change(dialog)
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()

    QTimer.singleShot(0, run)


def test_the_row_opens_the_dialog_and_ticks_itself(qtbot) -> None:  # type: ignore[no-untyped-def]
    row = RedactRow("Authorization", enabled=False)
    qtbot.addWidget(row)
    assert row.spec is None and "off" in row.summary.full_text()

    def change(dialog: RedactDialog) -> None:
        dialog.path_boxes["$..primaryEmail"].setChecked(True)

    _accept_next_dialog(qtbot, change)
    with qtbot.waitSignal(row.changed):
        qtbot.mouseClick(row.button, Qt.MouseButton.LeftButton)
    assert row.enabled and row.spec is not None
    assert row.text == "authorization,$..primaryEmail"
    assert row.summary.full_text() == "authorization, $..primaryEmail"


def test_the_row_sits_in_the_save_dialog(qtbot) -> None:  # type: ignore[no-untyped-def]
    dialog = configure(QFileDialog(None, "Export captures", "", "JSON lines (*.jsonl)"))
    qtbot.addWidget(dialog)
    row = RedactRow(DEFAULT_CHOICE, enabled=True)
    add_row(dialog, row)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert row.isVisible() and row.parent() is dialog
    name = dialog.findChild(QLineEdit, "fileNameEdit")
    assert name is not None
    # Below the file name field, left-aligned with it.
    assert row.geometry().top() > name.geometry().bottom()
    assert abs(row.geometry().left() - name.geometry().left()) <= 2


def _store_signed_customer(store: Store, rsa_key, tmp_path: Path) -> str:  # type: ignore[no-untyped-def]
    headers = (
        ("Content-Type", "application/json"),
        ("Authorization", "Bearer s3cret"),
        *signed_headers(rsa_key, CUSTOMER_BODY, tmp_dir=tmp_path),
    )
    stored = store.add(make_capture(body=CUSTOMER_BODY, headers=headers))
    store.add(make_capture(body=b"plain text, not JSON", headers=(("Authorization", "x"),)))
    return stored.id


def test_export_dialog_redacts_remembers_and_confirms(
    qtbot,
    main_window: MainWindow,
    store: Store,
    gui_settings: Settings,
    rsa_key,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    _store_signed_customer(store, rsa_key, tmp_path)
    main_window.captures.refresh()
    target = tmp_path / "ticket.jsonl"
    transfer: TransferController = main_window.transfer

    def fill() -> None:
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, QFileDialog)
        enabled = dialog.findChild(QCheckBox, "redactEnabled")
        name = dialog.findChild(QLineEdit, "fileNameEdit")
        assert enabled is not None and name is not None
        enabled.setChecked(True)
        name.setText(str(target))
        dialog.accept()

    QTimer.singleShot(0, fill)
    worker = transfer.export_shown()
    assert worker is not None
    qtbot.waitUntil(lambda: worker.is_done, timeout=10_000)
    bar = main_window.statusBar()
    expected = (
        f"Exported 2 captures to {target} (redacted: authorization, $..email, "
        "$..primaryEmail, $..primaryPhone; the JSON paths did not apply to 1 capture whose "
        "body is not JSON)"
    )
    qtbot.waitUntil(lambda: bar.currentMessage() == expected)
    records = [json.loads(line) for line in target.read_bytes().splitlines()]
    for record in records:
        assert dict(record["headers"])["Authorization"] == PLACEHOLDER
        assert record["redacted"]["headers"] == ["authorization"]
    bodies = [base64.b64decode(r["body_b64"]) for r in records]
    assert not any(b"jane.doe" in body for body in bodies)
    assert b"plain text, not JSON" in bodies
    # Remembered for next time: names and paths, never a value.
    assert gui_settings.export_redact_enabled is True
    assert gui_settings.export_redact == "authorization,$..email,$..primaryEmail,$..primaryPhone"
    assert transfer.redact_row().spec is not None


def test_an_imported_redacted_export_reads_redacted_after_reverify(
    qtbot,
    main_window: MainWindow,
    store: Store,
    rsa_key,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    capture_id = _store_signed_customer(store, rsa_key, tmp_path)
    main_window.captures.refresh()
    target = tmp_path / "ticket.har"
    spec = parse_spec(["Authorization,$..primaryEmail"])
    worker = main_window.transfer.export_to(target, "har", redact=spec)
    qtbot.waitUntil(lambda: worker.is_done, timeout=10_000)
    store.clear()
    main_window.captures.refresh()
    worker = main_window.transfer.import_from(target)
    qtbot.waitUntil(lambda: worker.is_done, timeout=10_000)
    qtbot.waitUntil(lambda: main_window.model.rowCount() == 2)
    reverify = main_window.transfer.reverify_all()
    qtbot.waitUntil(lambda: reverify.is_done, timeout=10_000)
    back = store.get(capture_id)
    assert back is not None and back.redacted is not None
    assert {c.verdict for c in back.signatures} == {Verdict.INVALID}  # by design

    model = main_window.model
    row = next(r for r in range(model.rowCount()) if model.row_at(r).id == capture_id)
    qtbot.waitUntil(lambda: model.index(row, COL_FLEX).data(VERDICT_ROLE) is REDACTED)
    for column in (COL_FLEX, COL_FLUENT):
        index = model.index(row, column)
        assert index.data(VERDICT_ROLE) is REDACTED
        assert index.data() == "⊘ redacted"
        assert "redacted — signature no longer applies" in index.data(Qt.ItemDataRole.ToolTipRole)
    main_window.selection.select_row(row)
    qtbot.waitUntil(
        lambda: (
            main_window.detail.capture is not None and main_window.detail.capture.id == capture_id
        )
    )
    summary = main_window.detail.summary
    card = summary.cards[SignatureHeader.FLUENT]
    assert "redacted" in card.pill.text() and "invalid" not in card.pill.text()
    assert card.cause.text().startswith("redacted — signature no longer applies")
    assert summary.banner.isVisible() and "Redacted:" in summary.banner.text()
