"""Seed ~30 varied webhooks through the real listener and screenshot the main window.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python bench/screenshots.py [OUT_DIR]

Writes to OUT_DIR (default: docs/): screenshot-empty.png; screenshot-light.png and
screenshot-dark.png at 1600x1000 and screenshot-1280-light.png / -dark.png at 1280x800;
screenshot-graphql.png and screenshot-graphql-1280.png (Start demo, an ORDER row's follow-up
run in the GraphQL tab); screenshot-replay.png and screenshot-rules.png (the Replay dialog with
an edited body, the response rules editor with the README's example); screenshot-diff.png
and screenshot-timeline.png (two deliveries of the demo's order compared, and its timeline);
screenshot-listener-settings.png (a generated path prefix and the URL for Fluent) and
screenshot-redact.png (the export's Redact… dialog).
Everything lives in a temporary data dir, settings file and an in-memory
keyring: a user's real captures, keys, profiles and secrets are never touched.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from keyring.backends import fail as no_keyring
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from inspector.core import demo  # noqa: E402
from inspector.core.keys import KeyRing  # noqa: E402
from inspector.core.listener import ListenerConfig  # noqa: E402
from inspector.core.secrets import SecretStore  # noqa: E402
from inspector.core.signatures import sign_headers  # noqa: E402
from inspector.core.store import Store  # noqa: E402
from inspector.gui import theme  # noqa: E402
from inspector.gui.app import build_main_window  # noqa: E402
from inspector.gui.icons import icon  # noqa: E402
from inspector.gui.mainwindow import MainWindow  # noqa: E402
from inspector.gui.settings import Settings  # noqa: E402
from inspector.gui.widgets.detail_pane import TAB_GRAPHQL  # noqa: E402

EVENTS = [
    ("ORDER", "CREATE", "CREATED", "HD-{n:06d}"),
    ("ORDER", "ORDER_BOOKED", "BOOKED", "HD-{n:06d}"),
    ("FULFILMENT", "FULFILMENT_READY", "READY", "FF-{n:05d}"),
    ("FULFILMENT", "PICK_CONFIRMED", "PICKED", "FF-{n:05d}"),
    ("CONSIGNMENT", "CONSIGNMENT_CREATED", "CREATED", "CON-{n:05d}"),
    ("ARTICLE", "ARTICLE_DISPATCHED", "DISPATCHED", "ART-{n:05d}"),
    ("INVENTORY_POSITION", "INVENTORY_CHANGED", "ACTIVE", "SKU-{n:04d}:DC_SYD"),
    ("RETURN_ORDER", "RETURN_CREATED", "CREATED", "RET-{n:05d}"),
    ("LOCATION", "LOCATION_UPDATED", "ACTIVE", "LOC_{n:03d}"),
]


def event(n: int, kind: int, event_id: str | None = None) -> dict[str, object]:
    entity_type, name, status, ref = EVENTS[kind % len(EVENTS)]
    root_type = {
        "INVENTORY_POSITION": "INVENTORY_CATALOGUE",
        "LOCATION": "LOCATION",
        "RETURN_ORDER": "RETURN_ORDER",
    }.get(entity_type, "ORDER")
    # A root entity is its own root (Fluent's Event model; the payload checks say so).
    is_root = entity_type == root_type
    entity_ref = ref.format(n=1200 + n)
    return {
        "id": event_id or str(uuid.uuid4()),
        "name": name,
        "accountId": "ACME",
        "retailerId": "1",
        "entityId": str(5000 + n),
        "entityRef": entity_ref,
        "entityType": entity_type,
        "entityStatus": status,
        "rootEntityId": str(5000 + n) if is_root else str(4000 + n),
        "rootEntityRef": entity_ref
        if is_root
        else (f"HD-{1200 + n:06d}" if root_type == "ORDER" else "DEFAULT:1"),
        "rootEntityType": root_type,
        "type": "NORMAL",
        "attributes": {"carrier": "AUSPOST", "totalPrice": 42.5 + n, "items": n % 4 + 1},
        "meta": {"mode": "SYNC", "simulation": False, "models": []},
    }


def seed(
    url: str, sydney: RSAPrivateKey, dublin: RSAPrivateKey, pause: Callable[[], None] = lambda: None
) -> int:
    """Post the varied set in bursts (``pause`` between them); returns how many were sent."""
    base = url.rstrip("/")
    sent = 0
    with httpx.Client(timeout=10) as client:

        def send(
            body: bytes,
            headers: list[tuple[str, str]],
            path: str = "/hooks/fluent",
            method: str = "POST",
        ) -> None:
            nonlocal sent
            client.request(
                method,
                base + path,
                content=body,
                headers=[("Content-Type", "application/json"), *headers],
            )
            sent += 1

        for n in range(16):  # genuine traffic: sydney sandbox and the demo key
            body = json.dumps(event(n, n), separators=(",", ":")).encode()
            key = sydney if n % 3 else demo.demo_private_key()
            send(body, sign_headers(key, body))
            if n % 4 == 3:
                pause()
        retry_id = str(uuid.uuid4())
        retry = json.dumps(event(40, 2, retry_id), separators=(",", ":")).encode()
        for _ in range(4):  # the same event delivered four times (receiver answered slowly)
            send(retry, sign_headers(sydney, retry))
        pause()
        for n in range(3):  # wrong environment's key
            body = json.dumps(event(50 + n, n + 4), separators=(",", ":")).encode()
            send(body, sign_headers(dublin, body))
        pause()
        for n in range(2):  # a proxy dropped the dotted header
            body = json.dumps(event(60 + n, n + 1), separators=(",", ":")).encode()
            send(body, [h for h in sign_headers(sydney, body) if h[0] != "flex.signature"])
        body = json.dumps(event(70, 0), indent=2).encode()  # re-serialised after signing
        send(body, sign_headers(sydney, json.dumps(json.loads(body)).encode()))
        send(b"ping", [], "/health", "GET")  # not a webhook at all
        send(b"<xml>not json</xml>", [("flex.signature", "%%%not-base64%%%")], "/legacy")
        send(b"\x00\x01\x02binary\xff", [], "/upload")
    return sent


def wait_for_rows(app: QApplication, window: MainWindow, count: int) -> None:
    deadline = time.monotonic() + 20
    while window.model.total < count and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.02)
    for _ in range(20):
        app.processEvents()
        time.sleep(0.01)


def settle(app: QApplication, seconds: float = 0.5) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)


def wait_until(
    app: QApplication, condition: Callable[[], bool], what: str, seconds: float = 30
) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        app.processEvents()
        time.sleep(0.02)


def graphql_shot(app: QApplication, window: MainWindow, path: Path) -> None:
    """Start demo, select the order's first webhook and run its follow-up in the GraphQL tab."""
    window.demo.step_seconds = 0.3
    session = window.demo.start()
    assert session is not None, window.demo_label.text()
    model = window.model
    wait_until(app, session.scenario.done, "the demo scenario")
    wait_until(
        app,
        lambda: window.graphql.auto.in_flight == 0 and not window.graphql.auto.pending,
        "auto follow-ups",
    )
    row = next(r for r in range(model.rowCount()) if model.row_at(r).event_name == "OrderCreated")
    chosen = model.row_at(row).id
    window.selection.select_row(row)
    wait_until(
        app,
        # By id: rows may still move (a late arrival, a filter's page landing from its worker).
        lambda: window.graphql.capture is not None and window.graphql.capture.id == chosen,
        "the panel to follow the selection",
    )
    window.followup.focus_graphql()
    assert window.detail.currentIndex() == TAB_GRAPHQL
    wait_until(app, lambda: window.graphql.schema_source.is_live, "the schema")
    done: list[object] = []
    window.graphql.run_finished.connect(done.append)
    assert window.graphql.run()
    wait_until(app, lambda: bool(done), "the follow-up run")
    settle(app, 1.0)
    window.grab().save(str(path))
    window.demo.stop()
    window.detail.setCurrentIndex(0)


def act_shots(app: QApplication, window: MainWindow, row: int, out_dir: Path) -> None:
    """The Replay dialog with an edited body (and the note it gives), and the rules editor."""
    from inspector.core.rules import EXAMPLE_RULES

    window.selection.select_row(row)
    settle(app, 0.5)
    dialog = window.act.open_replay()
    assert dialog is not None
    dialog.target.setText("http://127.0.0.1:3000/int")
    edited = re.sub(
        r'"entityStatus":\s*"[^"]*"', '"entityStatus":"CANCELLED"', dialog.body.toPlainText()
    )
    dialog.body.setPlainText(edited)
    settle(app, 0.5)
    dialog.grab().save(str(out_dir / "screenshot-replay.png"))
    dialog.close()
    editor = window.act.open_rules()
    editor.text.setPlainText(EXAMPLE_RULES)
    settle(app, 0.8)
    editor.grab().save(str(out_dir / "screenshot-rules.png"))
    # Shown, not saved: put the text back so closing does not ask Save / Discard / Cancel.
    editor.text.setPlainText(editor._saved_text)
    editor.close()


def exposure_shots(app: QApplication, window: MainWindow, out_dir: Path) -> None:
    """Listener settings with a generated path prefix (the URL to give Fluent), and the
    export's Redact… dialog with its suggestions."""
    from inspector.core.listener import ListenerConfig
    from inspector.gui.widgets.listener_settings import ListenerSettingsDialog
    from inspector.gui.widgets.redact_dialog import RedactDialog

    settings = ListenerSettingsDialog(
        ListenerConfig(), window, public_base="https://example-tunnel.ngrok.app"
    )
    settings.gates.generate.click()
    settings.show()
    settle(app, 0.6)
    settings.grab().save(str(out_dir / "screenshot-listener-settings.png"))
    settings.close()
    redact = RedactDialog("Authorization,fluent-signature,$..email", window)
    redact.show()
    settle(app, 0.6)
    redact.grab().save(str(out_dir / "screenshot-redact.png"))
    redact.close()


def understand_shots(app: QApplication, window: MainWindow, out_dir: Path) -> None:
    """Compare (two deliveries of the demo's order) and the order's timeline."""
    from PySide6.QtCore import QItemSelectionModel

    model = window.model
    rows = [r for r in range(model.rowCount()) if model.row_at(r).entity_ref == "HD_10025"]
    assert len(rows) >= 2, "the demo's order is in the table"
    window.selection.select_row(rows[-1])  # OrderCreated (oldest)
    selection = window.table.selectionModel()
    selection.select(
        model.index(rows[-2], 0),
        QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows,
    )
    settle(app, 0.3)
    window.commands["diff.compare"].trigger()
    wait_until(app, lambda: window.diff.dialog is not None, "the diff")
    dialog = window.diff.dialog
    assert dialog is not None
    dialog.resize(1150, 680)
    settle(app, 0.8)
    dialog.grab().save(str(out_dir / "screenshot-diff.png"))
    dialog.close()
    window.selection.select_row(rows[-1])
    settle(app, 0.3)
    window.commands["timeline.show"].trigger()
    wait_until(app, lambda: window.timeline.dialog is not None, "the timeline")
    timeline = window.timeline.dialog
    assert timeline is not None
    timeline.resize(1180, 560)
    settle(app, 0.8)
    timeline.grab().save(str(out_dir / "screenshot-timeline.png"))
    timeline.close()


def main(out_dir: Path) -> None:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setWindowIcon(icon("app"))
    work = Path(tempfile.mkdtemp(prefix="inspector-shots-"))
    settings = Settings(QSettings(str(work / "settings.ini"), QSettings.Format.IniFormat))
    theme.apply_theme(app, "light")
    store = Store(work / "captures.sqlite3")
    keyring = KeyRing(work / "keys.json")
    demo.ensure_demo_key(keyring, work)
    sydney = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    dublin = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    from cryptography.hazmat.primitives import serialization

    spki = sydney.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    import base64

    keyring.add("sandbox-sydney", base64.b64encode(spki).decode())
    secrets = SecretStore(
        # keyring's "fail" backend: the demo's credentials stay in memory for this run only.
        service="inspector-screenshots",
        backend=no_keyring.Keyring(),
    )
    window = build_main_window(
        store, keyring, settings, ListenerConfig(port=0), data_dir=work, secrets=secrets
    )
    window.resize(1600, 1000)
    window.show()
    settle(app)
    out_dir.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(out_dir / "screenshot-empty.png"))
    url = window.listener.url()
    assert url, window.status_panel.health_text()
    window.commands["captures.follow"].setChecked(False)
    # Bursts a few seconds apart so the activity strip shows several 5-second buckets.
    sent = seed(url, sydney, dublin, pause=lambda: settle(app, 2.6))
    wait_for_rows(app, window, sent)
    # The demo goes first so its rows (with the Entity now column filled) are in the others.
    graphql_shot(app, window, out_dir / "screenshot-graphql.png")
    # The most telling row to show: a genuine-looking event that no configured key verifies.
    target = next(
        (
            r
            for r in range(window.model.rowCount())
            if window.model.row_at(r).fluent.value == "invalid"
        ),
        0,
    )
    window.selection.select_row(target)
    settle(app, 1.0)
    window.grab().save(str(out_dir / "screenshot-light.png"))
    window.view.set_theme("dark")
    settle(app, 1.0)
    window.grab().save(str(out_dir / "screenshot-dark.png"))
    window.view.set_theme("light")
    window.resize(1280, 800)
    settle(app, 1.0)
    window.grab().save(str(out_dir / "screenshot-1280-light.png"))
    window.view.set_theme("dark")
    settle(app, 1.0)
    window.grab().save(str(out_dir / "screenshot-1280-dark.png"))
    window.view.set_theme("light")
    graphql_shot(app, window, out_dir / "screenshot-graphql-1280.png")
    act_shots(app, window, target, out_dir)
    exposure_shots(app, window, out_dir)
    understand_shots(app, window, out_dir)
    print(f"{sent} requests, {window.model.total} captures; screenshots in {out_dir}")
    window.shutdown()
    store.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs")
