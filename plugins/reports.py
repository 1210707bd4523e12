"""The agent reports storage plugins read, checked and turned into frozen dataclasses.

Layer: plugins (imports core only; never agentlink: the shapes are restated here as plain
data). Thread: the database worker's. A report that is not the shape below is refused as a
whole with `ReportError`, before any plugin sees it, so a garbled push changes nothing.

Accepted shapes (JSON-like; keys not listed are ignored, so newer agents can add some):

`devices`: `{"devices": [device, …], "zpools": [pool, …]}` where a device is
  `{"path": str (absolute), "major_minor": "M:m", "size_bytes": int ≥ 0}` plus optional
  `serial` (SCSI serial or WWID; the same on every server that sees the LUN), `filesystem`
  (what blkid found: "lustre", "xfs", "LVM2_member" …), `label`, `parent` (the whole disk's
  major:minor, for a partition), `partition_number`, `slaves` (major:minors it is built on:
  device-mapper, multipath, md, LVM), `holders` (those built on it), `dm_uuid`
  ("mpath-…", "LVM-…", "part1-mpath-…"), `dm_name`, `vg`, `lv`, `vg_uuid`, `lv_uuid`,
  `md_uuid`. A pool is `{"name": str, "size_bytes": int, "devices": ["M:m", …]}` plus optional
  `guid`, `health`. `zpools` may be absent.
`lustre`: `{"state": {"lnet": "unloaded"|"loaded"|"up", "nids": [str], "mounts": [{"label",
  "device", "mount_point", "recovery"}], "boot_time": float}}`.
`network`: `{"interfaces": [{"name": str, "rx_bytes": int, "tx_bytes": int}]}` plus optional
  `mac_address`, `inet4_address`, `inet6_address`, `network_type` ("tcp", "o2ib" …), `is_up`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from core.errors import ChromaError

T = TypeVar("T")

_MAJOR_MINOR = re.compile(r"\d+:\d+")


class ReportError(ChromaError):
    """An agent's report is not the shape plugins read; nothing of it was applied."""

    def __init__(self, kind: str, host: str, problem: str) -> None:
        self.kind = kind
        self.host = host
        self.problem = problem
        super().__init__(
            f"The {kind} report from {host} was refused: {problem}. Nothing was changed.",
            hint="If this repeats, the agent on that server may be a different version from "
            "Chroma Desktop; update one or the other.",
        )


class _Problem(Exception):
    """Where in the report a value is wrong, and why (becomes a ReportError)."""


@dataclass(frozen=True)
class BlockDevice:
    path: str
    major_minor: str
    size_bytes: int
    serial: str | None = None
    filesystem: str | None = None
    label: str | None = None
    parent: str | None = None
    partition_number: int | None = None
    slaves: tuple[str, ...] = ()
    holders: tuple[str, ...] = ()
    dm_uuid: str | None = None
    dm_name: str | None = None
    vg: str | None = None
    lv: str | None = None
    vg_uuid: str | None = None
    lv_uuid: str | None = None
    md_uuid: str | None = None


@dataclass(frozen=True)
class ZfsPool:
    name: str
    size_bytes: int
    devices: tuple[str, ...]
    guid: str | None = None
    health: str | None = None


@dataclass(frozen=True)
class DevicesReport:
    devices: tuple[BlockDevice, ...]
    zpools: tuple[ZfsPool, ...] = ()


@dataclass(frozen=True)
class LustreMount:
    label: str
    device: str
    mount_point: str
    recovery: str


@dataclass(frozen=True)
class LustreReport:
    lnet: str
    nids: tuple[str, ...]
    mounts: tuple[LustreMount, ...]
    boot_time: float


@dataclass(frozen=True)
class InterfaceReading:
    name: str
    rx_bytes: int
    tx_bytes: int
    mac_address: str | None = None
    inet4_address: str | None = None
    inet6_address: str | None = None
    network_type: str = "tcp"
    is_up: bool = True


@dataclass(frozen=True)
class NetworkReport:
    interfaces: tuple[InterfaceReading, ...]


Report = DevicesReport | LustreReport | NetworkReport

REPORT_KINDS = frozenset({"devices", "lustre", "network"})


def parse_report(kind: str, body: object, host: str) -> Report:
    """The push `body` of `kind` from `host`, checked; ReportError if it is not that shape."""
    try:
        if kind not in REPORT_KINDS:
            raise _Problem(f"storage plugins read only {', '.join(sorted(REPORT_KINDS))} reports")
        root = _mapping(body, "the report")
        if kind == "devices":
            return _devices(root)
        if kind == "lustre":
            return _lustre(_mapping(root.get("state"), "state"))
        return _network(root)
    except _Problem as problem:
        raise ReportError(kind, host, str(problem)) from None


def _devices(root: Mapping[str, Any]) -> DevicesReport:
    devices = tuple(
        _device(_mapping(item, f"devices[{i}]"), f"devices[{i}]")
        for i, item in enumerate(_list(root.get("devices"), "devices"))
    )
    paths = [d.path for d in devices]
    numbers = [d.major_minor for d in devices]
    for name, values in (("path", paths), ("major_minor", numbers)):
        repeated = sorted({v for v in values if values.count(v) > 1})
        if repeated:
            raise _Problem(f"two devices have the {name} {repeated[0]!r}")
    zpools = tuple(
        _zpool(_mapping(item, f"zpools[{i}]"), f"zpools[{i}]")
        for i, item in enumerate(_list(root.get("zpools", []), "zpools"))
    )
    return DevicesReport(devices=devices, zpools=zpools)


def _device(item: Mapping[str, Any], where: str) -> BlockDevice:
    path = _text(item.get("path"), f"{where}.path")
    if not path.startswith("/"):
        raise _Problem(f"{where}.path {path!r} is not an absolute device path")
    return BlockDevice(
        path=path,
        major_minor=_major_minor(item.get("major_minor"), f"{where}.major_minor"),
        size_bytes=_count(item.get("size_bytes"), f"{where}.size_bytes"),
        serial=_maybe_text(item.get("serial"), f"{where}.serial"),
        filesystem=_maybe_text(item.get("filesystem"), f"{where}.filesystem"),
        label=_maybe_text(item.get("label"), f"{where}.label"),
        parent=_maybe(item.get("parent"), f"{where}.parent", _major_minor),
        partition_number=_maybe(item.get("partition_number"), f"{where}.partition_number", _count),
        slaves=tuple(
            _major_minor(v, f"{where}.slaves") for v in _list(item.get("slaves", []), where)
        ),
        holders=tuple(
            _major_minor(v, f"{where}.holders") for v in _list(item.get("holders", []), where)
        ),
        dm_uuid=_maybe_text(item.get("dm_uuid"), f"{where}.dm_uuid"),
        dm_name=_maybe_text(item.get("dm_name"), f"{where}.dm_name"),
        vg=_maybe_text(item.get("vg"), f"{where}.vg"),
        lv=_maybe_text(item.get("lv"), f"{where}.lv"),
        vg_uuid=_maybe_text(item.get("vg_uuid"), f"{where}.vg_uuid"),
        lv_uuid=_maybe_text(item.get("lv_uuid"), f"{where}.lv_uuid"),
        md_uuid=_maybe_text(item.get("md_uuid"), f"{where}.md_uuid"),
    )


def _zpool(item: Mapping[str, Any], where: str) -> ZfsPool:
    return ZfsPool(
        name=_text(item.get("name"), f"{where}.name"),
        size_bytes=_count(item.get("size_bytes"), f"{where}.size_bytes"),
        devices=tuple(
            _major_minor(v, f"{where}.devices")
            for v in _list(item.get("devices"), f"{where}.devices")
        ),
        guid=_maybe_text(item.get("guid"), f"{where}.guid"),
        health=_maybe_text(item.get("health"), f"{where}.health"),
    )


def _lustre(state: Mapping[str, Any]) -> LustreReport:
    lnet = state.get("lnet")
    if lnet not in ("unloaded", "loaded", "up"):
        raise _Problem(f"state.lnet is {lnet!r}, not one of unloaded, loaded, up")
    mounts = []
    for i, item in enumerate(_list(state.get("mounts"), "state.mounts")):
        mount = _mapping(item, f"state.mounts[{i}]")
        mounts.append(
            LustreMount(
                **{
                    key: _text(mount.get(key), f"state.mounts[{i}].{key}")
                    for key in ("label", "device", "mount_point", "recovery")
                }
            )
        )
    boot_time = state.get("boot_time")
    if isinstance(boot_time, bool) or not isinstance(boot_time, int | float):
        raise _Problem(f"state.boot_time is {boot_time!r}, not seconds since the epoch")
    return LustreReport(
        lnet=str(lnet),
        nids=tuple(
            _text(v, f"state.nids[{i}]") for i, v in enumerate(_list(state.get("nids"), "nids"))
        ),
        mounts=tuple(mounts),
        boot_time=float(boot_time),
    )


def _network(root: Mapping[str, Any]) -> NetworkReport:
    readings = []
    for i, item in enumerate(_list(root.get("interfaces"), "interfaces")):
        where = f"interfaces[{i}]"
        entry = _mapping(item, where)
        is_up = entry.get("is_up", True)
        if not isinstance(is_up, bool):
            raise _Problem(f"{where}.is_up is {is_up!r}, not true or false")
        readings.append(
            InterfaceReading(
                name=_text(entry.get("name"), f"{where}.name"),
                rx_bytes=_count(entry.get("rx_bytes"), f"{where}.rx_bytes"),
                tx_bytes=_count(entry.get("tx_bytes"), f"{where}.tx_bytes"),
                mac_address=_maybe_text(entry.get("mac_address"), f"{where}.mac_address"),
                inet4_address=_maybe_text(entry.get("inet4_address"), f"{where}.inet4_address"),
                inet6_address=_maybe_text(entry.get("inet6_address"), f"{where}.inet6_address"),
                network_type=_maybe_text(entry.get("network_type"), f"{where}.network_type")
                or "tcp",
                is_up=is_up,
            )
        )
    return NetworkReport(interfaces=tuple(readings))


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _Problem(f"{where} is {_shown(value)}, not a mapping")
    return value


def _list(value: object, where: str) -> Sequence[Any]:
    if not isinstance(value, list | tuple):
        raise _Problem(f"{where} is {_shown(value)}, not a list")
    return value


def _text(value: object, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise _Problem(f"{where} is {_shown(value)}, not a non-empty text")
    return value


def _maybe_text(value: object, where: str) -> str | None:
    return None if value is None or value == "" else _text(value, where)


def _count(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _Problem(f"{where} is {_shown(value)}, not a whole number ≥ 0")
    return value


def _major_minor(value: object, where: str) -> str:
    if not isinstance(value, str) or not _MAJOR_MINOR.fullmatch(value):
        raise _Problem(f"{where} is {_shown(value)}, not a major:minor pair like 8:16")
    return value


def _maybe(value: object, where: str, check: Callable[[object, str], T]) -> T | None:
    return None if value is None else check(value, where)


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."
