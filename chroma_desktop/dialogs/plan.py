"""The plan shown before every action: the jobs in order, what each waits for, and for every step
the server it runs on and the exact command lines; copyable and exportable as a runbook.

Layer: chroma_desktop. Thread: the GUI thread. The dialog only shows a `PlanPreview` the
scheduler already made; accepting it is the admin's "run it". A plan that asks for confirmation
(formatting, removing) keeps Run disabled until the admin ticks that they have read what will be
lost.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from PySide6.QtGui import QGuiApplication, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from core.scheduler import JobPreview, PlanPreview
from core.scheduler.runbook import runbook_markdown, runbook_shell

JOB_ROLE = 0x0100 + 7


def job_commands(job: JobPreview) -> str:
    """The text of one job's steps: where each runs and the exact command lines."""
    lines = [f"# {job.description}"]
    for step in job.steps:
        lines.append(f"# on {step.host or 'this desktop'}: {step.description}")
        if step.unknown_until_run:
            lines.append(f"#   ({step.unknown_until_run})")
        lines += [shlex.join(argv) for argv in step.command_lines]
    return "\n".join(lines)


class PlanDialog(QDialog):
    def __init__(self, plan: PlanPreview, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plan = plan
        self.setWindowTitle(f"Plan: {plan.message}")
        self.resize(900, 600)
        servers = {step.host for job in plan.jobs for step in job.steps if step.host}
        summary = QLabel(
            f"<b>{plan.message}</b>: {len(plan.jobs)} job{'s' if len(plan.jobs) != 1 else ''} "
            f"on {len(servers)} server{'s' if len(servers) != 1 else ''}, run in parallel where "
            "their dependencies allow."
            + (
                f" {len(plan.shared_job_ids)} job(s) already planned by other commands are shared."
                if plan.shared_job_ids
                else ""
            )
        )
        summary.setWordWrap(True)

        self.jobs_model = QStandardItemModel(self)
        self.jobs_model.setHorizontalHeaderLabels(["Job", "Subject", "From → to", "Waits for"])
        by_key = {job.key: job for job in plan.jobs}
        for job in plan.jobs:
            waits = [by_key[k].description for k in job.after if k in by_key]
            waits += [f"job {i} of an earlier command" for i in job.after_existing]
            cells = [
                QStandardItem(job.description),
                QStandardItem(job.subject),
                QStandardItem(f"{job.from_state or '—'} → {job.to_state or '—'}"),
                QStandardItem("; ".join(waits)),
            ]
            cells[0].setData(job.key, JOB_ROLE)
            for cell in cells:
                cell.setEditable(False)
            self.jobs_model.appendRow(cells)
        self.jobs_view = QTreeView()
        self.jobs_view.setRootIsDecorated(False)
        self.jobs_view.setModel(self.jobs_model)
        self.jobs_view.setAlternatingRowColors(True)
        self.jobs_view.selectionModel().currentRowChanged.connect(self._job_selected)

        self.commands = QPlainTextEdit()
        self.commands.setReadOnly(True)
        self.commands.setPlaceholderText("Select a job to see the exact commands it runs.")
        split = QSplitter()
        split.addWidget(self.jobs_view)
        split.addWidget(self.commands)
        split.setSizes([500, 400])

        self.confirm = QCheckBox()
        self.confirm.setVisible(plan.needs_confirmation)
        if plan.needs_confirmation:
            self.confirm.setText("I have read this: " + " ".join(plan.confirmations))
            self.confirm.setStyleSheet("color: #a12a1a; font-weight: bold;")

        copy = QPushButton("Copy runbook")
        copy.clicked.connect(self.copy_runbook)
        export = QPushButton("Save runbook…")
        export.clicked.connect(self._save_runbook)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.run_button = self.buttons.addButton("Run", QDialogButtonBox.ButtonRole.AcceptRole)
        self.run_button.setDefault(not plan.needs_confirmation)
        self.run_button.setEnabled(not plan.needs_confirmation and bool(plan.jobs))
        self.confirm.toggled.connect(lambda on: self.run_button.setEnabled(on and bool(plan.jobs)))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        bottom = QHBoxLayout()
        bottom.addWidget(copy)
        bottom.addWidget(export)
        bottom.addStretch(1)
        bottom.addWidget(self.buttons)
        layout = QVBoxLayout(self)
        layout.addWidget(summary)
        layout.addWidget(split, 1)
        layout.addWidget(self.confirm)
        layout.addLayout(bottom)
        if plan.jobs:
            self.jobs_view.setCurrentIndex(self.jobs_model.index(0, 0))

    def _job_selected(self) -> None:
        index = self.jobs_view.currentIndex()
        if not index.isValid():
            return
        key = self.jobs_model.item(index.row(), 0).data(JOB_ROLE)
        job = next(job for job in self.plan.jobs if job.key == key)
        self.commands.setPlainText(job_commands(job))

    def copy_runbook(self) -> None:
        QGuiApplication.clipboard().setText(runbook_markdown(self.plan))

    def _save_runbook(self) -> None:
        path, chosen = QFileDialog.getSaveFileName(
            self, "Save runbook", "runbook.md", "Markdown (*.md);;Shell script (*.sh)"
        )
        if path:
            self.save_runbook(Path(path), shell=chosen.startswith("Shell") or path.endswith(".sh"))

    def save_runbook(self, path: Path, *, shell: bool) -> None:
        path.write_text(runbook_shell(self.plan) if shell else runbook_markdown(self.plan))
