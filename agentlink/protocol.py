"""One link between the desktop and an agent: hello, requests and responses, pushes, heartbeats.

Layer: agentlink, shared with the agent (imports nothing of core). Thread: the reactor thread.
Both sides run the same `LinkProtocol`: each sends HELLO first and accepts nothing else until
the peer's HELLO has arrived with a protocol version it speaks. A request carries a sequence
number and its RESPONSE fires the waiting Deferred. Either side sends a HEARTBEAT when it has
been quiet; a peer silent for `dead_after_s` is cut off, so a dead link is noticed within that
bound and every request still waiting fails with the reason. Bytes that are not valid messages
close the connection with a logged reason; nothing a peer sends can crash the process.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from twisted.internet import defer
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.internet.protocol import Protocol, connectionDone
from twisted.python.failure import Failure

from agentlink.wire import PROTOCOL_VERSION, FrameDecoder, Message, Op, WireError, encode

log = logging.getLogger(__name__)

HEARTBEAT_S = 10.0
DEAD_AFTER_S = 30.0
SUPPORTED_VERSIONS = frozenset({PROTOCOL_VERSION})


class LinkError(Exception):
    """The link failed; the message says why, for the step or the log that shows it."""


class RemoteError(LinkError):
    """The peer answered a request with an error."""


@dataclass(frozen=True)
class PeerHello:
    name: str
    software_version: str
    protocol_version: int
    capabilities: frozenset[str]


RequestHandler = Callable[[Message], Any]
"""Answers a request: a body (dict), or a Deferred of one; raising sends an error back."""
PushHandler = Callable[[dict[str, Any]], None]


class LinkProtocol(Protocol):
    def __init__(
        self,
        *,
        name: str,
        software_version: str,
        capabilities: Sequence[str],
        clock: IReactorTime,
        on_request: RequestHandler | None = None,
        on_push: PushHandler | None = None,
        heartbeat_s: float = HEARTBEAT_S,
        dead_after_s: float = DEAD_AFTER_S,
    ) -> None:
        self.name = name
        self.software_version = software_version
        self.capabilities = tuple(capabilities)
        self.clock = clock
        self.on_request = on_request
        self.on_push = on_push
        self.heartbeat_s = heartbeat_s
        self.dead_after_s = dead_after_s
        self.peer: PeerHello | None = None
        self.ready: defer.Deferred[PeerHello] = defer.Deferred()
        """Fires with the peer's hello; fails if the link ends before it."""
        self.closed_reason: str | None = None
        self.finished: defer.Deferred[str] = defer.Deferred()
        """Fires with the reason when the connection has ended (never fails)."""
        self._decoder = FrameDecoder()
        self._seq = itertools.count(1)
        self._pending: dict[int, defer.Deferred[dict[str, Any]]] = {}
        self._last_heard = 0.0
        self._last_sent = 0.0
        self._timer: IDelayedCall | None = None

    # --- connection lifecycle -------------------------------------------------------------------

    def connectionMade(self) -> None:
        now = self.clock.seconds()
        self._last_heard = self._last_sent = now
        self._send(
            Message(
                Op.HELLO,
                next(self._seq),
                {
                    "name": self.name,
                    "software_version": self.software_version,
                    "capabilities": list(self.capabilities),
                    "protocol_versions": sorted(SUPPORTED_VERSIONS),
                },
            )
        )
        self._schedule()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        why = self.closed_reason or reason.getErrorMessage()
        self.closed_reason = why  # nothing more is sent or accepted on this link
        pending, self._pending = self._pending, {}
        for waiting in pending.values():
            waiting.errback(LinkError(f"the link to {self._peer_name()} was lost: {why}"))
        if not self.ready.called:
            self.ready.errback(LinkError(f"the link to {self._peer_name()} ended: {why}"))
        self.finished.callback(why)

    def close(self, reason: str) -> None:
        """Tell the peer why, then close the connection."""
        if self.closed_reason is None:
            self.closed_reason = reason
            log.info("closing the link to %s: %s", self._peer_name(), reason)
            if self.transport is not None:
                self._send(Message(Op.ERROR, next(self._seq), {"reason": reason}))
                self.transport.loseConnection()

    def abort(self, reason: str) -> None:
        """Drop the connection at once (the peer is not answering)."""
        if self.closed_reason is None:
            self.closed_reason = reason
            log.warning("dropping the link to %s: %s", self._peer_name(), reason)
            if self.transport is not None:
                self.transport.abortConnection()  # type: ignore[attr-defined]

    def _peer_name(self) -> str:
        return self.peer.name if self.peer is not None else "the peer"

    # --- receiving ------------------------------------------------------------------------------

    def dataReceived(self, data: bytes) -> None:
        if self.closed_reason is not None:
            return
        self._last_heard = self.clock.seconds()
        try:
            messages = self._decoder.feed(data)
        except WireError as error:
            self.close(f"invalid message: {error}")
            return
        for message in messages:
            if self.closed_reason is not None:
                return
            self._receive(message)

    def _receive(self, message: Message) -> None:
        if self.peer is None:
            if message.op != Op.HELLO:
                self.close(f"expected hello first, got {message.op}")
                return
            self._on_hello(message)
            return
        if message.op == Op.HEARTBEAT:
            return
        if message.op == Op.RESPONSE:
            self._on_response(message)
        elif message.op == Op.PUSH:
            if self.on_push is not None:
                self.on_push(message.body)
        elif message.op == Op.ERROR:
            reason = str(message.body.get("reason", "no reason given"))
            self.closed_reason = f"{self._peer_name()} closed the link: {reason}"
            if self.transport is not None:
                self.transport.loseConnection()
        elif message.op in (Op.REQUEST, Op.CANCEL, Op.STATUS, Op.PAIR, Op.FETCH):
            self._on_request(message)
        else:
            self.close(f"unexpected {message.op} message")

    def _on_hello(self, message: Message) -> None:
        body = message.body
        offered = body.get("protocol_versions", [message.version])
        common = SUPPORTED_VERSIONS & {v for v in offered if isinstance(v, int)}
        if not common:
            self.close(
                f"no common protocol version: this side speaks {sorted(SUPPORTED_VERSIONS)}, "
                f"the peer {offered}; upgrade the older of the two"
            )
            return
        capabilities = body.get("capabilities", [])
        self.peer = PeerHello(
            name=str(body.get("name", "unknown")),
            software_version=str(body.get("software_version", "unknown")),
            protocol_version=max(common),
            capabilities=frozenset(str(c) for c in capabilities)
            if isinstance(capabilities, list)
            else frozenset(),
        )
        self.ready.callback(self.peer)

    def _on_response(self, message: Message) -> None:
        waiting = self._pending.pop(message.seq, None)
        if waiting is None:
            log.info(
                "ignoring a response to unknown request %s from %s", message.seq, self._peer_name()
            )
            return
        if "error" in message.body:
            waiting.errback(RemoteError(str(message.body["error"])))
        else:
            result = message.body.get("result")
            waiting.callback(result if isinstance(result, dict) else {"result": result})

    def _on_request(self, message: Message) -> None:
        def answer(result: object) -> None:
            body = result if isinstance(result, dict) else {"result": result}
            self._reply(message.seq, {"result": body})

        def refuse(failure: Failure) -> None:
            self._reply(message.seq, {"error": failure.getErrorMessage()})

        if self.on_request is None:
            self._reply(message.seq, {"error": f"{self.name} takes no {message.op} messages"})
            return
        try:
            handled = self.on_request(message)
        except Exception:
            refuse(Failure())  # type: ignore[no-untyped-call]  # Twisted is untyped here
            return
        if isinstance(handled, defer.Deferred):
            handled.addCallbacks(answer, refuse)
        else:  # answered at once: no Deferred needed (most requests, at tens of thousands/s)
            answer(handled)

    def _reply(self, seq: int, body: dict[str, Any]) -> None:
        if self.closed_reason is None:
            self._send(Message(Op.RESPONSE, seq, body))

    # --- sending --------------------------------------------------------------------------------

    def request(self, op: Op, body: dict[str, Any]) -> defer.Deferred[dict[str, Any]]:
        """Send a request; the Deferred fires with the answer's result, or fails with
        RemoteError (the peer refused) or LinkError (the link was lost)."""
        if self.peer is None or self.closed_reason is not None:
            return defer.fail(LinkError(f"the link to {self._peer_name()} is not open"))
        seq = next(self._seq)
        waiting: defer.Deferred[dict[str, Any]] = defer.Deferred()
        self._pending[seq] = waiting
        self._send(Message(op, seq, body))
        return waiting

    def push(self, body: dict[str, Any]) -> None:
        if self.peer is not None and self.closed_reason is None:
            self._send(Message(Op.PUSH, next(self._seq), body))

    def _send(self, message: Message) -> None:
        self._last_sent = self.clock.seconds()
        assert self.transport is not None
        self.transport.write(encode(message))

    # --- heartbeats -----------------------------------------------------------------------------

    def _schedule(self) -> None:
        self._timer = self.clock.callLater(self.heartbeat_s / 2, self._beat)

    def _beat(self) -> None:
        self._timer = None
        if self.closed_reason is not None:
            return
        now = self.clock.seconds()
        silent = now - self._last_heard
        if silent > self.dead_after_s:
            self.abort(f"no word from {self._peer_name()} for {silent:.0f} s")
            return
        if now - self._last_sent >= self.heartbeat_s / 2:
            self._send(Message(Op.HEARTBEAT, next(self._seq), {}))
        self._schedule()
