"""The main window: navigation on the left, one screen at a time, a message bar for errors a
person can act on, and a status bar saying what the desktop is connected to.

Layer: chroma_desktop. Thread: the GUI thread. The window paints first; the database and the
links start after (see gui.py) and `attach` then builds the screens, each when first shown.
Errors nobody else handled arrive through `Bridge.failed` and are shown in the message bar,
never as a traceback. File → Export history… writes an offline archive (progress and result in
the message bar); File → Open archive… opens one in a window of its own (see offline.py), whose
banner and title say it is an offline archive, read-only. Help → About names the version and
where this installation keeps its data (dialogs/about.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QProcess, Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMainWindow,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from chroma_desktop.bridge import Bridge
from chroma_desktop.failures import Failure, describe_failure
from chroma_desktop.views import VIEW_TITLES, view_class
from core.errors import ChromaError
from core.version import installed_version

if TYPE_CHECKING:  # the screens, the model and the link load after the first paint
    from chroma_desktop.dialogs.export_archive import ExportArchiveDialog, ExportChoice
    from chroma_desktop.offline import ArchiveWindow
    from chroma_desktop.views.base import AppContext, LiveView
    from stats.archive import ExportResult

MESSAGE_STYLE = "background: #fdecea; color: #611a15; border: 1px solid #f5c6cb; padding: 6px;"
NOTE_STYLE = "background: #e8f0fe; color: #0b2e59; border: 1px solid #b6cdf5; padding: 6px;"
OFFLINE_STYLE = "background: #fff4d6; color: #4d3800; border: 1px solid #f0d58c; padding: 6px;"
ARCHIVE_FILTER = "Chroma Desktop archives (*.chroma-archive);;All files (*)"


@dataclass(frozen=True)
class ExportProgress:
    """A line of an export's progress, for the message bar."""

    text: str


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
        self.setStyleSheet(MESSAGE_STYLE)
        self.label.setText(str(failure))
        self.show()

    def show_note(self, text: str) -> None:
        """Something the admin asked for is under way or done (not an error)."""
        self.setStyleSheet(NOTE_STYLE)
        self.label.setText(text)
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
        self.offline_banner = QLabel()
        self.offline_banner.setObjectName("offline_banner")
        self.offline_banner.setStyleSheet(OFFLINE_STYLE)
        self.offline_banner.hide()
        self.export_dialog: ExportArchiveDialog | None = None
        self.archive_dialog: QFileDialog | None = None
        self.archive_windows: list[ArchiveWindow] = []
        self._exporting = False

        body = QWidget()
        columns = QHBoxLayout(body)
        columns.addWidget(self.navigation)
        columns.addWidget(self.stack, 1)
        central = QWidget()
        rows = QVBoxLayout(central)
        rows.setContentsMargins(4, 4, 4, 4)
        rows.addWidget(self.offline_banner)
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
        if context.archive is not None:
            self.offline_banner.setText(
                f"{context.archive.describe()}. No agents are connected and nothing can be changed."
            )
            self.offline_banner.show()
            self.links_label.setText("Offline archive: no agents")
        self.export_action.setEnabled(not context.read_only and context.history is not None)
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

    def open_simulated_cluster(self) -> bool:
        """Start another Chroma Desktop on a new demo cluster, in a throwaway directory of its
        own, so trying things never touches this site; False (and a message) if it cannot."""
        from chroma_desktop.app import demo_command

        program, *arguments = demo_command()
        started, _pid = QProcess.startDetached(program, arguments)
        if not started:
            self.message_bar.show_failure(
                Failure(
                    f"The simulated cluster could not be started ({program} did not run).",
                    "Run `chroma-desktop --demo` in a terminal to see why.",
                )
            )
            return False
        self.message_bar.show_note(
            "A new window is opening on eight simulated servers; they are paired and create "
            "demofs as you watch. Its data is kept apart from this site's."
        )
        return True

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.export_action = QAction("&Export history…", self)
        self.export_action.setEnabled(False)  # until a live site is attached
        self.export_action.triggered.connect(self.export_history)
        file_menu.addAction(self.export_action)
        self.open_archive_action = QAction("&Open archive…", self)
        self.open_archive_action.setShortcut(QKeySequence.StandardKey.Open)
        self.open_archive_action.triggered.connect(self.choose_archive)
        file_menu.addAction(self.open_archive_action)
        self.new_simulator_action = QAction("New &simulated cluster…", self)
        self.new_simulator_action.setToolTip(
            "Open another window on eight new simulated servers, paired and running a "
            "filesystem, to try things on (kept apart from this site's data)"
        )
        self.new_simulator_action.triggered.connect(self.open_simulated_cluster)
        file_menu.addAction(self.new_simulator_action)
        file_menu.addSeparator()
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
        go_menu.addSeparator()
        find_action = QAction("&Find in this screen", self)
        find_action.setShortcut(QKeySequence.StandardKey.Find)
        find_action.triggered.connect(self.focus_filter)
        go_menu.addAction(find_action)
        refresh_action = QAction("&Refresh this screen", self)
        refresh_action.setShortcut(QKeySequence.StandardKey.Refresh)
        refresh_action.triggered.connect(self.refresh_view)
        go_menu.addAction(refresh_action)
        help_menu = self.menuBar().addMenu("&Help")
        about_action = QAction("&About Chroma Desktop", self)
        about_action.setMenuRole(QAction.MenuRole.AboutRole)
        about_action.triggered.connect(self.show_about)
        help_menu.addAction(about_action)

    def show_about(self) -> QDialog:
        from chroma_desktop.dialogs.about import AboutDialog

        about = AboutDialog(self)
        about.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        about.open()
        return about

    def current_view(self) -> LiveView | None:
        shown = self.stack.currentWidget()
        return shown if shown in self.views.values() else None  # type: ignore[return-value]

    def focus_filter(self) -> bool:
        """Put the cursor in the screen's filter or search box, its text selected (Ctrl+F)."""
        view = self.current_view()
        box = getattr(view, "filter", None) or getattr(view, "search_box", None)
        if not isinstance(box, QLineEdit):
            return False
        box.setFocus(Qt.FocusReason.ShortcutFocusReason)
        box.selectAll()
        return True

    def refresh_view(self) -> None:
        """Read the screen's data again now (F5)."""
        view = self.current_view()
        if view is not None:
            view.refresh()

    # --- archives -------------------------------------------------------------------------------

    def export_history(self) -> ExportArchiveDialog | None:
        """Ask for a range and a file, then export off the GUI thread (File → Export history…)."""
        from chroma_desktop.dialogs.export_archive import ExportArchiveDialog

        context = self.context
        if context is None or context.read_only or context.history is None:
            return None
        if self.export_dialog is not None:
            self.export_dialog.raise_()
            return self.export_dialog
        self.export_dialog = dialog = ExportArchiveDialog(context.clock(), self)
        dialog.finished.connect(lambda result: self._export_decided(dialog, result))
        dialog.open()
        return dialog

    def _export_decided(self, dialog: ExportArchiveDialog, result: int) -> None:
        self.export_dialog = None
        dialog.deleteLater()
        if result == QDialog.DialogCode.Accepted:
            self.export(dialog.choice())

    def export(self, choice: ExportChoice) -> None:
        context = self.context
        assert context is not None and context.history is not None
        self.message_bar.show_note(f"Exporting history to {choice.path} …")
        self._exporting = True
        bridge = self.bridge
        done = context.history.export_archive(
            choice.path,
            context.manager.database,
            choice.start,
            choice.end,
            progress=lambda text: bridge.publish(ExportProgress(text)),
        )
        bridge.deliver(done, self._exported, owner=self, on_error=self._export_failed)

    def _exported(self, result: ExportResult) -> None:
        self._exporting = False
        self.message_bar.show_note(result.describe())

    def _export_failed(self, failure: Failure) -> None:
        self._exporting = False
        self.message_bar.show_failure(failure)

    def choose_archive(self) -> None:
        """File → Open archive…: pick a file, then open it in a window of its own."""
        if self.archive_dialog is not None:
            self.archive_dialog.raise_()
            return
        self.archive_dialog = dialog = QFileDialog(self, "Open archive", "", ARCHIVE_FILTER)
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(lambda path: self.open_archive(Path(path)))
        dialog.finished.connect(lambda _result: self._archive_dialog_closed(dialog))
        dialog.open()

    def _archive_dialog_closed(self, dialog: QFileDialog) -> None:
        self.archive_dialog = None
        dialog.deleteLater()

    def open_archive(self, path: Path) -> None:
        """Check `path` and open it read-only in a new window (errors in the message bar)."""
        from chroma_desktop.offline import open_archive_window

        self.message_bar.show_note(f"Checking and opening the archive {path} …")
        open_archive_window(
            path,
            bridge=self.bridge,
            owner=self,
            on_opened=self._archive_opened,
            on_error=self.message_bar.show_failure,
        )

    def _archive_opened(self, window: ArchiveWindow) -> None:
        self.message_bar.hide()
        self.archive_windows.append(window)
        window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        window.destroyed.connect(lambda: self._archive_closed(window))
        window.show()

    def _archive_closed(self, window: ArchiveWindow) -> None:
        if window in self.archive_windows:
            self.archive_windows.remove(window)

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
        if isinstance(event, ChromaError):  # the manager's news of a problem (a garbled report)
            self.message_bar.show_failure(describe_failure("chroma-desktop", event))
            return
        if isinstance(event, ExportProgress):
            if self._exporting:  # progress queued behind the result is not shown after it
                self.message_bar.show_note(event.text)
            return
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
