from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QHeaderView, QTableView

from inspector.gui.settings import Settings


def _settings(path: Path) -> Settings:
    return Settings(QSettings(str(path), QSettings.Format.IniFormat))


@pytest.fixture
def ini(tmp_path: Path) -> Path:
    return tmp_path / "settings.ini"


def test_defaults_on_empty_file(ini: Path) -> None:
    s = _settings(ini)
    assert s.window_geometry is None
    assert s.window_state is None
    assert s.splitter_state is None
    assert s.table_header_state is None
    assert s.listener_host == "127.0.0.1"
    assert s.listener_port == 8765
    assert s.body_limit_mb == 10
    assert s.tls_cert == ""
    assert s.tls_key == ""
    assert s.follow_newest is True
    assert s.zoom == 1.0
    assert s.last_export_dir == ""
    assert s.detail_tab == 0
    assert s.theme == "system"
    assert s.graphql_profile == ""
    assert s.graphql_auto_follow_up == ()
    assert s.graphql_splitter is None


ROUND_TRIPS: list[tuple[str, object]] = [
    ("window_geometry", QByteArray(b"\x01\xd9\xd0\xcb\x00\x03\x00\x00geometry\x00\xff")),
    ("window_state", QByteArray(b"\x00\x00\x00\xffstate,with=odd;chars")),
    ("splitter_state", QByteArray(b"\x00\x00\x00\xff\x00\x00\x00\x01")),
    ("listener_host", "0.0.0.0"),
    ("listener_port", 9999),
    ("body_limit_mb", 64),
    ("tls_cert", "/home/me/certs/my cert, v2.pem"),
    ("tls_key", "C:\\Users\\me\\key.pem"),
    ("follow_newest", False),
    ("zoom", 1.25),
    ("last_export_dir", "/tmp/exports"),
    ("detail_tab", 3),
    ("theme", "dark"),
    ("theme", "light"),
    ("graphql_profile", "acme sandbox"),
    ("graphql_auto_follow_up", ("ORDER", "FULFILMENT")),
    ("graphql_auto_follow_up", ("ORDER",)),
    ("graphql_auto_follow_up", ()),
    ("graphql_splitter", QByteArray(b"\x00\x00\x00\xff\x00\x00\x00\x02")),
]


@pytest.mark.parametrize(("name", "value"), ROUND_TRIPS)
def test_round_trip_through_a_fresh_instance(ini: Path, name: str, value: object) -> None:
    first = _settings(ini)
    setattr(first, name, value)
    first.sync()
    del first

    again = _settings(ini)
    got = getattr(again, name)
    assert got == value
    assert type(got) is type(value)


def test_header_state_round_trip(qtbot, ini: Path) -> None:
    model = QStandardItemModel(2, 4)
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    header = view.horizontalHeader()
    header.resizeSection(1, 217)
    header.moveSection(0, 3)
    s = _settings(ini)
    s.table_header_state = header.saveState()
    s.sync()

    other = QTableView()
    qtbot.addWidget(other)
    other.setModel(QStandardItemModel(2, 4))
    restored: QHeaderView = other.horizontalHeader()
    state = _settings(ini).table_header_state
    assert state is not None
    assert restored.restoreState(state)
    assert restored.sectionSize(1) == 217
    assert restored.visualIndex(0) == 3


@pytest.mark.parametrize(
    ("key", "raw", "name", "expected"),
    [
        ("listener/port", "abc", "listener_port", 8765),
        ("listener/port", "70000", "listener_port", 8765),
        ("listener/port", "0", "listener_port", 8765),
        ("listener/port", " 8080 ", "listener_port", 8080),
        ("listener/body_limit_mb", "-5", "body_limit_mb", 10),
        ("view/follow_newest", "maybe", "follow_newest", True),
        ("view/follow_newest", "false", "follow_newest", False),
        ("view/follow_newest", "0", "follow_newest", False),
        ("view/zoom", "huge", "zoom", 1.0),
        ("view/zoom", "nan", "zoom", 1.0),
        ("view/zoom", "9", "zoom", 2.5),
        ("view/zoom", "0.1", "zoom", 0.6),
        ("view/detail_tab", "x", "detail_tab", 0),
        ("view/theme", "purple", "theme", "system"),
        ("view/theme", "DARK", "theme", "dark"),
        ("window/geometry", "not bytes", "window_geometry", None),
    ],
)
def test_bad_stored_values_fall_back(
    ini: Path, key: str, raw: str, name: str, expected: object
) -> None:
    # Written as a user would edit the ini file by hand.
    section, _, option = key.partition("/")
    ini.write_text(f"[{section}]\n{option}={raw}\n", encoding="utf-8")
    assert getattr(_settings(ini), name) == expected


def test_list_value_from_hand_edited_ini_falls_back(ini: Path) -> None:
    # An unquoted comma makes QSettings return a list instead of a string.
    ini.write_text("[listener]\nhost=a, b\n", encoding="utf-8")
    assert _settings(ini).listener_host == "127.0.0.1"


def test_invalid_assignment_is_refused(ini: Path) -> None:
    s = _settings(ini)
    with pytest.raises(ValueError):
        s.listener_port = "abc"  # type: ignore[assignment]
    with pytest.raises(ValueError):
        s.theme = "neon"  # type: ignore[assignment]
    assert s.listener_port == 8765


def test_none_clears_byte_arrays_and_reset(ini: Path) -> None:
    s = _settings(ini)
    s.window_geometry = QByteArray(b"abc")
    s.window_geometry = None
    assert s.window_geometry is None
    s.listener_port = 1234
    s.reset("listener_port")
    assert s.listener_port == 8765
    with pytest.raises(AttributeError):
        s.reset("nope")


def test_names_cover_every_preference() -> None:
    assert set(Settings.names()) == {
        "forward_to",
        "forward_paths",
        "forward_timeout",
        "forward_fallback",
        "require_signature",
        "public_base",
        "replay_target",
        "window_geometry",
        "window_state",
        "splitter_state",
        "table_header_state",
        "listener_host",
        "listener_port",
        "body_limit_mb",
        "tls_cert",
        "tls_key",
        "follow_newest",
        "group_retries",
        "zoom",
        "last_export_dir",
        "export_redact",
        "export_redact_enabled",
        "detail_tab",
        "theme",
        "raw_wrap",
        "graphql_profile",
        "graphql_auto_follow_up",
        "graphql_splitter",
    }
    assert Settings.default("listener_port") == 8765


def test_default_constructor_uses_the_app_scope(qapp) -> None:
    # conftest points XDG_CONFIG_HOME into a temp dir, so this never touches real settings.
    s = Settings()
    assert s.qsettings.organizationName() == "FluentInspector"
    assert s.qsettings.applicationName() == "Fluent Webhook Inspector"


def test_auto_follow_up_is_stored_readably_and_read_from_hand_edits(ini: Path) -> None:
    s = _settings(ini)
    s.graphql_auto_follow_up = ("ORDER", "FULFILMENT", "ORDER")
    s.sync()
    assert s.qsettings.value("graphql/auto_follow_up") == "ORDER,FULFILMENT"
    # An unquoted comma with a space, as a user would type it: QSettings returns a list.
    ini.write_text("[graphql]\nauto_follow_up=ORDER, WAVE\n", encoding="utf-8")
    assert _settings(ini).graphql_auto_follow_up == ("ORDER", "WAVE")
    ini.write_text("[graphql]\nauto_follow_up=\n", encoding="utf-8")
    assert _settings(ini).graphql_auto_follow_up == ()


def test_the_redact_choice_round_trips_with_commas(ini: Path) -> None:
    s = _settings(ini)
    s.export_redact = "Authorization,$['a,b'],$..email"
    s.export_redact_enabled = True
    s.sync()
    del s
    again = _settings(ini)
    assert again.export_redact == "Authorization,$['a,b'],$..email"
    assert again.export_redact_enabled is True
    # Hand-edited without quotes, QSettings hands back a list: read as the same text.
    ini.write_text("[export]\nredact=Authorization, $..email\n", encoding="utf-8")
    assert _settings(ini).export_redact == "Authorization,$..email"
