"""The live demo: a simulated eight-server cluster, paired, with a filesystem created and started
through the real scheduler, the real agents and real TLS links.

Layer: chroma_desktop (no Qt). Threads: `run_demo` runs on the caller's thread and only waits;
the simulated servers and the links run on the reactor thread, the scheduler on the database
worker (see manager.py). The simulator's agents listen on 127.0.0.1 only; the demo's CA and keys
live in memory (a throwaway secret store), so nothing of the demo outlives it but its
CHROMA_HOME. Steps, each shown as it happens:

1. start the simulator (sim-mds1/2 as an HA pair, sim-oss1…6 in three pairs);
2. pair every server with the simulator's token and keep a link to it;
3. wait for the storage plugins to turn the device reports into shared volumes;
4. show the plan of "create demofs" (MGT, MDT and eight OSTs chosen from those volumes) with the
   exact command lines of one OST, then run it and follow its jobs to the end;
5. show the filesystem, its targets and where each runs, and the statistics arriving.
"""

from __future__ import annotations

import shlex
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from agentlink.runtime import ReactorThread
from agentlink.simulator.cluster import SimulatedCluster
from agentlink.simulator.network import SimulatedNetwork
from chroma_desktop.manager import Manager
from core.database import Database
from core.errors import ChromaError
from core.fakes import MemorySecretStore
from core.models import Command, Filesystem, Host, Target, Volume, VolumeNode
from core.records import filesystem_record
from core.scheduler import CommandChanged, FilesystemRequest, JobChanged, PlanPreview, Scheduler
from core.version import installed_version
from plugins.runner import PluginOutcome

DEMO_TOKEN = "DEM00-C1AST-ERT0K-EN000"  # noqa: S105 (the simulator's, printed in the docs)
FSNAME = "demofs"
OSTS = 8
STEP_TIMEOUT_S = 120.0
GIB = 1 << 30


class DemoError(ChromaError):
    """The demo could not go on; the message says where it stopped."""


@dataclass(frozen=True)
class DemoChoice:
    mgt: int
    mdt: int
    osts: tuple[int, ...]


def run_demo(
    database: Database,
    home: Path,
    reactor_thread: ReactorThread,
    *,
    out: Callable[[str], None] = print,
) -> int:
    """The demo in a terminal: every step printed as it happens; 0 when demofs is running."""
    reactor_thread.start()
    out(f"Chroma Desktop {installed_version()}: live demo on a simulated cluster")
    out(f"Everything is kept in {home}")
    cluster, network = start_demo_cluster(reactor_thread, home / "simulator")
    manager = Manager(database, MemorySecretStore(), home / "config", reactor_thread)
    manager.start()
    try:
        return 0 if populate_demo(manager, cluster, network, out=out) == "succeeded" else 1
    finally:
        manager.stop()
        reactor_thread.call_and_wait(network.stop)


def start_demo_cluster(
    reactor_thread: ReactorThread, state_dir: Path
) -> tuple[SimulatedCluster, SimulatedNetwork]:
    """The eight simulated servers, listening on 127.0.0.1 (the reactor thread must run)."""
    return reactor_thread.call_and_wait(lambda: _start_simulator(reactor_thread.reactor, state_dir))


def populate_demo(
    manager: Manager,
    cluster: SimulatedCluster,
    network: SimulatedNetwork,
    *,
    out: Callable[[str], None] = print,
) -> str:
    """Pair every simulated server with a started `manager`, wait for their volumes, then plan,
    show and run "create demofs"; the command's final state. Runs on a thread of its own: it
    only waits on the manager's futures."""
    finished = threading.Event()
    outcome: dict[int, str] = {}
    jobs_done: list[int] = []

    plugins_reported = threading.Event()

    def on_event(event: object) -> None:
        if isinstance(event, PluginOutcome):
            plugins_reported.set()
        if isinstance(event, JobChanged) and event.state.finished:
            jobs_done.append(event.job_id)
            if event.state != "succeeded":
                out(f"    job {event.job_id} {event.state}: {event.error}")
            elif len(jobs_done) % 10 == 0:
                out(f"    {len(jobs_done)} jobs done …")
        if isinstance(event, CommandChanged) and event.state.finished:
            outcome[event.command_id] = event.state
            finished.set()

    database = manager.database
    manager.listeners.append(on_event)
    try:
        out(f"1. Simulator: {len(cluster.servers)} servers on 127.0.0.1")
        out("2. Pairing each server with the simulator's token:")
        for name in cluster.servers:
            paired = manager.pair_server(f"127.0.0.1:{network.ports[name]}", DEMO_TOKEN).result(
                STEP_TIMEOUT_S
            )
            out(f"    {paired.name:<10} at {paired.address:<16} pinned {paired.fingerprint[:23]}…")
        expected = sum(
            1
            for name in cluster.servers
            for d in cluster.server(name).devices()
            if not d["filesystem"]
        )
        out("3. Waiting for the device reports to become volumes …")
        _wait(lambda: _volume_nodes(database) >= expected, plugins_reported, "the volumes")
        choice = database_call(manager, _choose_volumes)
        out(f"    {_volume_count(database)} shared volumes on {len(cluster.servers) // 2} HA pairs")
        request = FilesystemRequest(
            name=FSNAME,
            mgt_volume_id=choice.mgt,
            mdt_volume_ids=(choice.mdt,),
            ost_volume_ids=choice.osts,
        )
        plan = manager.run(lambda s: s.preview_create_filesystem(request)).result(STEP_TIMEOUT_S)
        out("4. " + "\n".join(describe_plan(plan, f"{FSNAME}-OST0000")))
        command_id = manager.run(lambda s: _create(s, request)).result(STEP_TIMEOUT_S)
        out(f"    running command {command_id} …")
        deadline = time.monotonic() + STEP_TIMEOUT_S * 3
        while command_id not in outcome:
            finished.wait(1.0)
            finished.clear()
            if time.monotonic() > deadline:
                raise DemoError(f"Command {command_id} did not finish in time.")
        out(f"    command {command_id}: {outcome[command_id]}")
        out("5. " + "\n".join(database_call(manager, _describe_filesystem)))
        return outcome[command_id]
    finally:
        manager.listeners.remove(on_event)


def _create(scheduler: Scheduler, request: FilesystemRequest) -> int:
    return scheduler.create_filesystem(request, actor="demo", confirmed=True)


def _start_simulator(reactor: Any, state_dir: Path) -> tuple[SimulatedCluster, SimulatedNetwork]:
    cluster = SimulatedCluster.open(state_dir, clock=reactor)
    network = SimulatedNetwork(
        cluster,
        state_dir,
        reactor=reactor,
        software_version=installed_version(),
        pairing_token=DEMO_TOKEN,
        report_interval_s=2.0,
    )
    network.start()
    cluster.start()
    return cluster, network


def database_call(manager: Manager, work: Callable[[Session], Any]) -> Any:
    future: Future[Any] = manager.worker.submit(work)
    return future.result(STEP_TIMEOUT_S)


def _wait(ready: Callable[[], bool], news: threading.Event, what: str) -> None:
    """Check `ready` each time the plugins report a change (`news`), until it holds."""
    deadline = time.monotonic() + STEP_TIMEOUT_S
    while not ready():
        left = deadline - time.monotonic()
        if left <= 0:
            raise DemoError(f"The demo gave up waiting for {what}.")
        news.wait(min(left, 1.0))  # the 1 s bound re-checks a change that raced the clear
        news.clear()


def _volume_nodes(database: Database) -> int:
    with database.session() as session:
        return len(
            session.scalars(select(VolumeNode.id).where(VolumeNode.deleted_at.is_(None))).all()
        )


def _volume_count(database: Database) -> int:
    with database.session() as session:
        return len(session.scalars(select(Volume.id).where(Volume.deleted_at.is_(None))).all())


def _choose_volumes(session: Session) -> DemoChoice:
    """The smallest volume of the metadata pair for the MGT, the next for the MDT, and the
    object servers' volumes for the OSTs."""
    metadata: list[Volume] = []
    storage: list[Volume] = []
    for volume in session.scalars(select(Volume).where(Volume.deleted_at.is_(None))):
        hosts = {node.host.nodename or "" for node in volume.nodes if node.deleted_at is None}
        (metadata if any("mds" in h for h in hosts) else storage).append(volume)
    metadata.sort(key=lambda v: (v.size_bytes or 0, v.id))
    storage.sort(key=lambda v: v.id)
    if len(metadata) < 2 or len(storage) < 1:
        raise DemoError("The simulated servers reported too few volumes for a filesystem.")
    return DemoChoice(metadata[0].id, metadata[1].id, tuple(v.id for v in storage[:OSTS]))


def describe_plan(plan: PlanPreview, target: str) -> list[str]:
    """The dry run an admin sees first: its size, and every step and exact command line for
    one of its targets."""
    servers = {step.host for job in plan.jobs for step in job.steps if step.host}
    lines = [
        f"Plan '{plan.message}': {len(plan.jobs)} jobs on {len(servers)} servers, "
        "run in parallel where their dependencies allow.",
        f"    Confirm first: {' '.join(plan.confirmations)}",
        f"    The jobs of {target} and what they run:",
    ]
    for job in plan.jobs:
        if job.subject != target:
            continue
        lines.append(f"      {job.description}")
        for step in job.steps:
            lines.append(f"        on {step.host}: {step.description}")
            lines += [f"          $ {shlex.join(argv)}" for argv in step.command_lines]
    return lines


def _describe_filesystem(session: Session) -> list[str]:
    filesystem = session.scalars(select(Filesystem).where(Filesystem.name == FSNAME)).one()
    record = filesystem_record(filesystem)
    targets: list[Target] = [filesystem.mgs, *filesystem.live_targets()]
    lines = [f"Filesystem {record.name} is {record.state}, {len(targets)} targets:"]
    for target in targets:
        active = target.active_mount
        where = active.host.nodename if active is not None else "nowhere"
        size = (target.volume.size_bytes or 0) / GIB
        lines.append(f"    {target.name:<16} {target.state:<10} {size:>8.0f} GiB  runs on {where}")
    lines.append(
        f"    Clients mount it with: mount -t lustre {record.mount_path} /mnt/{record.name}"
    )
    commands = session.scalar(select(Command.id).order_by(Command.id.desc()).limit(1))
    hosts = session.scalars(select(Host.nodename).where(Host.deleted_at.is_(None))).all()
    lines.append(f"    {len(hosts)} servers managed; last command {commands}")
    return lines
