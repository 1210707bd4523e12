"""What each state needs and what each job does: the rules the planner and the runner follow.

Layer: core. Thread: the database worker's (pure functions of a World). Three sources of
dependencies, as in IML: a job's *needs* (must hold before it runs), a state's *requirements*
(must hold while an object is in it, each with the fix state its holder takes if it breaks), and
*dependents* (who may hold requirements on an object). Steps are agent actions with arguments;
the exact command lines come from the CommandRenderer port.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from core.models import TargetKind
from core.scheduler.dependencies import (
    NOTHING,
    DependAll,
    Dependency,
    StateOf,
    all_of,
    any_of,
    depend_on,
)
from core.scheduler.world import (
    CLIENT_MOUNT,
    FILESYSTEM,
    HOST,
    LNET,
    TARGET,
    MountNode,
    Ref,
    TargetNode,
    World,
)
from core.states import (
    CLIENT_MOUNT_MACHINE,
    FILESYSTEM_MACHINE,
    HOST_MACHINE,
    LNET_MACHINE,
    TARGET_MACHINE,
    ClientMountState,
    FilesystemState,
    HostState,
    LNetState,
    StateMachine,
    TargetState,
)

MACHINE_OF: dict[str, StateMachine[Any]] = {
    HOST: HOST_MACHINE,
    LNET: LNET_MACHINE,
    TARGET: TARGET_MACHINE,
    FILESYSTEM: FILESYSTEM_MACHINE,
    CLIENT_MOUNT: CLIENT_MOUNT_MACHINE,
}

T = TargetState
LIVE_TARGET = frozenset({T.UNFORMATTED, T.FORMATTED, T.REGISTERED, T.UNMOUNTED, T.MOUNTED})
STOPPED_TARGET = frozenset({T.UNFORMATTED, T.FORMATTED, T.REGISTERED})
LIVE_FILESYSTEM = frozenset(
    {FilesystemState.UNAVAILABLE, FilesystemState.STOPPED, FilesystemState.AVAILABLE}
)
PRESENT_HOST = frozenset({HostState.UNCONFIGURED, HostState.CONFIGURED})


@dataclass(frozen=True)
class StepPlan:
    """One step of a job: an agent action on a server, or work done here (action None)."""

    description: str
    action: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    host_id: int | None = None
    unknown_until_run: str | None = None
    """Why the arguments cannot be known yet (e.g. NIDs not yet reported); None when exact."""


# --- requirements and dependents ------------------------------------------------------------


def serving_mount(target: TargetNode, state_of: StateOf) -> MountNode:
    """Where a target runs, or will run when started: its active mount, else the first of its
    mounts whose server's LNet is (expected) up, else its primary."""
    mounts = target.mounts
    for mount in mounts:
        if mount.active:
            return mount
    for mount in mounts:
        if state_of((LNET, mount.host_id)) == LNetState.UP:
            return mount
    return mounts[0]


def requirements(world: World, ref: Ref, state: str, state_of: StateOf) -> Dependency:
    kind, ident = ref
    if kind == TARGET:
        target = world.targets[ident]
        if state not in LIVE_TARGET:
            return NOTHING
        hosts = tuple([m.host_id for m in target.mounts])
        gone = T.FORGOTTEN if target.monitor_only else T.REMOVED
        if state != T.MOUNTED:
            return _live_target_requirements(hosts, target.filesystem_id, gone)
        serving = serving_mount(target, state_of).host_id
        return _running_target_requirements(hosts, target.filesystem_id, gone, serving)
    if kind == FILESYSTEM:
        filesystem = world.filesystems[ident]
        if state not in LIVE_FILESYSTEM:
            return NOTHING
        fs_gone = FilesystemState.FORGOTTEN if filesystem.monitor_only else FilesystemState.REMOVED
        return depend_on((TARGET, filesystem.mgs_id), T.MOUNTED, LIVE_TARGET, fs_gone)
    if kind == CLIENT_MOUNT:
        mount = world.client_mounts[ident]
        if state == ClientMountState.REMOVED:
            return NOTHING
        parts = [
            depend_on(
                (FILESYSTEM, mount.filesystem_id),
                FilesystemState.AVAILABLE,
                LIVE_FILESYSTEM,
                ClientMountState.REMOVED,
            ),
            depend_on(
                (HOST, mount.host_id), HostState.CONFIGURED, PRESENT_HOST, ClientMountState.REMOVED
            ),
        ]
        if state == ClientMountState.MOUNTED:
            parts += [
                depend_on((LNET, mount.host_id), LNetState.UP, (), ClientMountState.UNMOUNTED),
                depend_on(
                    (FILESYSTEM, mount.filesystem_id),
                    FilesystemState.AVAILABLE,
                    (),
                    ClientMountState.UNMOUNTED,
                ),
            ]
        return all_of(parts)
    return NOTHING


# A target's requirements are functions of ids alone, so they are cached by those ids: they
# cannot go stale as the world changes, and the targets on the same servers share one value
# (whose `refs` and `leaves` are then computed once, not once per target and plan).


@cache
def _live_target_requirements(
    host_ids: tuple[int, ...], filesystem_id: int | None, gone: str
) -> DependAll:
    """What any live target needs of its servers and filesystem; `gone` is where the target
    goes when they go."""
    parts: list[Dependency] = [
        depend_on((HOST, h), HostState.CONFIGURED, PRESENT_HOST, gone) for h in host_ids
    ]
    if filesystem_id is not None:
        parts.append(
            depend_on((FILESYSTEM, filesystem_id), FilesystemState.AVAILABLE, LIVE_FILESYSTEM, gone)
        )
    return all_of(parts)


@cache
def _running_target_requirements(
    host_ids: tuple[int, ...], filesystem_id: int | None, gone: str, serving_host_id: int
) -> DependAll:
    """What a running target needs: what any live one does, and LNet up where it runs."""
    live = _live_target_requirements(host_ids, filesystem_id, gone)
    return DependAll((live, _lnet_up_or_stop(serving_host_id)))


def dependents(world: World, ref: Ref) -> list[Ref]:
    """Objects whose requirements may name `ref`."""
    kind, ident = ref
    if kind in (HOST, LNET):
        return [(TARGET, t) for t in world.targets_by_host.get(ident, ())] + [
            (CLIENT_MOUNT, c) for c in world.client_mounts_by_host.get(ident, ())
        ]
    if kind == TARGET:
        return [(FILESYSTEM, f) for f in world.filesystems_by_mgs.get(ident, ())]
    if kind == FILESYSTEM:
        return [(TARGET, t) for t in world.filesystems[ident].member_ids] + [
            (CLIENT_MOUNT, c) for c in world.client_mounts_by_filesystem.get(ident, ())
        ]
    return []


# --- job needs --------------------------------------------------------------------------------


@cache
def _lnet_up(host_id: int) -> Dependency:
    return depend_on((LNET, host_id), LNetState.UP)


@cache
def _configured(host_id: int) -> Dependency:
    return depend_on((HOST, host_id), HostState.CONFIGURED)


@cache
def _lnet_up_on_any(host_ids: tuple[int, ...]) -> Dependency:
    return any_of(_lnet_up(h) for h in host_ids)


@cache
def _lnet_up_or_stop(host_id: int) -> Dependency:
    """A running target's requirement on the LNet of its server."""
    return depend_on((LNET, host_id), LNetState.UP, (), T.UNMOUNTED)


def _started_before(world: World, target: TargetNode) -> tuple[int, ...]:
    """The targets that must run before `target` starts, in Lustre's order for a filesystem's
    targets: the MGS, then MDT0000, then the other MDTs and the OSTs."""
    if target.filesystem_id is None:
        return ()
    filesystem = world.filesystems[target.filesystem_id]
    first_mdt = next(iter(filesystem.members_by_kind.get(TargetKind.MDT, [])), None)
    if first_mdt is None or first_mdt == target.id:
        return (filesystem.mgs_id,)
    return (filesystem.mgs_id, first_mdt)


@cache
def _start_target_needs(host_ids: tuple[int, ...], started_before: tuple[int, ...]) -> Dependency:
    """LNet up on one of the target's servers, and the targets started before it running
    (shared by the targets on the same servers)."""
    return all_of([_lnet_up_on_any(host_ids), *(_mounted(t) for t in started_before)])


@cache
def _mounted(target_id: int) -> Dependency:
    return depend_on((TARGET, target_id), T.MOUNTED)


@cache
def _running_member(target_id: int) -> Dependency:
    """What starting a filesystem needs of one of its targets (cached like the others: a big
    filesystem has thousands, and every start would build them anew)."""
    return depend_on((TARGET, target_id), T.MOUNTED, (), FilesystemState.UNAVAILABLE)


def _mgs_hosts(world: World, target: TargetNode) -> list[int]:
    if target.filesystem_id is None:
        return []
    mgs = world.targets[world.filesystems[target.filesystem_id].mgs_id]
    return [m.host_id for m in mgs.mounts]


def needs(world: World, job: str, ref: Ref) -> Dependency:
    """What must hold before `job` runs on `ref`."""
    kind, ident = ref
    if job in ("LoadLNetJob", "StartLNetJob"):
        return _configured(ident)
    if kind == TARGET:
        target = world.targets[ident]
        hosts = [m.host_id for m in target.mounts]
        if job == "FormatTargetJob":
            # Formatting writes every server's NIDs (and the MGS's) into the target: those whose
            # NIDs are not known yet must bring LNet up so that their agents report them.
            unknown = [h for h in [*hosts, *_mgs_hosts(world, target)] if not world.hosts[h].nids]
            return all_of([*(_configured(h) for h in hosts), *(_lnet_up(h) for h in unknown)])
        if job == "RegisterTargetJob":
            return all_of(
                [
                    _configured(target.primary.host_id),
                    _lnet_up(target.primary.host_id),
                    *(_mounted(t) for t in _started_before(world, target)),
                ]
            )
        if job == "ConfigureTargetJob":
            return all_of(_configured(h) for h in hosts)
        if job == "StartTargetJob":
            return _start_target_needs(tuple(hosts), _started_before(world, target))
        if job in ("FailoverTargetJob", "FailbackTargetJob"):
            return depend_on(ref, T.MOUNTED)
        return NOTHING
    if kind == FILESYSTEM:
        filesystem = world.filesystems[ident]
        members = [filesystem.mgs_id, *filesystem.member_ids]
        if job in ("StartUnavailableFilesystemJob", "StartStoppedFilesystemJob"):
            return all_of(_running_member(t) for t in members)
        if job == "StopUnavailableFilesystemJob":
            return all_of(
                depend_on((TARGET, t), T.UNMOUNTED, STOPPED_TARGET, FilesystemState.UNAVAILABLE)
                for t in filesystem.member_ids
            )
        if job == "RemoveFilesystemJob" and not filesystem.monitor_only:
            # Its configuration logs are erased on the running MGS.
            return depend_on(
                (TARGET, filesystem.mgs_id), T.MOUNTED, {*STOPPED_TARGET, T.REMOVED, T.FORGOTTEN}
            )
        return NOTHING
    if kind == CLIENT_MOUNT and job == "MountLustreClientJob":
        mount = world.client_mounts[ident]
        return all_of(
            [
                _lnet_up(mount.host_id),
                depend_on((FILESYSTEM, mount.filesystem_id), FilesystemState.AVAILABLE),
            ]
        )
    return NOTHING


# --- steps ------------------------------------------------------------------------------------


def _nid_groups(world: World, host_ids: list[int]) -> tuple[list[list[str]], str | None]:
    groups = [list(world.hosts[h].nids) for h in host_ids]
    missing = [world.hosts[h].label for h, nids in zip(host_ids, groups, strict=True) if not nids]
    reason = None
    if missing:
        reason = f"the LNet NIDs of {', '.join(missing)} are learned once LNet is up there"
    return groups, reason


def _format_steps(world: World, target: TargetNode) -> list[StepPlan]:
    hosts = [m.host_id for m in target.mounts]
    service, unknown_service = _nid_groups(world, hosts)
    mgs, unknown_mgs = _nid_groups(world, _mgs_hosts(world, target))
    fsname = world.filesystems[target.filesystem_id].name if target.filesystem_id else None
    args: dict[str, Any] = {
        "device": target.primary.device,
        "kind": target.kind.value,
        "fsname": fsname,
        "index": target.index,
        "mgs_nids": mgs,
        "service_nids": service,
        "inode_size": target.inode_size,
        "bytes_per_inode": target.bytes_per_inode,
        "inode_count": target.inode_count,
        "reformat": False,
    }
    return [
        StepPlan(
            f"Format {target.name} on {world.hosts[target.primary.host_id].label}",
            "format_target",
            args,
            target.primary.host_id,
            unknown_until_run=unknown_service or unknown_mgs,
        )
    ]


def _target_steps(world: World, job: str, target: TargetNode, state_of: StateOf) -> list[StepPlan]:
    primary = target.primary
    if job == "FormatTargetJob":
        return _format_steps(world, target)
    if job == "RegisterTargetJob":
        if target.kind == TargetKind.MGT:
            return []
        return [
            StepPlan(
                f"Register {target.name} with the MGS "
                f"(first mount on {world.hosts[primary.host_id].label})",
                "register_target",
                {"device": primary.device, "mount_point": primary.mount_point},
                primary.host_id,
            )
        ]
    if job == "ConfigureTargetJob":
        return [
            StepPlan(
                f"Create the mount point of {target.name} on {world.hosts[m.host_id].label}",
                "configure_target_mount",
                {"mount_point": m.mount_point},
                m.host_id,
            )
            for m in target.mounts
        ]
    if job in ("StartTargetJob", "FailoverTargetJob", "FailbackTargetJob"):
        if job == "StartTargetJob":
            mount = serving_mount(target, state_of)
        elif job == "FailoverTargetJob":
            mount = target.mounts[1]
        else:
            mount = primary
        steps = []
        if job != "StartTargetJob" and target.active is not None:
            steps.append(
                StepPlan(
                    f"Stop {target.name} on {world.hosts[target.active.host_id].label}",
                    "unmount_target",
                    {"mount_point": target.active.mount_point},
                    target.active.host_id,
                )
            )
        steps.append(
            StepPlan(
                f"Start {target.name} on {world.hosts[mount.host_id].label}",
                "mount_target",
                {"device": mount.device, "mount_point": mount.mount_point},
                mount.host_id,
            )
        )
        return steps
    if job == "StopTargetJob":
        running = target.active or primary
        return [
            StepPlan(
                f"Stop {target.name} on {world.hosts[running.host_id].label}",
                "unmount_target",
                {"mount_point": running.mount_point},
                running.host_id,
            )
        ]
    if job == "RemoveConfiguredTargetJob":
        return [
            StepPlan(
                f"Remove the mount point of {target.name} on {world.hosts[m.host_id].label}",
                "unconfigure_target_mount",
                {"mount_point": m.mount_point},
                m.host_id,
            )
            for m in reversed(target.mounts)
        ]
    return []


_LNET_ACTIONS = {
    "LoadLNetJob": ("load_lnet", "Load the LNet module"),
    "StartLNetJob": ("start_lnet", "Bring LNet up"),
    "StopLNetJob": ("stop_lnet", "Unload Lustre's upper modules and bring LNet down"),
    "UnloadLNetJob": ("unload_lnet", "Unload LNet"),
}


def steps(world: World, job: str, ref: Ref, state_of: StateOf) -> list[StepPlan]:
    """The steps of `job` on `ref`, with their arguments as far as they are known now."""
    kind, ident = ref
    if kind == HOST:
        host = world.hosts[ident]
        if job == "SetupHostJob":
            return [
                StepPlan(
                    f"Check Lustre and inventory devices on {host.label}", "setup_server", {}, ident
                )
            ]
        if job == "RemoveHostJob":
            return [StepPlan(f"Unpair the agent on {host.label}", "teardown_server", {}, ident)]
        return []
    if kind == LNET:
        action, text = _LNET_ACTIONS[job]
        return [StepPlan(f"{text} on {world.hosts[ident].label}", action, {}, ident)]
    if kind == TARGET:
        return _target_steps(world, job, world.targets[ident], state_of)
    if kind == FILESYSTEM:
        filesystem = world.filesystems[ident]
        mgs = world.targets[filesystem.mgs_id]
        if job == "RemoveFilesystemJob" and not filesystem.monitor_only and mgs.mounts:
            return [
                StepPlan(
                    f"Erase the configuration logs of {filesystem.name} from the MGS",
                    "purge_filesystem",
                    {"fsname": filesystem.name},
                    (mgs.active or mgs.primary).host_id,
                )
            ]
        return []
    if kind == CLIENT_MOUNT:
        mount = world.client_mounts[ident]
        filesystem = world.filesystems[mount.filesystem_id]
        if job == "MountLustreClientJob":
            mgs = world.targets[filesystem.mgs_id]
            groups, unknown = _nid_groups(world, [m.host_id for m in mgs.mounts])
            source = ":".join(",".join(g) for g in groups) + f":/{filesystem.name}"
            return [
                StepPlan(
                    f"Mount {filesystem.name} on {world.hosts[mount.host_id].label}",
                    "mount_client",
                    {"source": source, "mount_point": mount.mount_point},
                    mount.host_id,
                    unknown_until_run=unknown,
                )
            ]
        if job == "UnmountLustreClientJob":
            return [
                StepPlan(
                    f"Unmount {filesystem.name} on {world.hosts[mount.host_id].label}",
                    "unmount_client",
                    {"mount_point": mount.mount_point},
                    mount.host_id,
                )
            ]
    return []


def describe(world: World, job: str, ref: Ref, verb: str | None) -> str:
    name = world.name(ref)
    if verb is None:
        return {
            "MakeAvailableFilesystemUnavailableJob": f"Mark {name} as partly running",
        }.get(job, f"{job} on {name}")
    if ref[0] == LNET:
        return f"{verb} on {world.hosts[ref[1]].label}"
    return f"{verb} {name}"
