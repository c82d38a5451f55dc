"""Commands, and the menus, toolbar and shortcuts built from them as data.

Modelled on qutebrowser: feature controllers register :class:`Command` objects (what a command
is and does: id, title, icon, handler, when it is enabled), while *where* commands appear and
*which keys* run them are declarative tables below (:data:`DEFAULT_KEYS`, :data:`MENUS`,
:data:`TOOLBAR`, :data:`TABLE_MENU`), as qutebrowser keeps bindings in ``configdata.yml``. So
the whole keyboard map reads in one place, and a user may rebind any command by id through
:meth:`inspector.gui.settings.Settings.key_binding` (read once, when the command registers).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMenu, QMenuBar, QToolBar, QWidget

from inspector.gui.icons import icon
from inspector.gui.settings import Settings

__all__ = [
    "DEFAULT_KEYS",
    "MENUS",
    "SEP",
    "TABLE_MENU",
    "TOOLBAR",
    "Command",
    "CommandRegistry",
    "KeySpec",
    "LayoutItem",
    "Scope",
    "key_sequences",
]

KeySpec = str | QKeySequence.StandardKey
SEP = "-"
"""A separator in a menu or toolbar layout."""
# An entry of a layout: a command id, SEP, "@name" for a menu someone else owns (the GraphQL
# panel's Auto follow-up menu), or (title, entries) for a submenu.
LayoutItem = str | tuple[str, tuple["LayoutItem", ...]]


@dataclass(frozen=True, slots=True)
class Scope:
    """Widgets a command's keys are limited to, because the same keys mean something else
    elsewhere (Ctrl+C in a text view, Ctrl+F in the JSON view's own find, J in a text field).
    """

    widgets: tuple[QWidget, ...]
    context: Qt.ShortcutContext = Qt.ShortcutContext.WidgetWithChildrenShortcut


@dataclass(frozen=True, slots=True)
class Command:
    id: str
    title: str
    handler: Callable[..., object]
    """Called with no argument, or with the new state when ``checkable``."""
    icon: str | None = None
    tip: str = ""
    checkable: bool = False
    enabled: Callable[[], bool] | None = None
    """When the command can run; re-evaluated by :meth:`CommandRegistry.refresh`."""
    scope: str = ""
    """Name of a :class:`Scope` given to the registry; "" = anywhere in the window."""
    group: str = ""
    """Checkable commands of one group exclude each other (the themes)."""
    user_only: bool = False
    """A checkable command's handler runs when the user triggers it, not on ``setChecked``
    (restoring the saved theme must not apply it a second time)."""


# --------------------------------------------------------------------------- the data
DEFAULT_KEYS: Mapping[str, tuple[KeySpec, ...]] = {
    "listener.toggle": ("Ctrl+L",),
    "listener.send": ("Ctrl+T",),
    "demo.toggle": ("Ctrl+Shift+D",),
    "graphql.focus": ("Ctrl+G",),
    # graphql.run has none: the panel's own Ctrl+Enter runs the query, and a second shortcut
    # would make it ambiguous (the title shows the key instead).
    "keys.manage": ("Ctrl+K",),
    "transfer.export": ("Ctrl+E",),
    "transfer.export_selected": ("Ctrl+Shift+E",),
    "transfer.import": ("Ctrl+I",),
    "captures.delete": (QKeySequence.StandardKey.Delete,),
    "captures.clear": ("Ctrl+Shift+Delete",),
    "clipboard.body": (QKeySequence.StandardKey.Copy,),
    "clipboard.curl": ("Ctrl+Shift+C",),
    "captures.filter": ("Ctrl+F",),
    "captures.refresh": (QKeySequence.StandardKey.Refresh,),
    "captures.next": ("J",),
    "captures.previous": ("K",),
    "captures.open": ("Return", "Enter"),
    "diff.compare": ("Ctrl+D",),
    "timeline.show": ("Ctrl+Shift+T",),
    "captures.group_retries": ("Ctrl+Shift+G",),
    "view.zoom_in": ("Ctrl+=", "Ctrl++", QKeySequence.StandardKey.ZoomIn),
    "view.zoom_out": ("Ctrl+-", QKeySequence.StandardKey.ZoomOut),
    "view.zoom_reset": ("Ctrl+0",),
    "app.quit": (QKeySequence.StandardKey.Quit,),
}

MENUS: tuple[tuple[str, tuple[LayoutItem, ...]], ...] = (
    ("&File", ("transfer.import", "transfer.export", "transfer.export_selected", SEP, "app.quit")),
    (
        "&Edit",
        (
            "clipboard.body",
            "clipboard.curl",
            "clipboard.id",
            SEP,
            "captures.filter",
            "captures.same_event",
            SEP,
            "diff.compare",
            "timeline.show",
            SEP,
            "act.replay",
            SEP,
            "captures.delete",
            "captures.clear",
        ),
    ),
    (
        "&View",
        (
            "captures.follow",
            "captures.group_retries",
            "captures.refresh",
            SEP,
            "view.zoom_in",
            "view.zoom_out",
            "view.zoom_reset",
            ("Theme", ("view.theme.system", "view.theme.light", "view.theme.dark")),
        ),
    ),
    (
        "&Listener",
        (
            "listener.toggle",
            "listener.send",
            "listener.copy_url",
            SEP,
            "listener.settings",
            "act.rules",
        ),
    ),
    ("&Keys", ("keys.manage", "transfer.reverify")),
    (
        "&GraphQL",
        (
            "graphql.focus",
            "graphql.run",
            SEP,
            "graphql.profiles",
            "@auto_follow_up",
            SEP,
            "demo.toggle",
        ),
    ),
)

TOOLBAR: tuple[LayoutItem, ...] = (
    "listener.toggle",
    "listener.send",
    "demo.toggle",
    SEP,
    "captures.follow",
    SEP,
    "keys.manage",
    "transfer.reverify",
    SEP,
    "transfer.export",
    "transfer.import",
    SEP,
    "captures.delete",
    "captures.clear",
)

TABLE_MENU: tuple[LayoutItem, ...] = (
    "clipboard.body",
    "clipboard.curl",
    "clipboard.id",
    SEP,
    "diff.compare",
    "timeline.show",
    "captures.same_event",
    "transfer.export_selected",
    SEP,
    "act.replay",
    SEP,
    "captures.delete",
)
"""The capture table's context menu."""


# --------------------------------------------------------------------------- the registry
def key_sequences(keys: Sequence[KeySpec]) -> list[QKeySequence]:
    """Every sequence the keys stand for, without duplicates: a literal and the platform's
    standard key are often the same, and an ambiguous shortcut makes Qt trigger neither.

    A standard key among others stands for all its platform bindings; alone, for its primary
    one only (Copy is Ctrl+C, not also Ctrl+Insert, which text views use)."""
    sequences: list[QKeySequence] = []
    for item in keys:
        for sequence in (
            QKeySequence.keyBindings(item)
            if isinstance(item, QKeySequence.StandardKey) and len(keys) > 1
            else [QKeySequence(item)]
        ):
            # Qt parses a typo ("Ctlr+L") into an unknown key that prints as "": skip it.
            if sequence.toString() and sequence not in sequences:
                sequences.append(sequence)
    return sequences


class CommandRegistry(QObject):
    """Turns registered commands into QActions and lays them out from the tables above."""

    def __init__(
        self,
        window: QWidget,
        settings: Settings,
        scopes: Mapping[str, Scope] | None = None,
        default_keys: Mapping[str, tuple[KeySpec, ...]] = DEFAULT_KEYS,
    ) -> None:
        super().__init__(window)
        self._window = window
        self._settings = settings
        self._scopes = dict(scopes or {})
        self._default_keys = default_keys
        self.commands: dict[str, Command] = {}
        self.actions: dict[str, QAction] = {}
        self._groups: dict[str, QActionGroup] = {}

    def __getitem__(self, command_id: str) -> QAction:
        return self.actions[command_id]

    def register(self, *commands: Command) -> None:
        for command in commands:
            if command.id in self.commands:
                raise ValueError(f"command {command.id!r} is registered twice")
            self.commands[command.id] = command
            self.actions[command.id] = self._make_action(command)

    def keys_for(self, command_id: str) -> list[QKeySequence]:
        """The user's binding from the settings when there is one, else the default."""
        custom = self._settings.key_binding(command_id)
        if custom is not None:
            chosen = key_sequences(custom)
            # An entry none of whose keys Qt understands is a typo: keep the default keys
            # rather than silently leaving the command without any.
            if chosen or not custom:
                return chosen
        return key_sequences(self._default_keys.get(command_id, ()))

    def _make_action(self, command: Command) -> QAction:
        action = QAction(command.title, self._window)
        action.setObjectName(command.id)
        if command.icon:
            action.setIcon(icon(command.icon))
        action.setShortcuts(self.keys_for(command.id))
        if command.tip:
            action.setToolTip(command.tip)
            action.setStatusTip(command.tip)
        action.setCheckable(command.checkable)
        if command.checkable and command.user_only:
            action.triggered.connect(command.handler)
        elif command.checkable:
            action.toggled.connect(command.handler)
        else:
            action.triggered.connect(lambda _checked=False, run=command.handler: run())
        if command.group:
            group = self._groups.get(command.group)
            if group is None:
                group = self._groups[command.group] = QActionGroup(self._window)
            group.addAction(action)
        if command.scope:
            scope = self._scopes[command.scope]
            action.setShortcutContext(scope.context)
            for widget in scope.widgets:
                widget.addAction(action)
        else:
            self._window.addAction(action)
        return action

    def refresh(self) -> None:
        """Enable each command whose predicate holds (call when what they test changes)."""
        for command_id, command in self.commands.items():
            if command.enabled is not None:
                self.actions[command_id].setEnabled(command.enabled())

    # -- layout ------------------------------------------------------------------------
    def fill(
        self,
        target: QMenu | QToolBar,
        items: Sequence[LayoutItem],
        menus: Mapping[str, QMenu] | None = None,
    ) -> None:
        """Add the layout's actions, separators and submenus to a menu or toolbar."""
        for item in items:
            if isinstance(item, tuple):
                title, entries = item
                if isinstance(target, QMenu):
                    self.fill(target.addMenu(title), entries, menus)
            elif item == SEP:
                target.addSeparator()
            elif item.startswith("@"):
                owned = (menus or {})[item[1:]]
                if isinstance(target, QMenu):
                    target.addMenu(owned)
            else:
                target.addAction(self.actions[item])

    def build_menu_bar(
        self,
        bar: QMenuBar,
        layout: Sequence[tuple[str, Sequence[LayoutItem]]] = MENUS,
        menus: Mapping[str, QMenu] | None = None,
    ) -> dict[str, QMenu]:
        """The window's menus from ``layout``; returns them by title without the ``&``."""
        built: dict[str, QMenu] = {}
        for title, items in layout:
            menu = bar.addMenu(title)
            self.fill(menu, items, menus)
            built[title.replace("&", "")] = menu
        return built

    def context_menu(self, parent: QWidget, layout: Sequence[LayoutItem] = TABLE_MENU) -> QMenu:
        menu = QMenu(parent)
        self.fill(menu, layout)
        return menu
