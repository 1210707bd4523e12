"""The action buttons of one object: what it can be asked to do now, each going through its plan.

Layer: chroma_desktop. Thread: the GUI thread; options, plans and requests are worked out by the
scheduler on the database worker. Buttons come from `available_transitions` (verbs such as
"Start", "Stop", "Remove") and `available_jobs` ("Failover", …), are rebuilt when the object
changes, and vanish while a job holds it. A click asks for the plan, shows it in a
`PlanDialog`, and only when the admin accepts is the command started (confirmed, since they saw
what it will do); `command_started` then carries its id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QWidget

from chroma_desktop.dialogs.plan import PlanDialog
from chroma_desktop.views.base import AppContext
from core.scheduler import (
    CommandChanged,
    JobOption,
    ObjectChanged,
    PlanPreview,
    Scheduler,
    TransitionOption,
)
from core.scheduler.world import Ref
from core.states import RunState


@dataclass(frozen=True)
class _Options:
    ref: Ref
    transitions: tuple[TransitionOption, ...]
    jobs: tuple[JobOption, ...]


def _options(scheduler: Scheduler, ref: Ref) -> _Options:
    return _Options(
        ref, tuple(scheduler.available_transitions(ref)), tuple(scheduler.available_jobs(ref))
    )


def _preview_state(scheduler: Scheduler, *, ref: Ref, state: str) -> PlanPreview:
    return scheduler.preview_state(ref, state)


def _request_state(scheduler: Scheduler, *, ref: Ref, state: str, actor: str) -> int:
    return scheduler.request_state(ref, state, actor=actor, confirmed=True)


def preview_job(scheduler: Scheduler, *, ref: Ref, kind: str) -> PlanPreview:
    return scheduler.preview_job(kind, ref)


def request_job(scheduler: Scheduler, *, ref: Ref, kind: str, actor: str) -> int:
    return scheduler.request_job(kind, ref, actor=actor, confirmed=True)


def command_outcome(event: CommandChanged, succeeded: str) -> str:
    """A finished command in words: `succeeded` says what it achieved; otherwise where the
    admin finds why it stopped."""
    if event.state == RunState.SUCCEEDED:
        return f"Command {event.command_id} {succeeded}"
    return (
        f"Command {event.command_id} {event.state.value}: the Commands screen shows which job "
        "stopped it and why."
    )


class PlannedRequest(QObject):
    """One way to ask for a change: the scheduler's plan first, shown in a `PlanDialog` over
    `parent`, and the command started (confirmed, since the admin saw what it does) only when
    the admin accepts; `started` then carries its id, as does the bridge's `command_started`."""

    started = Signal(int)

    def __init__(self, context: AppContext, parent: QWidget) -> None:
        super().__init__(parent)
        self.context = context
        self.parent_widget = parent
        self.dialog: PlanDialog | None = None

    def run(
        self, preview: Callable[[Scheduler], PlanPreview], request: Callable[[Scheduler], int]
    ) -> None:
        self.context.schedule(preview, lambda plan: self._show_plan(plan, request), owner=self)

    def _show_plan(self, plan: PlanPreview, request: Callable[[Scheduler], int]) -> None:
        self.dialog = dialog = PlanDialog(plan, self.parent_widget)
        dialog.finished.connect(lambda result: self._decided(dialog, result, request))
        dialog.open()

    def _decided(
        self, dialog: PlanDialog, result: int, request: Callable[[Scheduler], int]
    ) -> None:
        dialog.deleteLater()
        self.dialog = None
        if result == QDialog.DialogCode.Accepted:
            self.context.schedule(request, self._started, owner=self)

    def _started(self, command_id: int) -> None:
        self.started.emit(command_id)
        self.context.bridge.command_started.emit(command_id)


class ObjectActions(QWidget):
    command_started = Signal(int)

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.ref: Ref | None = None
        self.name = ""
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self.note = QLabel()
        self._layout.addWidget(self.note)
        self._layout.addStretch(1)
        self.buttons: dict[str, QPushButton] = {}
        self.planner = PlannedRequest(context, self)
        self.planner.started.connect(self.command_started)
        context.bridge.subscribe(self, self._on_event)

    @property
    def plan_dialog(self) -> PlanDialog | None:
        """The plan shown, until the admin accepts or closes it."""
        return self.planner.dialog

    def set_subject(self, ref: Ref | None, name: str = "") -> None:
        """Show the actions of `ref` (None: nothing selected)."""
        self.ref, self.name = ref, name
        self._clear()
        if ref is None:
            self.note.setText("")
            return
        if self.context.read_only:
            self.note.setText("Read-only archive: nothing can be done here.")
            return
        self.note.setText("Finding what it can do …")
        self.context.schedule(
            lambda scheduler: _options(scheduler, ref),
            self._show_options,
            owner=self,
            on_error=lambda failure: self.note.setText(str(failure)),
        )

    def _on_event(self, event: object) -> None:
        if isinstance(event, ObjectChanged) and event.ref == self.ref:
            self.set_subject(self.ref, self.name)

    def _clear(self) -> None:
        for button in self.buttons.values():
            self._layout.removeWidget(button)
            button.deleteLater()
        self.buttons = {}

    def _show_options(self, options: _Options) -> None:
        if options.ref != self.ref:
            return  # the selection moved on meanwhile
        self._clear()
        ref, actor = options.ref, self.context.actor
        for transition in options.transitions:
            self._add_button(
                transition.verb,
                partial(_preview_state, ref=ref, state=transition.state),
                partial(_request_state, ref=ref, state=transition.state, actor=actor),
                tip=", ".join(transition.jobs),
            )
        for job in options.jobs:
            self._add_button(
                job.verb,
                partial(preview_job, ref=ref, kind=job.kind),
                partial(request_job, ref=ref, kind=job.kind, actor=actor),
                tip=job.confirmation or "",
            )
        self.note.setText("" if self.buttons else f"Nothing can be done to {self.name} now.")

    def _add_button(
        self,
        verb: str,
        preview: Callable[[Scheduler], PlanPreview],
        request: Callable[[Scheduler], int],
        *,
        tip: str,
    ) -> None:
        button = QPushButton(verb)
        button.setToolTip(tip)
        button.clicked.connect(lambda: self.planner.run(preview, request))
        self._layout.insertWidget(self._layout.count() - 1, button)
        self.buttons[verb] = button
