"""The agent's action dispatcher: runs whitelisted actions at most once each, through a runner.

Layer: agentlink.daemon (imports nothing of core). Thread: the agent's reactor thread. A REQUEST
names an action id, an action of `lustre_actions.ACTIONS` and its arguments; the argument lists
are built by `lustre_actions.command_lines` and run one after another through the `Runner`,
stopping at the first that fails. Each action id runs at most once: a repeated request gets the
first run's outcome (or its progress), never a second run. CANCEL stops an action before its
next command; STATUS tells, after a reconnect, what became of given ids.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple, Protocol

from twisted.internet import defer
from twisted.python.failure import Failure

from agentlink.daemon.command_errors import explain_failure
from agentlink.daemon.lustre_actions import (
    ActionArgumentError,
    UnknownActionError,
    command_lines,
    read_result,
)
from agentlink.wire import Message, Op

MAX_REMEMBERED = 10_000
"""Finished action ids kept for STATUS and duplicate requests; the oldest are forgotten."""


class CommandResult(NamedTuple):
    """How one command ended (a named tuple: cheap to build for every command run)."""

    argv: tuple[str, ...]
    exit_code: int
    stdout: str = ""
    stderr: str = ""


class Runner(Protocol):
    """Runs one argument list (never a shell string) and reports how it ended. Cancelling the
    Deferred stops the command (a process is sent SIGTERM); a runner that cannot stop it gives
    no canceller, and the action then ends cancelled while the command may still finish."""

    def run(self, argv: Sequence[str]) -> defer.Deferred[CommandResult]: ...


def failure_message(argv: Sequence[str], outcome: CommandResult) -> str:
    """One line for a failed command: what it means when its message is a known one
    (`command_errors`), always with the command's own last line of stderr as evidence."""
    command = " ".join(argv[:2])
    said = (outcome.stderr.strip().splitlines() or ["no error output"])[-1].strip()
    meaning = explain_failure(argv, outcome.exit_code, outcome.stderr)
    if meaning is None:
        return f"{command} exited with {outcome.exit_code}: {said}"
    return f"{command} failed: {meaning}. {argv[0]} exited with {outcome.exit_code}: {said}"


class ActionState(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(slots=True)
class _Action:
    action_id: str
    action: str
    state: ActionState = ActionState.RUNNING
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    error: str | None = None
    cancel_requested: bool = False
    started: float = field(default_factory=time.monotonic)
    waiting: list[defer.Deferred[dict[str, Any]]] = field(default_factory=list)
    """Answers to send once it ends (the request, and any repeat of it meanwhile)."""
    running: defer.Deferred[CommandResult] | None = None
    """The command line running now, when the runner is still on it."""

    def report(self) -> dict[str, Any]:
        succeeded = self.state == ActionState.SUCCEEDED
        return {
            "action_id": self.action_id,
            "state": self.state.value,
            "result": read_result(self.action, self.stdout) if succeeded else None,
            "stdout": "".join(self.stdout),
            "stderr": "".join(self.stderr),
            "error": self.error,
            "duration_s": round(time.monotonic() - self.started, 3),
        }


class ActionDispatcher:
    def __init__(
        self, runner: Runner, build: Callable[[str, Any], list[list[str]]] = command_lines
    ) -> None:
        self.runner = runner
        self._build = build
        self._actions: OrderedDict[str, _Action] = OrderedDict()

    def handle(self, message: Message) -> dict[str, Any] | defer.Deferred[dict[str, Any]]:
        """The answer to a REQUEST, CANCEL or STATUS message from the desktop."""
        if message.op == Op.STATUS:
            ids = message.body.get("action_ids", [])
            return {
                "actions": {
                    str(i): self._actions[i].report()
                    if i in self._actions
                    else {"state": "unknown"}
                    for i in ids
                    if isinstance(i, str)
                }
            }
        action_id = message.body.get("action_id")
        if not isinstance(action_id, str) or not action_id:
            raise ValueError("a request needs an action_id")
        if message.op == Op.CANCEL:
            known = self._actions.get(action_id)
            if known is not None and known.state == ActionState.RUNNING:
                known.cancel_requested = True
                if known.running is not None:
                    known.running.cancel()  # a runner stops the command line it runs
            return {"state": known.state.value if known else "unknown"}
        known = self._actions.get(action_id)
        if known is not None:  # at most once: answer with the first run's outcome
            return self._answer_when_done(known)
        action, args = message.body.get("action"), message.body.get("args", {})
        if not isinstance(action, str) or not isinstance(args, dict):
            raise ValueError("a request names an action and its args (a map)")
        try:
            lines = self._build(action, args)
        except (ActionArgumentError, UnknownActionError) as error:
            raise ValueError(str(error).strip("'\"")) from error
        running = self._remember(_Action(action_id, action))
        self._run(running, lines)
        return self._answer_when_done(running)

    def _remember(self, action: _Action) -> _Action:
        self._actions[action.action_id] = action
        # Forget the oldest finished ones; an OrderedDict finds its oldest in constant time,
        # where a dict whose front was deleted scans past the holes on every request.
        while len(self._actions) > MAX_REMEMBERED:
            oldest_id, oldest = next(iter(self._actions.items()))
            if oldest.state == ActionState.RUNNING:
                break  # still answering for it: kept, and the rest are newer
            del self._actions[oldest_id]
        return action

    def _run(self, action: _Action, lines: list[list[str]], index: int = 0) -> None:
        """Run `lines[index:]` one after another. A command the runner answers at once is
        taken at once (no Deferred chains per step); one that takes time resumes the loop
        when it ends."""
        while index < len(lines):
            if action.cancel_requested:
                self._finish(action, ActionState.CANCELLED, "cancelled before it finished")
                return
            outcome: list[CommandResult | Failure] = []
            try:
                running = self.runner.run(lines[index])
            except Exception as error:  # the runner itself failed: report it, never crash
                self._finish(action, ActionState.FAILED, f"could not run {action.action}: {error}")
                return
            running.addBoth(outcome.append)
            if not outcome:
                action.running = running
                running.addCallback(self._resume, action, lines, index, outcome)
                return
            if not self._absorb(action, lines[index], outcome[0]):
                return
            index += 1
        self._finish(action, ActionState.SUCCEEDED, None)

    def _resume(
        self,
        _: object,
        action: _Action,
        lines: list[list[str]],
        index: int,
        outcome: list[CommandResult | Failure],
    ) -> None:
        action.running = None
        if self._absorb(action, lines[index], outcome[0]):
            self._run(action, lines, index + 1)

    def _absorb(self, action: _Action, argv: list[str], outcome: CommandResult | Failure) -> bool:
        """Take one command's outcome; False when it ended the action."""
        if isinstance(outcome, Failure) and isinstance(outcome.value, defer.CancelledError):
            self._finish(action, ActionState.CANCELLED, f"cancelled: {argv[0]} was stopped")
            return False
        if isinstance(outcome, Failure):
            self._finish(
                action,
                ActionState.FAILED,
                f"could not run {action.action}: {outcome.getErrorMessage()}",
            )
            return False
        action.stdout.append(outcome.stdout)
        action.stderr.append(outcome.stderr)
        if outcome.exit_code != 0:
            self._finish(action, ActionState.FAILED, failure_message(argv, outcome))
            return False
        return True

    @staticmethod
    def _finish(action: _Action, state: ActionState, error: str | None) -> None:
        action.state, action.error = state, error
        waiting, action.waiting = action.waiting, []
        if waiting:
            report = action.report()
            for answer in waiting:
                answer.callback(dict(report))

    @staticmethod
    def _answer_when_done(action: _Action) -> dict[str, Any] | defer.Deferred[dict[str, Any]]:
        if action.state != ActionState.RUNNING:
            return action.report()
        answer: defer.Deferred[dict[str, Any]] = defer.Deferred()
        action.waiting.append(answer)
        return answer


class RecordingRunner:
    """A runner for tests: records every argument list and answers from a script."""

    def __init__(self, results: dict[str, CommandResult] | None = None) -> None:
        self.ran: list[tuple[str, ...]] = []
        self._results = results or {}
        self.held: dict[tuple[str, ...], defer.Deferred[CommandResult]] = {}
        self.hold_commands: set[str] = set()
        self.stopped: list[tuple[str, ...]] = []
        """Held commands stopped by a cancel, as a process would be."""

    def run(self, argv: Sequence[str]) -> defer.Deferred[CommandResult]:
        command = tuple(argv)
        self.ran.append(command)
        if command[0] in self.hold_commands:
            self.held[command] = defer.Deferred(lambda _: self.stopped.append(command))
            return self.held[command]
        scripted = self._results.get(command[0])
        if scripted is not None:
            return defer.succeed(
                CommandResult(command, scripted.exit_code, scripted.stdout, scripted.stderr)
            )
        return defer.succeed(CommandResult(command, 0))
