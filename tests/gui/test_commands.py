"""The command registry: menus, toolbar and shortcuts come from the data tables, a user's
rebinding in the settings file takes effect, and enabled states follow the selection."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QMenu, QWidget

from inspector.core.keys import KeyRing
from inspector.core.listener import ListenerConfig
from inspector.core.store import Store
from inspector.gui.app import build_main_window
from inspector.gui.commands import (
    DEFAULT_KEYS,
    MENUS,
    SEP,
    TABLE_MENU,
    TOOLBAR,
    Command,
    CommandRegistry,
    LayoutItem,
    key_sequences,
)
from inspector.gui.mainwindow import MainWindow
from inspector.gui.settings import Settings
from tests.support.captures import make_capture


def _open(qtbot, store: Store, keyring: KeyRing, settings: Settings) -> MainWindow:  # type: ignore[no-untyped-def]
    window = build_main_window(
        store, keyring, settings, ListenerConfig(port=0), start_listener=False
    )
    qtbot.addWidget(window)
    return window


@pytest.fixture
def window(qtbot, store: Store, keyring: KeyRing, gui_settings: Settings) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    win = _open(qtbot, store, keyring, gui_settings)
    yield win
    win.shutdown()


def _texts(actions: Sequence[QAction]) -> list[str]:
    return ["" if a.isSeparator() else a.text() for a in actions]


def _check_layout(
    window: MainWindow, actions: Sequence[QAction], items: Sequence[LayoutItem]
) -> None:
    assert len(actions) == len(items)
    for action, item in zip(actions, items, strict=True):
        if item == SEP:
            assert action.isSeparator()
        elif isinstance(item, tuple):
            submenu = action.menu()
            assert isinstance(submenu, QMenu) and submenu.title() == item[0]
            _check_layout(window, submenu.actions(), item[1])
        elif item == "@auto_follow_up":
            assert action.menu() is window.graphql.auto_follow_up_menu
        else:
            assert action is window.commands[item], item


def test_menus_toolbar_and_context_menu_are_built_from_the_tables(window: MainWindow) -> None:
    bar = window.menuBar().actions()
    assert [a.text() for a in bar] == [title for title, _ in MENUS]
    for action, (_title, items) in zip(bar, MENUS, strict=True):
        menu = action.menu()
        assert isinstance(menu, QMenu)
        _check_layout(window, menu.actions(), items)
    _check_layout(window, window.toolbar.actions(), TOOLBAR)
    _check_layout(window, window.commands.context_menu(window).actions(), TABLE_MENU)


def test_what_users_see_is_what_it_was(window: MainWindow) -> None:
    menus = {a.text(): _texts(a.menu().actions()) for a in window.menuBar().actions()}  # type: ignore[union-attr]
    assert menus == {
        "&File": ["Import…", "Export…", "Export selected…", "", "Quit"],
        "&Edit": [
            "Copy body",
            "Copy as cURL",
            "Copy capture id",
            "",
            "Filter…",
            "Show deliveries of this event",
            "",
            "Compare…",
            "Timeline of entity",
            "",
            "Replay…",
            "",
            "Delete",
            "Clear all…",
        ],
        "&View": [
            "Follow newest",
            "Group retries",
            "Refresh",
            "",
            "Zoom in",
            "Zoom out",
            "Actual size",
            "Theme",
        ],
        "&Listener": [
            "Start listener",
            "Send test webhook",
            "Copy listening URL",
            "",
            "Listener settings…",
            "Response rules…",
        ],
        "&Keys": ["Keys…", "Re-verify all"],
        "&GraphQL": [
            "GraphQL follow-up",
            "Run query\tCtrl+Enter",
            "",
            "Connection profiles…",
            "Auto follow-up",
            "",
            "Start demo",
        ],
    }
    assert _texts(window.toolbar.actions()) == [
        "Start listener",
        "Send test webhook",
        "Start demo",
        "",
        "Follow newest",
        "",
        "Keys…",
        "Re-verify all",
        "",
        "Export…",
        "Import…",
        "",
        "Delete",
        "Clear all…",
    ]
    keys = {cid: a.shortcut().toString() for cid, a in window.commands.actions.items()}
    assert keys["listener.toggle"] == "Ctrl+L"
    assert keys["demo.toggle"] == "Ctrl+Shift+D"
    assert keys["transfer.export_selected"] == "Ctrl+Shift+E"
    assert keys["clipboard.body"] == QKeySequence(QKeySequence.StandardKey.Copy).toString()
    assert keys["graphql.run"] == ""  # the panel's own Ctrl+Enter
    assert keys["diff.compare"] == "Ctrl+D"
    zoom_in = [s.toString() for s in window.commands["view.zoom_in"].shortcuts()]
    assert zoom_in[:2] == ["Ctrl+=", "Ctrl++"]
    # Keys that mean something else elsewhere only work where they are meant to.
    assert window.commands["clipboard.body"] in window.table.actions()
    assert window.commands["clipboard.body"] not in window.actions()
    next_row = window.commands["captures.next"]
    assert next_row.shortcutContext() is Qt.ShortcutContext.WidgetShortcut


def test_default_shortcuts_come_from_the_binding_table(window: MainWindow) -> None:
    for command_id, keys in DEFAULT_KEYS.items():
        assert window.commands[command_id].shortcuts() == key_sequences(keys), command_id


def test_a_rebinding_in_the_settings_file_takes_effect(
    qtbot,
    store: Store,
    keyring: KeyRing,
    settings_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    edited = Settings(QSettings(str(settings_path), QSettings.Format.IniFormat))
    edited.set_key_binding("view.zoom_in", ["Ctrl+Alt+Z"])
    edited.set_key_binding("clipboard.id", ["Ctrl+Shift+I", "F6"])
    edited.set_key_binding("keys.manage", [])  # unbound
    edited.set_key_binding("listener.send", ["Ctlr+T"])  # a typo keeps the default
    edited.sync()
    assert "view.zoom_in=Ctrl+Alt+Z" in settings_path.read_text()

    settings = Settings(QSettings(str(settings_path), QSettings.Format.IniFormat))
    window = _open(qtbot, store, keyring, settings)
    try:
        commands = window.commands
        assert [s.toString() for s in commands["clipboard.id"].shortcuts()] == [
            "Ctrl+Shift+I",
            "F6",
        ]
        assert commands["keys.manage"].shortcuts() == []
        assert commands["listener.send"].shortcut().toString() == "Ctrl+T"

        window.show()
        window.activateWindow()
        target = window.filter_bar.text_edit
        target.setFocus()
        qtbot.waitUntil(lambda: QApplication.focusWidget() is target)
        qtbot.keyClick(target, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
        assert settings.zoom == pytest.approx(1.0)  # the old key does nothing now
        qtbot.keyClick(
            target,
            Qt.Key.Key_Z,
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier,
        )
        assert settings.zoom == pytest.approx(1.1)
        qtbot.keyClick(target, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
        assert settings.zoom == pytest.approx(1.0)
    finally:
        window.shutdown()
    settings.set_key_binding("view.zoom_in", None)
    assert settings.key_binding("view.zoom_in") is None


def test_enabled_state_follows_rows_and_selection(window: MainWindow, store: Store) -> None:
    commands = window.commands
    on_selection = (
        "captures.delete",
        "clipboard.body",
        "clipboard.curl",
        "clipboard.id",
        "transfer.export_selected",
        "captures.same_event",
    )
    on_rows = ("captures.clear", "transfer.export", "transfer.reverify")

    def enabled(ids: Sequence[str]) -> set[bool]:
        return {commands[i].isEnabled() for i in ids}

    assert enabled(on_selection) == enabled(on_rows) == {False}
    assert not commands["listener.send"].isEnabled()  # nothing listens
    assert commands["transfer.import"].isEnabled()

    commands["captures.follow"].setChecked(False)
    store.add(make_capture())
    store.add(make_capture())
    window.captures.refresh()
    assert enabled(on_rows) == {True}
    assert enabled(on_selection) == {False}
    window.selection.select_row(1)
    assert enabled(on_selection) == {True}
    window.table.clearSelection()
    assert enabled(on_selection) == {False}


def test_registry_rejects_duplicates_and_keeps_user_only_handlers_quiet(
    qtbot,
    gui_settings: Settings,  # type: ignore[no-untyped-def]
) -> None:
    host = QWidget()
    qtbot.addWidget(host)
    registry = CommandRegistry(host, gui_settings)
    calls: list[object] = []
    registry.register(
        Command("a.one", "One", lambda checked: calls.append(("one", checked)), checkable=True),
        Command(
            "a.two",
            "Two",
            lambda checked: calls.append(("two", checked)),
            checkable=True,
            group="g",
            user_only=True,
        ),
        Command("a.three", "Three", lambda _c=False: None, checkable=True, group="g"),
    )
    with pytest.raises(ValueError, match="twice"):
        registry.register(Command("a.one", "Again", lambda: None))
    registry["a.one"].setChecked(True)
    registry["a.two"].setChecked(True)  # restoring a state: no handler call
    assert calls == [("one", True)]
    registry["a.three"].setChecked(True)
    assert not registry["a.two"].isChecked()  # one group, exclusive
    registry["a.two"].trigger()
    assert calls[-1] == ("two", True)
