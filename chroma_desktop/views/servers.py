"""Servers: every managed server with its link, state, LNet and NIDs, the selected one's details
and what can be done to it, and "Add servers…" to pair more.

Layer: chroma_desktop. Thread: the GUI thread (rows read on the database worker). The link
column comes from the links' own news, so a server that dropped off shows it at once, before
any alert; below the table are the selected server's details (address, names, NIDs, agent,
certificate, last report, link) and its and its LNet's actions.
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
)
from sqlalchemy.orm import Session

from agentlink.connector import LinkEvent, LinkState
from chroma_desktop.dialogs.add_servers import AddServersDialog
from chroma_desktop.itemmodels.records import Column, RecordFilterProxy, RecordTableModel
from chroma_desktop.views.base import AppContext, LiveView, hide_when_read_only
from chroma_desktop.widgets.actions import ObjectActions
from chroma_desktop.widgets.tables import filter_box, record_table
from core.queries.hosts import live_hosts
from core.queries.text import when_text
from core.records import HostRecord, host_record
from core.scheduler import ObjectChanged
from core.scheduler.world import HOST, LNET
from plugins.runner import PluginOutcome

GOOD, BAD = "#1e7e34", "#b02a1a"
DETAILS = (
    "Address",
    "FQDN",
    "Nodename",
    "NIDs",
    "Agent version",
    "Certificate",
    "Last report",
    "Link",
)


def _when(moment: datetime | None) -> str:
    return when_text(moment) or "never"  # in local time, like every other screen


class ServersView(LiveView):
    title = "Servers"

    def __init__(self, context: AppContext) -> None:
        super().__init__(context)
        links = context.bridge.links

        def link(host: HostRecord) -> str:
            event = links.get(host.address)
            if not host.paired:
                return "not paired"
            if event is None:
                return "connecting"
            return event.state.value

        def link_colour(host: HostRecord) -> str | None:
            event = links.get(host.address)
            if event is None:
                return None
            return GOOD if event.state == LinkState.CONNECTED else BAD

        def link_detail(host: HostRecord) -> str | None:
            event = links.get(host.address)
            return event.detail if event is not None else None

        self._link_text, self._link_detail = link, link_detail
        self.model: RecordTableModel[HostRecord] = RecordTableModel(
            [
                Column("Server", lambda h: h.label),
                Column("Address", lambda h: h.address),
                Column("Link", link, colour=link_colour, tooltip=link_detail),
                Column("State", lambda h: h.state.value),
                Column(
                    "LNet",
                    lambda h: h.lnet_state.value,
                    colour=lambda h: GOOD if h.lnet_state.value == "up" else None,
                ),
                Column("NIDs", lambda h: ", ".join(h.nids)),
                Column(
                    "Managed",
                    lambda h: "monitored only" if h.monitor_only else "managed",
                    header_tip="Monitored servers are watched, never changed by Chroma Desktop",
                ),
                Column("Agent", lambda h: h.agent_version or ""),
                Column("Last report", lambda h: _when(h.last_contact)),
            ],
            key=lambda h: h.id,
            parent=self,
        )
        self.proxy = RecordFilterProxy(self.model, self)
        self.filter = filter_box(self.proxy, "Filter servers (every word must match)")
        self.add_button = QPushButton("Add servers…")
        self.add_button.setToolTip("Pair servers by name or hostlist with their token (Ctrl+N)")
        self.add_button.clicked.connect(self.add_servers)
        self.add_shortcut = QShortcut(QKeySequence.StandardKey.New, self)
        self.add_shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.add_shortcut.activated.connect(self.add_servers)
        self.add_shortcut.setEnabled(not context.read_only)
        hide_when_read_only(context, self.add_button)
        self.add_dialog: AddServersDialog | None = None
        self.table = record_table(self.proxy)
        self.table.selectionModel().selectionChanged.connect(self._selected)
        self.empty = QLabel(
            "No servers yet. Run `chroma-agent pair` on the servers, then Add servers… with "
            "their names and the token it printed."
        )
        self.selected_label = QLabel()
        self.details = QGroupBox("Server")
        form = QFormLayout(self.details)
        self.detail_labels: dict[str, QLabel] = {}
        for name in DETAILS:
            label = self.detail_labels[name] = QLabel()
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setWordWrap(True)
            form.addRow(f"{name}:", label)
        self.details.hide()
        self.server_actions = ObjectActions(context)
        self.lnet_actions = ObjectActions(context)
        top = QHBoxLayout()
        top.addWidget(self.filter, 1)
        top.addWidget(self.add_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.empty)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.details)
        layout.addWidget(self.selected_label)
        layout.addWidget(self.server_actions)
        layout.addWidget(self.lnet_actions)

    def is_stale_after(self, event: object) -> bool:
        if isinstance(event, LinkEvent):
            self._repaint_links()  # the link column changes now, from memory
            return True  # and the agent's version may be new
        if isinstance(event, ObjectChanged):
            return event.ref[0] in (HOST, LNET)
        return isinstance(event, PluginOutcome)

    def fetch(self, session: Session) -> list[HostRecord]:
        return [host_record(host) for host in live_hosts(session)]

    def show_data(self, data: list[HostRecord]) -> None:
        self.model.set_rows(data)
        self.empty.setVisible(not data)
        self._selected()

    def selected(self) -> HostRecord | None:
        found: HostRecord | None = self.proxy.selected(self.table)
        return found

    def add_servers(self) -> None:
        """Open the Add servers dialog (one at a time; a second click brings it forward)."""
        if self.add_dialog is not None:
            self.add_dialog.raise_()
            self.add_dialog.activateWindow()
            return
        self.add_dialog = dialog = AddServersDialog(self.context, self)
        dialog.server_paired.connect(lambda _: self.refresh())
        dialog.finished.connect(lambda _: self._add_dialog_closed(dialog))
        dialog.open()

    def _add_dialog_closed(self, dialog: AddServersDialog) -> None:
        dialog.deleteLater()
        if self.add_dialog is dialog:
            self.add_dialog = None

    def _repaint_links(self) -> None:
        rows = self.model.rowCount()
        if rows:
            column = [c.title for c in self.model.columns].index("Link")
            self.model.dataChanged.emit(
                self.model.index(0, column), self.model.index(rows - 1, column)
            )
        self._show_details(self.selected())

    def _show_details(self, host: HostRecord | None) -> None:
        self.details.setVisible(host is not None)
        if host is None:
            return
        self.details.setTitle(host.label)
        detail = self._link_detail(host)
        values = {
            "Address": host.address,
            "FQDN": host.fqdn or "unknown",
            "Nodename": host.nodename or "unknown",
            "NIDs": ", ".join(host.nids) or "none known (LNet is not up)",
            "Agent version": host.agent_version or "unknown",
            "Certificate": host.cert_fingerprint or "not paired",
            "Last report": _when(host.last_contact),
            "Link": self._link_text(host) + (f" ({detail})" if detail else ""),
        }
        for name, value in values.items():
            self.detail_labels[name].setText(value)

    def _selected(self) -> None:
        host = self.selected()
        current = self.server_actions.ref
        self._show_details(host)
        if host is None:
            self.selected_label.setText("Select a server to see what can be done to it.")
            self.server_actions.set_subject(None)
            self.lnet_actions.set_subject(None)
        elif current != (HOST, host.id):
            self.selected_label.setText(f"{host.label}: server and LNet actions")
            self.server_actions.set_subject((HOST, host.id), host.label)
            self.lnet_actions.set_subject((LNET, host.id), f"LNet on {host.label}")
