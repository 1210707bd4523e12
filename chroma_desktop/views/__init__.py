"""One screen per module: <noun>.py holding <Noun>View(LiveView). `VIEWS` is the navigation's
order; a screen's module is imported when the screen is first shown, so the window paints before
the model, the charts and the database are loaded.

Layer: chroma_desktop. Thread: the GUI thread.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chroma_desktop.views.base import LiveView

VIEWS: tuple[tuple[str, str], ...] = (
    ("Dashboard", "dashboard:DashboardView"),
    ("Servers", "servers:ServersView"),
    ("Volumes", "volumes:VolumesView"),
    ("Filesystems", "filesystems:FilesystemsView"),
    ("Targets", "targets:TargetsView"),
    ("Commands", "commands:CommandsView"),
    ("Alerts", "alerts:AlertsView"),
    ("Events", "events:EventsView"),
    ("Logs", "logs:LogsView"),
    ("Charts", "charts:ChartsView"),
    ("Storage", "storage:StorageView"),
)
VIEW_TITLES: tuple[str, ...] = tuple(title for title, _ in VIEWS)


def view_class(title: str) -> type[LiveView]:
    """The screen called `title` (its module imported on first use)."""
    module, name = dict(VIEWS)[title].split(":")
    found: type[LiveView] = getattr(import_module(f"chroma_desktop.views.{module}"), name)
    return found


def all_view_classes() -> list[type[LiveView]]:
    return [view_class(title) for title in VIEW_TITLES]
