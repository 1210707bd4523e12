"""Volumes: every volume the servers reported, with its size, primary and failover servers, HA
status, the target on it, and how each server sees it.

Layer: chroma_desktop. Thread: the GUI thread (rows read on the database worker by
`core.queries.volumes.list_volumes`). The table is stale when a plugin report changed something
(a new LUN, a server that now sees it, a primary chosen) or a target changed (created, removed:
the "Target" column); the selected volume's device paths per server are shown below the table
and in the Servers column's tooltip.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout
from sqlalchemy.orm import Session

from chroma_desktop.itemmodels.records import Column, RecordFilterProxy, RecordTableModel
from chroma_desktop.views.base import AppContext, LiveView
from chroma_desktop.widgets.tables import filter_box, record_table
from core.models import HaStatus
from core.queries.volumes import VolumeSummary, list_volumes
from core.scheduler import ObjectChanged
from core.scheduler.world import HOST, TARGET
from plugins.runner import PluginOutcome

GOOD, WARN = "#1e7e34", "#8a6d3b"


def _paths_text(volume: VolumeSummary) -> str:
    return "\n".join(f"{p.server} ({p.role}): {p.path}" for p in volume.paths) or "seen nowhere"


def _ha_colour(volume: VolumeSummary) -> str | None:
    return GOOD if volume.ha_status == HaStatus.CONFIGURED_HA else WARN


class VolumesView(LiveView):
    title = "Volumes"

    def __init__(self, context: AppContext) -> None:
        super().__init__(context)
        self.model: RecordTableModel[VolumeSummary] = RecordTableModel(
            [
                Column("Name", lambda v: v.name, tooltip=lambda v: v.serial),
                Column(
                    "Size",
                    lambda v: v.size,
                    sort_key=lambda v: v.size_bytes if v.size_bytes is not None else -1,
                    numeric=True,
                ),
                Column(
                    "Primary server",
                    lambda v: v.primary_server or "",
                    tooltip=_paths_text,
                ),
                Column(
                    "Failover server",
                    lambda v: ", ".join(v.failover_servers),
                    tooltip=_paths_text,
                ),
                Column(
                    "HA status",
                    lambda v: v.ha_text,
                    colour=_ha_colour,
                    header_tip="Configured (HA): a primary server and a failover server. "
                    "Configured (no HA): one server only. Unconfigured: several servers "
                    "see it and none is primary yet.",
                ),
                Column("Target", lambda v: v.target or ""),
                Column("Servers", lambda v: ", ".join(v.servers), tooltip=_paths_text),
            ],
            key=lambda v: v.id,
            parent=self,
        )
        self.proxy = RecordFilterProxy(self.model, self)
        self.filter = filter_box(self.proxy, "Filter volumes (every word must match)")
        self.table = record_table(self.proxy)
        self.table.selectionModel().selectionChanged.connect(self._selected)
        self.empty = QLabel(
            "No volumes yet. They appear when paired servers report their storage "
            "(Servers → Add servers…)."
        )
        self.empty.setWordWrap(True)
        self.detail = QLabel()
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.filter)
        layout.addWidget(self.empty)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.detail)

    def is_stale_after(self, event: object) -> bool:
        if isinstance(event, PluginOutcome):
            return event.changed
        if isinstance(event, ObjectChanged):
            return event.ref[0] in (TARGET, HOST)
        return False

    def fetch(self, session: Session) -> list[VolumeSummary]:
        return list_volumes(session)

    def show_data(self, data: list[VolumeSummary]) -> None:
        self.model.set_rows(data)
        self.empty.setVisible(not data)
        self._selected()

    def selected(self) -> VolumeSummary | None:
        found: VolumeSummary | None = self.proxy.selected(self.table)
        return found

    def _selected(self) -> None:
        volume = self.selected()
        if volume is None:
            self.detail.setText("Select a volume to see its device path on each server.")
            return
        lines = [
            f"<b>{html.escape(volume.name)}</b> ({html.escape(volume.size or 'size unknown')}"
            + (f", serial {html.escape(volume.serial)}" if volume.serial else "")
            + (f", used by {html.escape(volume.target)}" if volume.target else ", unused")
            + ")"
        ]
        lines += [
            f"{html.escape(p.server)} ({p.role}): <code>{html.escape(p.path)}</code>"
            for p in volume.paths
        ]
        self.detail.setText("<br>".join(lines))
