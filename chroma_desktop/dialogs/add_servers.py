"""Add servers: the admin types a hostlist (`oss[01-16]`, `10.0.0.[1-4]:7450`, `mds1,mds2`) and
the token `chroma-agent pair` printed on them, and watches each server pair, or fail with a reason
they can act on, and retries the failed ones.

Every server is checked before it is paired (`core.preflight`, over its pairing connection):
its row shows each check as pass, warn or fail, the sentence of the selected row's checks is
shown under the table, and a failing check keeps that server unpaired (its token still good)
unless "Pair anyway" is ticked; warnings never block. "Check" runs only the checks, pairing
nothing, so a batch can be looked over first.

Layer: chroma_desktop. Thread: the GUI thread. The hostlist is expanded with
`agentlink.hostlist` (a mistake is its message under the field) and the token checked for its
shape before anything is sent; every server is then paired through `Manager.pair_server`, at most
`MAX_PARALLEL` at a time, its future's outcome reaching the dialog through `Bridge.deliver`, so
nothing here waits. Closing the dialog forgets the servers not yet started; those in flight
finish in the manager, unheard.
"""

from __future__ import annotations

import html
import threading
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from agentlink.connector import PreflightFailedError
from agentlink.daemon.pki import PairingError, token_key
from agentlink.discovery import AgentBrowser, DiscoveredAgent, DiscoveryChange, DiscoveryEvent
from agentlink.hostlist import expand_hostlist
from agentlink.preflight import forceable
from chroma_desktop.failures import Failure
from chroma_desktop.itemmodels.records import Column, RecordFilterProxy, RecordTableModel
from chroma_desktop.manager import PairedServer
from chroma_desktop.widgets.tables import record_table
from core.errors import ValidationError
from core.models import ServerProfile
from core.preflight import CHECK_TITLES, CheckKind, CheckResult, CheckStatus, PreflightReport

if TYPE_CHECKING:  # the views import this dialog, so importing theirs here would be a cycle
    from chroma_desktop.views.base import AppContext

MAX_PARALLEL = 16
"""Pairings in flight at once: a hostlist of hundreds must not open hundreds of connections."""

GOOD, WARN, BAD = "#1e7e34", "#a66300", "#b02a1a"
ERROR_STYLE = f"color: {BAD};"


class PairingState(StrEnum):
    WAITING = "waiting"
    CHECKING = "checking"
    CHECKED = "checked"
    """Checked only (the Check button), not paired."""
    PAIRING = "pairing"
    PAIRED = "paired"
    BLOCKED = "blocked"
    """A pre-flight check failed, so it was not paired."""
    FAILED = "failed"


RETRIED = (PairingState.FAILED, PairingState.BLOCKED)
"""What "Retry failed" tries again."""


@dataclass(frozen=True)
class PairingRow:
    address: str
    state: PairingState = PairingState.WAITING
    detail: str = ""
    """The server's name once paired; why it failed, in words a person can act on."""
    report: PreflightReport | None = None
    """Its pre-flight checks, once they ran."""

    @property
    def progress(self) -> str:
        if self.state == PairingState.PAIRED:
            return f"paired as {self.detail}"
        if self.state == PairingState.FAILED:
            return f"failed: {self.detail}"
        if self.state == PairingState.BLOCKED and self.report is not None:
            return f"not paired: {self.report.summary}"
        if self.state == PairingState.CHECKED and self.report is not None:
            return self.report.summary
        if self.state == PairingState.CHECKING:
            return "checking …"
        if self.state == PairingState.PAIRING:
            return "checking and pairing …"
        return "waiting"

    def check(self, kind: CheckKind) -> CheckResult | None:
        return None if self.report is None else self.report.check(kind)


def _colour(row: PairingRow) -> str | None:
    if row.state == PairingState.CHECKED and row.report is not None:
        return BAD if row.report.blocks_pairing else GOOD
    return {
        PairingState.PAIRED: GOOD,
        PairingState.FAILED: BAD,
        PairingState.BLOCKED: BAD,
    }.get(row.state)


CHECK_COLOURS = {CheckStatus.PASS: GOOD, CheckStatus.WARN: WARN, CheckStatus.FAIL: BAD}


def _check_column(kind: CheckKind) -> Column[PairingRow]:
    def text(row: PairingRow) -> str:
        check = row.check(kind)
        return "" if check is None or check.status == CheckStatus.SKIPPED else check.status.value

    def colour(row: PairingRow) -> str | None:
        check = row.check(kind)
        return None if check is None else CHECK_COLOURS.get(check.status)

    def tooltip(row: PairingRow) -> str | None:
        check = row.check(kind)
        return None if check is None else check.message

    return Column(
        CHECK_TITLES[kind],
        text,
        colour=colour,
        tooltip=tooltip,
        sort_key=lambda row: list(CheckStatus).index(c.status) if (c := row.check(kind)) else 9,
    )


def _outcome(future: Future[PairedServer]) -> Future[PairedServer | PreflightReport]:
    """The pairing's result, or the report of the checks that stopped it (any thread)."""
    outcome: Future[PairedServer | PreflightReport] = Future()

    def done(finished: Future[PairedServer]) -> None:
        error = finished.exception()
        if isinstance(error, PreflightFailedError):
            outcome.set_result(error.report)
        elif error is not None:
            outcome.set_exception(error)
        else:
            outcome.set_result(finished.result())

    future.add_done_callback(done)
    return outcome


def _error_label() -> QLabel:
    label = QLabel()
    label.setStyleSheet(ERROR_STYLE)
    label.setWordWrap(True)
    label.hide()
    return label


def _agent_address(agent: DiscoveredAgent) -> str:
    """Where to pair it: its first announced address and its port."""
    host = agent.addresses[0] if agent.addresses else agent.hostname
    return f"[{host}]:{agent.port}" if ":" in host else f"{host}:{agent.port}"


@dataclass(frozen=True)
class ProfileChoice:
    name: str
    label: str
    description: str
    default: bool


def _profiles(session: Session) -> list[ProfileChoice]:
    return [
        ProfileChoice(p.name, p.ui_name, p.description, p.default)
        for p in session.scalars(select(ServerProfile).order_by(ServerProfile.id))
    ]


class AddServersDialog(QDialog):
    server_paired = Signal(object)
    """A `PairedServer`, as soon as it is recorded and its link is being opened."""

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.setObjectName("add_servers")  # named, so a test's leak check sees one left open
        self.setWindowTitle("Add servers")
        self.resize(960, 640)
        self._queue: deque[str] = deque()
        self._in_flight: set[str] = set()
        self._token = ""
        self._check_only = False
        self._closed = threading.Event()

        self.addresses = QLineEdit()
        self.addresses.setPlaceholderText("oss[01-16], mds1,mds2 or 10.0.0.[1-4]:7450")
        self.addresses.setToolTip(
            "Server names or addresses, comma separated; [01-16] stands for a range of numbers "
            "and :port for an agent on another port than the default."
        )
        self.addresses_error = _error_label()
        self.count_label = QLabel()
        self.token = QLineEdit()
        self.token.setPlaceholderText("K7QPM-2HX9D-RW4TA-0JN3E")
        self.token.setToolTip("The token `chroma-agent pair` printed on the servers.")
        self.token_error = _error_label()
        self.addresses.textChanged.connect(self._addresses_edited)
        self.token.textChanged.connect(lambda _: self.token_error.hide())
        self.addresses.returnPressed.connect(self.start)
        self.token.returnPressed.connect(self.start)

        form = QFormLayout()
        form.addRow("Servers:", self.addresses)
        form.addRow("", self.addresses_error)
        form.addRow("", self.count_label)
        form.addRow("Pairing token:", self.token)
        form.addRow("", self.token_error)
        self.profile = QComboBox()
        self.profile.setToolTip(
            "What Chroma Desktop may do to these servers: a managed storage server is set up "
            "and driven by it; a monitored one is only watched, never changed."
        )
        form.addRow("Profile:", self.profile)

        self.model: RecordTableModel[PairingRow] = RecordTableModel(
            [
                Column("Server", lambda r: r.address),
                Column(
                    "Progress",
                    lambda r: r.progress,
                    colour=_colour,
                    tooltip=lambda r: r.progress,
                    sort_key=lambda r: (list(PairingState).index(r.state), r.detail),
                ),
                *(_check_column(kind) for kind in CHECK_TITLES),
            ],
            key=lambda r: r.address,
            parent=self,
        )
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)
        for section in range(self.model.columnCount()):  # the checks: narrow, one word each
            header.setSectionResizeMode(section, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)  # the progress
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._show_details())
        self.details = QLabel()
        self.details.setObjectName("preflight_details")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.pair_anyway = QCheckBox("Pair anyway when a check fails (warnings never block)")
        self.pair_anyway.setToolTip(
            "A server whose pre-flight checks fail is not paired unless this is ticked. A "
            "server that cannot be reached or refuses the token cannot be paired either way."
        )
        self.summary = QLabel(
            "Run `chroma-agent pair` on the servers, then give their names and the token it "
            "printed."
        )
        self.summary.setWordWrap(True)

        buttons = QDialogButtonBox()
        self.check_button = QPushButton("Check")
        self.check_button.setToolTip("Run the pre-flight checks only; pair nothing.")
        self.check_button.clicked.connect(self.check)
        buttons.addButton(self.check_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.pair_button = QPushButton("Pair")
        self.pair_button.setDefault(True)
        self.pair_button.clicked.connect(self.start)
        self.retry_button = QPushButton("Retry failed")
        self.retry_button.setEnabled(False)
        self.retry_button.clicked.connect(self.retry_failed)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.reject)
        buttons.addButton(self.pair_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.retry_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.close_button, QDialogButtonBox.ButtonRole.RejectRole)

        self.found: RecordTableModel[DiscoveredAgent] = RecordTableModel(
            [
                Column("Server", lambda a: a.hostname),
                Column("Address", _agent_address),
                Column("Agent", lambda a: a.version),
                Column("Certificate", lambda a: a.fingerprint[:23] + "…"),
            ],
            key=lambda a: a.instance,
            parent=self,
        )
        self.found_proxy = RecordFilterProxy(self.found, self)
        self.found_table = record_table(self.found_proxy, single=False)
        self.found_table.setMaximumHeight(140)
        self.found_note = QLabel("Looking for agents on the network …")
        self.found_note.setWordWrap(True)
        self.use_found_button = QPushButton("Add selected to the list")
        self.use_found_button.clicked.connect(self.use_found)
        found_box = QGroupBox("Found on the network")
        found_layout = QVBoxLayout(found_box)
        found_layout.addWidget(self.found_note)
        found_layout.addWidget(self.found_table)
        found_layout.addWidget(self.use_found_button)
        self._browser: AgentBrowser | None = None

        layout = QVBoxLayout(self)
        layout.addWidget(found_box)
        layout.addLayout(form)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.details)
        layout.addWidget(self.pair_anyway)
        layout.addWidget(self.summary)
        layout.addWidget(buttons)
        self.finished.connect(self._forget_waiting)
        self.finished.connect(self._stop_browsing)
        context.query(_profiles, self._show_profiles, owner=self)
        context.bridge.subscribe(self, self._on_event)
        self._start_browsing()

    # --- agents found on the network --------------------------------------------------------

    def _start_browsing(self) -> None:
        browse = self.context.browse
        if browse is None:
            self.found_note.setText("Looking for agents on the network is off in this session.")
            self.use_found_button.setEnabled(False)
            return
        publish = self.context.bridge.publish
        started: Future[AgentBrowser] = Future()

        def on_thread() -> None:  # making a browser waits briefly for zeroconf's own thread
            try:
                started.set_result(browse(publish))
            except BaseException as error:
                started.set_exception(error)

        self.context.bridge.deliver(
            started, self._browsing, owner=self, on_error=self._not_browsing
        )
        started.add_done_callback(self._close_if_gone)
        threading.Thread(target=on_thread, name="chroma-discovery", daemon=True).start()

    def _close_if_gone(self, started: Future[AgentBrowser]) -> None:
        """Any thread: a browser that came up after the dialog closed is closed at once."""
        if started.exception() is None and self._closed.is_set():
            started.result().close()

    def _browsing(self, browser: AgentBrowser) -> None:
        if self._closed.is_set():
            return
        self._browser = browser
        if not self.found.rowCount():
            self.found_note.setText("Looking for agents on the network; none has answered yet.")

    def _not_browsing(self, failure: Failure) -> None:
        self.found_note.setText(f"Agents cannot be looked for on the network: {failure.message}")
        self.use_found_button.setEnabled(False)

    def _on_event(self, event: object) -> None:
        if not isinstance(event, DiscoveryEvent):
            return
        agents = {a.instance: a for a in self.found.rows}
        if event.change == DiscoveryChange.VANISHED:
            agents.pop(event.agent.instance, None)
        else:
            agents[event.agent.instance] = event.agent
        self.found.set_rows(sorted(agents.values(), key=lambda a: a.hostname))
        count = len(agents)
        self.found_note.setText(
            f"{count} agent{'s' if count != 1 else ''} found; select those to pair and add them "
            "to the list."
            if count
            else "Looking for agents on the network; none has answered yet."
        )

    def use_found(self) -> None:
        """Put the selected agents' addresses in the list of servers to pair."""
        chosen = [
            _agent_address(self.found.record(self.found_proxy.mapToSource(index).row()))
            for index in self.found_table.selectionModel().selectedRows()
        ]
        typed = [part.strip() for part in self.addresses.text().split(",") if part.strip()]
        self.addresses.setText(", ".join(dict.fromkeys(typed + chosen)))

    def _stop_browsing(self) -> None:
        self._closed.set()
        browser, self._browser = self._browser, None
        if browser is not None:  # closing waits for zeroconf's thread: not on the GUI thread
            threading.Thread(target=browser.close, name="chroma-discovery", daemon=True).start()

    def _show_profiles(self, profiles: list[ProfileChoice]) -> None:
        for choice in profiles:
            self.profile.addItem(choice.label, choice.name)
            self.profile.setItemData(
                self.profile.count() - 1, choice.description, Qt.ItemDataRole.ToolTipRole
            )
            if choice.default:
                self.profile.setCurrentIndex(self.profile.count() - 1)

    def choose_profile(self, name: str) -> bool:
        """Pair the next servers with the profile called `name` (False: no such profile)."""
        index = self.profile.findData(name)
        if index >= 0:
            self.profile.setCurrentIndex(index)
        return index >= 0

    # --- what the admin does ------------------------------------------------------------------

    def start(self) -> None:
        """Check, then pair, every server of the hostlist with the token (the Pair button)."""
        self._begin(check_only=False)

    def check(self) -> None:
        """Only check every server of the hostlist (the Check button)."""
        self._begin(check_only=True)

    def _begin(self, *, check_only: bool) -> None:
        if self._in_flight:
            return
        addresses = self._expanded(show_error=True)
        token = self._checked_token()
        if addresses is None or token is None:
            return
        self._token = token
        self._check_only = check_only
        self.model.set_rows([PairingRow(address) for address in addresses])
        self._queue = deque(addresses)
        self._pump()

    def retry_failed(self) -> None:
        """Pair the failed servers again (those a check stopped too, with "Pair anyway" as it
        is now), with the token now in the field."""
        token = self._checked_token()
        if token is None:
            return
        self._token = token
        self._check_only = False
        failed = [row.address for row in self.model.rows if row.state in RETRIED]
        self._update({address: PairingRow(address) for address in failed})
        self._queue.extend(failed)
        self._pump()

    # --- inside -------------------------------------------------------------------------------

    def _addresses_edited(self, text: str) -> None:
        self.addresses_error.hide()
        addresses = self._expanded(show_error=False) if text.strip() else None
        if not addresses:
            self.count_label.setText("")
        else:
            count = len(addresses)
            first = ", ".join(addresses[:3]) + (" …" if count > 3 else "")
            self.count_label.setText(f"{count} server{'s' if count != 1 else ''}: {first}")

    def _expanded(self, *, show_error: bool) -> list[str] | None:
        try:
            addresses = expand_hostlist(self.addresses.text())
        except ValidationError as invalid:
            if show_error:
                self.addresses_error.setText(invalid.message)
                self.addresses_error.show()
                self.addresses.setFocus()
            return None
        self.addresses_error.hide()
        return addresses

    def _checked_token(self) -> str | None:
        token = self.token.text().strip()
        try:
            token_key(token)  # a mistyped token is told here, before any server is contacted
        except PairingError as mistyped:
            self.token_error.setText(str(mistyped))
            self.token_error.show()
            self.token.setFocus()
            return None
        self.token_error.hide()
        return token

    def _pump(self) -> None:
        manager = self.context.manager
        while self._queue and len(self._in_flight) < MAX_PARALLEL:
            address = self._queue.popleft()
            self._in_flight.add(address)
            profile = self.profile.currentData()
            if self._check_only:
                self._update({address: PairingRow(address, PairingState.CHECKING)})
                self.context.bridge.deliver(
                    manager.check_server(address, self._token, profile=profile),
                    partial(self._checked, address),
                    owner=self,
                    on_error=partial(self._failed, address),
                )
                continue
            self._update({address: PairingRow(address, PairingState.PAIRING)})
            self.context.bridge.deliver(
                _outcome(
                    manager.pair_server(
                        address,
                        self._token,
                        profile=profile,
                        force=self.pair_anyway.isChecked(),
                    )
                ),
                partial(self._paired, address),
                owner=self,
                on_error=partial(self._failed, address),
            )
        self._show_progress()

    def _checked(self, address: str, report: PreflightReport) -> None:
        self._in_flight.discard(address)
        self._update({address: PairingRow(address, PairingState.CHECKED, report.summary, report)})
        self._pump()

    def _paired(self, address: str, outcome: PairedServer | PreflightReport) -> None:
        self._in_flight.discard(address)
        if isinstance(outcome, PreflightReport) and not forceable(outcome):
            # Unreachable, or the token refused: no tick gets past that, so it failed.
            why = " ".join(check.message for check in outcome.failed)
            self._update({address: PairingRow(address, PairingState.FAILED, why, outcome)})
        elif isinstance(outcome, PreflightReport):
            self._update(
                {address: PairingRow(address, PairingState.BLOCKED, outcome.summary, outcome)}
            )
        else:
            self._update(
                {address: PairingRow(address, PairingState.PAIRED, outcome.name, outcome.preflight)}
            )
            self.server_paired.emit(outcome)
        self._pump()

    def _failed(self, address: str, failure: Failure) -> None:
        self._in_flight.discard(address)
        self._update({address: PairingRow(address, PairingState.FAILED, str(failure))})
        self._pump()

    def _update(self, changed: dict[str, PairingRow]) -> None:
        self.model.set_rows([changed.get(row.address, row) for row in self.model.rows])
        self._show_details()

    def _show_details(self) -> None:
        """The selected server's checks in words; with none selected, the first server whose
        checks failed (or warned)."""
        rows = self.model.rows
        current = self.table.currentIndex()
        chosen = rows[current.row()] if current.isValid() and current.row() < len(rows) else None
        if chosen is None or chosen.report is None:
            reported = [row for row in rows if row.report is not None]
            chosen = next(
                (row for row in reported if row.report and row.report.blocks_pairing),
                next((row for row in reported if row.report and row.report.warnings), None),
            )
        if chosen is None or chosen.report is None:
            self.details.setText("")
            self.details.hide()
            return
        lines = [
            f"<b>{html.escape(check.title)}</b> ({check.status.value}): "
            f"{html.escape(check.message)}"
            for check in chosen.report.checks
            if check.status != CheckStatus.PASS
        ] or ["every check passed"]
        self.details.setText(f"<b>{html.escape(chosen.address)}</b>: " + "<br>".join(lines))
        self.details.show()

    def _forget_waiting(self) -> None:
        self._queue.clear()
        self._update(
            {
                row.address: replace(row, state=PairingState.FAILED, detail="not tried")
                for row in self.model.rows
                if row.state == PairingState.WAITING
            }
        )

    def _show_progress(self) -> None:
        counts = {state: 0 for state in PairingState}
        for row in self.model.rows:
            counts[row.state] += 1
        busy = bool(self._in_flight)
        self.pair_button.setEnabled(not busy)
        self.addresses.setReadOnly(busy)
        self.check_button.setEnabled(not busy)
        retriable = sum(counts[state] for state in RETRIED)
        self.retry_button.setEnabled(not busy and retriable > 0)
        total = len(self.model.rows)
        if self._check_only:
            checked = [r.report for r in self.model.rows if r.report is not None]
            failing = sum(1 for report in checked if report.blocks_pairing)
            parts = [f"{len(checked)} of {total} checked"]
            if failing:
                parts.append(f"{failing} failed a check")
        else:
            parts = [f"{counts[PairingState.PAIRED]} of {total} paired"]
        if counts[PairingState.BLOCKED]:
            parts.append(f"{counts[PairingState.BLOCKED]} stopped by a failed check")
        if counts[PairingState.FAILED]:
            parts.append(f"{counts[PairingState.FAILED]} failed")
        if busy or self._queue:
            parts.append(f"{len(self._in_flight) + len(self._queue)} to go")
        elif counts[PairingState.BLOCKED]:
            parts.append("fix what the checks say, or tick Pair anyway, then Retry failed")
        elif counts[PairingState.FAILED]:
            parts.append("fix what the failures say, then Retry failed")
        self.summary.setText("; ".join(parts) + ".")
