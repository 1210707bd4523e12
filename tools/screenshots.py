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
    "Storage": "storage",
}
TRAFFIC_S = 60.0


def main() -> int:
    os.environ["CHROMA_HOME"] = tempfile.mkdtemp(prefix="chroma-shots-")
    sys.path.insert(0, str(ROOT))
    from PySide6.QtWidgets import QApplication

    from chroma_desktop.bridge import Bridge
    from chroma_desktop.gui import DesktopSession
    from chroma_desktop.views import all_view_classes
    from chroma_desktop.window import MainWindow
    from core.scheduler import CommandChanged

    app = QApplication(sys.argv[:1])
    bridge = Bridge()
    window = MainWindow(bridge, subtitle="demo cluster (simulated)")
    window.resize(1400, 860)
    finished: list[CommandChanged] = []
    bridge.subscribe(
        None,
        lambda e: (
            finished.append(e) if isinstance(e, CommandChanged) and e.state.finished else None
        ),
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
        for view_class in all_view_classes():
            name = SHOTS.get(view_class.title)
            if name is None:
                continue
            view = window.show_view(view_class)
            pump(lambda v=view: not v.loading, 30, f"the {view_class.title} screen")
            _prepare(view, finished[0].command_id)
            pump(lambda v=view: not v.loading, 30, f"the {view_class.title} screen")
            end = time.monotonic() + 1.0
            pump(lambda e=end: time.monotonic() > e, 5, "a repaint")
            path = OUT / f"{name}.png"
            window.grab().save(str(path))
            print(f"wrote {path.relative_to(ROOT)}")
            if view_class.title == "Filesystems":
                wizard = view.open_wizard()  # type: ignore[attr-defined]
                wizard.name.setText("scratch")
                end = time.monotonic() + 3.0
                pump(lambda e=end: time.monotonic() > e, 5, "the wizard's volumes")
                path = OUT / "create-wizard.png"
                wizard.grab().save(str(path))
                print(f"wrote {path.relative_to(ROOT)}")
                wizard.reject()
                editor = view.open_conf_params()  # type: ignore[attr-defined]
                pump(lambda e=editor: e.sheet is not None, 30, "the conf params")
                editor.select("demofs", "sys.timeout")
                end = time.monotonic() + 1.0
                pump(lambda e=end: time.monotonic() > e, 5, "a repaint")
                path = OUT / "conf-params.png"
                editor.grab().save(str(path))
                print(f"wrote {path.relative_to(ROOT)}")
                editor.reject()
    finally:
        window.close()
        session.stop()
    return 0


def _prepare(view: object, command_id: int) -> None:
    from PySide6.QtCore import Qt

    """Select something worth showing: the demo's command and its first job, or the first row
    of a table."""
    show_command = getattr(view, "show_command", None)
    if show_command is not None:
        show_command(command_id)
        tree = view.tree  # type: ignore[attr-defined]
        tree.expandToDepth(1)
        jobs = tree.model()
        found = jobs.match(
            jobs.index(0, 0),
            Qt.ItemDataRole.DisplayRole,
            "Format demofs-OST0000",
            1,
            Qt.MatchFlag.MatchRecursive,
        )
        if found:
            tree.setCurrentIndex(found[0])
        return
    table = getattr(view, "table", None)
    if table is not None and table.model() is not None and table.model().rowCount() > 0:
        table.selectRow(0)


if __name__ == "__main__":
    raise SystemExit(main())
