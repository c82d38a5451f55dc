"""Messages that send users to a window setting name it as the menus do (a first-hour walk
looked for "Settings > Listener", which never existed)."""

from __future__ import annotations

from PySide6.QtWidgets import QMenu

from inspector.core.listener import SETTINGS_IN_WINDOW


def _menu_paths(window) -> set[str]:  # type: ignore[no-untyped-def]
    paths: set[str] = set()

    def walk(menu: QMenu, prefix: str) -> None:
        for action in menu.actions():
            title = action.text().replace("&", "")
            if action.menu() is not None:
                walk(action.menu(), f"{prefix}{title} → ")
            elif title:
                paths.add(prefix + title)

    for action in window.menuBar().actions():
        menu = action.menu()
        if menu is not None:
            walk(menu, action.text().replace("&", "") + " → ")
    return paths


def test_listener_messages_name_a_real_menu_entry(main_window) -> None:  # type: ignore[no-untyped-def]
    named = SETTINGS_IN_WINDOW.removeprefix("in the window: ")
    assert named in _menu_paths(main_window)
