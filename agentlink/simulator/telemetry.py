"""The simulated users of a filesystem and what the servers' statistics say about them.

Layer: agentlink.simulator (standard library only). Thread: the reactor thread (the samplers
update the model's counters); the workload functions are pure. How many clients a filesystem
has and how hard they work are deterministic functions of the seed, the filesystem and the
time: a 30-minute cycle (busy, then quiet, so a demo shows both within one sitting),
checkpoint bursts in some two-minute windows, a read share that rises as writes fall, and
client counts that drift by a few every ten minutes. The samplers turn one collect interval of
that workload into the numbers the real agent reads from /proc (cumulative counters, gauges)
and into the odd eviction or reconnect line a busy filesystem logs.
"""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass, field
from typing import Final

from agentlink.simulator.model import (
    GIB,
    KIB,
    LnetState,
    Lun,
    LustreTarget,
    ServerState,
    seeded,
)

CYCLE_S: Final = 1800.0
BURST_WINDOW_S: Final = 120.0
CLIENT_DRIFT_S: Final = 600.0
PEAK_OST_WRITE_BPS: Final = 400e6
PEAK_OST_READ_BPS: Final = 300e6
FULL_LOAD_CLIENTS: Final = 24
"""With this many clients or more, the OSTs see their full share of the workload."""

MDT_OPERATION_MIX: Final = {
    "getattr": 0.30,
    "open": 0.16,
    "close": 0.16,
    "getxattr": 0.10,
    "setattr": 0.06,
    "statfs": 0.05,
    "mknod": 0.06,
    "unlink": 0.05,
    "mkdir": 0.02,
    "rmdir": 0.01,
    "rename": 0.02,
    "link": 0.01,
}
RPC_BYTES: Final = 1024 * 1024
AVERAGE_FILE_BYTES: Final = 64 * 1024 * 1024
HZ: Final = 100
SWAP_KB: Final = 8 * GIB // KIB


@dataclass(frozen=True)
class Workload:
    """What one average OST and each client see at one moment."""

    ost_write_bps: float
    ost_read_bps: float
    metadata_ops_per_client: float
    checkpoint: bool


def workload(seed: int, fsname: str, t: float) -> Workload:
    phase = seeded(seed, fsname, "phase").random()
    cycle = 0.5 + 0.5 * math.sin(2 * math.pi * (t / CYCLE_S + phase))
    checkpoint = seeded(seed, fsname, "burst", int(t // BURST_WINDOW_S)).random() < 0.2
    write = PEAK_OST_WRITE_BPS * (0.1 + 0.55 * cycle) * (2.2 if checkpoint else 1.0)
    read = PEAK_OST_READ_BPS * (0.05 + 0.6 * (1 - cycle))
    return Workload(
        ost_write_bps=min(write, 1.4 * PEAK_OST_WRITE_BPS),
        ost_read_bps=read,
        metadata_ops_per_client=4.0 + 16.0 * cycle,
        checkpoint=checkpoint,
    )


def ost_weight(seed: int, label: str) -> float:
    """Striping is never perfectly even: some OSTs take a little more than others."""
    return seeded(seed, label, "weight").uniform(0.75, 1.25)


def simulated_clients(seed: int, fsname: str, t: float) -> int:
    """The compute nodes that have the filesystem mounted at time `t`."""
    base = seeded(seed, fsname, "clients").randint(12, 48)
    drift = seeded(seed, fsname, "clients", int(t // CLIENT_DRIFT_S)).randint(-3, 3)
    return max(1, base + drift)


def client_nid(seed: int, fsname: str, number: int) -> str:
    """Compute nodes live on their own subnet, away from the servers' 10.0.0.x."""
    offset = seeded(seed, fsname, "client-subnet").randrange(0, 200)
    host = offset + number
    return f"10.0.{100 + host // 254}.{host % 254 + 1}@tcp"


def client_uuid(seed: int, fsname: str, number: int) -> str:
    return str(uuid.UUID(int=seeded(seed, fsname, "client", number).getrandbits(128), version=4))


def new_uuid(*parts: object) -> str:
    return str(uuid.UUID(int=seeded(*parts).getrandbits(128), version=4))


def duration_text(seconds: float) -> str:
    """Lustre writes recovery times as m:ss."""
    whole = max(0, int(seconds))
    return f"{whole // 60}:{whole % 60:02d}"


# --- samplers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    """One collect: the time it reports, the seconds since the previous one, its random draws."""

    seed: int
    now: float
    dt: float
    rng: random.Random

    @property
    def middle(self) -> float:
        """Rates are taken at the middle of the interval."""
        return self.now - self.dt / 2

    def moment(self) -> float:
        """A random moment within the interval, for something that happened during it."""
        return self.now - self.rng.uniform(0, self.dt)


@dataclass
class Sample:
    """What one subject (a target, "node", "lnet") reports for one interval."""

    values: dict[str, float] = field(default_factory=dict)
    logs: list[tuple[float, str]] = field(default_factory=list)
    load: float = 0.0
    """Bytes moved (OST) or operations served (MDT) in the interval: the server's CPU follows."""


def _add(counters: dict[str, float], name: str, amount: float) -> float:
    counters[name] = counters.get(name, 0.0) + amount
    return counters[name]


def sample_ost(
    interval: Interval,
    lun: Lun,
    target: LustreTarget,
    *,
    clients: int,
    mdts: int,
    recovering: bool,
    disk_full: bool,
) -> Sample:
    rng = interval.rng
    label, fsname = target.label, target.fsname or ""
    share = 0.0
    if clients and not recovering:  # clients wait for recovery before they do any I/O
        share = ost_weight(interval.seed, label) * min(1.0, clients / FULL_LOAD_CLIENTS)
    load = workload(interval.seed, fsname, interval.middle)
    total_kb = target.kbytes_total(lun.size_bytes)
    full = disk_full or target.used_kb >= total_kb
    written = 0.0 if full else load.ost_write_bps * share * rng.uniform(0.9, 1.1) * interval.dt
    read = load.ost_read_bps * share * rng.uniform(0.9, 1.1) * interval.dt
    created = written / AVERAGE_FILE_BYTES
    # Users delete as well as write; past 85 % full they clean up more than they add.
    keep = 0.3 if target.used_kb < 0.85 * total_kb else -0.4
    destroyed = created * (0.7 if keep > 0 else 1.4)
    floor_kb = total_kb // 2500
    target.used_kb = int(min(total_kb, max(floor_kb, target.used_kb + written / KIB * keep)))
    target.used_inodes = int(
        min(target.inode_count, max(43, target.used_inodes + created - destroyed))
    )
    kbytes_free = 0 if disk_full else total_kb - target.used_kb
    granted_kb = clients * 64 * 1024 * (0.5 + 0.5 * share)
    sample = Sample(
        values={
            "kbytestotal": total_kb,
            "kbytesfree": kbytes_free,
            "kbytesavail": max(0, kbytes_free - total_kb // 100),
            "filestotal": target.inode_count,
            "filesfree": target.inode_count - target.used_inodes,
            # Every client and every MDT of the filesystem holds an export on each OST.
            "num_exports": clients + mdts,
            "tot_granted": int(granted_kb) * KIB,
            "tot_dirty": int(granted_kb * 0.05 * share) * KIB,
            "tot_pending": 0,
        },
        load=read + written,
    )
    dt = interval.dt
    for name, amount in (
        ("read_bytes", read),
        ("write_bytes", written),
        ("read", read / RPC_BYTES),
        ("write", written / RPC_BYTES),
        ("create", created / 32),  # the MDT precreates objects in batches
        ("destroy", destroyed),
        ("punch", created * 0.1),
        ("statfs", clients * dt / 15),
        ("ping", clients * dt / 25),  # each client pings each target every 25 s
    ):
        sample.values[name] = float(int(_add(lun.counters, name, amount)))
    if full and share and rng.random() < min(1.0, dt / 60):
        client = client_uuid(interval.seed, fsname, rng.randrange(max(1, clients)))
        sample.logs.append(
            (
                interval.moment(),
                f"LustreError: 21833:0:(tgt_grant.c:1140:tgt_grant_alloc()) {label}: cli "
                f"{client} no space left for write: rc = -28 (No space left on device)",
            )
        )
    sample.logs += background_logs(interval, label, fsname, clients, f"filter-{label}_UUID")
    return sample


def sample_mdt(
    interval: Interval,
    lun: Lun,
    target: LustreTarget,
    *,
    clients: int,
    mdts: int,
    recovering: bool,
) -> Sample:
    label, fsname = target.label, target.fsname or ""
    ops = 0.0
    if clients and not recovering:
        per_client = workload(interval.seed, fsname, interval.middle).metadata_ops_per_client
        ops = clients * per_client * interval.dt / max(1, mdts)
    values: dict[str, float] = {}
    for name, fraction in MDT_OPERATION_MIX.items():
        amount = ops * fraction * interval.rng.uniform(0.9, 1.1)
        values[name] = float(int(_add(lun.counters, name, amount)))
    mix = MDT_OPERATION_MIX
    new_files = ops * (mix["mknod"] + mix["mkdir"] - mix["unlink"] - mix["rmdir"])
    target.used_inodes = int(min(target.inode_count, target.used_inodes + new_files))
    total_kb = target.kbytes_total(lun.size_bytes)
    target.used_kb = int(min(total_kb, target.used_kb + new_files * 4))
    gauges = {
        "kbytestotal": total_kb,
        "kbytesfree": total_kb - target.used_kb,
        "kbytesavail": total_kb - target.used_kb,
        "filestotal": target.inode_count,
        "filesfree": target.inode_count - target.used_inodes,
        # IML counted clients as num_exports - 1 (the MDT's own lwp export).
        "num_exports": clients + 1,
    }
    return Sample(
        values={**{k: float(v) for k, v in gauges.items()}, **values},
        logs=background_logs(interval, label, fsname, clients, f"mdt-{label}_UUID"),
        load=ops,
    )


def sample_node(
    interval: Interval, state: ServerState, moved_bytes: float, metadata_ops: float
) -> list[tuple[str, Sample]]:
    """/proc/stat, /proc/meminfo and (while LNet is up) /proc/sys/lnet/stats."""
    rng, dt = interval.rng, interval.dt
    counters = state.counters
    if "cpu_total" not in counters:
        # /proc/stat counts from boot: a server up for weeks has large counters already.
        uptime_jiffies = max(0.0, interval.now - state.boot_time) * HZ * state.cpus
        for name, share in (("user", 0.03), ("system", 0.05), ("iowait", 0.02), ("idle", 0.9)):
            counters[f"cpu_{name}"] = uptime_jiffies * share
        counters["cpu_total"] = uptime_jiffies
    jiffies = dt * HZ * state.cpus
    rate = moved_bytes / dt if dt else 0.0
    ops_rate = metadata_ops / dt if dt else 0.0
    busy = min(0.92, 0.02 + 0.5 * rate / 3e9 + 0.3 * ops_rate / 20000 + rng.uniform(0, 0.02))
    for name, share in (("user", 0.15), ("system", 0.55), ("iowait", 0.30)):
        counters[f"cpu_{name}"] += jiffies * busy * share
    counters["cpu_idle"] += jiffies * (1 - busy)
    counters["cpu_total"] += jiffies
    node = Sample()
    for name in ("user", "system", "idle", "iowait", "total"):
        node.values[f"cpu_{name}"] = float(int(counters[f"cpu_{name}"]))
    total = state.mem_total_kb
    cache = total * (0.3 + 0.4 * min(1.0, rate / 1e9)) * rng.uniform(0.97, 1.03)
    node.values.update(
        mem_MemTotal=float(total),
        mem_MemFree=float(int(max(total * 0.02, total - 6 * GIB // KIB - cache))),
        mem_SwapTotal=float(SWAP_KB),
        mem_SwapFree=float(SWAP_KB - 1024 * (state.cpus // 8)),
    )
    samples = [("node", node)]
    if state.lnet == LnetState.UP:
        messages = (moved_bytes / RPC_BYTES + metadata_ops) * 2 + dt * 4
        lnet = Sample()
        for name in ("send_count", "recv_count"):
            total_messages = _add(counters, f"lnet_{name}", messages * rng.uniform(0.98, 1.02))
            lnet.values[name] = float(int(total_messages))
        lnet.values["errors"] = 0.0
        samples.append(("lnet", lnet))
    return samples


def background_logs(
    interval: Interval, label: str, fsname: str, clients: int, namespace: str
) -> list[tuple[float, str]]:
    """Now and then a client is evicted or reconnects, as on any busy filesystem."""
    rng, dt, seed = interval.rng, interval.dt, interval.seed
    if not clients or not dt:
        return []
    lines: list[tuple[float, str]] = []
    if rng.random() < dt / 3600:  # about one eviction per target per hour
        number = rng.randrange(clients)
        lines.append(
            (
                interval.moment(),
                f"LustreError: 0:0:(ldlm_lockd.c:261:expired_lock_main()) ### lock callback "
                f"timer expired after {rng.randrange(100, 400)}s: evicting client at "
                f"{client_nid(seed, fsname, number)}  ns: {namespace} lock: "
                f"{rng.getrandbits(64):016x}/0x{rng.getrandbits(64):x} lrc: 3/0,0 mode: PW/PW",
            )
        )
    if rng.random() < dt / 1800:
        number = rng.randrange(clients)
        when = interval.moment()
        who = f"{client_uuid(seed, fsname, number)} (at {client_nid(seed, fsname, number)})"
        lines.append((when, f"Lustre: {label}: Client {who} reconnecting"))
        lines.append((when + 0.001, f"Lustre: {label}: Connection restored to {who}"))
    return lines
