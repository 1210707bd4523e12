"""`make screenshots`: the real window on the demo cluster, photographed screen by screen.

Run under a real X server (`xvfb-run`, which `make screenshots` uses): it opens Chroma Desktop
exactly as `make demo` does (eight simulated servers paired, demofs created through the
scheduler), waits for the demo's command to finish and for traffic to flow, then shows each
screen and saves the window to docs/screenshots/<name>.png. Nothing here is staged: what the
pictures show is what the app drew.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
SHOTS = {  # screen title -> file name
    "Dashboard": "dashboard",
    "Servers": "servers",
    "Filesystems": "filesystems",
    "Targets": "targets",
    "Commands": "command-jobs",
    "Logs": "logs",
    "Charts": "charts",
}
TRAFFIC_S = 20.0


def main() -> int:
    os.environ["CHROMA_HOME"] = tempfile.mkdtemp(prefix="chroma-shots-")
    sys.path.insert(0, str(ROOT))
    from PySide6.QtWidgets import QApplication

    from chroma_desktop.bridge import Bridge
    from chroma_desktop.gui import DesktopSession
    from chroma_desktop.views import VIEW_CLASSES
    from chroma_desktop.window import MainWindow
    from core.scheduler import CommandChanged

    app = QApplication(sys.argv[:1])
    bridge = Bridge()
    window = MainWindow(bridge, subtitle="demo cluster (simulated)")
    window.resize(1400, 860)
    finished: list[str] = []
    bridge.news.connect(
        lambda e: (
            finished.append(e.state) if isinstance(e, CommandChanged) and e.state.finished else None
        )
    )
    session = DesktopSession(bridge, demo=True)
    window.show()
    session.start(window)

    def pump(until: Callable[[], bool], timeout_s: float, what: str) -> None:
        deadline = time.monotonic() + timeout_s
        while not until():
            if time.monotonic() > deadline:
                raise SystemExit(f"screenshots: gave up waiting for {what}")
            app.processEvents()
            time.sleep(0.01)

    try:
        pump(lambda: bool(finished), 300, "the demo filesystem")
        settle = time.monotonic() + TRAFFIC_S
        pump(lambda: time.monotonic() > settle, TRAFFIC_S + 5, "traffic")
        OUT.mkdir(parents=True, exist_ok=True)
        for view_class in VIEW_CLASSES:
            name = SHOTS.get(view_class.title)
            if name is None:
                continue
            view = window.show_view(view_class)
            pump(lambda v=view: not v.loading, 30, f"the {view_class.title} screen")
            _prepare(view)
            pump(lambda v=view: not v.loading, 30, f"the {view_class.title} screen")
            end = time.monotonic() + 1.0
            pump(lambda e=end: time.monotonic() > e, 5, "a repaint")
            path = OUT / f"{name}.png"
            window.grab().save(str(path))
            print(f"wrote {path.relative_to(ROOT)}")
    finally:
        window.close()
        session.stop()
    return 0


def _prepare(view: object) -> None:
    """Select something worth showing: the first row of a table, the newest command."""
    table = getattr(view, "table", None)
    if table is not None and table.model() is not None and table.model().rowCount() > 0:
        table.selectRow(0)


if __name__ == "__main__":
    raise SystemExit(main())
