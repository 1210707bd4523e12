"""End to end in memory: the scheduler plans, the gateway sends each step over a real link, the
agent's dispatcher runs the exact command lines through a recording runner, and the results
come back as the objects' new states. Then a link drops in the middle of an action."""

from __future__ import annotations

from twisted.internet.task import Clock
from twisted.test.iosim import IOPump, connectedServerAndClient

from agentlink.commands import AgentCommandRenderer
from agentlink.daemon.dispatch import ActionDispatcher, RecordingRunner
from agentlink.gateway import LinkGateway
from agentlink.protocol import LinkProtocol
from core.database import Database
from core.fakes import FakeClock
from core.ports import ActionRequest, ActionStatus
from core.scheduler import FILESYSTEM, Scheduler
from tests.core.cluster import FORMAT_OST1, build_small_filesystem

SERVERS = ("mds1.lab", "mds2.lab", "oss1.lab", "oss2.lab")


class Cluster:
    """Four agents, each behind its own in-memory link to the desktop's gateway."""

    def __init__(self) -> None:
        self.clock = Clock()
        self.gateway = LinkGateway(call_in_reactor=lambda work: work())
        self.runners: dict[str, RecordingRunner] = {}
        self.pumps: dict[str, IOPump] = {}
        self.links: dict[str, LinkProtocol] = {}
        for server in SERVERS:
            runner = self.runners[server] = RecordingRunner()
            dispatcher = ActionDispatcher(runner)

            def agent(name: str = server, handle=dispatcher.handle) -> LinkProtocol:
                return LinkProtocol(
                    name=name,
                    software_version="0.1.0",
                    capabilities=["lustre"],
                    clock=self.clock,
                    on_request=handle,
                )

            def desktop() -> LinkProtocol:
                return LinkProtocol(
                    name="desktop", software_version="0.1.0", capabilities=[], clock=self.clock
                )

            link, _agent, pump = connectedServerAndClient(agent, desktop, clock=self.clock)
            pump.flush()
            self.links[server], self.pumps[server] = link, pump
            self.gateway.attach(server, link)

    def run(self, scheduler: Scheduler) -> None:
        for _ in range(500):
            for pump in self.pumps.values():
                pump.flush(advanceClock=False)
            scheduler.pump()
            if scheduler.idle:
                return
        raise AssertionError("the scheduler never became idle")


def test_a_filesystem_is_created_over_real_links(sqlite_database: Database):
    with sqlite_database.session() as session:
        filesystem_id = build_small_filesystem(session).id
    cluster = Cluster()
    scheduler = Scheduler(sqlite_database, cluster.gateway, AgentCommandRenderer(), FakeClock())
    scheduler.start()
    scheduler.on_inbox = lambda: None
    command = scheduler.request_state(
        (FILESYSTEM, filesystem_id), "available", actor="alice", confirmed=True
    )
    cluster.run(scheduler)
    with sqlite_database.session() as session:
        from core.models import Command, Filesystem

        assert session.get(Command, command).state == "succeeded"
        assert session.get(Filesystem, filesystem_id).state == "available"
    oss2 = cluster.runners["oss2.lab"].ran
    assert FORMAT_OST1 in oss2
    assert ("mount", "-t", "lustre", "/dev/mapper/ost1", "/mnt/fs1-OST0001") in oss2
    assert ("lctl", "--version") in oss2, "the server was set up first"


def test_a_dropped_link_ends_the_action_as_outcome_unknown_and_never_resends_it(
    sqlite_database: Database,
):
    cluster = Cluster()
    cluster.runners["oss1.lab"].hold_commands = {"modprobe"}
    outcome = cluster.gateway.run_action(
        ActionRequest(action_id="step-1", host="oss1.lab", action="load_lnet")
    )
    cluster.pumps["oss1.lab"].flush()
    assert not outcome.done()
    cluster.links["oss1.lab"].transport.loseConnection()
    cluster.pumps["oss1.lab"].flush()
    result = outcome.result(timeout=1)
    assert result.status == ActionStatus.LOST
    assert "was lost" in (result.error or "")
    assert cluster.runners["oss1.lab"].ran == [("modprobe", "lnet")], "sent once, not again"
    refused = cluster.gateway.run_action(
        ActionRequest(action_id="step-2", host="oss1.lab", action="load_lnet")
    ).result(timeout=1)
    assert refused.status == ActionStatus.FAILED
    assert refused.error == "oss1.lab is not connected; the action was not sent"
