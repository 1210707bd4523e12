"""The resources the API lists and shows: each names its fields, how its rows are read (through
the same read models as the window's screens: `core.queries.*` and `core.records`), what it can
be filtered and ordered by, and which states a PUT may ask for.

Layer: chroma_desktop.api (no Qt, no Twisted). Thread: `rows` functions run on the database
worker with its session; the rest is plain data. Filtering, ordering and paging are applied
to the rows here, the same way for every resource (filters.py of tastypie, in a few lines).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from chroma_desktop.api.schema import ApiError, Field, bad_input, jsonable
from core.models import (
    Filesystem,
    Job,
    LNetConfiguration,
    Nid,
    OstPool,
    ServerProfile,
    VolumeNode,
)
from core.queries.alerts import alerts_page
from core.queries.commands import command_detail, job_steps, list_commands
from core.queries.confparams import conf_param_sheet
from core.queries.events import list_events
from core.queries.filesystems import filesystem_rows, target_rows
from core.queries.hosts import live_hosts
from core.queries.volumes import list_volumes
from core.records import host_record

Row = dict[str, Any]
LIST_ALL = 0
DEFAULT_LIMIT = 20
MAX_LIMIT = 10_000
HISTORY_ROWS = 2000


@dataclass(frozen=True)
class Filter:
    name: str
    help: str
    values: Callable[[Row], Iterable[object]]
    """The row's values the filter's text is compared with (equal as text: one must match)."""


@dataclass(frozen=True)
class Resource:
    name: str
    help: str
    fields: tuple[Field, ...]
    rows: Callable[[Session, Mapping[str, str]], list[Row]]
    filters: tuple[Filter, ...] = ()
    ordering: tuple[str, ...] = ("id",)
    states: tuple[str, ...] = ()
    """The states a PUT {"state": …} may ask for; none: states cannot be set."""
    required_filter: str | None = None

    def filter_named(self, name: str) -> Filter | None:
        return next((f for f in self.filters if f.name == name), None)


def _field(name: str, kind: str, help: str, **more: Any) -> Field:
    return Field(name, kind, help, **more)


def _by(key: str) -> Callable[[Row], Iterable[object]]:
    def values(row: Row) -> Iterable[object]:
        value = row.get(key)
        return value if isinstance(value, list) else [value]

    return values


def _by_host(row: Row) -> Iterable[object]:
    return (row["host"], row["host_id"])


def _state_filter() -> Filter:
    return Filter("state", "only objects in this state", _by("state"))


def _now() -> datetime:
    return datetime.now(UTC)


# --- rows ---------------------------------------------------------------------------------------


def _host_rows(session: Session, query: Mapping[str, str]) -> list[Row]:
    rows = []
    for host in live_hosts(session):
        record = jsonable(host_record(host))
        record["role"] = sorted(
            {m.target.kind.value for m in host.target_mounts if m.target.is_live}
        )
        rows.append(record)
    return rows


def _lnet_rows(session: Session, query: Mapping[str, str]) -> list[Row]:
    rows = []
    for lnet in session.scalars(
        select(LNetConfiguration).options(
            selectinload(LNetConfiguration.host), selectinload(LNetConfiguration.nids)
        )
    ):
        if not lnet.host.is_live:
            continue
        rows.append(
            {
                "id": lnet.host_id,
                "host_id": lnet.host_id,
                "host": lnet.host.label,
                "state": lnet.state.value,
                "nids": sorted(nid.nid_string for nid in lnet.nids),
            }
        )
    return sorted(rows, key=lambda row: row["host"])


def _nid_rows(session: Session, query: Mapping[str, str]) -> list[Row]:
    rows = []
    for nid in session.scalars(
        select(Nid).options(
            selectinload(Nid.lnet_configuration).selectinload(LNetConfiguration.host)
        )
    ):
        host = nid.lnet_configuration.host
        if host.is_live:
            rows.append(
                {"id": nid.id, "host_id": host.id, "host": host.label, "nid": nid.nid_string}
            )
    return rows


def _profile_rows(session: Session, query: Mapping[str, str]) -> list[Row]:
    return [
        {
            "id": profile.id,
            "name": profile.name,
            "label": profile.ui_name,
            "description": profile.description,
            "managed": profile.managed,
            "worker": profile.worker,
            "default": profile.default,
        }
        for profile in session.scalars(select(ServerProfile).order_by(ServerProfile.name))
    ]


def _volume_rows(session: Session, query: Mapping[str, str]) -> list[Row]:
    rows = []
    for volume in list_volumes(session):
        row = jsonable(volume)
        row["size"] = volume.size
        row["servers"] = list(volume.servers)
        rows.append(row)
    return rows


def _volume_node_rows(session: Session, query: Mapping[str, str]) -> list[Row]:
    nodes = session.scalars(
        select(VolumeNode)
        .where(VolumeNode.deleted_at.is_(None))
        .options(selectinload(VolumeNode.host))
        .order_by(VolumeNode.id)
    )
    return [
        {
            "id": node.id,
            "volume_id": node.volume_id,
            "host_id": node.host_id,
            "host": node.host.label,
            "path": node.path,
            "primary": node.primary,
            "use": node.use,
        }
        for node in nodes
        if node.host.is_live
    ]


def _filesystem_rows(session: Session, query: Mapping[str, str]) -> list[Row]:
    rows = []
    for filesystem in filesystem_rows(session):
        row = jsonable(filesystem)
        row["mount_command"] = filesystem.mount_command
        rows.append(row)
    return rows


def _target_rows(session: Session, query: Mapping[str, str]) -> list[Row]:
    rows = []
    for target in target_rows(session):
        row = jsonable(target)
        row["filesystems"] = [name for name in target.filesystem.split(", ") if name]
        rows.append(row)
    return rows


def _command_rows(session: Session, query: Mapping[str, str]) -> list[Row]:
    listed = list_commands(session, _now(), limit=HISTORY_ROWS)
    return [_command_row(summary) for summary in listed.commands]


def _command_row(summary: Any) -> Row:
    row: Row = jsonable(summary)
    row.pop("read_at", None)
    row["finished"] = summary.finished
    return row


def command_json(session: Session, command_id: int) -> Row | None:
    """One command with its jobs, as GET /api/command/<id>/ shows it."""
    detail = command_detail(session, command_id, _now())
    if detail is None:
        return None
    row = _command_row(detail.command)
    row["jobs"] = [_job_row(job) for job in detail.jobs]
    return row


def _job_row(job: Any) -> Row:
    row: Row = jsonable(job)
    row.pop("read_at", None)
    return row


def _job_rows(session: Session, query: Mapping[str, str]) -> list[Row]:
    jobs = session.scalars(select(Job).order_by(Job.id.desc()).limit(HISTORY_ROWS))
    return [
        {
            "id": job.id,
            "kind": job.kind,
            "description": job.description,
            "state": job.state.value,
            "subject_kind": job.subject_kind,
            "subject_id": job.subject_id,
            "cancellable": job.cancellable,
            "created_at": jsonable(job.created_at),
            "started_at": jsonable(job.started_at),
            "finished_at": jsonable(job.finished_at),
            "error": job.error,
        }
        for job in jobs
    ]


def _step_rows(session: Session, query: Mapping[str, str]) -> list[Row]:
    job_id = parse_int("job", query["job"])
    return [jsonable(step) for step in job_steps(session, job_id)]


def _alert_rows(session: Session, query: Mapping[str, str]) -> list[Row]:
    page = alerts_page(session, history_limit=HISTORY_ROWS)
    rows = []
    for summary in (*page.active, *page.history):
        alert = summary.alert
        rows.append(
            {
                "id": alert.id,
                "kind": alert.kind.value,
                "severity": summary.severity_text,
                "subject_kind": alert.subject_kind,
                "subject_id": alert.subject_id,
                "subject": summary.subject,
                "message": alert.message,
                "raised_at": jsonable(alert.raised_at),
                "cleared_at": jsonable(alert.cleared_at),
                "active": alert.active,
                "dismissed": summary.dismissed,
                "dismissed_by": alert.dismissed_by,
                "evidence": summary.evidence,
            }
        )
    return rows


def _event_rows(session: Session, query: Mapping[str, str]) -> list[Row]:
    page = list_events(session, limit=HISTORY_ROWS)
    return [jsonable(event) | {"severity": event.severity_text} for event in page.events]


def _live_filesystem(session: Session, text: str) -> Filesystem:
    """The live filesystem named `text` (or with that id): a 404 naming it otherwise."""
    query = select(Filesystem).where(Filesystem.deleted_at.is_(None))
    found = session.scalars(
        query.where(Filesystem.id == int(text))
        if text.isdigit()
        else query.where(Filesystem.name == text)
    ).first()
    if found is None:
        raise ApiError(404, f"There is no filesystem {text!r}.", field="filesystem")
    return found


def _conf_param_rows(session: Session, query: Mapping[str, str]) -> list[Row]:
    """Every parameter of the filesystem and its MDTs and OSTs, as the conf params editor shows
    them (`core.queries.confparams`)."""
    filesystem = _live_filesystem(session, query["filesystem"])
    sheet = conf_param_sheet(session, filesystem.id)
    return [
        {
            "id": number,
            "filesystem": sheet.filesystem,
            "filesystem_id": sheet.filesystem_id,
            "subject": row.subject,
            "key": row.key,
            "lustre_key": row.lustre_key,
            "help": row.help,
            "value": row.value,
            "applied": row.applied,
            "reported": row.reported,
            "pending": row.pending,
        }
        for number, row in enumerate(sheet.rows, start=1)
    ]


def _ost_pool_rows(session: Session, query: Mapping[str, str]) -> list[Row]:
    pools = session.scalars(
        select(OstPool)
        .where(OstPool.deleted_at.is_(None))
        .options(selectinload(OstPool.osts), selectinload(OstPool.filesystem))
        .order_by(OstPool.id)
    )
    return [
        {
            "id": pool.id,
            "name": pool.name,
            "filesystem": pool.filesystem.name,
            "filesystem_id": pool.filesystem_id,
            "osts": sorted(ost.name for ost in pool.osts),
        }
        for pool in pools
        if pool.filesystem.is_live
    ]


def parse_int(field: str, text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise bad_input(field, "must be a whole number", text) from None
    if value < 0:
        raise bad_input(field, "must not be negative", text)
    return value


# --- the resources ------------------------------------------------------------------------------

_ID = _field("id", "integer", "its id")
_WHEN = "a time in ISO 8601 with its zone"

HOST = Resource(
    "host",
    "A managed server: pair one with POST {address, token}; PUT {state} to set it up or remove it.",
    (
        _ID,
        _field("address", "string", "host[:port] of its agent"),
        _field("label", "string", "its name as shown"),
        _field("fqdn", "string", "fully qualified name", nullable=True),
        _field("nodename", "string", "its node name", nullable=True),
        _field("state", "string", "unconfigured, configured or removed"),
        _field("lnet_state", "string", "its LNet's state"),
        _field("nids", "array", "its LNet NIDs", items="string"),
        _field("profile", "string", "its server profile", nullable=True),
        _field("monitor_only", "boolean", "only watched, not managed"),
        _field("paired", "boolean", "its agent is paired"),
        _field("cert_fingerprint", "string", "its agent's pinned certificate", nullable=True),
        _field("agent_version", "string", "its agent's version", nullable=True),
        _field("last_contact", "string", f"its agent's last report, {_WHEN}", nullable=True),
        _field("role", "array", "kinds of targets it can run (MGT, MDT, OST)", items="string"),
    ),
    _host_rows,
    (
        _state_filter(),
        Filter("address", "its address", _by("address")),
        Filter("host", "its name or id", lambda row: (row["label"], row["id"], row["address"])),
        Filter("role", "MGT, MDT or OST: servers that can run such a target", _by("role")),
    ),
    ("id", "address", "label", "state"),
    states=("configured", "removed"),
)

LNET_CONFIGURATION = Resource(
    "lnet_configuration",
    "The LNet of each server (its id is the server's); PUT {state: up|down|unloaded}.",
    (
        _ID,
        _field("host_id", "integer", "its server's id"),
        _field("host", "string", "its server's name"),
        _field("state", "string", "unknown, unloaded, down or up"),
        _field("nids", "array", "its NIDs", items="string"),
    ),
    _lnet_rows,
    (_state_filter(), Filter("host", "its server's name or id", _by_host)),
    ("id", "host", "state"),
    states=("up", "down", "unloaded"),
)

NID = Resource(
    "nid",
    "The LNet network identifiers of the servers.",
    (
        _ID,
        _field("host_id", "integer", "its server's id"),
        _field("host", "string", "its server's name"),
        _field("nid", "string", "the NID, e.g. 10.0.0.1@tcp0"),
    ),
    _nid_rows,
    (Filter("host", "its server's name or id", _by_host),),
    ("id", "host", "nid"),
)

SERVER_PROFILE = Resource(
    "server_profile",
    "What a server can be set up as.",
    (
        _ID,
        _field("name", "string", "its name"),
        _field("label", "string", "its name as shown"),
        _field("description", "string", "what it is for"),
        _field("managed", "boolean", "targets on it are formatted, started and stopped"),
        _field("worker", "boolean", "a client or worker node"),
        _field("default", "boolean", "the profile used when none is named"),
    ),
    _profile_rows,
    (Filter("name", "its name", _by("name")),),
    ("id", "name"),
)

_PATH = {
    "type": "object",
    "properties": {
        "server": {"type": "string"},
        "path": {"type": "string"},
        "role": {"type": "string"},
    },
}

VOLUME = Resource(
    "volume",
    "Block devices the servers see, each on one or more servers (HA pairs).",
    (
        _ID,
        _field("name", "string", "its name"),
        _field("serial", "string", "its serial number", nullable=True),
        _field("size_bytes", "integer", "its size", nullable=True),
        _field("size", "string", "its size as people read it"),
        _field("ha_status", "string", "whether more than one server can use it"),
        _field("target", "string", "the target on it, if any", nullable=True),
        _field("primary_server", "string", "the server a target on it runs on", nullable=True),
        _field("failover_servers", "array", "the servers it can fail over to", items="string"),
        _field("servers", "array", "every server that sees it", items="string"),
        _field("paths", "array", "how each server sees it", items="object"),
    ),
    _volume_rows,
    (
        Filter("host", "a server that sees it", _by("servers")),
        Filter("name", "its name", _by("name")),
        Filter(
            "in_use",
            "true: holds a target; false: free",
            lambda row: [str(row["target"] is not None).lower()],
        ),
    ),
    ("id", "name", "size_bytes"),
)

VOLUME_NODE = Resource(
    "volume_node",
    "A volume as one server sees it (its device path there).",
    (
        _ID,
        _field("volume_id", "integer", "its volume"),
        _field("host_id", "integer", "its server"),
        _field("host", "string", "its server's name"),
        _field("path", "string", "the device path on that server"),
        _field("primary", "boolean", "that server is the volume's primary"),
        _field("use", "boolean", "that server may mount it"),
    ),
    _volume_node_rows,
    (
        Filter("host", "its server's name or id", _by_host),
        Filter("volume", "its volume's id", _by("volume_id")),
    ),
    ("id", "host", "path"),
)

FILESYSTEM = Resource(
    "filesystem",
    "Lustre filesystems: POST to create one from volumes; PUT {state: available|stopped|"
    "removed} to start, stop or remove it.",
    (
        _ID,
        _field("name", "string", "its name (fsname)"),
        _field("state", "string", "unavailable, stopped, available, removed or forgotten"),
        _field("monitor_only", "boolean", "only watched, not managed"),
        _field("mgs_server", "string", "where its MGS runs"),
        _field("mdts", "array", "its MDTs", items="string"),
        _field("ost_count", "integer", "how many OSTs it has"),
        _field("size_bytes", "integer", "the sum of its OSTs", nullable=True),
        _field("mount_path", "string", "MGS NIDs:/fsname, as clients mount it", nullable=True),
        _field("mount_command", "string", "how clients mount it", nullable=True),
    ),
    _filesystem_rows,
    (
        _state_filter(),
        Filter("name", "its name", _by("name")),
        Filter("filesystem", "its name or id", lambda row: (row["name"], row["id"])),
    ),
    ("id", "name", "state"),
    states=("available", "stopped", "removed", "forgotten"),
)

TARGET = Resource(
    "target",
    "MGTs, MDTs and OSTs: PUT {state: mounted|unmounted|removed}; failover and failback are "
    "commands (POST /api/command/).",
    (
        _ID,
        _field("name", "string", "its Lustre name, e.g. fs1-OST0000"),
        _field("kind", "string", "MGT, MDT or OST", enum=("MGT", "MDT", "OST")),
        _field("filesystem", "string", "its filesystem (for an MGT, those it serves)"),
        _field("filesystems", "array", "the names of its filesystems", items="string"),
        _field("filesystem_ids", "array", "the ids of its filesystems", items="integer"),
        _field("state", "string", "its state"),
        _field("volume", "string", "its volume"),
        _field("size_bytes", "integer", "its volume's size", nullable=True),
        _field("primary", "string", "the server it normally runs on"),
        _field("failover", "array", "the servers it can fail over to", items="string"),
        _field("active", "string", "the server it runs on now", nullable=True),
        _field("recovering", "boolean", "Lustre recovery is in progress"),
        _field("monitor_only", "boolean", "only watched, not managed"),
    ),
    _target_rows,
    (
        _state_filter(),
        Filter("kind", "MGT, MDT or OST", _by("kind")),
        Filter(
            "filesystem",
            "its filesystem's name or id",
            lambda row: [*row["filesystems"], *row["filesystem_ids"]],
        ),
        Filter(
            "host",
            "a server it runs or can run on",
            lambda row: [row["primary"], *row["failover"], row["active"]],
        ),
        Filter("name", "its name", _by("name")),
    ),
    ("id", "name", "kind", "state", "filesystem"),
    states=("mounted", "unmounted", "removed", "forgotten"),
)

COMMAND = Resource(
    "command",
    "What was asked, as jobs: GET one to follow it; POST {class_name, target_id} runs a "
    "failover or failback; PUT {cancelled: true} cancels it.",
    (
        _ID,
        _field("message", "string", "what was asked"),
        _field("actor", "string", "who asked"),
        _field("state", "string", "pending, running, succeeded, failed or cancelled"),
        _field("created_at", "string", _WHEN),
        _field("finished_at", "string", _WHEN, nullable=True),
        _field("job_count", "integer", "how many jobs it has"),
        _field("finished", "boolean", "it has ended"),
    ),
    _command_rows,
    (_state_filter(), Filter("finished", "true or false", lambda r: [str(r["finished"]).lower()])),
    ("id", "created_at", "state"),
)

JOB = Resource(
    "job",
    "The jobs of commands; GET one for its steps.",
    (
        _ID,
        _field("kind", "string", "what kind of job"),
        _field("description", "string", "what it does"),
        _field("state", "string", "pending, running, succeeded, failed, cancelled, interrupted"),
        _field("subject_kind", "string", "the kind of object it acts on", nullable=True),
        _field("subject_id", "integer", "the object it acts on", nullable=True),
        _field("cancellable", "boolean", "it can be interrupted"),
        _field("created_at", "string", _WHEN),
        _field("started_at", "string", _WHEN, nullable=True),
        _field("finished_at", "string", _WHEN, nullable=True),
        _field("error", "string", "why it failed or was cancelled", nullable=True),
    ),
    _job_rows,
    (_state_filter(), Filter("kind", "its kind", _by("kind"))),
    ("id", "created_at", "state"),
)

STEP = Resource(
    "step",
    "The steps of one job (?job=ID is required), with the exact command lines and output.",
    (
        _ID,
        _field("job_id", "integer", "its job"),
        _field("index", "integer", "its place, from 0"),
        _field("count", "integer", "how many steps its job has"),
        _field("description", "string", "what it does"),
        _field("action", "string", "the agent action", nullable=True),
        _field("args", "string", "the action's arguments as JSON text"),
        _field("server", "string", "where it runs", nullable=True),
        _field("command_lines", "array", "the commands it runs", items="array"),
        _field("state", "string", "its state"),
        _field("stdout", "string", "its output"),
        _field("stderr", "string", "its error output"),
        _field("result", "string", "its result as JSON text"),
        _field("error", "string", "why it failed", nullable=True),
        _field("started_at", "string", _WHEN, nullable=True),
        _field("finished_at", "string", _WHEN, nullable=True),
    ),
    _step_rows,
    (Filter("job", "its job's id (required)", _by("job_id")), _state_filter()),
    ("id", "index"),
    required_filter="job",
)

ALERT = Resource(
    "alert",
    "Active alerts and recent ended ones; PUT {dismissed: true} dismisses one.",
    (
        _ID,
        _field("kind", "string", "what kind of alert"),
        _field("severity", "string", "info, warning, error or critical"),
        _field("subject_kind", "string", "the kind of object it is about"),
        _field("subject_id", "integer", "the object it is about"),
        _field("subject", "string", "the object's name"),
        _field("message", "string", "what is wrong"),
        _field("raised_at", "string", _WHEN),
        _field("cleared_at", "string", _WHEN, nullable=True),
        _field("active", "boolean", "its condition still holds"),
        _field("dismissed", "boolean", "an admin has seen it"),
        _field("dismissed_by", "string", "who dismissed it", nullable=True),
        _field("evidence", "string", "what it was raised on"),
    ),
    _alert_rows,
    (
        Filter("active", "true or false", lambda row: [str(row["active"]).lower()]),
        Filter("dismissed", "true or false", lambda row: [str(row["dismissed"]).lower()]),
        Filter("severity", "info, warning, error or critical", _by("severity")),
        Filter("kind", "its kind", _by("kind")),
        Filter("subject", "the name of what it is about", _by("subject")),
    ),
    ("id", "raised_at", "severity"),
)

EVENT = Resource(
    "event",
    "The timeline: what happened, newest first (the newest 2000).",
    (
        _ID,
        _field("created_at", "string", _WHEN),
        _field("severity", "string", "info, warning, error or critical"),
        _field("kind", "string", "alert, job, autodetection, …"),
        _field("host_id", "integer", "the server it happened on", nullable=True),
        _field("server", "string", "that server's name", nullable=True),
        _field("subject", "string", "what it is about", nullable=True),
        _field("message", "string", "what happened"),
        _field("alert_id", "integer", "the alert it belongs to", nullable=True),
    ),
    _event_rows,
    (
        Filter("severity", "info, warning, error or critical", _by("severity")),
        Filter("kind", "its kind", _by("kind")),
        Filter("host", "its server's name or id", lambda row: (row["server"], row["host_id"])),
    ),
    ("id", "created_at"),
)

CONF_PARAM = Resource(
    "conf_param",
    "Every Lustre setting (conf param) of a filesystem and its MDTs and OSTs (?filesystem= is "
    "required); POST {filesystem_id, subject?, params} saves new values and applies them.",
    (
        _ID,
        _field("filesystem", "string", "its filesystem"),
        _field("filesystem_id", "integer", "its filesystem's id"),
        _field("subject", "string", "the filesystem or target it is set on"),
        _field("key", "string", "the parameter, as the catalogue names it"),
        _field("lustre_key", "string", "the parameter as `lctl conf_param` names it"),
        _field("help", "string", "what it does"),
        _field("value", "string", "the value saved (null: Lustre's default)", nullable=True),
        _field("applied", "string", "the value the servers were last sent", nullable=True),
        _field("reported", "string", "what the MGS reports, when it differs", nullable=True),
        _field("pending", "boolean", "saved but not yet applied to the servers"),
    ),
    _conf_param_rows,
    (
        Filter(
            "filesystem",
            "the filesystem's name or id (required)",
            lambda row: (row["filesystem"], row["filesystem_id"]),
        ),
        Filter("subject", "the filesystem or target it is set on", _by("subject")),
    ),
    ("id", "subject", "key"),
    required_filter="filesystem",
)

OST_POOL = Resource(
    "ost_pool",
    "Named sets of a filesystem's OSTs, as the MGS keeps them: POST {filesystem_id, name, "
    "ost_ids} to create one; PUT {add: [ids]} or {remove: [ids]} to change its members; DELETE "
    "to empty and destroy it. Each runs as a command on the MGS's server.",
    (
        _ID,
        _field("name", "string", "its name"),
        _field("filesystem", "string", "its filesystem"),
        _field("filesystem_id", "integer", "its filesystem's id"),
        _field("osts", "array", "its OSTs", items="string"),
    ),
    _ost_pool_rows,
    (
        Filter(
            "filesystem",
            "its filesystem's name or id",
            lambda row: (row["filesystem"], row["filesystem_id"]),
        ),
        Filter("name", "its name", _by("name")),
    ),
    ("id", "name", "filesystem"),
)

RESOURCES: dict[str, Resource] = {
    resource.name: resource
    for resource in (
        HOST,
        SERVER_PROFILE,
        LNET_CONFIGURATION,
        NID,
        VOLUME,
        VOLUME_NODE,
        FILESYSTEM,
        TARGET,
        CONF_PARAM,
        OST_POOL,
        COMMAND,
        JOB,
        STEP,
        ALERT,
        EVENT,
    )
}


# --- filtering, ordering, paging ----------------------------------------------------------------

PAGING = ("limit", "offset", "order_by")


@dataclass(frozen=True)
class ListQuery:
    filters: tuple[tuple[str, str], ...]
    order_by: str | None
    descending: bool
    limit: int
    offset: int


def parse_list_query(resource: Resource, query: Mapping[str, str]) -> ListQuery:
    """The query string of a list request, checked: unknown filters, orderings and bad numbers
    are refused with the rule."""
    filters = []
    for name, value in query.items():
        if name in PAGING:
            continue
        if resource.filter_named(name) is None:
            offered = ", ".join(f.name for f in resource.filters) or "none"
            raise bad_input(name, f"not a filter of {resource.name} (filters: {offered})")
        filters.append((name, value))
    if resource.required_filter and resource.required_filter not in query:
        raise bad_input(resource.required_filter, f"required to list {resource.name}s")
    order_by, descending = None, False
    if "order_by" in query:
        text = query["order_by"]
        descending = text.startswith("-")
        order_by = text.removeprefix("-")
        if order_by not in resource.ordering:
            raise bad_input(
                "order_by", f"one of {', '.join(resource.ordering)}, optionally after -", text
            )
    limit = parse_int("limit", query.get("limit", str(DEFAULT_LIMIT)))
    if limit > MAX_LIMIT:
        raise bad_input("limit", f"at most {MAX_LIMIT} (0 lists all)", limit)
    offset = parse_int("offset", query.get("offset", "0"))
    return ListQuery(tuple(filters), order_by, descending, limit, offset)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return "" if value is None else str(value)


def select_rows(resource: Resource, rows: list[Row], query: ListQuery) -> tuple[list[Row], int]:
    """The page of `rows` the query asks for, and how many matched in all."""
    for name, wanted in query.filters:
        values = resource.filter_named(name)
        assert values is not None  # checked by parse_list_query
        rows = [row for row in rows if wanted in {_text(v) for v in values.values(row)}]
    if query.order_by is not None:
        key = query.order_by
        present = [row for row in rows if row.get(key) is not None]
        missing = [row for row in rows if row.get(key) is None]
        present.sort(key=lambda row: row[key], reverse=query.descending)
        rows = present + missing
    total = len(rows)
    end = None if query.limit == LIST_ALL else query.offset + query.limit
    return rows[query.offset : end], total
