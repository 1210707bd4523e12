"""One simulated Lustre server: an `AgentBackend` whose commands change the shared cluster model.

Layer: agentlink.simulator (Twisted, no core, no Qt). Thread: the reactor thread, for every
method. `run` takes the argument lists the real agent builds and answers after the simulated
time the real tool would take (a `callLater` on the injected clock), with the exit code, stdout
and stderr the real tool would give; the effect on the model is applied when the command
finishes, so a command that is still running when its server crashes has no effect and never
answers. `devices`, `lustre_state` and `collect` report the model as the real agent's probes
would.

Contract with the network layer: a server is `online` while it is powered and not crashed.
When it crashes or loses power its observers hear `ServerEvent.CRASHED` / `POWERED_OFF`: the
network layer must then close the server's connections and forget its dispatcher, because from
that moment `run` never answers and the observers raise `ServerOfflineError` (a dead machine
says nothing). `BOOTED` means it came back with a new boot time: start a fresh agent (new
dispatcher, new link) as a rebooted machine would. `LINK_DROPPED` asks the network layer to cut
the server's connections while the server itself carries on, so the agent reconnects.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final, Literal

from twisted.internet import defer
from twisted.internet.interfaces import IDelayedCall, IReactorTime

from agentlink.daemon.backend import (
    DeviceRecord,
    LogRecord,
    LustreState,
    MountRecord,
    Record,
    StatRecord,
)
from agentlink.daemon.dispatch import CommandResult
from agentlink.simulator import commands as cmd
from agentlink.simulator import mgs as mgs_config
from agentlink.simulator.commands import NotUnderstood, Refusal
from agentlink.simulator.model import (
    ClusterModel,
    FilesystemConfig,
    LnetState,
    Lun,
    LunPurpose,
    LustreTarget,
    ServerState,
    SimulatorError,
    TargetKind,
    seeded,
)
from agentlink.simulator.telemetry import (
    Interval,
    Sample,
    duration_text,
    new_uuid,
    sample_mdt,
    sample_node,
    sample_ost,
    simulated_clients,
)

SLOW_FACTOR: Final = 10.0
CONNECT_S: Final = 15.0
"""Clients take this long to connect to a target that has just started."""
CLOCK_SKEW_FAULT_S: Final = 900.0
"""The skew-clock fault: beyond what the desktop's pre-flight clock check accepts."""
MMP_WAIT_S: Final = 11.0
"""A target last stopped uncleanly waits out ldiskfs multiple-mount protection on mount."""
MAX_COLLECT_GAP_S: Final = 3600.0
"""Statistics are integrated over at most this long, however long the simulator was away."""
LUSTRE_MODULES: Final = frozenset(
    {"lnet", "libcfs", "ksocklnd", "ptlrpc", "obdclass", "lustre", "ldiskfs", "osd_ldiskfs"}
)
_LNET: Final[dict[LnetState, Literal["unloaded", "loaded", "up"]]] = {
    LnetState.UNLOADED: "unloaded",
    LnetState.LOADED: "loaded",
    LnetState.UP: "up",
}
_MODULE_USERS: Final = {
    TargetKind.MGT: ("mgs", "mgc"),
    TargetKind.MDT: ("mdt", "mdd", "lod", "osp", "lfsck"),
    TargetKind.OST: ("ofd", "ost", "lfsck"),
}
_NO_LNET_DEVICE: Final = (
    "opening /dev/lnet failed: No such device\nhint: the kernel modules may not be loaded\n"
)


class ServerEvent(StrEnum):
    CRASHED = "crashed"
    POWERED_OFF = "powered-off"
    BOOTED = "booted"
    LINK_DROPPED = "link-dropped"


class ServerOfflineError(SimulatorError):
    """Something asked a crashed or powered-off server a question; it cannot answer."""


Observer = Callable[["SimulatedServer", ServerEvent], None]


@dataclass
class World:
    """What every simulated server shares: the model, time, the servers, observers."""

    model: ClusterModel
    clock: IReactorTime
    wall: Callable[[], float]
    speed: float = 1.0
    """How many times faster than the real tools commands and recoveries finish (tests and
    impatient demos); 1.0 is real time."""
    servers: dict[str, SimulatedServer] = field(default_factory=dict)
    observers: list[Observer] = field(default_factory=list)
    dirty: bool = False

    def changed(self) -> None:
        self.dirty = True

    def notify(self, server: SimulatedServer, event: ServerEvent) -> None:
        for observer in list(self.observers):
            observer(server, event)

    def target_clients(self, lun: Lun, t: float) -> int:
        """Clients connected to this target: those of its filesystem, once it has been up
        long enough for them to connect (a register mount-and-unmount meets none)."""
        if lun.target is None or lun.mounted_at is None or t - lun.mounted_at < CONNECT_S:
            return 0
        return self.connected_clients(lun.target.fsname, t)

    def connected_clients(self, fsname: str | None, t: float) -> int:
        if fsname is None:
            return 0
        mounted = self.model.client_mount_count(fsname)
        if not self.model.filesystem_running(fsname):
            return mounted
        return simulated_clients(self.model.seed, fsname, t) + mounted


def _severity(message: str) -> str:
    if message.startswith(("LustreError", "LNetError", "blk_update_request")) or " error " in (
        message
    ):
        return "err"
    if "warning" in message:
        return "warning"
    return "info"


class SimulatedServer:
    """One server of the simulated cluster, behind the real agent's `AgentBackend` interface."""

    def __init__(self, world: World, hostname: str) -> None:
        self._world = world
        self._hostname = hostname
        self._pending: dict[defer.Deferred[CommandResult], IDelayedCall] = {}
        self._recovering: dict[str, IDelayedCall] = {}
        self._logs: list[LogRecord] = []
        self.not_understood: list[tuple[str, ...]] = []
        """Argument lists the simulator could not model (refused with a usage message)."""
        self._handlers: dict[str, Callable[[tuple[str, ...]], CommandResult]] = {
            "mkfs.lustre": self._mkfs,
            "blkid": self._blkid,
            "dumpe2fs": self._dumpe2fs,
            "mount": self._mount,
            "umount": self._umount,
            "modprobe": self._modprobe,
            "lustre_rmmod": self._lustre_rmmod,
            "lctl": self._lctl,
            "mkdir": self._mkdir,
            "rmdir": self._rmdir,
        }

    # --- identity and health -------------------------------------------------------------------

    @property
    def hostname(self) -> str:
        return self._hostname

    @property
    def state(self) -> ServerState:
        return self._world.model.servers[self._hostname]

    @property
    def online(self) -> bool:
        """Powered and not crashed: it answers commands and probes."""
        return self.state.online

    @property
    def link_drops(self) -> int:
        """How many times the drop-link fault was applied (the network layer may poll this)."""
        return self.state.link_drops

    @property
    def nids(self) -> list[str]:
        return list(self.state.nids)

    def __repr__(self) -> str:
        return f"<SimulatedServer {self._hostname} {'online' if self.online else 'offline'}>"

    @property
    def _model(self) -> ClusterModel:
        return self._world.model

    def _require_online(self, what: str) -> None:
        if not self.online:
            why = "is powered off" if not self.state.powered else "has crashed"
            raise ServerOfflineError(f"{self._hostname} {why}: it cannot answer {what}")

    # --- Runner --------------------------------------------------------------------------------

    def run(self, argv: Sequence[str]) -> defer.Deferred[CommandResult]:
        """Run one argument list; answer when the simulated command finishes (never, if the
        server is down or goes down first)."""
        command = tuple(argv)
        answer: defer.Deferred[CommandResult] = defer.Deferred(self._cancel)
        if not self.online:
            return answer
        state = self.state
        failing = state.fail_next
        if failing:
            state.fail_next = False
            self._world.changed()
        seconds = self._duration(command) * (SLOW_FACTOR if state.slow else 1.0)
        self._pending[answer] = self._world.clock.callLater(
            seconds / self._world.speed, self._finish, answer, command, failing
        )
        return answer

    def _cancel(self, answer: defer.Deferred[CommandResult]) -> None:
        call = self._pending.pop(answer, None)
        if call is not None and call.active():
            call.cancel()

    def _finish(
        self, answer: defer.Deferred[CommandResult], command: tuple[str, ...], failing: bool
    ) -> None:
        del self._pending[answer]
        try:
            result = self._injected_failure(command) if failing else self._execute(command)
        except Exception:
            # A fault in the simulator itself: the dispatcher reports the runner's failure.
            answer.errback()
            return
        finally:
            self._world.changed()
        answer.callback(result)

    def _execute(self, command: tuple[str, ...]) -> CommandResult:
        if not command:
            return CommandResult(command, cmd.COMMAND_NOT_FOUND, stderr="empty command\n")
        handler = self._handlers.get(command[0])
        if handler is None:
            self.not_understood.append(command)
            return CommandResult(
                command, cmd.COMMAND_NOT_FOUND, stderr=f"{command[0]}: command not found\n"
            )
        try:
            return handler(command)
        except NotUnderstood as refusal:
            self.not_understood.append(command)
            return CommandResult(command, refusal.exit_code, refusal.stdout, refusal.stderr)
        except Refusal as refusal:
            return CommandResult(command, refusal.exit_code, refusal.stdout, refusal.stderr)

    def _duration(self, command: tuple[str, ...]) -> float:
        """Seconds the real tool takes, roughly: formatting a 16 TiB OST is not instant."""
        name = command[0] if command else ""
        if name == "mkfs.lustre":
            if "--dryrun" in command:
                return 0.5
            if "--ost" in command:
                return 40.0
            return 25.0 if "--mdt" in command else 3.0
        if name == "mount":
            lun = self._model.lun_at(self._hostname, command[-2]) if len(command) > 2 else None
            if lun is None or lun.target is None:
                return 1.5
            seconds = {TargetKind.MGT: 2.0, TargetKind.MDT: 6.0, TargetKind.OST: 4.0}[
                lun.target.kind
            ]
            return seconds + (MMP_WAIT_S if lun.target.unclean else 0.0)
        return {
            "umount": 1.0 if "-f" in command else 3.0,
            "modprobe": 1.5,
            "lustre_rmmod": 2.5,
            "lctl": 1.0 if len(command) > 1 and command[1] in ("network", "net") else 0.3,
            "blkid": 0.05,
            "dumpe2fs": 0.1,
        }.get(name, 0.01)

    # --- observers (AgentBackend) --------------------------------------------------------------

    def devices(self) -> list[DeviceRecord]:
        self._require_online("devices()")
        records: list[DeviceRecord] = []
        for lun in self._model.visible_luns(self._hostname):
            records.append(
                DeviceRecord(
                    path=lun.path,
                    serial=lun.serial,
                    size_bytes=lun.size_bytes,
                    major_minor=self._major_minor(lun),
                    filesystem=lun.filesystem,
                    label=lun.target.label if lun.target is not None else None,
                )
            )
        return records

    def lustre_state(self) -> LustreState:
        self._require_online("lustre_state()")
        state = self.state
        mounts: list[MountRecord] = []
        conf_params: dict[str, dict[str, str]] | None = None
        pools: dict[str, dict[str, list[str]]] | None = None
        for lun in self._mounted_luns():
            assert lun.target is not None and lun.mount_point is not None
            mount = MountRecord(
                label=lun.target.label,
                device=lun.path,
                mount_point=lun.mount_point,
                recovery=self.recovery_status(lun),
            )
            if lun.target.kind == TargetKind.MGT:
                conf_params = {
                    fsname: dict(sorted(config.params.items()))
                    for fsname, config in sorted(lun.target.registry.items())
                }
                pools = {
                    fsname: {name: list(osts) for name, osts in sorted(config.pools.items())}
                    for fsname, config in sorted(lun.target.registry.items())
                }
            else:
                mount["mgs_nids"] = [nid for group in lun.target.mgs_nids for nid in group]
            mounts.append(mount)
        reported = LustreState(
            lnet=_LNET[state.lnet],
            # /proc/sys/lnet/nis exists only while the network is up.
            nids=list(state.nids) if state.lnet == LnetState.UP else [],
            mounts=mounts,
            boot_time=state.boot_time,
        )
        if conf_params is not None:
            reported["conf_params"] = conf_params
        if pools is not None:
            reported["pools"] = pools
        return reported

    def recovery_status(self, lun: Lun) -> str:
        """ "RECOVERING" while clients are still reconnecting after a restart or failover."""
        return "RECOVERING" if lun.serial in self._recovering else "COMPLETE"

    def _mounted_luns(self) -> list[Lun]:
        luns = self._model.mounted_on(self._hostname)
        return sorted(luns, key=lambda lun: lun.target.label if lun.target else lun.serial)

    def _kernel_name(self, lun: Lun) -> str:
        if lun.purpose == LunPurpose.SYSTEM:
            return "sda"
        shared = [
            x for x in self._model.visible_luns(self._hostname) if x.purpose != LunPurpose.SYSTEM
        ]
        return f"dm-{shared.index(lun)}"

    def _major_minor(self, lun: Lun) -> str:
        name = self._kernel_name(lun)
        return "8:0" if name == "sda" else f"253:{name.removeprefix('dm-')}"

    # --- syslog --------------------------------------------------------------------------------

    def _log(
        self,
        message: str,
        *,
        t: float | None = None,
        facility: str = "kern",
        source: str = "kernel",
    ) -> None:
        if not self.online:
            return
        self._logs.append(
            LogRecord(
                kind="log",
                t=self._world.wall() if t is None else t,
                severity=_severity(message),
                facility=facility,
                source=source,
                message=message,
            )
        )

    # --- device helpers ------------------------------------------------------------------------

    def _lun(self, path: str) -> Lun | None:
        return self._model.lun_at(self._hostname, path)

    def _directory_exists(self, path: str) -> bool:
        return posixpath.normpath(path) in self.state.directories

    # --- mkfs.lustre, blkid, dumpe2fs ----------------------------------------------------------

    def _mkfs(self, argv: tuple[str, ...]) -> CommandResult:
        request = cmd.parse_mkfs(argv)
        device = request.device
        lun = self._lun(device)
        if lun is None:
            raise Refusal(
                cmd.ENOENT,
                f"mkfs.lustre: Can't open {device}: No such file or directory\n"
                f"mkfs.lustre FATAL: Unable to find device {device}\n"
                "mkfs.lustre: exiting with 2 (No such file or directory)\n",
            )
        if lun.purpose == LunPurpose.SYSTEM or lun.mounted_on is not None:
            raise Refusal(
                cmd.EBUSY,
                f"mke2fs: /dev/{self._kernel_name(lun)} is apparently in use by the system; "
                "will not make a filesystem here!\n"
                f"mkfs.lustre FATAL: Unable to build fs {device} (256)\n"
                "mkfs.lustre: exiting with 16 (Device or resource busy)\n",
            )
        if lun.target is not None and not request.reformat and not request.dryrun:
            raise Refusal(
                cmd.EEXIST,
                f"mkfs.lustre FATAL: Device {device} was previously formatted for lustre. Use "
                "--reformat to reformat it, or tunefs.lustre to modify.\n"
                "mkfs.lustre: exiting with 17 (File exists)\n",
            )
        target = self._new_target(request, lun)
        report = cmd.mkfs_report(request, target, lun.size_bytes, self._kernel_name(lun))
        if not request.dryrun:
            lun.target = target
            lun.format_count += 1
            lun.counters = {}
            self._log(
                f"LDISKFS-fs ({self._kernel_name(lun)}): mounted filesystem with ordered data "
                "mode. Opts: errors=remount-ro"
            )
        return CommandResult(argv, 0, stdout=report)

    def _new_target(self, request: cmd.MkfsRequest, lun: Lun) -> LustreTarget:
        default_inode_size, default_bytes_per_inode = cmd.default_geometry(
            request.kind, lun.size_bytes
        )
        inode_size = request.inode_size or default_inode_size
        inode_count = request.inode_count or lun.size_bytes // (
            request.bytes_per_inode or default_bytes_per_inode
        )
        if inode_count * inode_size >= lun.size_bytes // 2:
            raise Refusal(
                cmd.EINVAL,
                f"mke2fs: too many inodes ({inode_count}), raise inode ratio?\n"
                f"mkfs.lustre FATAL: Unable to build fs {request.device} (256)\n",
            )
        target = LustreTarget(
            kind=request.kind,
            uuid=new_uuid(self._model.seed, lun.serial, "format", lun.format_count + 1),
            fsname=request.fsname if request.kind != TargetKind.MGT else None,
            index=request.index,
            registered=request.kind == TargetKind.MGT,
            mgs_nids=[list(group) for group in request.mgs_nids],
            service_nids=[list(g) for g in (request.service_nids or request.failover_nids)],
            inode_size=inode_size,
            inode_count=inode_count,
            replace=request.replace,
        )
        # A fresh ldiskfs is not quite empty: root, lost+found, quota files, CONFIGS.
        target.used_kb = target.kbytes_total(lun.size_bytes) // 2500
        target.used_inodes = 11 + (32 if request.kind == TargetKind.OST else 400)
        return target

    def _blkid(self, argv: tuple[str, ...]) -> CommandResult:
        request = cmd.parse_blkid(argv)
        out = []
        for device in request.devices:
            lun = self._lun(device)
            if lun is None:
                continue
            tags: dict[str, str] = {}
            if lun.purpose == LunPurpose.SYSTEM:
                tags = {"UUID": new_uuid(self._model.seed, lun.serial, "xfs"), "TYPE": "xfs"}
            elif lun.target is not None:
                tags = {"LABEL": lun.target.label, "UUID": lun.target.uuid, "TYPE": "ext4"}
            out.append(cmd.blkid_answer(request, device, tags))
        text = "".join(out)
        # blkid says nothing when it finds nothing, and exits 2.
        return CommandResult(argv, 0 if text else 2, stdout=text)

    def _dumpe2fs(self, argv: tuple[str, ...]) -> CommandResult:
        devices = [word for word in argv[1:] if not word.startswith("-")]
        if [w for w in argv[1:] if w.startswith("-") and w != "-h"] or len(devices) != 1:
            raise NotUnderstood(1, f"{cmd.E2FSPROGS_VERSION}\nUsage: dumpe2fs [-h] device\n")
        device = devices[0]
        lun = self._lun(device)
        if lun is None:
            raise Refusal(
                1,
                f"{cmd.E2FSPROGS_VERSION}\ndumpe2fs: No such file or directory while trying to "
                f"open {device}\nCouldn't find valid filesystem superblock.\n",
            )
        if lun.target is None:
            raise Refusal(
                1,
                f"{cmd.E2FSPROGS_VERSION}\ndumpe2fs: Bad magic number in super-block while "
                f"trying to open {device}\nCouldn't find valid filesystem superblock.\n",
            )
        header = cmd.dumpe2fs_header(lun.target, lun.size_bytes, lun.mount_point)
        return CommandResult(argv, 0, stdout=header, stderr=f"{cmd.E2FSPROGS_VERSION}\n")

    # --- mount and umount ----------------------------------------------------------------------

    def _mount(self, argv: tuple[str, ...]) -> CommandResult:
        request = cmd.parse_mount(argv)
        if request.is_client:
            return self._mount_client(argv, request)
        device, mount_point = request.source, request.mount_point

        def failed(code: int, hint: str = "") -> Refusal:
            return Refusal(
                code,
                f"mount.lustre: mount {device} at {mount_point} failed: {cmd.STRERROR[code]}\n"
                + hint,
            )

        lun = self._lun(device)
        if lun is None:
            raise failed(cmd.ENOENT)
        target = lun.target
        if target is None or lun.purpose == LunPurpose.SYSTEM:
            raise Refusal(
                cmd.ENODEV,
                f"mount.lustre: {device} has not been formatted with mkfs.lustre or the backend "
                "filesystem type is not supported by this tool\n",
            )
        if lun.mounted_on == self._hostname:
            raise Refusal(
                cmd.EEXIST,
                f"mount.lustre: according to /etc/mtab {device} is already mounted on "
                f"{lun.mount_point}\n",
            )
        if lun.mounted_on is not None:
            self._log(
                f"LDISKFS-fs warning (device {self._kernel_name(lun)}): "
                "ldiskfs_multi_mount_protect:321: MMP interval 42 higher than expected, please "
                "wait."
            )
            raise failed(cmd.EALREADY, f"The target service is already running. ({device})\n")
        if not self._directory_exists(mount_point):
            raise failed(cmd.ENOENT)
        if self.state.lnet != LnetState.UP:
            self._log(
                "LustreError: 4125:0:(events.c:541:ptlrpc_init_portals()) network "
                "initialisation failed"
            )
            raise failed(cmd.ENETDOWN)
        first_mount = False
        if target.kind != TargetKind.MGT:
            first_mount = not target.registered
            self._register(target, device, failed)
        self._start_target(lun, target, mount_point, first_mount)
        return CommandResult(argv, 0)

    def _register(
        self, target: LustreTarget, device: str, failed: Callable[[int, str], Refusal]
    ) -> None:
        """Find the target's MGS and take (or confirm) its place in the MGS's registry."""
        assert target.fsname is not None
        mgs = self._model.running_mgs([nid for group in target.mgs_nids for nid in group])
        if mgs is None:
            first_nid = target.mgs_nids[0][0] if target.mgs_nids else "0@lo"
            self._log(
                f"LustreError: 15c-8: MGC{first_nid}: The configuration from log "
                f"'{target.fsname}-{target.kind.value}{(target.index or 0):04x}' failed (-5). "
                "This may be the result of communication errors between this node and the MGS, "
                "a bad configuration, or other errors. See the syslog for more information."
            )
            raise failed(cmd.EIO, "Is the MGS running?\n")
        mgs_server, mgs_lun = mgs
        assert mgs_lun.target is not None
        config = mgs_lun.target.registry.setdefault(target.fsname, FilesystemConfig())
        index = target.index
        if index is None:
            prefix = f"{target.fsname}-{target.kind.value}"
            taken = {int(label[-4:], 16) for label in config.targets if label.startswith(prefix)}
            index = min(set(range(len(taken) + 1)) - taken)
        label = f"{target.fsname}-{target.kind.value}{index:04x}"
        holder = config.targets.get(label)
        if holder is not None and holder != target.uuid and not target.replace:
            self._world.servers[mgs_server.hostname]._log(
                f"LustreError: 140-5: Server {label} requested index {index}, but that index is "
                "already in use. Use --writeconf to force"
            )
            raise failed(
                cmd.EADDRINUSE, f"The target service's index is already in use. ({device})\n"
            )
        if holder is None:
            self._world.servers[mgs_server.hostname]._log(
                f"Lustre: MGS: Connection restored to {new_uuid(target.uuid, 'mgc')} "
                f"(at {self.state.nids[0]})"
            )
        config.targets[label] = target.uuid
        target.index = index
        target.registered = True
        target.replace = False

    def _start_target(
        self, lun: Lun, target: LustreTarget, mount_point: str, first_mount: bool
    ) -> None:
        host = self._hostname
        kernel = self._kernel_name(lun)
        moved = target.last_host not in (None, host)
        clients = target.clients_at_stop
        after_crash = target.unclean
        lun.mounted_on = host
        lun.mount_point = mount_point
        lun.mounted_at = self._world.wall()
        lun.counters = {}
        target.last_host = host
        target.unclean = False
        target.clients_at_stop = 0
        self._log(
            f"LDISKFS-fs ({kernel}): mounted filesystem with ordered data mode. Opts: "
            "user_xattr,errors=remount-ro,no_mbcache,nodelalloc"
        )
        label = target.label
        if target.kind == TargetKind.MGT:
            self._log(f"Lustre: MGS: Connection restored to MGC{self.state.nids[0]}_0 (at 0@lo)")
            return
        if first_mount:
            self._log(f"Lustre: {label}: new disk, initializing")
            self._log(f"Lustre: srv-{label}: No data found on store. Initialize space")
        if clients > 0:
            self._begin_recovery(lun, label, clients, after_crash or moved)
        else:
            self._log(f"Lustre: {label}: Not available for connect from 0@lo (not set up)")
            self._log(f"Lustre: {label}: Connection restored to {label}-lwp_UUID (at 0@lo)")

    def _begin_recovery(self, lun: Lun, label: str, clients: int, after_failure: bool) -> None:
        rng = seeded(self._model.seed, lun.serial, "recovery", lun.format_count, clients, label)
        seconds = rng.uniform(60, 150) if after_failure else rng.uniform(10, 35)
        evicted = 1 if after_failure and rng.random() < 0.3 else 0
        self._log(f"Lustre: {label}: Imperative Recovery not enabled, recovery window 300-900")
        self._log(
            f"Lustre: {label}: Will be in recovery for at least 5:00, or until {clients} "
            f"client{'s' if clients != 1 else ''} reconnect"
        )
        self._recovering[lun.serial] = self._world.clock.callLater(
            seconds / self._world.speed, self._end_recovery, lun, label, clients, evicted, seconds
        )

    def _end_recovery(
        self, lun: Lun, label: str, clients: int, evicted: int, seconds: float
    ) -> None:
        self._recovering.pop(lun.serial, None)
        if evicted:
            self._log(
                f"Lustre: {label}: disconnecting {evicted} stale client{'s' if evicted > 1 else ''}"
            )
        self._log(
            f"Lustre: {label}: Recovery over after {duration_text(seconds)}, of {clients} clients "
            f"{clients - evicted} recovered and {evicted} {'was' if evicted == 1 else 'were'} "
            "evicted."
        )
        self._world.changed()

    def _mount_client(self, argv: tuple[str, ...], request: cmd.MountRequest) -> CommandResult:
        nids, fsname = cmd.parse_client_source(request.source)
        prefix = f"mount.lustre: mount {request.source} at {request.mount_point} failed: "
        if request.mount_point in self.state.client_mounts:
            raise Refusal(
                cmd.EBUSY, prefix + f"{cmd.STRERROR[cmd.EBUSY]}\n{request.mount_point} is busy\n"
            )
        if not self._directory_exists(request.mount_point):
            raise Refusal(cmd.ENOENT, prefix + f"{cmd.STRERROR[cmd.ENOENT]}\n")
        if self.state.lnet != LnetState.UP:
            raise Refusal(cmd.ENETDOWN, prefix + f"{cmd.STRERROR[cmd.ENETDOWN]}\n")
        mgs = self._model.running_mgs(nids)
        if mgs is None:
            raise Refusal(cmd.EIO, prefix + f"{cmd.STRERROR[cmd.EIO]}\nIs the MGS running?\n")
        assert mgs[1].target is not None
        if fsname not in mgs[1].target.registry or not self._model.filesystem_running(fsname):
            raise Refusal(
                cmd.ENOENT,
                prefix + f"{cmd.STRERROR[cmd.ENOENT]}\nIs the MGS specification correct?\n"
                "Is the filesystem name correct?\n"
                "If upgrading, is the copied client log valid? (see upgrade docs)\n",
            )
        self.state.client_mounts[request.mount_point] = fsname
        self._log(f"Lustre: Mounted {fsname}-client")
        return CommandResult(argv, 0)

    def _umount(self, argv: tuple[str, ...]) -> CommandResult:
        request = cmd.parse_umount(argv)
        mount_point = request.mount_point
        fsname = self.state.client_mounts.pop(mount_point, None)
        if fsname is not None:
            self._log(f"Lustre: Unmounted {fsname}-client")
            return CommandResult(argv, 0)
        for lun in self._mounted_luns():
            if lun.mount_point == mount_point:
                self._stop_target(lun, force=request.force)
                return CommandResult(argv, 0)
        if self._directory_exists(mount_point):
            raise Refusal(cmd.MOUNT_FAILURE, f"umount: {mount_point}: not mounted.\n")
        raise Refusal(cmd.MOUNT_FAILURE, f"umount: {mount_point}: no mount point specified.\n")

    def _stop_target(self, lun: Lun, *, force: bool) -> None:
        target = lun.target
        assert target is not None
        label = target.label
        # A graceful umount leaves the clients' records: they recover when it comes back;
        # umount -f evicts them, so the next start has nobody to wait for.
        clients = self._world.target_clients(lun, self._world.wall())
        target.clients_at_stop = 0 if force or target.kind == TargetKind.MGT else clients
        target.unclean = False
        lun.mounted_on = None
        lun.mount_point = None
        lun.mounted_at = None
        recovery = self._recovering.pop(lun.serial, None)
        if recovery is not None and recovery.active():
            recovery.cancel()
        self._log(f"Lustre: Failing over {label}")
        self._log(f"Lustre: server umount {label} complete")

    # --- LNet and modules ----------------------------------------------------------------------

    def _modprobe(self, argv: tuple[str, ...]) -> CommandResult:
        modules = list(argv[1:])
        if not modules or any(m.startswith("-") for m in modules):
            raise NotUnderstood(1, "modprobe: the simulator only loads named modules\n")
        for module in modules:
            if module not in LUSTRE_MODULES:
                raise Refusal(
                    1,
                    f"modprobe: FATAL: Module {module} not found in directory "
                    f"/lib/modules/{cmd.KERNEL_RELEASE}\n",
                )
        state = self.state
        if state.lnet == LnetState.UNLOADED:
            state.lnet = LnetState.LOADED
            self._log(f"LNet: HW NUMA nodes: 2, HW CPU cores: {state.cpus}, npartitions: 2")
            self._log("alg: No test for adler32 (adler32-zlib)")
        return CommandResult(argv, 0)

    def _lustre_rmmod(self, argv: tuple[str, ...]) -> CommandResult:
        modules = list(argv[1:])
        unknown = [m for m in modules if m not in LUSTRE_MODULES]
        if unknown:
            raise NotUnderstood(1, f"rmmod: ERROR: Module {unknown[0]} is not currently loaded\n")
        mounted = self._mounted_luns()
        if mounted or self.state.client_mounts:
            users = sorted(
                {user for lun in mounted if lun.target for user in _MODULE_USERS[lun.target.kind]}
            ) or ["lustre"]
            module = modules[0] if modules else "ptlrpc"
            raise Refusal(1, f"rmmod: ERROR: Module {module} is in use by: {','.join(users)}\n")
        state = self.state
        # `lustre_rmmod ptlrpc` removes ptlrpc and what uses it; LNet stays. Without an
        # argument (or naming lnet) everything goes.
        if not modules or {"lnet", "libcfs"} & set(modules):
            if state.lnet == LnetState.UP:
                for nid in state.nids:
                    self._log(f"LNet: Removed LNI {nid}")
            state.lnet = LnetState.UNLOADED
        return CommandResult(argv, 0)

    def _lctl(self, argv: tuple[str, ...]) -> CommandResult:
        words = argv[1:]
        if words == ("--version",):
            return CommandResult(argv, 0, stdout=f"lctl {cmd.LUSTRE_VERSION}\n")
        if not words:
            raise NotUnderstood(1, "lctl: the simulator has no interactive lctl shell\n")
        sub = words[0]
        if sub in ("network", "net") and len(words) == 2:
            return self._lctl_network(argv, words[1])
        if sub == "list_nids" and len(words) == 1:
            if self.state.lnet != LnetState.UP:
                raise Refusal(
                    1,
                    _NO_LNET_DEVICE
                    if self.state.lnet == LnetState.UNLOADED
                    else "IOC_LIBCFS_GET_NI error 100: Network is down\n",
                )
            return CommandResult(argv, 0, stdout="".join(f"{n}\n" for n in self.state.nids))
        if sub in ("conf_param", "erase_lcfg") or sub.startswith("pool_"):
            return self._mgs_command(argv, sub, words[1:])
        if sub == "set_param" and "-P" in words[1:]:
            return self._mgs_command(argv, "set_param", words[1:])
        raise NotUnderstood(1, f"lctl: no such command '{sub}' (or not simulated)\n")

    def _lctl_network(self, argv: tuple[str, ...], direction: str) -> CommandResult:
        state = self.state
        if direction not in ("up", "down", "configure", "unconfigure"):
            raise NotUnderstood(1, f"lctl network: unknown option {direction}\n")
        if state.lnet == LnetState.UNLOADED:
            raise Refusal(1, _NO_LNET_DEVICE)
        if direction in ("up", "configure"):
            if state.lnet != LnetState.UP:
                state.lnet = LnetState.UP
                for nid in state.nids:
                    self._log(f"LNet: Added LNI {nid} [8/256/0/180]")
                self._log("LNet: Accept secure, port 988")
            return CommandResult(argv, 0, stdout="LNET configured\n")
        if self._mounted_luns() or state.client_mounts:
            raise Refusal(1, "LNET unconfigure error 16: Device or resource busy\nLNET busy\n")
        if state.lnet == LnetState.UP:
            for nid in state.nids:
                self._log(f"LNet: Removed LNI {nid}")
        state.lnet = LnetState.LOADED
        return CommandResult(argv, 0, stdout="LNET ready to unload\n")

    # --- MGS configuration: conf_param, set_param -P, pools, erase_lcfg ----------------------

    def _mgs_command(
        self, argv: tuple[str, ...], what: str, words: tuple[str, ...]
    ) -> CommandResult:
        """lctl commands that only an MGS answers: they run where the MGT is mounted."""
        mgs = next(
            (
                lun.target
                for lun in self._mounted_luns()
                if lun.target is not None and lun.target.kind == TargetKind.MGT
            ),
            None,
        )
        if mgs is None:
            raise Refusal(1, f"error: {what}: No such device\n{what}: this server runs no MGS\n")
        try:
            if what == "conf_param":
                outcome = mgs_config.conf_param(mgs.registry, words)
            elif what == "set_param":
                outcome = mgs_config.set_param_permanent(mgs.registry, words)
            elif what == "erase_lcfg":
                if len(words) != 1:
                    raise NotUnderstood(1, "usage: erase_lcfg <fsname>\n")
                running = sorted(
                    t.label for _, t in self._model.running_targets() if t.fsname == words[0]
                )
                if running:
                    self._log(
                        "LustreError: 5402:0:(mgs_handler.c:1030:mgs_iocontrol()) MGS: "
                        f"{words[0]} is still in use by {', '.join(running)}: rc = -16"
                    )
                outcome = mgs_config.erase_lcfg(mgs.registry, words[0], running)
            else:
                outcome = mgs_config.pool_command(mgs.registry, what, words)
        except mgs_config.UnknownFilesystem as refusal:
            self._log(refusal.log)
            raise
        for line in outcome.logs:
            self._log(line)
        return CommandResult(argv, 0, stdout=outcome.stdout)

    # --- directories ---------------------------------------------------------------------------

    def _mkdir(self, argv: tuple[str, ...]) -> CommandResult:
        self.state.directories = cmd.make_directories(argv, self.state.directories)
        return CommandResult(argv, 0)

    def _rmdir(self, argv: tuple[str, ...]) -> CommandResult:
        busy = {lun.mount_point or "" for lun in self._mounted_luns()}
        busy |= set(self.state.client_mounts)
        self.state.directories = cmd.remove_directories(argv, self.state.directories, busy)
        return CommandResult(argv, 0)

    # --- injected failures ---------------------------------------------------------------------

    def _injected_failure(self, command: tuple[str, ...]) -> CommandResult:
        """What the command says when the storage under it fails (the fail-next-action fault),
        with the kernel's I/O error in the log when a device was involved."""
        name = command[0] if command else ""
        device = None
        if name in ("mkfs.lustre", "dumpe2fs") and len(command) > 1:
            device = command[-1]
        elif name == "mount" and len(command) > 2:
            device = command[-2]
        lun = self._lun(device) if device else None
        if lun is not None:
            sector = seeded(self._model.seed, lun.serial, "bad-sector").randrange(2048, 1 << 30)
            self._log(
                f"blk_update_request: I/O error, dev {self._kernel_name(lun)}, sector {sector} "
                "op 0x0:(READ) flags 0x0 phys_seg 1 prio class 0"
            )
        exit_code, stderr = cmd.io_error(command)
        return CommandResult(command, exit_code, stderr=stderr)

    # --- faults --------------------------------------------------------------------------------

    def crash(self) -> str:
        if not self.state.powered:
            return f"{self._hostname} is powered off; nothing to crash"
        if self.state.crashed:
            return f"{self._hostname} has already crashed"
        lost = self._go_down()
        self.state.crashed = True
        self._world.notify(self, ServerEvent.CRASHED)
        return f"{self._hostname} crashed" + (f"; {', '.join(lost)} went away" if lost else "")

    def power_off(self) -> str:
        if not self.state.powered:
            return f"{self._hostname} is already powered off"
        lost = [] if self.state.crashed else self._go_down()
        self.state.powered = False
        self.state.crashed = False
        self._world.notify(self, ServerEvent.POWERED_OFF)
        return f"{self._hostname} powered off" + (f"; {', '.join(lost)} went away" if lost else "")

    def power_on(self) -> str:
        if self.state.powered:
            return f"{self._hostname} is already powered on"
        self._boot()
        return f"{self._hostname} powered on and booted"

    def restore(self) -> str:
        """Clear every fault; a crashed or powered-off server boots again."""
        state = self.state
        if not state.online:
            self._boot()
            return f"{self._hostname} booted again"
        state.slow = state.fail_next = state.disk_full = False
        state.clock_skew_s, state.lustre_tools = 0.0, True
        return f"{self._hostname} is healthy again"

    def drop_link(self) -> str:
        if not self.online:
            return f"{self._hostname} is down; it has no link to drop"
        self.state.link_drops += 1
        self._world.notify(self, ServerEvent.LINK_DROPPED)
        return f"{self._hostname}: its connections are being cut"

    def make_slow(self) -> str:
        self.state.slow = True
        return f"{self._hostname}: commands now take {SLOW_FACTOR:g} times as long"

    def fail_next_command(self) -> str:
        self.state.fail_next = True
        return f"{self._hostname}: the next command will fail"

    def fill_disks(self) -> str:
        self.state.disk_full = True
        osts = [
            lun.target.label
            for lun in self._model.visible_luns(self._hostname)
            if lun.target is not None and lun.target.kind == TargetKind.OST
        ]
        return f"{self._hostname}: OSTs here are full" + (f" ({', '.join(osts)})" if osts else "")

    def skew_clock(self) -> str:
        self.state.clock_skew_s = CLOCK_SKEW_FAULT_S
        return f"{self._hostname}: its clock now runs {CLOCK_SKEW_FAULT_S / 60:g} min ahead"

    def remove_lustre_tools(self) -> str:
        self.state.lustre_tools = False
        return f"{self._hostname}: mkfs.lustre, lctl and mount.lustre are no longer installed"

    # --- pre-flight ----------------------------------------------------------------------------

    def preflight_facts(self, now: float) -> dict[str, Any]:
        """What the real agent's probes would tell the desktop's pre-flight checks."""
        self._require_online("pre-flight checks")
        state = self.state
        loaded = state.lnet != LnetState.UNLOADED
        installed = sorted(m.replace("-", "_") for m in LUSTRE_MODULES)
        return {
            "hostname": self._hostname,
            "fqdn": self._hostname,
            "addresses": [],
            "time": self._world.wall() + state.clock_skew_s,
            "kernel": cmd.KERNEL_RELEASE,
            "lustre_version": cmd.LUSTRE_VERSION,
            "lustre_proc": loaded,
            "modules_loaded": installed if loaded else [],
            "modules_available": installed,
            "tools": ["mkfs.lustre", "lctl", "mount.lustre"] if state.lustre_tools else [],
            "lnet_state": _LNET[state.lnet],
            "nids": list(state.nids),
        }

    def _go_down(self) -> list[str]:
        """Everything running here stops at once, as when the machine dies."""
        now = self._world.wall()
        lost: list[str] = []
        mounted = self._mounted_luns()
        clients = {lun.serial: self._world.target_clients(lun, now) for lun in mounted}
        for lun in mounted:
            target = lun.target
            assert target is not None
            lost.append(target.label)
            target.clients_at_stop = 0 if target.kind == TargetKind.MGT else clients[lun.serial]
            target.unclean = True
            lun.mounted_on = None
            lun.mount_point = None
            lun.mounted_at = None
        for call in [*self._pending.values(), *self._recovering.values()]:
            if call.active():
                call.cancel()
        # The Deferreds of unfinished commands never fire: nobody is left to answer them.
        self._pending.clear()
        self._recovering.clear()
        self._logs.clear()
        self.state.client_mounts.clear()
        self.state.last_collect = None
        for other in self._world.servers.values():
            if other is self or not other.online:
                continue
            if any(t.kind == TargetKind.MGT for t in other._running_targets()):
                other._log(
                    f"Lustre: MGS: haven't heard from client "
                    f"{new_uuid(self._model.seed, self._hostname, 'mgc', now)} "
                    f"(at {self.state.nids[0]}) in 229 seconds. I think it's dead, and I am "
                    "evicting it."
                )
        self._world.changed()
        return lost

    def _running_targets(self) -> list[LustreTarget]:
        return [lun.target for lun in self._mounted_luns() if lun.target is not None]

    def _boot(self) -> None:
        state = self.state
        state.powered = True
        state.crashed = False
        state.slow = state.fail_next = state.disk_full = False
        state.boot_time = round(self._world.wall(), 3)
        state.lnet = LnetState.UNLOADED
        state.counters = {}
        state.last_collect = None
        state.client_mounts.clear()
        self._log(
            f"Linux version {cmd.KERNEL_RELEASE} (mockbuild@builder.example.com) (gcc version "
            "8.5.0 20210514 (Red Hat 8.5.0-22) (GCC)) #1 SMP"
        )
        self._log("Started Chroma Desktop agent.", facility="daemon", source="systemd")
        self._world.changed()
        self._world.notify(self, ServerEvent.BOOTED)

    # --- collect (AgentBackend) ----------------------------------------------------------------

    def collect(self, now: float) -> list[Record]:
        """Statistics for `now` and the log lines since the last call, deterministic from the
        seed, the model and the times of the calls."""
        self._require_online("collect()")
        state = self.state
        previous = state.last_collect
        dt = 0.0 if previous is None else min(max(now - previous, 0.0), MAX_COLLECT_GAP_S)
        state.last_collect = now
        interval = Interval(
            seed=self._model.seed,
            now=now,
            dt=dt,
            rng=seeded(self._model.seed, self._hostname, "collect", repr(now)),
        )
        samples: list[tuple[str, Sample]] = []
        moved_bytes = metadata_ops = 0.0
        for lun in self._mounted_luns():
            target = lun.target
            assert target is not None
            if target.kind == TargetKind.MGT:
                samples.append(("MGS", Sample({"num_exports": self._mgs_exports(interval)})))
                continue
            clients = self._world.target_clients(lun, interval.middle)
            mdts = sum(
                1
                for _, t in self._model.running_targets()
                if t.fsname == target.fsname and t.kind == TargetKind.MDT
            )
            recovering = lun.serial in self._recovering
            if target.kind == TargetKind.OST:
                sample = sample_ost(
                    interval,
                    lun,
                    target,
                    clients=clients,
                    mdts=mdts,
                    recovering=recovering,
                    disk_full=state.disk_full,
                )
                moved_bytes += sample.load
            else:
                sample = sample_mdt(
                    interval, lun, target, clients=clients, mdts=mdts, recovering=recovering
                )
                metadata_ops += sample.load
            samples.append((target.label, sample))
        samples += sample_node(interval, state, moved_bytes, metadata_ops)
        stats: list[Record] = []
        for subject, sample in samples:
            for metric, value in sample.values.items():
                stats.append(
                    StatRecord(kind="stat", t=now, subject=subject, metric=metric, value=value)
                )
            for t, message in sample.logs:
                self._log(message, t=t)
        self._world.changed()
        logs: list[Record] = sorted(self._logs, key=lambda record: record["t"])
        self._logs = []
        return [*logs, *stats]

    def _mgs_exports(self, interval: Interval) -> float:
        """Every running target and every client of every running filesystem."""
        running = [t for _, t in self._model.running_targets() if t.kind != TargetKind.MGT]
        filesystems = {t.fsname for t in running if t.fsname}
        clients = sum(self._world.connected_clients(fs, interval.middle) for fs in filesystems)
        return float(len(running) + clients)
