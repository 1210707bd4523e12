"""Random sequences of requests, with agents that sometimes fail, never leave a lock held, a job
unfinished, or a state that disagrees with what the agents really did."""

from __future__ import annotations

import tempfile
from concurrent.futures import Future
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from core.database import open_database
from core.fakes import FakeAgentGateway, ScriptedReply
from core.models import Command, Job
from core.ports import ActionRequest, ActionResult, ActionStatus, OutputCallback
from core.scheduler.world import load_world
from tests.core.scheduler_harness import make_harness


class WatchedAgents(FakeAgentGateway):
    """Fake agents that remember where each target really is mounted."""

    def __init__(self) -> None:
        super().__init__()
        self.mounted: dict[str, str] = {}

    def run_action(
        self, request: ActionRequest, on_output: OutputCallback | None = None
    ) -> Future[ActionResult]:
        future = super().run_action(request, on_output)
        if future.result().status == ActionStatus.SUCCEEDED:
            mount_point = request.args.get("mount_point", "")
            if request.action == "mount_target":
                self.mounted[mount_point] = request.host
            elif request.action == "unmount_target":
                self.mounted.pop(mount_point, None)
        return future


OBJECTS = ["fs", "MGS", "fs1-MDT0000", "fs1-OST0000", "fs1-OST0001", "lnet:oss1", "lnet:oss2"]
ACTIONS = [
    "mount_target",
    "unmount_target",
    "stop_lnet",
    "start_lnet",
    "format_target",
    "purge_filesystem",
    "unconfigure_target_mount",
]

request_strategy = st.tuples(
    st.sampled_from(OBJECTS),
    st.integers(min_value=0, max_value=10),
    st.one_of(
        st.none(),
        st.tuples(st.sampled_from(ACTIONS), st.sampled_from(["oss1.lab", "oss2.lab", "mds1.lab"])),
    ),
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(request_strategy, min_size=1, max_size=6))
def test_random_requests_keep_the_model_true(requests: list) -> None:
    database = open_database(f"sqlite:///{Path(tempfile.mkdtemp()) / 'chroma.db'}")
    try:
        h = make_harness(database, running=True)
        agents = WatchedAgents()
        agents.mounted = {f"/mnt/{name}": f"{h.active_host(name)}.lab" for name in h.targets}
        h.scheduler.gateway = agents
        for name, choice, failure in requests:
            ref = (
                h.fs
                if name == "fs"
                else (h.lnet(name.split(":")[1]) if name.startswith("lnet:") else h.target(name))
            )
            options = h.scheduler.available_transitions(ref)
            if failure is not None:
                agents.script(failure[0], ScriptedReply(error="injected failure"), host=failure[1])
            if options:
                wanted = options[choice % len(options)].state
                # What a menu offers must plan; so no error is expected here.
                h.scheduler.request_state(ref, wanted, actor="fuzz", confirmed=True)
            if failure is not None:
                agents.script(failure[0], ScriptedReply(), host=failure[1])
            check_invariants(h, agents)
    finally:
        database.close()


def check_invariants(h, agents: WatchedAgents) -> None:
    scheduler = h.scheduler
    assert scheduler.idle
    assert scheduler.locks.holders() == set(), "a finished job still holds a lock"
    with h.database.session() as session:
        assert (
            session.scalars(
                select(Job.description).where(Job.state.in_(["pending", "running"]))
            ).all()
            == []
        )
        assert (
            session.scalars(
                select(Command.message).where(Command.state.in_(["pending", "running"]))
            ).all()
            == []
        )
        stored = load_world(session)
    for target_id, target in stored.targets.items():
        assert scheduler.world.targets[target_id].state == target.state
        where = agents.mounted.get(f"/mnt/{target.name}")
        if target.state == "mounted":
            assert target.active is not None
            assert where == stored.hosts[target.active.host_id].address, target.name
        elif target.state in ("unmounted", "registered", "formatted", "unformatted"):
            assert where is None, f"{target.name} is {target.state} but mounted on {where}"
            assert target.active is None
    for host_id, host in stored.hosts.items():
        assert scheduler.world.hosts[host_id].lnet_state == host.lnet_state
