"""The main window: navigation on the left, one screen at a time, a message bar for errors a
person can act on, and a status bar saying what the desktop is connected to.

Layer: chroma_desktop. Thread: the GUI thread. The window paints first; the database and the
links start after (see gui.py) and `attach` then builds the screens, each when first shown.
Errors nobody else handled arrive through `Bridge.failed` and are shown in the message bar,
never as a traceback.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QMainWindow,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from chroma_desktop.bridge import Bridge
from chroma_desktop.failures import Failure
from chroma_desktop.views import VIEW_TITLES, view_class
from core.version import installed_version

if TYPE_CHECKING:  # the screens, the model and the link load after the first paint
    from chroma_desktop.views.base import AppContext, LiveView

MESSAGE_STYLE = "background: #fdecea; color: #611a15; border: 1px solid #f5c6cb; padding: 6px;"


@cache
def _news_types() -> tuple[Any, Any, Any, Any]:
    """The kinds of news the window follows, imported once after the first paint (an import
    statement per event would go through PySide's import hook every time)."""
    from agentlink.connector import LinkEvent, LinkState
    from core.scheduler import CommandChanged
    from core.states import RunState

    return LinkEvent, LinkState, CommandChanged, RunState


class MessageBar(QWidget):
    """An error across the top of the window until dismissed; the newest replaces the last."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setStyleSheet(MESSAGE_STYLE)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        dismiss = QPushButton("Dismiss")
        dismiss.clicked.connect(self.hide)
        layout.addWidget(self.label, 1)
        layout.addWidget(dismiss)
        self.hide()

    def show_failure(self, failure: Failure) -> None:
        self.label.setText(str(failure))
        self.show()


class MainWindow(QMainWindow):
    def __init__(self, bridge: Bridge, *, subtitle: str | None = None) -> None:
        super().__init__()
        self.bridge = bridge
        self.context: AppContext | None = None
        self.setWindowTitle("Chroma Desktop" + (f" — {subtitle}" if subtitle else ""))
        self.resize(1280, 800)
        self.views: dict[type[LiveView], LiveView] = {}
        self._connected: set[str] = set()
        self._started: set[int] = set()

        self.navigation = QListWidget()
        self.navigation.setObjectName("navigation")
        self.navigation.setMaximumWidth(200)
        for title in VIEW_TITLES:
            self.navigation.addItem(title)
        self.stack = QStackedWidget()
        self.message_bar = MessageBar()

        body = QWidget()
        columns = QHBoxLayout(body)
        columns.addWidget(self.navigation)
        columns.addWidget(self.stack, 1)
        central = QWidget()
        rows = QVBoxLayout(central)
        rows.setContentsMargins(4, 4, 4, 4)
        rows.addWidget(self.message_bar)
        rows.addWidget(body, 1)
        self.setCentralWidget(central)

        self.links_label = QLabel("Starting …")
        self.statusBar().addPermanentWidget(QLabel(f"Chroma Desktop {installed_version()}"))
        self.statusBar().addWidget(self.links_label)

        self._build_menus()
        bridge.failed.connect(self.message_bar.show_failure)
        bridge.subscribe(self, self._on_event)
        bridge.command_started.connect(self._follow_command)
        self.navigation.currentRowChanged.connect(self._show_row)
        self.navigation.setEnabled(False)

    def attach(self, context: AppContext) -> None:
        """The manager is running: build the first screen and let the admin move around."""
        self.context = context
        self.navigation.setEnabled(True)
        self.links_label.setText("Connecting to the paired servers …")
        self._show_row(max(self.navigation.currentRow(), 0))
        if self.navigation.currentRow() < 0:
            self.navigation.setCurrentRow(0)

    # --- navigation -----------------------------------------------------------------------------

    def show_view(self, view_class: type[LiveView]) -> LiveView:
        """Bring a screen forward (building it on first use) and return it."""
        self.navigation.setCurrentRow(VIEW_TITLES.index(view_class.title))
        return self.views[view_class]

    def _show_row(self, row: int) -> None:
        if self.context is None or not 0 <= row < len(VIEW_TITLES):
            return
        self.stack.setCurrentWidget(self._view(VIEW_TITLES[row]))

    def _view(self, title: str) -> LiveView:
        """The screen called `title`, built on first use."""
        assert self.context is not None
        shown = view_class(title)
        view = self.views.get(shown)
        if view is None:
            view = self.views[shown] = shown(self.context)
            self.stack.addWidget(view)
        return view

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        go_menu = self.menuBar().addMenu("&Go")
        for row, title in enumerate(VIEW_TITLES[:9]):
            action = QAction(title, self)
            action.setShortcut(QKeySequence(f"Ctrl+{row + 1}"))
            action.triggered.connect(lambda _=False, r=row: self.navigation.setCurrentRow(r))
            go_menu.addAction(action)

    # --- news -----------------------------------------------------------------------------------

    def _follow_command(self, command_id: int) -> None:
        """A command the admin just started: selected in Commands, and said in the status bar."""
        from chroma_desktop.views.commands import CommandsView

        commands = self._view("Commands")
        assert isinstance(commands, CommandsView)
        commands.show_command(command_id)
        self._started.add(command_id)
        shortcut = VIEW_TITLES.index("Commands") + 1
        self.statusBar().showMessage(
            f"Command {command_id} started: its jobs and their output are in Commands "
            f"(Ctrl+{shortcut}).",
            10_000,
        )

    def _on_event(self, event: object) -> None:
        LinkEvent, LinkState, CommandChanged, RunState = _news_types()
        if (
            isinstance(event, CommandChanged)
            and event.command_id in self._started
            and event.state.finished
        ):
            self._started.discard(event.command_id)
            if event.state == RunState.FAILED:
                self.message_bar.show_failure(
                    Failure(
                        f"Command {event.command_id} failed.",
                        "Commands shows the step that failed and its output.",
                    )
                )
            else:
                self.statusBar().showMessage(
                    f"Command {event.command_id} {event.state.value}.", 10_000
                )
        if isinstance(event, LinkEvent):
            if event.state == LinkState.CONNECTED:
                self._connected.add(event.host)
            else:
                self._connected.discard(event.host)
            count = len(self._connected)
            self.links_label.setText(f"Connected to {count} server{'s' if count != 1 else ''}")

    def set_status(self, text: str) -> None:
        self.links_label.setText(text)

    def closeEvent(self, event: QCloseEvent) -> None:
        for view in self.views.values():
            view.close()
        super().closeEvent(event)
