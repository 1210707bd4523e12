"""An agent's pushes and the link's events, turned into core's observations with their shape
checked.

Layer: agentlink (imports core; Twisted only through the connector's LinkEvent). Thread: any;
the manager calls it on the reactor thread as each push arrives, stamping the desktop's time of
arrival, and hands the frozen observations to the database worker
(`core.alerts.AlertEngine.observe`, then `Scheduler.observe` with `LustreReported.report`). A
push that is not what an agent sends raises `GarbledReportError` naming the server, the push and
what is wrong with it, so one bad agent is logged and skipped instead of failing the others.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from agentlink.connector import LinkEvent, LinkState
from core.errors import ChromaError, ValidationError
from core.observations import (
    ContactChanged,
    DeviceSeen,
    DevicesReported,
    LogLine,
    LustreReported,
    MountSeen,
    Observation,
    RecordsMissed,
    RecordsReported,
    StatSample,
    SyslogSeverity,
)

LNET_STATES = ("unloaded", "loaded", "up")
_CONNECTED = re.compile(r"^(?P<name>.*), agent (?P<version>\S+)$")


class GarbledReportError(ChromaError):
    """A push from an agent that is not shaped like any report an agent sends."""

    def __init__(self, host: str, kind: str, problem: str) -> None:
        self.host = host
        self.kind = kind
        self.problem = problem
        super().__init__(
            f"{host} sent a garbled {kind} report: {problem}.",
            hint="It was ignored; if this repeats, check that the server's agent is the same "
            "version as Chroma Desktop.",
        )


class _Reader:
    """Reads fields of one push, raising GarbledReportError with the path of a bad field."""

    def __init__(self, host: str, kind: str) -> None:
        self.host = host
        self.kind = kind

    def fail(self, problem: str) -> GarbledReportError:
        return GarbledReportError(self.host, self.kind, problem)

    def mapping(self, value: object, where: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(f"{where} should be a mapping, not {type(value).__name__}")
        return value

    def items(self, value: object, where: str) -> list[Any]:
        if not isinstance(value, list | tuple):
            raise self.fail(f"{where} should be a list, not {type(value).__name__}")
        return list(value)

    def text(self, body: Mapping[str, Any], key: str, where: str) -> str:
        value = body.get(key)
        if not isinstance(value, str):
            raise self.fail(f"{where}.{key} should be text, not {_shown(value)}")
        return value

    def optional_text(self, body: Mapping[str, Any], key: str, where: str) -> str | None:
        return None if body.get(key) is None else self.text(body, key, where)

    def number(self, body: Mapping[str, Any], key: str, where: str) -> float:
        value = body.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
            raise self.fail(f"{where}.{key} should be a number, not {_shown(value)}")
        return float(value)

    def whole(self, value: object, where: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.fail(f"{where} should be a whole number, not {_shown(value)}")
        return value

    def time(self, body: Mapping[str, Any], key: str, where: str) -> datetime:
        seconds = self.number(body, key, where)
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            raise self.fail(f"{where}.{key} is not a time: {seconds!r}") from None


def _shown(value: object) -> str:
    if value is None:
        return "nothing"
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def parse_push(host: str, body: object, *, received_at: datetime) -> Observation:
    """One push of `host`'s agent as an observation; `received_at` is the desktop's clock."""
    if not isinstance(body, Mapping):
        raise GarbledReportError(host, "unknown", f"a push is a mapping, not {_shown(body)}")
    kind = body.get("kind")
    if kind == "devices":
        return _devices(_Reader(host, "devices"), body, received_at)
    if kind == "lustre":
        return _lustre(_Reader(host, "lustre"), body, received_at)
    if kind == "records":
        return _records(_Reader(host, "records"), body, received_at)
    if kind == "gap":
        reader = _Reader(host, "gap")
        return RecordsMissed(
            after=reader.whole(body.get("after"), "after"),
            missed=reader.whole(body.get("missed"), "missed"),
            received_at=received_at,
        )
    raise GarbledReportError(host, "unknown", f"no report is of kind {_shown(kind)}")


def _devices(reader: _Reader, body: Mapping[str, Any], received_at: datetime) -> DevicesReported:
    devices = []
    for number, item in enumerate(reader.items(body.get("devices"), "devices")):
        where = f"devices[{number}]"
        record = reader.mapping(item, where)
        size = record.get("size_bytes")
        devices.append(
            DeviceSeen(
                path=reader.text(record, "path", where),
                serial=reader.text(record, "serial", where),
                size_bytes=reader.whole(size, f"{where}.size_bytes"),
                filesystem=reader.optional_text(record, "filesystem", where),
                label=reader.optional_text(record, "label", where),
            )
        )
    return DevicesReported(tuple(devices), received_at)


def _lustre(reader: _Reader, body: Mapping[str, Any], received_at: datetime) -> LustreReported:
    state = reader.mapping(body.get("state"), "state")
    lnet = reader.text(state, "lnet", "state")
    if lnet not in LNET_STATES:
        raise reader.fail(f"state.lnet should be one of {', '.join(LNET_STATES)}, not {lnet!r}")
    nids = reader.items(state.get("nids"), "state.nids")
    for number, nid in enumerate(nids):
        if not isinstance(nid, str):
            raise reader.fail(f"state.nids[{number}] should be text, not {_shown(nid)}")
    mounts = []
    for number, item in enumerate(reader.items(state.get("mounts"), "state.mounts")):
        where = f"state.mounts[{number}]"
        record = reader.mapping(item, where)
        mgs_nids = reader.items(record.get("mgs_nids", []), f"{where}.mgs_nids")
        for position, nid in enumerate(mgs_nids):
            if not isinstance(nid, str):
                raise reader.fail(f"{where}.mgs_nids[{position}] should be text, not {_shown(nid)}")
        mounts.append(
            MountSeen(
                label=reader.text(record, "label", where),
                device=reader.text(record, "device", where),
                mount_point=reader.text(record, "mount_point", where),
                recovery=reader.text(record, "recovery", where),
                mgs_nids=tuple(mgs_nids),
            )
        )
    conf_params: dict[str, dict[str, str]] | None = None
    if state.get("conf_params") is not None:
        conf_params = {}
        by_filesystem = reader.mapping(state["conf_params"], "state.conf_params")
        for fsname, params in by_filesystem.items():
            where = f"state.conf_params[{fsname!r}]"
            values = reader.mapping(params, where)
            conf_params[str(fsname)] = {str(key): reader.text(values, key, where) for key in values}
    pools: dict[str, dict[str, tuple[str, ...]]] | None = None
    if state.get("pools") is not None:
        pools = {}
        for fsname, named in reader.mapping(state["pools"], "state.pools").items():
            where = f"state.pools[{fsname!r}]"
            pools[str(fsname)] = {}
            for pool, members in reader.mapping(named, where).items():
                osts = reader.items(members, f"{where}[{pool!r}]")
                for position, ost in enumerate(osts):
                    if not isinstance(ost, str):
                        raise reader.fail(
                            f"{where}[{pool!r}][{position}] should be text, not {_shown(ost)}"
                        )
                pools[str(fsname)][str(pool)] = tuple(osts)
    return LustreReported(
        lnet=lnet,
        nids=tuple(nids),
        mounts=tuple(mounts),
        boot_time=reader.time(state, "boot_time", "state"),
        received_at=received_at,
        conf_params=conf_params,
        pools=pools,
    )


def _records(reader: _Reader, body: Mapping[str, Any], received_at: datetime) -> RecordsReported:
    stats: list[StatSample] = []
    logs: list[LogLine] = []
    for number, item in enumerate(reader.items(body.get("records"), "records")):
        where = f"records[{number}]"
        pair = reader.items(item, where)
        if len(pair) != 2:
            raise reader.fail(f"{where} should be [sequence number, record]")
        seq = reader.whole(pair[0], f"{where}[0]")
        record = reader.mapping(pair[1], f"{where}[1]")
        kind = record.get("kind")
        where = f"record {seq}"
        if kind == "stat":
            stats.append(
                StatSample(
                    seq=seq,
                    t=reader.time(record, "t", where),
                    subject=reader.text(record, "subject", where),
                    metric=reader.text(record, "metric", where),
                    value=reader.number(record, "value", where),
                )
            )
        elif kind == "log":
            name = reader.text(record, "severity", where)
            try:
                severity = SyslogSeverity.parse(name)
            except ValidationError:
                raise reader.fail(f"{where}.severity {name!r} is not a syslog severity") from None
            logs.append(
                LogLine(
                    seq=seq,
                    t=reader.time(record, "t", where),
                    severity=severity,
                    facility=reader.text(record, "facility", where),
                    source=reader.text(record, "source", where),
                    message=reader.text(record, "message", where),
                )
            )
        else:
            raise reader.fail(f"{where} is of kind {_shown(kind)}, not stat or log")
    return RecordsReported(tuple(stats), tuple(logs), received_at)


def contact_from_link_event(
    event: LinkEvent, *, received_at: datetime, planned: bool = False
) -> ContactChanged:
    """A link that came up (with the agent's name and version) or went down (with why).
    `planned`: the desktop closed it itself (stopping, or removing the server)."""
    if event.state == LinkState.CONNECTED:
        match = _CONNECTED.match(event.detail)
        return ContactChanged(
            up=True,
            received_at=received_at,
            reason=event.detail,
            agent_name=match["name"] if match else None,
            agent_version=match["version"] if match else None,
        )
    return ContactChanged(up=False, received_at=received_at, reason=event.detail, planned=planned)
