"""In-memory implementations of core's ports, for tests and the simulator's harness.

Layer: core. Thread: any; FakeAgentGateway is guarded by a lock. tests/core/test_ports_contract.py
pins each fake to its Protocol, and runs the same behavioural contract against the real
implementations, so a fake cannot drift from the real signature.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from core.ports import (
    ActionOutput,
    ActionRequest,
    ActionResult,
    ActionStatus,
    OutputCallback,
    OutputStream,
)


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)
        self._monotonic = 1000.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._monotonic

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a monotonic clock does not go back")
        self._now += timedelta(seconds=seconds)
        self._monotonic += seconds


class MemorySecretStore:
    def __init__(self) -> None:
        self._secrets: dict[str, str] = {}

    def get_secret(self, key: str) -> str | None:
        return self._secrets.get(key)

    def set_secret(self, key: str, secret: str) -> None:
        self._secrets[key] = secret

    def delete_secret(self, key: str) -> None:
        self._secrets.pop(key, None)


@dataclass(frozen=True)
class ScriptedReply:
    """What the fake agent answers to an action."""

    result: Any = None
    stdout: str = ""
    stderr: str = ""
    error: str | None = None
    hold: bool = False
    """Keep the action running until `finish()` or `cancel_action()` ends it."""


@dataclass
class _Running:
    request: ActionRequest
    reply: ScriptedReply
    future: Future[ActionResult]
    on_output: OutputCallback | None = field(default=None)


class FakeAgentGateway:
    """Answers actions from a script; records every request for assertions. A reply scripted
    for (action, host) wins over one for the action on any host; unscripted actions succeed."""

    def __init__(self, replies: Mapping[str, ScriptedReply] | None = None) -> None:
        self._replies: dict[tuple[str, str | None], ScriptedReply] = {
            (action, None): reply for action, reply in (replies or {}).items()
        }
        self._lock = threading.Lock()
        self._running: dict[str, _Running] = {}
        self.requests: list[ActionRequest] = []
        self.cancelled: list[str] = []
        self._used_ids: set[str] = set()

    def script(self, action: str, reply: ScriptedReply, *, host: str | None = None) -> None:
        with self._lock:
            self._replies[(action, host)] = reply

    @property
    def running(self) -> list[ActionRequest]:
        """Held actions not yet finished, in the order they started."""
        with self._lock:
            return [running.request for running in self._running.values()]

    def run_action(
        self, request: ActionRequest, on_output: OutputCallback | None = None
    ) -> Future[ActionResult]:
        future: Future[ActionResult] = Future()
        future.set_running_or_notify_cancel()
        with self._lock:
            if request.action_id in self._used_ids:
                raise ValueError(f"action id {request.action_id} was already used")
            self._used_ids.add(request.action_id)
            self.requests.append(request)
            reply = self._replies.get(
                (request.action, request.host),
                self._replies.get((request.action, None), ScriptedReply()),
            )
            running = _Running(request, reply, future, on_output)
            if reply.hold:
                self._running[request.action_id] = running
        if not reply.hold:
            self._complete(running, cancelled=False)
        return future

    def finish(self, action_id: str) -> None:
        """End a held action with its scripted reply."""
        with self._lock:
            running = self._running.pop(action_id)
        self._complete(running, cancelled=False)

    def cancel_action(self, action_id: str) -> None:
        with self._lock:
            running = self._running.pop(action_id, None)
            if running is not None:
                self.cancelled.append(action_id)
        if running is not None:
            self._complete(running, cancelled=True)

    def _complete(self, running: _Running, *, cancelled: bool) -> None:
        request, reply = running.request, running.reply
        if running.on_output is not None and not cancelled:
            for stream, text in (
                (OutputStream.STDOUT, reply.stdout),
                (OutputStream.STDERR, reply.stderr),
            ):
                if text:
                    running.on_output(ActionOutput(request.action_id, stream, text))
        if cancelled:
            status = ActionStatus.CANCELLED
        elif reply.error is not None:
            status = ActionStatus.FAILED
        else:
            status = ActionStatus.SUCCEEDED
        running.future.set_result(
            ActionResult(
                action_id=request.action_id,
                status=status,
                result=None if cancelled else reply.result,
                stdout="" if cancelled else reply.stdout,
                stderr="" if cancelled else reply.stderr,
                error="cancelled by the administrator" if cancelled else reply.error,
            )
        )


class EchoCommandRenderer:
    """Renders an action as one line naming it and its arguments: for tests that do not need
    the agent's real command lines."""

    def command_lines(self, action: str, args: Mapping[str, Any]) -> list[list[str]]:
        return [[action, *(f"--{key}={args[key]}" for key in sorted(args))]]
