"""An offline archive in a window: the same screens over an archive's read-only copy of a
site's history, with no manager, no agents and no links.

Layer: chroma_desktop. Threads: the archive is checked and extracted off the GUI thread (on a
"chroma-archive" thread, or before the event loop starts for `--open-archive`); its database is
read on a worker of its own ("chroma-db"), its stores on their own "chroma-history" thread, as
for a live site. Closing the window closes all of it and removes the extracted copy.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtGui import QCloseEvent

from chroma_desktop.bridge import Bridge
from chroma_desktop.failures import Failure
from chroma_desktop.history import History
from chroma_desktop.qtapp import QuitOnSignals, qt_application
from chroma_desktop.views.base import AppContext
from chroma_desktop.window import MainWindow
from core.dbworker import DatabaseWorker
from stats.archive import OpenedArchive, open_archive


class ArchiveSession:
    """What runs behind a window on an opened archive: a database worker and the history."""

    def __init__(self, archive: OpenedArchive, bridge: Bridge) -> None:
        self.archive = archive
        self.worker = DatabaseWorker(archive.database)
        self.history = History.of_archive(archive, on_error=bridge.report)
        self.context = AppContext.offline(archive, bridge, self.worker, self.history)

    def close(self) -> None:
        self.history.close()
        self.worker.close()
        self.archive.close()


class ArchiveWindow(MainWindow):
    """The main window over an archive: read-only, saying so in its title and banner."""

    def __init__(self, archive: OpenedArchive) -> None:
        bridge = Bridge()
        super().__init__(bridge, subtitle=archive.describe())
        self.session = ArchiveSession(archive, bridge)
        self.attach(self.session.context)

    def closeEvent(self, event: QCloseEvent) -> None:
        super().closeEvent(event)
        # the stores' thread is joined and the extracted copy removed off the GUI thread
        threading.Thread(target=self.session.close, name="chroma-archive").start()


def open_archive_window(
    path: Path,
    *,
    bridge: Bridge,
    owner: QObject,
    on_opened: Callable[[ArchiveWindow], None],
    on_error: Callable[[Failure], None],
) -> None:
    """Check and extract the archive off the GUI thread, then build its window (not shown)."""
    opened: Future[OpenedArchive] = Future()

    def on_thread() -> None:
        try:
            opened.set_result(open_archive(path))
        except BaseException as error:  # reaches on_error as a message, never a traceback
            opened.set_exception(error)

    bridge.deliver(opened, lambda archive: on_opened(ArchiveWindow(archive)), owner=owner,
                   on_error=on_error)  # fmt: skip
    threading.Thread(target=on_thread, name="chroma-archive", daemon=True).start()


def run_archive_gui(path: Path) -> int:
    """`chroma-desktop --open-archive FILE`: check the archive (a damaged one is refused with
    its reason before any window opens), then show it until the window closes."""
    archive = open_archive(path)
    app = qt_application()
    try:
        window = ArchiveWindow(archive)
    except BaseException:
        archive.close()
        raise
    window.show()
    quit_on_signals = QuitOnSignals(app)
    try:
        return app.exec()
    finally:
        quit_on_signals.uninstall()
