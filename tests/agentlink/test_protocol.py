"""A desktop and an agent connected in memory: hello, requests, pushes, heartbeats, and every
way a link can go wrong, with time pumped by a Clock instead of waited for."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.internet import defer
from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.test.iosim import IOPump, connectedServerAndClient

from agentlink.protocol import DEAD_AFTER_S, LinkError, LinkProtocol, RemoteError
from agentlink.wire import FrameDecoder, Message, Op, encode


def link(
    clock: Clock,
    on_request: Any = None,
    pushes: list[dict[str, Any]] | None = None,
    agent_versions: frozenset[int] | None = None,
) -> tuple[LinkProtocol, LinkProtocol, IOPump]:
    def agent() -> LinkProtocol:
        protocol = LinkProtocol(
            name="oss1",
            software_version="0.1.0",
            capabilities=["lustre"],
            clock=clock,
            on_request=on_request,
        )
        return protocol

    def desktop() -> LinkProtocol:
        return LinkProtocol(
            name="desktop",
            software_version="0.1.0",
            capabilities=[],
            clock=clock,
            on_push=(pushes.append if pushes is not None else None),
        )

    return connectedServerAndClient(agent, desktop, clock=clock)


def results(deferred: defer.Deferred) -> list[Any]:
    outcome: list[Any] = []
    deferred.addBoth(outcome.append)
    return outcome


def test_both_sides_greet_and_learn_who_the_peer_is():
    desktop, agent, pump = link(Clock())
    pump.flush()
    assert desktop.peer is not None and desktop.peer.name == "oss1"
    assert desktop.peer.capabilities == frozenset({"lustre"})
    assert agent.peer is not None and agent.peer.name == "desktop"


def test_a_request_gets_its_answer():
    def run(message: Message) -> dict[str, Any]:
        assert message.op == Op.REQUEST
        return {"location": "oss1", "echo": message.body["action"]}

    desktop, _agent, pump = link(Clock(), on_request=run)
    pump.flush()
    answer = results(desktop.request(Op.REQUEST, {"action_id": "step-1", "action": "load_lnet"}))
    pump.flush()
    assert answer == [{"location": "oss1", "echo": "load_lnet"}]


def test_answers_arrive_for_the_right_request_in_any_order():
    later: dict[str, defer.Deferred[dict[str, Any]]] = {}

    def run(message: Message) -> defer.Deferred[dict[str, Any]]:
        later[message.body["action_id"]] = defer.Deferred()
        return later[message.body["action_id"]]

    desktop, _agent, pump = link(Clock(), on_request=run)
    pump.flush()
    first = results(desktop.request(Op.REQUEST, {"action_id": "a"}))
    second = results(desktop.request(Op.REQUEST, {"action_id": "b"}))
    pump.flush()
    later["b"].callback({"done": "b"})
    pump.flush()
    assert (first, second) == ([], [{"done": "b"}])
    later["a"].callback({"done": "a"})
    pump.flush()
    assert first == [{"done": "a"}]


def test_a_refused_request_fails_with_the_agents_reason():
    def run(message: Message) -> dict[str, Any]:
        raise ValueError("mkfs.lustre: /dev/sdb is busy")

    desktop, _agent, pump = link(Clock(), on_request=run)
    pump.flush()
    answer = results(desktop.request(Op.REQUEST, {"action_id": "x"}))
    pump.flush()
    (failure,) = answer
    assert failure.check(RemoteError)
    assert failure.getErrorMessage() == "mkfs.lustre: /dev/sdb is busy"


def test_pushes_reach_the_desktop():
    pushes: list[dict[str, Any]] = []
    _desktop, agent, pump = link(Clock(), pushes=pushes)
    pump.flush()
    agent.push({"kind": "stats", "records": [[1, 2.5]]})
    pump.flush()
    assert pushes == [{"kind": "stats", "records": [[1, 2.5]]}]


def test_a_silent_peer_is_cut_off_and_waiting_requests_fail_with_the_reason():
    clock = Clock()
    desktop, agent, pump = link(clock, on_request=lambda m: defer.Deferred())
    pump.flush()
    answer = results(desktop.request(Op.REQUEST, {"action_id": "slow"}))
    pump.flush()
    # The agent's host dies: nothing more arrives from it, not even heartbeats.
    agent.transport.write = lambda data: None  # type: ignore[method-assign]
    for _ in range(int(DEAD_AFTER_S / 5) + 2):
        clock.advance(5)
        pump.flush(advanceClock=False)
    (failure,) = answer
    assert failure.check(LinkError)
    assert "no word from oss1" in failure.getErrorMessage()
    assert desktop.closed_reason is not None


def test_heartbeats_keep_a_quiet_link_alive():
    clock = Clock()
    desktop, agent, pump = link(clock)
    pump.flush()
    for _ in range(40):
        clock.advance(5)
        pump.flush(advanceClock=False)
    assert desktop.closed_reason is None and agent.closed_reason is None


def test_garbage_closes_the_link_with_a_reason():
    desktop, agent, pump = link(Clock())
    pump.flush()
    agent.transport.write(b"\x00\x00\x00\x05hello")
    pump.flush()
    assert desktop.closed_reason is not None
    assert desktop.closed_reason.startswith("invalid message: the frame is not valid msgpack")
    assert agent.closed_reason is not None and "closed the link" in agent.closed_reason


def lone_desktop(clock: Clock) -> tuple[LinkProtocol, StringTransport]:
    """A desktop side whose peer the test plays by hand."""
    protocol = LinkProtocol(name="desktop", software_version="0.1.0", capabilities=[], clock=clock)
    transport = StringTransport()
    protocol.makeConnection(transport)
    return protocol, transport


def sent(transport: StringTransport) -> list[Message]:
    return FrameDecoder().feed(transport.value())


def test_a_peer_that_skips_hello_is_refused():
    desktop, transport = lone_desktop(Clock())
    desktop.dataReceived(encode(Message(Op.PUSH, 9, {"kind": "stats"})))
    assert desktop.closed_reason == "expected hello first, got push"
    assert sent(transport)[-1] == Message(Op.ERROR, 2, {"reason": desktop.closed_reason})
    assert transport.disconnecting


def test_versions_with_nothing_in_common_end_the_link_saying_so():
    desktop, transport = lone_desktop(Clock())
    ready = results(desktop.ready)
    desktop.dataReceived(
        encode(Message(Op.HELLO, 1, {"name": "oss9", "protocol_versions": [7, 8]}))
    )
    assert desktop.closed_reason is not None
    assert "no common protocol version: this side speaks [1], the peer [7, 8]" in (
        desktop.closed_reason
    )
    assert sent(transport)[-1].op == Op.ERROR
    desktop.connectionLost(Failure(ConnectionDone()))
    (failure,) = ready
    assert failure.check(LinkError)
    assert "upgrade the older of the two" in failure.getErrorMessage()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=8))
def test_any_bytes_from_a_peer_end_in_a_reason_or_nothing_never_a_crash(chunks: list[bytes]):
    desktop, transport = lone_desktop(Clock())
    desktop.dataReceived(encode(Message(Op.HELLO, 1, {"name": "oss1"})))
    for chunk in chunks:
        desktop.dataReceived(chunk)
    if desktop.closed_reason is not None:
        assert transport.disconnecting
        assert sent(transport)[-1].op == Op.ERROR
