"""Every transition of every state machine the scheduler drives, planned and run against fake
agents: the object ends in the wanted state and the transition's own job did it."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from core import inventory
from core.database import Database
from core.models import ClientMount, Filesystem, Host, LNetConfiguration, Nid, Target, TargetMount
from core.scheduler import CLIENT_MOUNT, FILESYSTEM, HOST, LNET, TARGET, Ref
from core.states import MACHINES, HostState, LNetState
from tests.core.scheduler_harness import Harness, make_harness

DRIVEN = {
    "server": HOST,
    "LNet": LNET,
    "target": TARGET,
    "filesystem": FILESYSTEM,
    "client mount": CLIENT_MOUNT,
}
NOT_DRIVEN = {"power outlet"}  # power control arrives with its own issue

EDGES = [
    (machine.subject, source.value, transition.target.value, transition.job)
    for machine in MACHINES.values()
    if machine.subject in DRIVEN
    for transition in machine.transitions
    for source in sorted(transition.sources)
]


def test_the_scheduler_drives_every_machine_but_power():
    assert set(MACHINES) == set(DRIVEN) | NOT_DRIVEN


def add_spare_server(database: Database, name: str, host_state: str, lnet_state: str) -> int:
    with database.session() as session:
        host = inventory.add_host(session, f"{name}.lab")
        host.state = HostState(host_state)
        assert host.lnet is not None
        host.lnet.state = LNetState(lnet_state)
        host.lnet.nids.append(Nid(nid_string="10.0.0.99@tcp0"))
        return host.id


def put_in_state(h: Harness, subject: str, state: str) -> Ref:
    """An object of `subject` in `state`, everything around it able to serve it."""
    with h.database.session() as session:
        if subject == "server":
            return (HOST, add_spare_server(h.database, "spare", state, "unknown"))
        if subject == "LNet":
            return (LNET, add_spare_server(h.database, "spare", "configured", state))
        if subject == "target":
            target_id = h.targets["fs1-OST0001"]
            session.execute(update(Target).where(Target.id == target_id).values(state=state))
            session.execute(
                update(TargetMount)
                .where(TargetMount.target_id == target_id)
                .values(active=TargetMount.failover_order == 0 if state == "mounted" else False)
            )
            return (TARGET, target_id)
        if subject == "filesystem":
            session.execute(
                update(Filesystem).where(Filesystem.id == h.filesystem_id).values(state=state)
            )
            return (FILESYSTEM, h.filesystem_id)
    client_id = add_spare_server(h.database, "client", "configured", "up")
    with h.database.session() as session:
        mount = ClientMount(
            host_id=client_id, filesystem_id=h.filesystem_id, mountpoint="/mnt/fs1", state=state
        )
        session.add(mount)
        session.flush()
        return (CLIENT_MOUNT, mount.id)


def stored_state(h: Harness, ref: Ref) -> str:
    kind, ident = ref
    model = {HOST: Host, TARGET: Target, FILESYSTEM: Filesystem, CLIENT_MOUNT: ClientMount}
    with h.database.session() as session:
        if kind == LNET:
            return str(
                session.query(LNetConfiguration.state)
                .filter(LNetConfiguration.host_id == ident)
                .scalar()
            )
        return str(session.get(model[kind], ident).state)


@pytest.mark.parametrize(
    ("subject", "source", "target", "job"), EDGES, ids=[f"{s}:{a}->{b}" for s, a, b, _ in EDGES]
)
def test_every_transition_runs(
    database: Database, subject: str, source: str, target: str, job: str
):
    h = make_harness(database, running=True)
    ref = put_in_state(h, subject, source)
    plan = h.scheduler.preview_state(ref, target)
    assert plan.jobs[-1].kind == job
    command_id = h.scheduler.request_state(ref, target, actor="test", confirmed=True)
    state, jobs = h.command(command_id)
    assert state == "succeeded", jobs
    assert stored_state(h, ref) == target
    assert h.scheduler.idle
