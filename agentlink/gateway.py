"""core's AgentGateway over agent links: an action becomes a REQUEST on its server's link.

Layer: agentlink. Thread: `run_action` and `cancel_action` may be called from any thread (the
scheduler calls them on the database thread); the work is handed to the reactor thread through
`call_in_reactor` (reactor.callFromThread in the app, a direct call in tests) and the outcome
comes back through the returned concurrent Future. A link that drops while an action runs ends
it as LOST, "outcome unknown": the action is never sent again on the next link.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from twisted.python.failure import Failure

from agentlink.protocol import LinkProtocol, RemoteError
from agentlink.wire import Op
from core.ports import ActionRequest, ActionResult, ActionStatus, OutputCallback

_STATUS = {
    "succeeded": ActionStatus.SUCCEEDED,
    "failed": ActionStatus.FAILED,
    "cancelled": ActionStatus.CANCELLED,
}


class LinkGateway:
    def __init__(
        self,
        call_in_reactor: Callable[[Callable[[], None]], None],
        on_late_outcome: Callable[[str, ActionResult], None] | None = None,
    ) -> None:
        self._call_in_reactor = call_in_reactor
        self._on_late_outcome = on_late_outcome
        """Told (reactor thread) what really became of an action that ended LOST, once its
        server answers again: (host, result)."""
        self._links: dict[str, LinkProtocol] = {}
        self._hosts: dict[str, str] = {}
        """Running action id → the server it runs on, for cancel."""
        self._lost: dict[str, set[str]] = {}
        """Server → ids of actions that ended LOST with it, to ask about after a reconnect."""

    def attach(self, host: str, link: LinkProtocol) -> None:
        """Reactor thread: `link` is now how `host` is reached. Actions lost with an earlier
        link are asked about (STATUS), never sent again."""
        self._links[host] = link
        lost = self._lost.pop(host, set())
        if lost:
            link.request(Op.STATUS, {"action_ids": sorted(lost)}).addCallbacks(
                lambda body: self._late_outcomes(host, body),
                lambda _: self._lost.setdefault(host, set()).update(lost),
            )

    def detach(self, host: str, link: LinkProtocol | None = None) -> None:
        """Reactor thread: `host` is not reachable through `link` (or any link) any more."""
        if link is None or self._links.get(host) is link:
            self._links.pop(host, None)

    def _late_outcomes(self, host: str, body: dict[str, Any]) -> None:
        actions = body.get("actions")
        if not isinstance(actions, dict):
            return
        for action_id, report in actions.items():
            if not isinstance(report, dict):
                continue
            state = str(report.get("state", ""))
            if state == "running":  # still going: ask again after the next reconnect
                self._lost.setdefault(host, set()).add(action_id)
            elif self._on_late_outcome is not None:
                result = self._result(action_id, report)
                self._on_late_outcome(host, result)

    def run_action(
        self, request: ActionRequest, on_output: OutputCallback | None = None
    ) -> Future[ActionResult]:
        future: Future[ActionResult] = Future()
        future.set_running_or_notify_cancel()
        self._call_in_reactor(lambda: self._start(request, future))
        return future

    def _start(self, request: ActionRequest, future: Future[ActionResult]) -> None:
        link = self._links.get(request.host)
        if link is None or link.peer is None or link.closed_reason is not None:
            future.set_result(
                ActionResult(
                    request.action_id,
                    ActionStatus.FAILED,
                    error=f"{request.host} is not connected; the action was not sent",
                )
            )
            return
        self._hosts[request.action_id] = request.host
        sent = link.request(
            Op.REQUEST,
            {"action_id": request.action_id, "action": request.action, "args": dict(request.args)},
        )

        def answered(body: dict[str, Any]) -> None:
            self._hosts.pop(request.action_id, None)
            future.set_result(self._result(request.action_id, body))

        def failed(failure: Failure) -> None:
            self._hosts.pop(request.action_id, None)
            if failure.check(RemoteError):  # type: ignore[no-untyped-call]  # Twisted is untyped here
                status, error = (
                    ActionStatus.FAILED,
                    f"{request.host} refused it: " + (failure.getErrorMessage()),
                )
            else:
                status, error = ActionStatus.LOST, failure.getErrorMessage()
                self._lost.setdefault(request.host, set()).add(request.action_id)
            future.set_result(ActionResult(request.action_id, status, error=error))

        sent.addCallbacks(answered, failed)

    @staticmethod
    def _result(action_id: str, body: dict[str, Any]) -> ActionResult:
        """An agent's report of an action; an unknown state (or "unknown": the agent has no
        record of it) is LOST."""
        state = str(body.get("state", ""))
        return ActionResult(
            action_id=action_id,
            status=_STATUS.get(state, ActionStatus.LOST),
            result=body.get("result"),
            stdout=str(body.get("stdout", "")),
            stderr=str(body.get("stderr", "")),
            error=body.get("error") if state != "succeeded" else None,
            duration_s=float(body.get("duration_s", 0.0)),
        )

    def cancel_action(self, action_id: str) -> None:
        def cancel() -> None:
            host = self._hosts.get(action_id)
            link = self._links.get(host) if host is not None else None
            if link is not None and link.peer is not None:
                link.request(Op.CANCEL, {"action_id": action_id}).addErrback(lambda _: None)

        self._call_in_reactor(cancel)
