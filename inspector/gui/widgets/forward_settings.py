"""The forward part of Listener settings: a default target, per-path targets, timeout and
fallback status. Its values go into :class:`ListenerConfig` (``listen --forward-to`` and
friends, which the window's child listener is started with)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QAbstractItemView,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

__all__ = ["ForwardSettings"]


class ForwardSettings(QGroupBox):
    def __init__(
        self,
        forward_to: str | None,
        paths: tuple[tuple[str, str], ...],
        timeout: float,
        fallback: int,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("Forward to your handler", parent)
        self.setObjectName("forwardSettings")
        self.forward_to = QLineEdit(forward_to or "", self)
        self.forward_to.setObjectName("forwardTo")
        self.forward_to.setPlaceholderText("none: answer ourselves (e.g. http://127.0.0.1:3000)")
        self.forward_to.setToolTip(
            "Each request is stored, then sent on byte-exact to this URL with its own path "
            "and query appended; the sender gets the handler's answer."
        )
        self.timeout = QDoubleSpinBox(self)
        self.timeout.setObjectName("forwardTimeout")
        self.timeout.setRange(0.1, 600.0)
        self.timeout.setDecimals(1)
        self.timeout.setSuffix(" s")
        self.timeout.setValue(timeout)
        self.fallback = QSpinBox(self)
        self.fallback.setObjectName("forwardFallback")
        self.fallback.setRange(200, 599)
        self.fallback.setValue(fallback)
        self.fallback.setToolTip(
            "What the sender gets when the handler is down, too slow or answers garbage"
        )
        self.paths = QTableWidget(0, 2, self)
        self.paths.setObjectName("forwardPaths")
        self.paths.setHorizontalHeaderLabels(["Path glob", "Target URL"])
        self.paths.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.paths.horizontalHeader().setStretchLastSection(True)
        self.paths.setColumnWidth(0, 150)
        self.paths.verticalHeader().hide()
        self.paths.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.paths.setMinimumHeight(96)
        self.paths.setToolTip(
            "Requests whose path matches a glob (first match wins) go to that URL instead "
            "of the default target, e.g. /wms/* → http://127.0.0.1:4000"
        )
        for glob, url in paths:
            self.add_path(glob, url)
        add = QPushButton("Add path", self)
        add.setObjectName("forwardAddPath")
        add.clicked.connect(lambda: self.add_path("/hooks/*", "http://127.0.0.1:3000"))
        remove = QPushButton("Remove", self)
        remove.setObjectName("forwardRemovePath")
        remove.clicked.connect(self._remove_selected)
        buttons = QHBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(remove)
        buttons.addStretch(1)
        form = QFormLayout()
        form.addRow("Default target", self.forward_to)
        times = QHBoxLayout()
        times.addWidget(self.timeout)
        times.addSpacing(12)
        times.addWidget(QLabel("Fallback status", self))
        times.addWidget(self.fallback)
        times.addStretch(1)
        form.addRow("Timeout", times)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.paths)
        layout.addLayout(buttons)

    def add_path(self, glob: str, url: str) -> None:
        row = self.paths.rowCount()
        self.paths.insertRow(row)
        self.paths.setItem(row, 0, QTableWidgetItem(glob))
        self.paths.setItem(row, 1, QTableWidgetItem(url))

    def _remove_selected(self) -> None:
        for row in sorted({i.row() for i in self.paths.selectedIndexes()}, reverse=True):
            self.paths.removeRow(row)

    def target(self) -> str | None:
        return self.forward_to.text().strip() or None

    def path_targets(self) -> tuple[tuple[str, str], ...]:
        found = []
        for row in range(self.paths.rowCount()):
            glob_item, url_item = self.paths.item(row, 0), self.paths.item(row, 1)
            glob = glob_item.text().strip() if glob_item is not None else ""
            url = url_item.text().strip() if url_item is not None else ""
            if glob or url:
                found.append((glob, url))
        return tuple(found)

    def validate(self) -> str | None:
        """Why these settings cannot be applied, or None."""
        checks: list[tuple[str, str | None]] = [("default forward target", self.target())]
        for glob, url in self.path_targets():
            if not glob.startswith(("/", "*")):
                return f"The path glob {glob!r} must start with / (e.g. /wms/*)."
            checks.append((f"forward target for {glob}", url))
        # Here, not at the top: core.forward imports httpx (~0.1 s), which the window's
        # first paint does not need; this runs when the user applies Listener settings.
        from inspector.core.forward import check_target_url

        for what, given in checks:
            if given is None:
                continue
            try:
                check_target_url(given, what)
            except ValueError as exc:
                return str(exc)
        return None
