"""A scheduler on a small cluster with fake agents, for the scheduler's tests."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from agentlink.commands import AgentCommandRenderer
from core.database import Database
from core.fakes import FakeAgentGateway, FakeClock
from core.models import Command, Filesystem, Host, Job, LNetConfiguration, Target, TargetMount
from core.scheduler import FILESYSTEM, HOST, LNET, TARGET, Ref, Scheduler, SchedulerEvent
from tests.core.cluster import build_small_filesystem


@dataclass
class Harness:
    database: Database
    scheduler: Scheduler
    gateway: FakeAgentGateway
    filesystem_id: int
    targets: dict[str, int]
    hosts: dict[str, int]
    events: list[SchedulerEvent] = field(default_factory=list)

    def target(self, name: str) -> Ref:
        return (TARGET, self.targets[name])

    def host(self, name: str) -> Ref:
        return (HOST, self.hosts[name])

    def lnet(self, name: str) -> Ref:
        return (LNET, self.hosts[name])

    @property
    def fs(self) -> Ref:
        return (FILESYSTEM, self.filesystem_id)

    def state(self, ref: Ref) -> str:
        """The state stored in the database, read afresh."""
        kind, ident = ref
        with self.database.session() as session:
            if kind == LNET:
                return str(
                    session.scalar(
                        select(LNetConfiguration.state).where(LNetConfiguration.host_id == ident)
                    )
                )
            model = {HOST: Host, TARGET: Target, FILESYSTEM: Filesystem}[kind]
            return str(session.scalar(select(model.state).where(model.id == ident)))

    def active_host(self, name: str) -> str | None:
        with self.database.session() as session:
            hosts = session.scalars(
                select(Host.address)
                .join(TargetMount, TargetMount.host_id == Host.id)
                .where(TargetMount.target_id == self.targets[name], TargetMount.active)
            ).all()
        assert len(hosts) <= 1
        return hosts[0].split(".")[0] if hosts else None

    def command(self, command_id: int) -> tuple[str, list[tuple[str, str, str | None]]]:
        with self.database.session() as session:
            command = session.get(Command, command_id)
            assert command is not None
            jobs = sorted(command.jobs, key=lambda j: j.id)
            return str(command.state), [(j.description, str(j.state), j.error) for j in jobs]

    def unfinished_jobs(self) -> list[str]:
        with self.database.session() as session:
            return [
                j.description
                for j in session.scalars(select(Job).where(Job.state.in_(["pending", "running"])))
            ]

    def actions(self) -> list[tuple[str, str]]:
        return [(r.action, r.host.split(".")[0]) for r in self.gateway.requests]


def make_harness(database: Database, *, running: bool = False, limit: int = 4) -> Harness:
    with database.session(actor="test") as session:
        filesystem = build_small_filesystem(session)
        hosts = {host.address.split(".")[0]: host.id for host in session.scalars(select(Host))}
        targets = {t.name: t.id for t in [filesystem.mgs, *filesystem.targets]}
        filesystem_id = filesystem.id
    gateway = FakeAgentGateway()
    harness_events: list[SchedulerEvent] = []
    scheduler = Scheduler(
        database,
        gateway,
        AgentCommandRenderer(),
        FakeClock(),
        per_server_limit=limit,
        publish=harness_events.append,
    )
    scheduler.start()
    harness = Harness(database, scheduler, gateway, filesystem_id, targets, hosts, harness_events)
    if running:
        scheduler.request_state(harness.fs, "available", actor="test", confirmed=True)
        assert harness.state(harness.fs) == "available"
        gateway.requests.clear()
        harness_events.clear()
    return harness
