"""A real link on loopback: the agent listens with mutual TLS, the desktop connects with its
client certificate, and an action travels through the gateway and back. Only 127.0.0.1."""

from __future__ import annotations

from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path

from twisted.internet.protocol import ClientFactory, Factory
from twisted.protocols.tls import TLSMemoryBIOFactory

from agentlink.authority import DesktopAuthority
from agentlink.daemon.dispatch import ActionDispatcher, RecordingRunner
from agentlink.daemon.pki import AgentIdentity, make_csr
from agentlink.gateway import LinkGateway
from agentlink.protocol import LinkProtocol
from agentlink.runtime import ReactorThread
from core.fakes import MemorySecretStore
from core.ports import ActionRequest, ActionStatus


def test_an_action_over_mutual_tls_on_loopback(tmp_path: Path, reactor_thread: ReactorThread):
    now = datetime.now(UTC)
    authority = DesktopAuthority(MemorySecretStore(), tmp_path / "desktop").load_or_create(now)
    state = tmp_path / "oss1"
    state.mkdir(mode=0o700)
    identity = AgentIdentity(state).load_or_create("oss1.lab")
    certificate = authority.issue_agent_certificate(make_csr(identity.key_pem, "oss1"), "oss1")
    identity.install_certificate(certificate, authority.ca_pem)
    runner = RecordingRunner()
    dispatcher = ActionDispatcher(runner)
    clock = reactor_thread.clock

    agent_factory = TLSMemoryBIOFactory(
        identity.server_tls_options(),
        False,
        Factory.forProtocol(
            lambda: LinkProtocol(
                name="oss1.lab",
                software_version="0.1.0",
                capabilities=["lustre"],
                clock=clock,
                on_request=dispatcher.handle,
            )
        ),
    )
    port = reactor_thread.call_and_wait(
        lambda: reactor_thread.reactor.listenTCP(0, agent_factory, interface="127.0.0.1")
    )
    gateway = LinkGateway(call_in_reactor=reactor_thread.call)
    ready: Future[LinkProtocol] = Future()

    def desktop() -> LinkProtocol:
        link = LinkProtocol(name="desktop", software_version="0.1.0", capabilities=[], clock=clock)
        link.ready.addCallbacks(
            lambda _: (gateway.attach("oss1.lab", link), ready.set_result(link)),
            lambda failure: ready.set_exception(failure.value),
        )
        return link

    desktop_factory = TLSMemoryBIOFactory(
        authority.client_tls_options(None), True, ClientFactory.forProtocol(desktop)
    )
    reactor_thread.call(
        lambda: reactor_thread.reactor.connectTCP("127.0.0.1", port.getHost().port, desktop_factory)
    )
    try:
        link = ready.result(timeout=10)
        assert link.peer is not None and link.peer.name == "oss1.lab"
        result = gateway.run_action(
            ActionRequest(action_id="step-1", host="oss1.lab", action="load_lnet")
        ).result(timeout=10)
        assert result.status == ActionStatus.SUCCEEDED
        assert runner.ran == [("modprobe", "lnet")]
    finally:
        if ready.done() and not ready.exception():
            reactor_thread.call(lambda: ready.result().transport.loseConnection())
        reactor_thread.call_and_wait(port.stopListening)
