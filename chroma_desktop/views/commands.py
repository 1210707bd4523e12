"""Commands: every admin request, newest first; the selected one's jobs as the tree IML drew, the
selected job's steps and what each printed, live, and Cancel for a command still running.

Layer: chroma_desktop. Thread: the GUI thread (commands, jobs and steps read on the database
worker by `core.queries.commands`). The list and the shown command reload on the scheduler's
news, coalesced by `LiveView`; choosing another command or job reads only that command's jobs
or that job's steps. Output a step prints is added to the screen as it arrives and confirmed by
the next read. The job tree is one `QStandardItemModel`, updated in place while its shape holds,
so a running command does not collapse or jump under the admin's cursor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape

from PySide6.QtCore import QItemSelection, Qt
from PySide6.QtGui import QBrush, QColor, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTreeView,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session

from chroma_desktop.failures import Failure
from chroma_desktop.itemmodels.records import Column, RecordFilterProxy, RecordTableModel
from chroma_desktop.views.base import AppContext, LiveView, hide_when_read_only
from chroma_desktop.widgets.tables import filter_box, record_table
from core.ports import OutputStream
from core.queries.commands import (
    CommandDetail,
    CommandList,
    CommandSummary,
    JobNode,
    JobSummary,
    StepRecord,
    command_detail,
    job_steps,
    list_commands,
)
from core.queries.text import duration_text, when_text
from core.scheduler import CommandChanged, JobChanged, StepChanged, StepOutputArrived
from core.states import RunState

STATE_COLOURS: dict[RunState, str] = {
    RunState.SUCCEEDED: "#1e7e34",
    RunState.FAILED: "#b02a1a",
    RunState.INTERRUPTED: "#b02a1a",
    RunState.CANCELLED: "#8a6d00",
    RunState.RUNNING: "#1f5fa8",
}
JOB_ID_ROLE = Qt.ItemDataRole.UserRole + 1
JOB_COLUMNS = ("Job", "State", "Run time")


def _state_colour(state: RunState) -> str | None:
    return STATE_COLOURS.get(state)


@dataclass(frozen=True)
class _Detail:
    """What was read for one command and, maybe, one of its jobs."""

    command_id: int
    job_id: int | None
    detail: CommandDetail | None
    steps: tuple[StepRecord, ...]


@dataclass(frozen=True)
class _Data:
    listing: CommandList
    detail: _Detail | None


def _read_detail(session: Session, command_id: int, job_id: int | None) -> _Detail:
    now = datetime.now().astimezone()
    detail = command_detail(session, command_id, now)
    if detail is None or job_id is None or job_id not in {job.id for job in detail.jobs}:
        return _Detail(command_id, None, detail, ())
    return _Detail(command_id, job_id, detail, job_steps(session, job_id))


class CommandsView(LiveView):
    title = "Commands"

    def __init__(self, context: AppContext) -> None:
        super().__init__(context)
        self._wanted: tuple[int | None, int | None] = (None, None)
        """(command, job) the admin chose: read on the database worker at each reload."""
        self._detail: CommandDetail | None = None
        self._job_items: dict[int, list[QStandardItem]] = {}
        self._tree_shape: tuple[tuple[int, int | None], ...] = ()
        self._step_ids: set[int] = set()
        self._steps_job: int | None = None
        self._cancelling: set[int] = set()

        self.model: RecordTableModel[CommandSummary] = RecordTableModel(
            [
                Column("Id", lambda c: c.id, sort_key=lambda c: c.id, numeric=True),
                Column("Command", lambda c: c.message),
                Column("State", lambda c: c.state.value, colour=lambda c: _state_colour(c.state)),
                Column("By", lambda c: c.actor),
                Column("Created", lambda c: when_text(c.created_at), sort_key=lambda c: c.id),
                Column(
                    "Duration",
                    lambda c: duration_text(c.duration),
                    sort_key=lambda c: c.duration.total_seconds() if c.duration else -1.0,
                    numeric=True,
                ),
                Column("Jobs", lambda c: c.job_count, sort_key=lambda c: c.job_count, numeric=True),
            ],
            key=lambda c: c.id,
            parent=self,
        )
        self.proxy = RecordFilterProxy(self.model, self)
        self.filter = filter_box(self.proxy, "Filter commands (every word must match)")
        self.cancel_button = QPushButton("Cancel command")
        self.cancel_button.setToolTip(
            "Cancel the jobs that have not started and ask the servers to stop the running ones"
        )
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_selected)
        hide_when_read_only(context, self.cancel_button)
        self.table = record_table(self.proxy, order=Qt.SortOrder.DescendingOrder)  # newest first
        self.table.selectionModel().selectionChanged.connect(self._command_selected)
        self.empty = QLabel("No commands yet. Actions on the other screens start them.")
        self.empty.hide()
        self.more_label = QLabel()
        self.more_label.hide()

        self.command_label = QLabel("Select a command to see its jobs.")
        self.command_label.setWordWrap(True)
        self.command_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.jobs = QStandardItemModel(0, len(JOB_COLUMNS), self)
        self.jobs.setHorizontalHeaderLabels(list(JOB_COLUMNS))
        self.tree = QTreeView()
        self.tree.setModel(self.jobs)
        self.tree.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.tree.setUniformRowHeights(True)
        self.tree.selectionModel().selectionChanged.connect(self._job_selected)
        self.job_label = QLabel()
        self.job_label.setWordWrap(True)
        self.job_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.steps: RecordTableModel[StepRecord] = RecordTableModel(
            [
                Column("Step", lambda s: f"{s.position} {s.description}"),
                Column("Server", lambda s: s.server or "this desktop"),
                Column("State", lambda s: s.state.value, colour=lambda s: _state_colour(s.state)),
            ],
            key=lambda s: s.id,
            parent=self,
        )
        self.steps_table = QTableView()
        self.steps_table.setModel(self.steps)
        self.steps_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.steps_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.steps_table.verticalHeader().hide()
        self.steps_table.horizontalHeader().setStretchLastSection(True)
        self.steps_table.selectionModel().selectionChanged.connect(self._step_selected)
        self.output = QPlainTextEdit()
        self.output.setReadOnly(True)
        self.output.setPlaceholderText("Select a step to see what it ran and printed.")
        self._shown_step: StepRecord | None = None
        self._live: dict[OutputStream, str] = {}

        top = QHBoxLayout()
        top.addWidget(self.filter, 1)
        top.addWidget(self.cancel_button)
        upper = QWidget()
        upper_layout = QVBoxLayout(upper)
        upper_layout.setContentsMargins(0, 0, 0, 0)
        upper_layout.addLayout(top)
        upper_layout.addWidget(self.empty)
        upper_layout.addWidget(self.table, 1)
        upper_layout.addWidget(self.more_label)
        jobs_pane = QWidget()
        jobs_layout = QVBoxLayout(jobs_pane)
        jobs_layout.setContentsMargins(0, 0, 0, 0)
        jobs_layout.addWidget(self.command_label)
        jobs_layout.addWidget(self.tree, 1)
        steps_pane = QWidget()
        steps_layout = QVBoxLayout(steps_pane)
        steps_layout.setContentsMargins(0, 0, 0, 0)
        steps_layout.addWidget(self.job_label)
        steps_layout.addWidget(self.steps_table, 1)
        steps_layout.addWidget(self.output, 2)
        lower = QSplitter(Qt.Orientation.Horizontal)
        lower.addWidget(jobs_pane)
        lower.addWidget(steps_pane)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(upper)
        split.addWidget(lower)
        split.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(split)

    # --- LiveView -------------------------------------------------------------------------------

    def is_stale_after(self, event: object) -> bool:
        if isinstance(event, CommandChanged):
            return True
        if isinstance(event, JobChanged):
            return self._detail is not None and event.job_id in self._job_items
        if isinstance(event, StepChanged):
            return event.job_id in self._job_items
        if isinstance(event, StepOutputArrived) and event.step_id in self._step_ids:
            self._output_arrived(event)
            return True
        return False

    def fetch(self, session: Session) -> _Data:
        command_id, job_id = self._wanted
        listing = list_commands(session, datetime.now().astimezone())
        detail = _read_detail(session, command_id, job_id) if command_id is not None else None
        return _Data(listing, detail)

    def show_data(self, data: _Data) -> None:
        self.model.set_rows(data.listing.commands)
        self.empty.setVisible(not data.listing.commands)
        more = data.listing.more
        self.more_label.setVisible(more > 0)
        self.more_label.setText(f"{more} older commands are not shown.")
        self._select_wanted_row()
        if data.detail is not None:
            self._show_detail(data.detail)

    # --- what others call -----------------------------------------------------------------------

    def show_command(self, command_id: int) -> None:
        """Select command `command_id` and show its jobs (a screen that started it jumps here);
        a command too new to be listed yet is selected when the list next arrives."""
        self._wanted = (command_id, None)
        self.filter.clear()
        if not self._select_wanted_row():
            self.refresh()
        self._load_detail()

    def selected(self) -> CommandSummary | None:
        found: CommandSummary | None = self.proxy.selected(self.table)
        return found

    def selected_job(self) -> JobSummary | None:
        if self._detail is None or self._wanted[1] is None:
            return None
        return next((job for job in self._detail.jobs if job.id == self._wanted[1]), None)

    def select_job(self, job_id: int) -> None:
        items = self._job_items.get(job_id)
        if items:
            self.tree.setCurrentIndex(items[0].index())

    def shown_command(self) -> CommandSummary | None:
        """The command whose jobs are shown, as last read (perhaps not listed yet)."""
        if self._detail is not None and self._detail.command.id == self._wanted[0]:
            return self._detail.command
        command = self.selected()
        return command if command is not None and command.id == self._wanted[0] else None

    def cancel_selected(self) -> None:
        """Cancel the shown command through the scheduler; its jobs then end as they really
        do (cancelled, or failed or succeeded if they could not be stopped in time)."""
        command = self.shown_command()
        if command is None or command.finished:
            return
        command_id, actor = command.id, self.context.actor
        self._cancelling.add(command_id)
        self._update_cancel()
        self.context.schedule(
            lambda scheduler: scheduler.cancel_command(command_id, actor=actor),
            lambda _: self.refresh(),
            owner=self,
            on_error=lambda failure: self._cancel_failed(command_id, failure),
        )

    # --- inside ---------------------------------------------------------------------------------

    def _cancel_failed(self, command_id: int, failure: Failure) -> None:
        self._cancelling.discard(command_id)
        self._update_cancel()
        self.context.bridge.failed.emit(failure)

    def _update_cancel(self) -> None:
        command = self.shown_command()
        if command is not None and command.finished:
            self._cancelling.discard(command.id)
        cancelling = command is not None and command.id in self._cancelling
        self.cancel_button.setText("Cancelling…" if cancelling else "Cancel command")
        self.cancel_button.setEnabled(
            command is not None and not command.finished and not cancelling
        )

    def _select_wanted_row(self) -> bool:
        command_id = self._wanted[0]
        row = self.model.row_of(command_id) if command_id is not None else None
        if row is None:
            self._update_cancel()
            return False
        current = self.selected()
        if current is None or current.id != command_id:
            index = self.proxy.mapFromSource(self.model.index(row, 0))
            if index.isValid():
                self.table.selectRow(index.row())
                self.table.scrollTo(index)
        self._update_cancel()
        return True

    def _command_selected(self, selected: QItemSelection, deselected: QItemSelection) -> None:
        command = self.selected()
        self._update_cancel()
        if command is None or command.id == self._wanted[0]:
            return
        self._wanted = (command.id, None)
        self._load_detail()

    def _job_selected(self, selected: QItemSelection, deselected: QItemSelection) -> None:
        indexes = self.tree.selectionModel().selectedRows()
        job_id = indexes[0].data(JOB_ID_ROLE) if indexes else None
        if job_id == self._wanted[1]:
            return
        self._wanted = (self._wanted[0], job_id)
        self._show_job_label()
        if job_id is None:
            self._show_steps(None, ())
        else:
            self._load_detail()

    def _step_selected(self, selected: QItemSelection, deselected: QItemSelection) -> None:
        rows = self.steps_table.selectionModel().selectedRows()
        step = self.steps.record(rows[0].row()) if rows else None
        self._show_step(step)

    def _load_detail(self) -> None:
        command_id, job_id = self._wanted
        if command_id is None:
            return
        self.context.query(
            lambda session: _read_detail(session, command_id, job_id),
            self._show_detail,
            owner=self,
        )

    def _show_detail(self, read: _Detail) -> None:
        if read.command_id != self._wanted[0]:
            return  # the admin has since chosen another command
        self._detail = detail = read.detail
        if detail is None:
            self.command_label.setText(f"Command {read.command_id} no longer exists.")
            self._show_tree(())
            self._show_steps(None, ())
            return
        command = detail.command
        self.command_label.setText(
            f"<b>{escape(command.message)}</b><br>Command {command.id} by {escape(command.actor)}, "
            f"created "
            f"{when_text(command.created_at)}: <b>{command.state.value}</b>"
            + (f" after {duration_text(command.duration)}" if command.finished else "")
            + f"; {len(detail.jobs)} job{'s' if len(detail.jobs) != 1 else ''}."
        )
        self._show_tree(detail.tree)
        self._show_job_label()
        self._update_cancel()
        if read.job_id == self._wanted[1]:
            self._show_steps(read.job_id, read.steps)

    def _show_job_label(self) -> None:
        job = self.selected_job()
        if job is None:
            self.job_label.setText("Select a job to see its steps.")
            return
        text = f"<b>{escape(job.description)}</b> ({job.kind}): {job.state.value}"
        if job.run_time is not None:
            text += f", ran {duration_text(job.run_time)}"
        if job.error:
            text += f"<br>{escape(job.error)}"
        self.job_label.setText(text)

    # --- the job tree ---------------------------------------------------------------------------

    def _show_tree(self, tree: tuple[JobNode, ...]) -> None:
        shape: list[tuple[int, int | None]] = []

        def walk(nodes: tuple[JobNode, ...], parent: int | None) -> None:
            for node in nodes:
                shape.append((node.job.id, parent))
                walk(node.children, node.job.id)

        walk(tree, None)
        if tuple(shape) == self._tree_shape:
            self._update_tree(tree)
            return
        self._tree_shape = tuple(shape)
        wanted_job = self._wanted[1]
        self.tree.selectionModel().blockSignals(True)
        self.jobs.removeRows(0, self.jobs.rowCount())
        self._job_items = {}
        root = self.jobs.invisibleRootItem()

        def add(nodes: tuple[JobNode, ...], parent: QStandardItem) -> None:
            for node in nodes:
                items = [QStandardItem() for _ in JOB_COLUMNS]
                for item in items:
                    item.setData(node.job.id, JOB_ID_ROLE)
                    item.setEditable(False)
                self._fill(items, node.job)
                self._job_items[node.job.id] = items
                parent.appendRow(items)
                add(node.children, items[0])

        add(tree, root)
        self.tree.expandAll()
        self.tree.resizeColumnToContents(0)
        self.tree.selectionModel().blockSignals(False)
        if wanted_job is not None and wanted_job in self._job_items:
            self.tree.setCurrentIndex(self._job_items[wanted_job][0].index())
        elif wanted_job is not None:
            self._wanted = (self._wanted[0], None)
            self._show_steps(None, ())

    def _update_tree(self, tree: tuple[JobNode, ...]) -> None:
        for node in tree:
            self._fill(self._job_items[node.job.id], node.job)
            self._update_tree(node.children)

    def _fill(self, items: list[QStandardItem], job: JobSummary) -> None:
        texts = (job.description, job.state.value, duration_text(job.run_time))
        for item, text in zip(items, texts, strict=True):
            if item.text() != text:
                item.setText(text)
        items[0].setToolTip(f"{job.kind} (job {job.id})" + (f": {job.error}" if job.error else ""))
        colour = _state_colour(job.state)
        brush = QBrush(QColor(colour)) if colour else QBrush()
        if items[1].foreground() != brush:
            items[1].setForeground(brush)
        items[1].setToolTip(job.error or "")

    # --- steps and their output -----------------------------------------------------------------

    def _show_steps(self, job_id: int | None, steps: tuple[StepRecord, ...]) -> None:
        if job_id != self._steps_job:
            self.steps_table.clearSelection()
        self._steps_job = job_id
        self._step_ids = {step.id for step in steps}
        self.steps.set_rows(steps)
        if steps and not self.steps_table.selectionModel().hasSelection():
            # The step running, else the last one that ran: what the admin came to see.
            chosen = next(
                (i for i, s in enumerate(steps) if s.state == RunState.RUNNING),
                max((i for i, s in enumerate(steps) if s.state != RunState.PENDING), default=0),
            )
            self.steps_table.selectRow(chosen)
        else:
            rows = self.steps_table.selectionModel().selectedRows()
            self._show_step(self.steps.record(rows[0].row()) if rows else None)

    def _show_step(self, step: StepRecord | None) -> None:
        if step is None or self._shown_step is None or step.id != self._shown_step.id:
            self._live = {}
        else:
            # What the read holds now includes what arrived before it; keep only the rest.
            for stream, read in (
                (OutputStream.STDOUT, step.stdout),
                (OutputStream.STDERR, step.stderr),
            ):
                if self._live.get(stream) and read.endswith(self._live[stream]):
                    self._live.pop(stream)
        self._shown_step = step
        self._render_output()

    def _output_arrived(self, event: StepOutputArrived) -> None:
        if self._shown_step is not None and self._shown_step.id == event.step_id:
            self._live[event.stream] = self._live.get(event.stream, "") + event.text
            self._render_output()

    def _render_output(self) -> None:
        step = self._shown_step
        if step is None:
            text = ""
        else:
            stdout = step.stdout + self._live.get(OutputStream.STDOUT, "")
            stderr = step.stderr + self._live.get(OutputStream.STDERR, "")
            parts = [
                f"Step {step.position}: {step.description}",
                f"Server: {step.server or 'this desktop'}   State: {step.state.value}"
                + (
                    f"   Ran {duration_text(step.finished_at - step.started_at)}"
                    if step.started_at and step.finished_at
                    else ""
                ),
            ]
            if step.action:
                parts.append(f"Action: {step.action}")
            if step.args:
                parts.append(f"Arguments:\n{step.args}")
            if step.command_lines:
                parts.append(
                    "Runs:\n" + "\n".join("  " + " ".join(line) for line in step.command_lines)
                )
            if stdout:
                parts.append(f"--- stdout ---\n{stdout.rstrip()}")
            if stderr:
                parts.append(f"--- stderr ---\n{stderr.rstrip()}")
            if step.result:
                parts.append(f"--- result ---\n{step.result}")
            if step.error:
                parts.append(f"--- error ---\n{step.error}")
            text = "\n\n".join(parts)
        if self.output.toPlainText() != text:
            bar = self.output.verticalScrollBar()
            at_end = bar.value() >= bar.maximum() - 2
            self.output.setPlainText(text)
            if at_end:
                bar.setValue(bar.maximum())
