"""The agent's action dispatcher: runs whitelisted actions at most once each, through a runner.

Layer: agentlink.daemon (imports nothing of core). Thread: the agent's reactor thread. A REQUEST
names an action id, an action of `lustre_actions.ACTIONS` and its arguments; the argument lists
are built by `lustre_actions.command_lines` and run one after another through the `Runner`,
stopping at the first that fails. Each action id runs at most once: a repeated request gets the
first run's outcome (or its progress), never a second run. CANCEL stops an action before its
next command; STATUS tells, after a reconnect, what became of given ids.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from twisted.internet import defer

from agentlink.daemon.lustre_actions import ActionArgumentError, UnknownActionError, command_lines
from agentlink.wire import Message, Op

MAX_REMEMBERED = 10_000
"""Finished action ids kept for STATUS and duplicate requests; the oldest are forgotten."""


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    exit_code: int
    stdout: str = ""
    stderr: str = ""


class Runner(Protocol):
    """Runs one argument list (never a shell string) and reports how it ended."""

    def run(self, argv: Sequence[str]) -> defer.Deferred[CommandResult]: ...


class ActionState(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass
class _Action:
    action_id: str
    action: str
    state: ActionState = ActionState.RUNNING
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    error: str | None = None
    cancel_requested: bool = False
    started: float = field(default_factory=time.monotonic)
    finished: defer.Deferred[None] = field(default_factory=defer.Deferred)

    def report(self) -> dict[str, Any]:
        return {
            "action_id": self.action_id,
            "state": self.state.value,
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
        self._actions: dict[str, _Action] = {}

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
        excess = len(self._actions) - MAX_REMEMBERED
        if excess > 0:  # only the oldest few are looked at: this runs on every request
            for old_id in list(itertools.islice(self._actions, excess)):
                if self._actions[old_id].state != ActionState.RUNNING:
                    del self._actions[old_id]
        return action

    @defer.inlineCallbacks
    def _run(self, action: _Action, lines: list[list[str]]) -> Any:
        try:
            for argv in lines:
                if action.cancel_requested:
                    action.state = ActionState.CANCELLED
                    action.error = "cancelled before it finished"
                    return
                result = yield self.runner.run(argv)
                action.stdout.append(result.stdout)
                action.stderr.append(result.stderr)
                if result.exit_code != 0:
                    action.state = ActionState.FAILED
                    detail = result.stderr.strip().splitlines()[-1:] or ["no error output"]
                    action.error = (
                        f"{' '.join(argv[:2])} exited with {result.exit_code}: {detail[0]}"
                    )
                    return
            action.state = ActionState.SUCCEEDED
        except Exception as error:  # the runner itself failed: report it, never crash
            action.state = ActionState.FAILED
            action.error = f"could not run {action.action}: {error}"
        finally:
            action.finished.callback(None)

    def _answer_when_done(self, action: _Action) -> defer.Deferred[dict[str, Any]]:
        answer: defer.Deferred[dict[str, Any]] = defer.Deferred()

        def reply(_: object) -> None:
            answer.callback(action.report())

        if action.finished.called:
            reply(None)
        else:
            action.finished.addCallback(lambda _: reply(None))
        return answer


class RecordingRunner:
    """A runner for tests: records every argument list and answers from a script."""

    def __init__(self, results: dict[str, CommandResult] | None = None) -> None:
        self.ran: list[tuple[str, ...]] = []
        self._results = results or {}
        self.held: dict[tuple[str, ...], defer.Deferred[CommandResult]] = {}
        self.hold_commands: set[str] = set()

    def run(self, argv: Sequence[str]) -> defer.Deferred[CommandResult]:
        command = tuple(argv)
        self.ran.append(command)
        if command[0] in self.hold_commands:
            self.held[command] = defer.Deferred()
            return self.held[command]
        scripted = self._results.get(command[0])
        if scripted is not None:
            return defer.succeed(
                CommandResult(command, scripted.exit_code, scripted.stdout, scripted.stderr)
            )
        return defer.succeed(CommandResult(command, 0))
