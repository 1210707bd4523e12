"""What core needs from below the line, declared as Protocols: a clock, a secret store and a
gateway to the agents. Other layers implement them; core is handed the implementations.

Layer: core. Thread: a port's methods may be called from any thread; an AgentGateway reports
through the concurrent.futures.Future it returns and the output callback, on its own thread.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from time import monotonic
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back, for durations and timeouts."""
        ...


@runtime_checkable
class SecretStore(Protocol):
    """Credentials and keys, kept in the OS keyring by the real implementation."""

    def get_secret(self, key: str) -> str | None:
        """The secret stored under `key`, or None when there is none."""
        ...

    def set_secret(self, key: str, secret: str) -> None:
        """Store `secret` under `key`, replacing what was there."""
        ...

    def delete_secret(self, key: str) -> None:
        """Forget the secret under `key`; nothing happens when there is none."""
        ...


class OutputStream(StrEnum):
    STDOUT = "stdout"
    STDERR = "stderr"


class ActionStatus(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    LOST = "lost"
    """The agent has no record of the action (it restarted before running it)."""


@dataclass(frozen=True)
class ActionRequest:
    """One agent action to run once on one server."""

    action_id: str
    """Unique per request: the agent runs an id at most once and answers for it after a
    reconnect."""
    host: str
    action: str
    args: Mapping[str, Any] = field(default_factory=dict)
    timeout_s: float = 600.0


@dataclass(frozen=True)
class ActionOutput:
    action_id: str
    stream: OutputStream
    text: str


@dataclass(frozen=True)
class ActionResult:
    action_id: str
    status: ActionStatus
    result: Any = None
    stdout: str = ""
    stderr: str = ""
    error: str | None = None
    """Why it failed, in words an admin can act on."""
    duration_s: float = 0.0


OutputCallback = Callable[[ActionOutput], None]


@runtime_checkable
class AgentGateway(Protocol):
    """Runs actions on agents. Every request ends in exactly one ActionResult."""

    def run_action(
        self, request: ActionRequest, on_output: OutputCallback | None = None
    ) -> Future[ActionResult]:
        """Start `request`; output lines go to `on_output` as they arrive."""
        ...

    def cancel_action(self, action_id: str) -> None:
        """Ask the agent to stop a running action; its future then ends CANCELLED, or with
        what really happened if it finished first. Unknown ids are ignored."""
        ...


@runtime_checkable
class CommandRenderer(Protocol):
    """The exact command lines an agent action runs, for dry runs and runbooks. The agent's own
    builders implement it, so that what is shown is what will run."""

    def command_lines(self, action: str, args: Mapping[str, Any]) -> list[list[str]]:
        """The argument lists, in order; raises ValueError when the arguments are invalid."""
        ...


class OfflineGateway:
    """The gateway when no agent link runs (an archive opened offline, a dry run): every
    action fails at once, saying why."""

    def __init__(self, reason: str = "no agent link is running") -> None:
        self.reason = reason

    def run_action(
        self, request: ActionRequest, on_output: OutputCallback | None = None
    ) -> Future[ActionResult]:
        future: Future[ActionResult] = Future()
        future.set_result(
            ActionResult(request.action_id, ActionStatus.FAILED, error=f"Not sent: {self.reason}.")
        )
        return future

    def cancel_action(self, action_id: str) -> None:
        return None


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return monotonic()
