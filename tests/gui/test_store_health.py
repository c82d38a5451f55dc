"""The window on a damaged store (8 KiB overwritten in a real store's file): the quick check
runs off the GUI thread, the dialog says what, where and what to do, *Move aside and start
fresh* renames every file (nothing deleted) and *Quit* leaves them alone."""

from __future__ import annotations

from pathlib import Path

from inspector.core.keys import KeyRing
from inspector.core.listener import ListenerConfig, ListenerState
from inspector.core.store import Store
from inspector.core.store.store import Salvaged
from inspector.gui.app import build_main_window
from inspector.gui.controllers.store_health import StoreHealthController
from inspector.gui.settings import Settings
from tests.gui.conftest import wait_listening
from tests.support.damage import damage, filled_store


def _damaged_window(qtbot, tmp_path: Path, keyring: KeyRing, settings: Settings, **kw):  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    filled_store(data, 200)
    damage(data / "captures.sqlite3")
    store = Store.open(data, check=False)  # as the app opens it: the check is the window's
    window = build_main_window(store, keyring, settings, ListenerConfig(port=0), **kw)
    qtbot.addWidget(window)
    window.show()
    controller = window.findChild(StoreHealthController)
    assert controller is not None
    qtbot.waitUntil(lambda: controller.dialog is not None, timeout=30_000)
    return window, controller, store, data


def test_the_dialog_moves_the_damaged_store_aside_and_a_fresh_one_opens(
    qtbot, tmp_path: Path, keyring: KeyRing, gui_settings: Settings
) -> None:
    window, controller, store, data = _damaged_window(
        qtbot, tmp_path, keyring, gui_settings, start_listener=False
    )
    box = controller.dialog
    assert box is not None
    text = box.text() + "\n" + box.informativeText()
    assert f"The capture store {store.path} is damaged" in text
    assert "Nothing will be stored into it" in text
    assert str(data) in text and "captures-damaged-<UTC time>.sqlite3" in text
    assert "export --salvage --store-file" in text
    assert controller.move_button is not None
    with qtbot.waitSignal(controller.moved_aside, timeout=30_000):
        controller.move_button.click()
    assert not window.isVisible()
    moved = [p for p in data.iterdir() if p.name.startswith("captures-damaged-")]
    assert [p.name for p in moved] == [new.name for _, new in controller.moved]
    assert not store.path.exists()
    kept = next(p for p in moved if p.suffix == ".sqlite3")
    with Store(kept, readonly=True) as old:  # kept, damage and all, and still salvageable
        assert not old.check_health(None).ok
        tally = Salvaged()
        assert len(list(old.iter_salvaged(tally))) > 150 and tally.skipped > 0
    with Store.open(data) as fresh:  # what app.run opens next: checked, empty, writable
        assert fresh.count() == 0


def test_quit_leaves_the_damaged_store_where_it_is(
    qtbot, tmp_path: Path, keyring: KeyRing, gui_settings: Settings
) -> None:
    window, controller, store, data = _damaged_window(qtbot, tmp_path, keyring, gui_settings)
    # The listener child checks too, and refuses to acknowledge into the damaged store.
    wait_listening(qtbot, window)
    assert window.status_panel.status.state is ListenerState.FAILED
    assert "is damaged" in (window.status_panel.status.error or "")
    names = sorted(p.name for p in data.glob("captures*"))
    assert controller.quit_button is not None
    controller.quit_button.click()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=10_000)
    assert controller.moved == []
    assert sorted(p.name for p in data.glob("captures*")) == names
    store.close()
