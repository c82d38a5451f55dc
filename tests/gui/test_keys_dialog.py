"""The keys dialog over a real key ring file: add (paste, file, key table), errors, remove."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from inspector.core.keys import KeyRing
from inspector.gui.widgets.keys_dialog import KeysDialog
from tests.support.crypto import make_ec_key, make_rsa_key, private_pem, public_pem, spki_b64


def _dialog(qtbot, ring: KeyRing) -> KeysDialog:  # type: ignore[no-untyped-def]
    dialog = KeysDialog(ring)
    qtbot.addWidget(dialog)
    return dialog


def test_lists_keys_with_bits_and_fingerprint(qtbot, keyring: KeyRing) -> None:  # type: ignore[no-untyped-def]
    dialog = _dialog(qtbot, keyring)
    assert dialog.table.rowCount() == 1
    key = keyring.keys()[0]
    assert dialog.table.item(0, 0).text() == key.name
    assert dialog.table.item(0, 1).text() == "1024"
    assert dialog.table.item(0, 2).text() == key.fingerprint
    assert dialog.table.item(0, 3).text() == key.source


def test_add_pasted_base64_and_pem(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ring = KeyRing(tmp_path / "keys.json")
    dialog = _dialog(qtbot, ring)
    changes: list[None] = []
    dialog.keys_changed.connect(lambda: changes.append(None))
    dialog.name_edit.setText("sydney-sandbox")
    dialog.data_edit.setPlainText('  "' + spki_b64(make_rsa_key(1024)) + '"\n')
    qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    assert dialog.key_names() == ["sydney-sandbox"]
    assert dialog.table.rowCount() == 1
    dialog.name_edit.setText("dublin-prod")
    dialog.data_edit.setPlainText(public_pem(make_rsa_key(2048)).decode())
    assert dialog.add_from_fields()
    assert dialog.key_names() == ["dublin-prod", "sydney-sandbox"]
    assert dialog.table.item(0, 1).text() == "2048"
    assert len(changes) == 2 and dialog.changed
    # persisted: a second ring on the same file sees them
    assert [k.name for k in KeyRing(tmp_path / "keys.json").keys()] == [
        "dublin-prod",
        "sydney-sandbox",
    ]


def test_core_errors_are_shown_in_words(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ring = KeyRing(tmp_path / "keys.json")
    dialog = _dialog(qtbot, ring)
    dialog.name_edit.setText("oops")
    dialog.data_edit.setPlainText(private_pem(make_rsa_key(1024)).decode())
    assert not dialog.add_from_fields()
    assert "private key" in dialog.message.text().lower()
    dialog.data_edit.setPlainText(public_pem(make_ec_key()).decode())
    assert not dialog.add_from_fields()
    assert "RSA" in dialog.message.text()
    dialog.data_edit.setPlainText("MIGfMA0GCSqGSIb3DQEBAQUAA4GNAD")
    assert not dialog.add_from_fields()
    assert dialog.message.text()
    dialog.name_edit.clear()
    dialog.data_edit.setPlainText(spki_b64(make_rsa_key(1024)))
    assert not dialog.add_from_fields()
    assert "name" in dialog.message.text().lower()
    assert ring.keys() == ()
    assert not dialog.changed


def test_duplicate_name_is_refused(qtbot, keyring: KeyRing) -> None:  # type: ignore[no-untyped-def]
    dialog = _dialog(qtbot, keyring)
    existing = keyring.keys()[0].name
    dialog.name_edit.setText(existing)
    dialog.data_edit.setPlainText(spki_b64(make_rsa_key(1024, index=3)))
    assert not dialog.add_from_fields()
    assert existing in dialog.message.text()


def test_pasted_key_table_adds_every_entry(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ring = KeyRing(tmp_path / "keys.json")
    dialog = _dialog(qtbot, ring)
    table = (
        "fluent-webhook-keys:\n"
        f'  "[sydney_sandbox]": {spki_b64(make_rsa_key(1024, index=1))}\n'
        f'  "[dublin_production]": {spki_b64(make_rsa_key(1024, index=2))}\n'
    )
    dialog.data_edit.setPlainText(table)
    assert dialog.add_from_fields()
    assert sorted(dialog.key_names()) == ["dublin_production", "sydney_sandbox"]


def test_add_from_file_remove_and_copy(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ring = KeyRing(tmp_path / "keys.json")
    dialog = _dialog(qtbot, ring)
    key = make_rsa_key(1024)
    path = tmp_path / "singapore.pem"
    path.write_bytes(public_pem(key))
    assert dialog.add_file(path, "singapore")
    assert dialog.key_names() == ["singapore"]
    missing = tmp_path / "missing.pem"
    assert not dialog.add_file(missing, "nope")
    assert "missing.pem" in dialog.message.text()
    dialog.table.selectRow(0)
    dialog.copy_selected()
    assert QGuiApplication.clipboard().text() == spki_b64(key)
    asked: list[str] = []
    answer = [False]

    def confirm(title: str, text: str) -> bool:
        asked.append(text)
        return answer[0]

    dialog.confirm = confirm
    qtbot.mouseClick(dialog.remove_button, Qt.MouseButton.LeftButton)
    assert len(asked) == 1 and "'singapore'" in asked[0]
    assert dialog.key_names() == ["singapore"]  # "No" keeps it
    answer[0] = True
    qtbot.mouseClick(dialog.remove_button, Qt.MouseButton.LeftButton)
    assert dialog.key_names() == []
    assert ring.keys() == ()


# -- issue 9, item 6 ----------------------------------------------------------------------------


def test_duplicate_fingerprint_warns_naming_the_existing_entry(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ring = KeyRing(tmp_path / "keys.json")
    key = make_rsa_key(1024)
    ring.add("sydney-sandbox", spki_b64(key))
    dialog = _dialog(qtbot, ring)
    dialog.name_edit.setText("copy-of-sydney")
    dialog.data_edit.setPlainText(public_pem(key).decode())  # same key, another form
    qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    assert dialog.key_names() == ["sydney-sandbox"]
    assert "already in the ring as 'sydney-sandbox'" in dialog.message.text()
    path = tmp_path / "again.pem"
    path.write_bytes(public_pem(key))
    assert not dialog.add_file(path, "again")
    assert "'sydney-sandbox'" in dialog.message.text()


def test_messages_never_move_the_buttons_and_success_clears(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ring = KeyRing(tmp_path / "keys.json")
    dialog = _dialog(qtbot, ring)
    dialog.show()
    qtbot.waitExposed(dialog)
    before = dialog.add_button.mapTo(dialog, dialog.add_button.rect().topLeft())
    dialog.data_edit.setPlainText("not a key " * 60)
    dialog.name_edit.setText("broken")
    qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    assert dialog.message.text()  # a long error...
    assert dialog.add_button.mapTo(dialog, dialog.add_button.rect().topLeft()) == before
    dialog.name_edit.setText("sydney-sandbox")
    dialog.data_edit.setPlainText(spki_b64(make_rsa_key(1024)))
    qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    assert dialog.message.text() == "Added sydney-sandbox."
    assert dialog.add_button.mapTo(dialog, dialog.add_button.rect().topLeft()) == before
    qtbot.keyClicks(dialog.name_edit, "x")  # the next action clears the success text
    assert dialog.message.text() == ""
