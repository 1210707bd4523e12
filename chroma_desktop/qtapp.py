"""The QApplication of the windowed program (the live window and an archive's alike): its name,
desktop file and icon, and a clean quit when the session asks the program to end.

Layer: chroma_desktop. Thread: the GUI thread. A desktop session ends programs with SIGTERM (at
logout) and a terminal with SIGINT (Ctrl+C); both make the event loop return, so the program
stops its manager and closes its stores as when the window is closed, instead of dying with
them open. Python runs signal handlers only between bytecodes, so the signal's wakeup byte is
written to a socket that Qt watches, which wakes the event loop to run the handler.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import sys
from importlib.resources import files
from types import FrameType

from PySide6.QtCore import QObject, QSocketNotifier
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

QUIT_SIGNALS = (signal.SIGTERM, signal.SIGINT)
ICON_FILE = "chroma-desktop.svg"


def app_icon() -> QIcon:
    """The program's icon (resources/chroma-desktop.svg), also every window's."""
    return QIcon(str(files("resources").joinpath(ICON_FILE)))


def qt_application() -> QApplication:
    """The process's QApplication, created on first use, named and given its icon."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("Chroma Desktop")
    app.setDesktopFileName("chroma-desktop")
    app.setWindowIcon(app_icon())
    return app


class QuitOnSignals(QObject):
    """While installed, SIGTERM and SIGINT close every window and make `app.exec()` return
    with status 0."""

    def __init__(self, app: QApplication) -> None:
        super().__init__(app)
        self._app = app
        self._wake_read, self._wake_write = socket.socketpair()
        for end in (self._wake_read, self._wake_write):
            end.setblocking(False)
        self._notifier = QSocketNotifier(self._wake_read.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._drain)
        self._previous_wakeup = signal.set_wakeup_fd(self._wake_write.fileno())
        self._previous = {number: signal.signal(number, self._quit) for number in QUIT_SIGNALS}

    def _quit(self, number: int, frame: FrameType | None) -> None:
        self._app.closeAllWindows()  # each window stops its screens (an archive's removes its copy)
        self._app.quit()

    def _drain(self) -> None:
        with contextlib.suppress(BlockingIOError):
            self._wake_read.recv(512)

    def uninstall(self) -> None:
        """Put back the handlers there were before, and close the wakeup socket."""
        for number, previous in self._previous.items():
            signal.signal(number, previous)
        signal.set_wakeup_fd(self._previous_wakeup)
        self._notifier.setEnabled(False)
        self._wake_read.close()
        self._wake_write.close()
