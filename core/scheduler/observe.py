"""What an agent's report of its server says about the model's states: the audit from the agents.

Layer: core. Thread: the database worker's (the scheduler calls it). An agent reports its LNet
state and the Lustre devices mounted on its server whenever they change and each time its link
comes up, so after a crash of the desktop, a lost link or a change made by hand on the server,
the model is corrected from what the servers say instead of what was last assumed. Only objects
that no job is changing are corrected (a running job owns its object's state until it ends), and
only between states the agent can see: LNet unloaded/down/up, and a registered target mounted
here or not. Mounted Lustre targets the model does not know are left to `core.scheduler.imports`,
which imports them as monitor-only objects before these corrections are worked out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from core.scheduler.locks import LockTable
from core.scheduler.world import LNET, TARGET, Ref, World
from core.states import LNetState, TargetState

_LNET_SEEN = {"unloaded": LNetState.UNLOADED, "loaded": LNetState.DOWN, "up": LNetState.UP}
_MOUNTABLE = (TargetState.UNMOUNTED, TargetState.MOUNTED)


@dataclass(frozen=True)
class ReportedMount:
    """One Lustre target mounted on the server."""

    label: str
    """"MGS", "fs2-OST0003"; "fs2:OST0003" for a target never registered with its MGS."""
    device: str
    mount_point: str
    mgs_nids: tuple[str, ...] = ()
    """An MDT's or OST's MGS NIDs, when the agent could read them."""


@dataclass(frozen=True)
class LustreReport:
    """One server's view of itself, as its agent reports it."""

    lnet: str
    """"unloaded", "loaded" (LNet down) or "up"."""
    mounted_devices: frozenset[str]
    """The device paths of the Lustre targets mounted on the server now."""
    mounts: tuple[ReportedMount, ...] = ()
    """The same targets with their labels: what an import of unknown ones needs."""
    nids: tuple[str, ...] = ()
    received_at: datetime | None = None
    """When the desktop received it (its own clock); None: as new as anything known."""
    pools: Mapping[str, Mapping[str, tuple[str, ...]]] | None = None
    """Only from a server running an MGS: per filesystem name, its OST pools and their OSTs
    (`lctl pool_list`). None: not reported."""


@dataclass(frozen=True)
class Correction:
    ref: Ref
    state: str
    active_host_id: int | None = None
    """For a target: where it runs now (None: nowhere)."""


def corrections(
    world: World, locks: LockTable, host_id: int, report: LustreReport
) -> list[Correction]:
    """The state changes `report` from host `host_id` calls for, for objects no job holds."""
    found: list[Correction] = []
    host = world.hosts.get(host_id)
    if host is None:
        return found
    lnet = _LNET_SEEN.get(report.lnet)
    lnet_ref = (LNET, host_id)
    if lnet is not None and host.lnet_state != lnet and not locks.write_locked(lnet_ref):
        found.append(Correction(lnet_ref, lnet.value))
    for target_id in world.targets_by_host.get(host_id, ()):
        target = world.targets[target_id]
        ref = (TARGET, target_id)
        if target.state not in _MOUNTABLE or locks.write_locked(ref):
            continue
        here = next(m for m in target.mounts if m.host_id == host_id)
        active = target.active
        if here.device in report.mounted_devices:
            if target.state != TargetState.MOUNTED or active is not here:
                found.append(Correction(ref, TargetState.MOUNTED.value, host_id))
        elif active is here or (target.state == TargetState.MOUNTED and active is None):
            found.append(Correction(ref, TargetState.UNMOUNTED.value, None))
    return found
