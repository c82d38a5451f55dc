"""The Summary tab: a Fluent event card and one signature card per header."""

from __future__ import annotations

import html
import json
from typing import Any

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QGuiApplication, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHeaderView,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from inspector.core import payload
from inspector.core.capture import Capture, Redaction, SignatureCheck, SignatureHeader, Verdict
from inspector.core.redact import REDACTED, Badge, badge, badge_detail
from inspector.core.text import escape_control
from inspector.gui import theme
from inspector.gui.widgets.status_panel import UNSIGNED, classify

MAX_ATTRIBUTE_ROWS = 500


def _shown(text: str) -> str:
    """Request-borne text for a rich-text label: controls made visible, then HTML-escaped."""
    return html.escape(escape_control(text))


def _value_label(text: str = "") -> QLabel:
    label = QLabel(text)
    # Always rich text, and every value set is escaped (_shown): with Qt's guess, a value
    # that happens to look like HTML would render, and an escaped "<" would show as "&lt;".
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setWordWrap(True)
    return label


def likely_cause(check: SignatureCheck, capture: Capture) -> str:
    """The sentence a person needs when a signature is not valid."""
    if check.verdict is Verdict.VALID:
        return ""
    parts = [check.detail] if check.detail else []
    if check.hint:
        parts.append(check.hint)
    if check.verdict is Verdict.MISSING and not check.hint:
        other = capture.signature(
            SignatureHeader.FLUENT if check.header is SignatureHeader.FLEX else SignatureHeader.FLEX
        )
        if other.verdict is not Verdict.MISSING and not parts:
            parts.append(
                f"only {other.header.value} arrived - a proxy may have dropped {check.header.value}"
            )
    if not parts:
        parts.append(
            {
                Verdict.INVALID: "no configured key verifies - wrong environment's key?",
                Verdict.MISSING: f"header missing - a proxy may have dropped {check.header.value}",
                Verdict.MALFORMED: "not base64, or the wrong length for every configured key",
                Verdict.NO_KEY: "no public key configured: add Fluent's key (Ctrl+K)",
            }.get(check.verdict, "")
        )
    return " ".join(parts)


def redaction_line(mark: Redaction) -> str:
    """What the Summary banner says about an imported redacted export."""
    asked = [*mark.headers, *mark.paths]
    what = ", ".join(asked) if asked else "nothing matched"
    if mark.body == "changed":
        after = "the body was changed, so its signatures no longer apply"
    elif mark.body == "not_json":
        after = "the body is not JSON, so the JSON paths did not apply to it"
    else:
        after = "no JSON path matched the body, which is as received"
    return f"exported with values replaced by [redacted] ({what}); {after}."


class VerdictPill(QLabel):
    """Colour and symbol of a verdict; recoloured when the palette (theme) changes."""

    _verdict: Badge | None = None

    def set_verdict(self, verdict: Badge) -> None:
        self._verdict = verdict
        self.setText(f" {verdict.symbol}  {verdict.label} ")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._recolor()

    def _recolor(self) -> None:
        if self._verdict is None:
            return
        # The application palette: this label's own palette is overridden by its style sheet.
        bg, fg = theme.verdict_colors(self._verdict, theme.is_dark(QGuiApplication.palette()))
        style = (
            f"background: {bg.name()}; color: {fg.name()}; border-radius: 8px;"
            " padding: 2px 8px; font-weight: bold;"
        )
        if style != self.styleSheet():
            self.setStyleSheet(style)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._recolor()


class SignatureCard(QGroupBox):
    def __init__(self, header: SignatureHeader, parent: QWidget | None = None) -> None:
        super().__init__(header.value, parent)
        self.header = header
        form = QFormLayout(self)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.pill = VerdictPill(self)
        self.pill.setObjectName(f"verdict-{header.value}")
        self.pill.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.algorithm = _value_label(header.algorithm)
        self.key = _value_label()
        self.received = _value_label()
        self.cause = _value_label()
        self.cause.setObjectName(f"cause-{header.value}")
        form.addRow("Verdict", self.pill)
        form.addRow("Algorithm", self.algorithm)
        form.addRow("Matching key", self.key)
        form.addRow("Header", self.received)
        form.addRow("Likely cause", self.cause)
        self._form = form

    def set_check(self, check: SignatureCheck, capture: Capture) -> None:
        shown = badge(check.verdict, check.header, capture.redacted)
        self.pill.set_verdict(shown)
        self.key.setText(_shown(check.key_name or "—"))
        self.received.setText(
            _shown(f"arrived as '{check.received_name}'") if check.received_name else "not received"
        )
        if capture.redacted is not None and shown is REDACTED:
            # An imported redacted export: "invalid" would blame the key or the sender.
            self.cause.setText(
                _shown(badge_detail(check.verdict, check.key_name, capture.redacted))
            )
            self._form.setRowVisible(self.key, False)
            return
        cause = likely_cause(check, capture)
        self.cause.setText(
            _shown(cause)
            if cause
            else "the body was signed by this key: it came "
            "from the Fluent environment that key belongs to"
        )
        self._form.setRowVisible(self.key, check.verdict is Verdict.VALID)


class SummaryView(QScrollArea):
    """Read-only cards about one capture."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        body = QWidget(self)
        self._layout = QVBoxLayout(body)
        self._layout.setContentsMargins(8, 8, 8, 8)

        self.banner = _value_label()
        self.banner.setObjectName("summaryBanner")
        self.banner.setVisible(False)
        self._layout.addWidget(self.banner)

        self.event_box = QGroupBox("Fluent event", body)
        self.event_form = QFormLayout(self.event_box)
        self.event_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.fields: dict[str, QLabel] = {}
        for key, label in (
            ("name", "Event"),
            ("entity", "Entity"),
            ("status", "Status"),
            ("root", "Root entity"),
            ("account", "Account / retailer"),
            ("event_id", "Event id"),
            ("delivery", "Delivery"),
            ("type", "Type / source"),
            ("missing", "Missing fields"),
        ):
            value = _value_label()
            value.setObjectName(f"summary-{key}")
            self.fields[key] = value
            self.event_form.addRow(label, value)
        self.attributes = QTableWidget(0, 2, self.event_box)
        self.attributes.setObjectName("summaryAttributes")
        self.attributes.setHorizontalHeaderLabels(["Attribute", "Value"])
        self.attributes.horizontalHeader().setSectionResizeMode(
            0, QHeaderView.ResizeMode.ResizeToContents
        )
        self.attributes.horizontalHeader().setStretchLastSection(True)
        self.attributes.verticalHeader().setVisible(False)
        self.attributes.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.event_form.addRow("Attributes", self.attributes)
        self._layout.addWidget(self.event_box)

        # Payload checks (core/payload.py): one line, for bodies that are JSON objects.
        self.payload = _value_label()
        self.payload.setObjectName("summaryPayload")
        self._layout.addWidget(self.payload)

        self.not_event = _value_label()
        self.not_event.setObjectName("summaryNotEvent")
        self._layout.addWidget(self.not_event)

        self.cards = {h: SignatureCard(h, body) for h in SignatureHeader}
        for card in self.cards.values():
            self._layout.addWidget(card)

        self.request_box = QGroupBox("Request", body)
        self.request_form = QFormLayout(self.request_box)
        self.request_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.request: dict[str, QLabel] = {}
        for key, label in (
            ("line", "Request"),
            ("received", "Received"),
            ("remote", "From"),
            ("body", "Body"),
            ("response", "Answered"),
            ("id", "Capture id"),
        ):
            value = _value_label()
            value.setObjectName(f"request-{key}")
            self.request[key] = value
            self.request_form.addRow(label, value)
        self._layout.addWidget(self.request_box)
        self._layout.addStretch(1)
        self.setWidget(body)
        self.set_capture(None)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_height()

    def _fit_height(self) -> None:
        # QScrollArea ignores height-for-width, so wrapped labels would be clipped to one line.
        body = self.widget()
        layout = body.layout() if body is not None else None
        if body is not None and layout is not None:
            body.setMinimumHeight(layout.totalHeightForWidth(self.viewport().width()))

    def set_capture(self, capture: Capture | None) -> None:
        body = self.widget()
        if body is not None:
            body.setVisible(capture is not None)
        if capture is None:
            return
        self._set_banner(capture)
        event = capture.event
        self.event_box.setVisible(event is not None)
        self.not_event.setVisible(event is None)
        if event is None:
            self.not_event.setText(
                "<b>Not a Fluent event.</b> The body is not a JSON object with a "
                "<code>name</code> and an entity: see the Raw tab for what arrived."
                if not capture.rejected
                else ""
            )
        else:
            f = self.fields
            f["name"].setText(f"<b>{_shown(event.name or '—')}</b>")
            entity = " ".join(p for p in (event.entity_type, event.entity_subtype) if p)
            f["entity"].setText(
                f"{_shown(entity or '—')}  ref <b>{_shown(event.entity_ref or '—')}</b>"
                f"  id {_shown(event.entity_id or '—')}"
            )
            f["status"].setText(_shown(event.entity_status or "—"))
            f["root"].setText(
                _shown(
                    " ".join(p for p in (event.root_entity_type, event.root_entity_ref) if p)
                    + (f"  id {event.root_entity_id}" if event.root_entity_id else "")
                )
                or "—"
            )
            f["account"].setText(_shown(f"{event.account_id or '—'} / {event.retailer_id or '—'}"))
            f["event_id"].setText(_shown(event.id or "—"))
            f["delivery"].setText(
                f"attempt {capture.attempt}"
                + (
                    " (a retry: receivers should dedupe on the event id)"
                    if capture.attempt > 1
                    else ""
                )
            )
            f["type"].setText(_shown(" / ".join(p for p in (event.type, event.source) if p) or "—"))
            missing = ", ".join(event.missing)
            f["missing"].setText(_shown(missing))
            self.event_form.setRowVisible(f["missing"], bool(missing))
            self._set_attributes(event.attributes)
        self._set_payload(capture)
        for header, card in self.cards.items():
            card.set_check(capture.signature(header), capture)
        self._set_request(capture)
        self._fit_height()

    def _set_payload(self, capture: Capture) -> None:
        body = capture.body
        if body[:1] != b"{" and body.lstrip()[:1] != b"{":
            self.payload.setVisible(False)
            return
        problems = payload.check_body(body)
        line = ("⚠ " if problems else "✓ ") + payload.summary_line(problems)
        self.payload.setText(_shown(line))
        color = "#d97706" if problems else "#16a34a"
        self.payload.setStyleSheet(f"border-left: 4px solid {color}; padding: 4px 8px;")
        self.payload.setVisible(True)

    def _set_banner(self, capture: Capture) -> None:
        kind = classify(capture)
        if capture.rejected:
            text = f"<b>Rejected:</b> {_shown(capture.rejected)}"
            color = "#dc2626"
        elif capture.redacted is not None:
            text = f"<b>Redacted:</b> {_shown(redaction_line(capture.redacted))}"
            color = theme.verdict_colors(REDACTED, False)[1].name()
        elif kind == UNSIGNED:
            text = (
                "<b>Unsigned:</b> neither signature header arrived. Fluent signs every "
                "webhook, so this did not come from Fluent or a proxy stripped both headers."
            )
            color = "#6b7280"
        else:
            self.banner.setVisible(False)
            return
        self.banner.setText(text)
        self.banner.setStyleSheet(f"border-left: 4px solid {color}; padding: 4px 8px;")
        self.banner.setVisible(True)

    def _set_attributes(self, attributes: Any) -> None:
        rows: list[tuple[str, str]] = []
        if isinstance(attributes, dict):
            rows = [(str(k), _compact(v)) for k, v in attributes.items()]
        elif isinstance(attributes, list):
            for i, item in enumerate(attributes):
                if isinstance(item, dict) and "name" in item:
                    rows.append((str(item.get("name")), _compact(item.get("value"))))
                else:
                    rows.append((f"[{i}]", _compact(item)))
        rows = rows[:MAX_ATTRIBUTE_ROWS]
        self.attributes.setRowCount(len(rows))
        for i, (name, value) in enumerate(rows):
            self.attributes.setItem(i, 0, QTableWidgetItem(escape_control(name)))
            item = QTableWidgetItem(escape_control(value))
            item.setToolTip(escape_control(value[:2000]))
            self.attributes.setItem(i, 1, item)
        self.event_form.setRowVisible(self.attributes, bool(rows))
        # As tall as its rows (up to a limit), so short attribute lists leave no blank box.
        height = self.attributes.horizontalHeader().height() + 2 * self.attributes.frameWidth()
        height += sum(self.attributes.rowHeight(i) for i in range(min(len(rows), 8)))
        self.attributes.setFixedHeight(height)

    def _set_request(self, capture: Capture) -> None:
        r = self.request
        r["line"].setText(_shown(f"{capture.method} {capture.target}"))
        r["received"].setText(
            capture.received_at.astimezone().isoformat(sep=" ", timespec="milliseconds")
        )
        r["remote"].setText(_shown(capture.remote + (" over TLS" if capture.tls else "")))
        ctype = capture.content_type or "no content type"
        r["body"].setText(_shown(f"{capture.size:,} bytes, {ctype}"))
        r["response"].setText(str(capture.response.status))
        r["id"].setText(capture.id)


def _compact(value: object) -> str:
    if isinstance(value, str):
        return value
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        text = repr(value)
    return text if len(text) <= 2000 else text[:2000] + "…"
