"""Benchmark of the job scheduler: planning and running "start filesystem" at scale.

For filesystems of 1 MGT + 16 MDTs + N OSTs on HA pairs of servers (N = 500, 1000, 2000, 4000)
it prints one JSON object per line:
  n_targets                  MGT + MDTs + OSTs
  plan_ms                    planning "start the stopped filesystem" on the loaded model: the
                             best of 5 plans in a row (the machine may be busy with other work)
  load_ms, save_ms           reading the model from SQLite; saving the command and its jobs
  exec_overhead_ms_per_job   wall time of the whole run (save, dispatch, results, states) per
                             job, against an in-memory gateway that answers at once, so all
                             of it is the scheduler's own overhead
  jobs, peak_rss_mb
Each size runs in a fresh process so that peak RSS is its own. Targets (issue 4): plan_ms at
N = 4000 <= 100 and linear in N; exec overhead <= 1 ms per job.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIZES = (500, 1000, 2000, 4000)
MDTS = 16
OSTS_PER_SERVER = 8
PLAN_REPEATS = 5


def build(url: str, n_osts: int) -> int:
    from core import inventory
    from core.database import open_database
    from core.models import Host, Nid, Volume
    from core.states import FilesystemState, HostState, LNetState, TargetState

    database = open_database(url)
    with database.session() as session:
        counter = iter(range(1, 1_000_000))

        def pair(prefix: str, number: int) -> list[Host]:
            hosts = []
            for side in ("a", "b"):
                host = inventory.add_host(session, f"{prefix}{number}{side}.bench")
                host.state = HostState.CONFIGURED
                assert host.lnet is not None
                host.lnet.state = LNetState.UP
                n = next(counter)
                host.lnet.nids.append(
                    Nid(nid_string=f"10.{n // 65536}.{n // 256 % 256}.{n % 256}@tcp0")
                )
                hosts.append(host)
            return hosts

        def lun(serial: str, hosts: list[Host], flip: bool) -> Volume:
            volume = inventory.add_volume(session, serial=serial, size_bytes=1 << 44)
            first, second = (hosts[1], hosts[0]) if flip else (hosts[0], hosts[1])
            inventory.add_volume_node(session, volume, first, f"/dev/mapper/{serial}", primary=True)
            inventory.add_volume_node(session, volume, second, f"/dev/mapper/{serial}")
            return volume

        mgs_pair = pair("mgs", 0)
        mds_pairs = [pair("mds", p) for p in range(MDTS // 2)]
        mdts = [lun(f"mdt{i}", mds_pairs[i // 2], i % 2 == 1) for i in range(MDTS)]
        oss_pairs = [pair("oss", p) for p in range(-(-n_osts // (2 * OSTS_PER_SERVER)))]
        osts = [
            lun(f"ost{i}", oss_pairs[i // (2 * OSTS_PER_SERVER)], i % 2 == 1) for i in range(n_osts)
        ]
        filesystem = inventory.create_filesystem(
            session,
            "bench",
            mgt_volume=lun("mgt", mgs_pair, False),
            mdt_volumes=mdts,
            ost_volumes=osts,
        )
        for target in [filesystem.mgs, *filesystem.targets]:
            target.state = TargetState.UNMOUNTED
        filesystem.state = FilesystemState.STOPPED
        filesystem_id = filesystem.id
    database.close()
    return filesystem_id


def measure(n_osts: int) -> dict[str, float | int]:
    from agentlink.commands import AgentCommandRenderer
    from core.database import open_database
    from core.fakes import FakeAgentGateway, FakeClock
    from core.scheduler import FILESYSTEM, Scheduler
    from core.scheduler.planner import Planner
    from core.scheduler.world import load_world

    url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='chroma-bench-')) / 'bench.db'}"
    filesystem_id = build(url, n_osts)
    database = open_database(url)
    scheduler = Scheduler(database, FakeAgentGateway(), AgentCommandRenderer(), FakeClock())
    scheduler.start()
    ref = (FILESYSTEM, filesystem_id)

    started = time.perf_counter()
    with database.session() as session:
        world = load_world(session)
    load_ms = (time.perf_counter() - started) * 1000
    plan_times = []
    for _ in range(PLAN_REPEATS):
        started = time.perf_counter()
        plan = Planner(world, scheduler.locks).plan_state("Start bench", ref, "available")
        plan_times.append((time.perf_counter() - started) * 1000)
    jobs = len(plan.jobs)

    with database.session() as session:
        scheduler._refresh_world(session)
        saved = Planner(scheduler.world, scheduler.locks).plan_state(
            "Start bench", ref, "available"
        )
        started = time.perf_counter()
        command_id = scheduler._save(session, saved, "bench", confirmed=True)
    save_ms = (time.perf_counter() - started) * 1000  # includes the commit
    started = time.perf_counter()
    scheduler.pump()
    run_ms = (time.perf_counter() - started) * 1000
    assert scheduler.idle
    with database.session() as session:
        from core.models import Command

        command = session.get(Command, command_id)
        assert command is not None and command.state == "succeeded", command
    return {
        "n_targets": 1 + MDTS + n_osts,
        "plan_ms": round(min(plan_times), 2),
        "load_ms": round(load_ms, 2),
        "save_ms": round(save_ms, 2),
        "exec_overhead_ms_per_job": round((save_ms + run_ms) / jobs, 4),
        "jobs": jobs,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    options = parser.parse_args()
    if options.one:
        print(json.dumps(measure(options.one)))
        return
    for size in options.sizes:
        line = (
            subprocess.run(
                [sys.executable, __file__, "--one", str(size)],
                capture_output=True,
                text=True,
                check=True,
                cwd=Path(__file__).resolve().parents[1],
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        if options.json:
            print(line, flush=True)
        else:
            row = json.loads(line)
            print(", ".join(f"{k}={v}" for k, v in row.items()), flush=True)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
