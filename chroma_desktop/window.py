"""The main window: navigation on the left, one screen at a time, a message bar for errors a
person can act on, and a status bar saying what the desktop is connected to.

Layer: chroma_desktop. Thread: the GUI thread. The window paints first; the database and the
links start after (see gui.py) and `attach` then builds the screens, each when first shown.
Errors nobody else handled arrive through `Bridge.failed` and are shown in the message bar,
never as a traceback.
"""

from __future__ import annotations

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

from agentlink.connector import LinkEvent, LinkState
from chroma_desktop.bridge import Bridge
from chroma_desktop.failures import Failure
from chroma_desktop.views import VIEW_CLASSES
from chroma_desktop.views.base import AppContext, LiveView
from core.version import installed_version

MESSAGE_STYLE = "background: #fdecea; color: #611a15; border: 1px solid #f5c6cb; padding: 6px;"


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

        self.navigation = QListWidget()
        self.navigation.setObjectName("navigation")
        self.navigation.setMaximumWidth(200)
        for view_class in VIEW_CLASSES:
            self.navigation.addItem(view_class.title)
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
        bridge.news.connect(self._on_event)
        self.navigation.currentRowChanged.connect(self._show_row)
        self.navigation.setEnabled(False)

    def attach(self, context: AppContext) -> None:
        """The manager is running: build the first screen and let the admin move around."""
        self.context = context
        self.navigation.setEnabled(True)
        self.links_label.setText("Connecting to the paired servers …")
        self._show_row(max(self.navigation.currentRow(), 0))
        if self.navigation.currentRow() < 0 and VIEW_CLASSES:
            self.navigation.setCurrentRow(0)

    # --- navigation -----------------------------------------------------------------------------

    def show_view(self, view_class: type[LiveView]) -> LiveView:
        """Bring a screen forward (building it on first use) and return it."""
        self.navigation.setCurrentRow(VIEW_CLASSES.index(view_class))
        return self.views[view_class]

    def _show_row(self, row: int) -> None:
        if self.context is None or not 0 <= row < len(VIEW_CLASSES):
            return
        view_class = VIEW_CLASSES[row]
        view = self.views.get(view_class)
        if view is None:
            view = self.views[view_class] = view_class(self.context)
            self.stack.addWidget(view)
        self.stack.setCurrentWidget(view)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        go_menu = self.menuBar().addMenu("&Go")
        for row, view_class in enumerate(VIEW_CLASSES[:9]):
            action = QAction(view_class.title, self)
            action.setShortcut(QKeySequence(f"Ctrl+{row + 1}"))
            action.triggered.connect(lambda _=False, r=row: self.navigation.setCurrentRow(r))
            go_menu.addAction(action)

    # --- news -----------------------------------------------------------------------------------

    def _on_event(self, event: object) -> None:
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
