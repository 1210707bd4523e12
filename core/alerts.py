"""Alerts raised and cleared from what the agents report, each with its evidence, and the events
timeline that records every raise, clear and dismissal.

Layer: core. Thread: the database worker's; every public method of `AlertEngine` is one unit of
work. The manager hands it, per server, what `agentlink.reports` made of each push and link event
(`core.observations`), the scheduler's finished jobs and a `tick()` every few seconds. Call
`AlertEngine.observe` with a Lustre report before `Scheduler.observe` corrects the model from the
same report: what the model believed until then is how an unplanned change is told from a
planned one for targets no job has ever started.

What raises and clears each alert (the thresholds are the constants below):

- server_offline (host, ERROR): the link to its agent was lost and did not come back within
  `SERVER_OFFLINE_GRACE_S` (a dropped connection that reconnects at once is no alarm), or a
  paired server was not heard from within that long after the desktop started. Not raised when
  the desktop closed the link on purpose or the server is being removed. Cleared by contact.
- lnet_down (host, WARNING): the server reports LNet not up although the last LNet job left it
  up (or, with no such job, the model had it up), and no LNet job is running. Cleared when
  reported up, or when a job takes LNet down on purpose.
- lnet_nids_changed (host, WARNING): LNet is up with NIDs other than the stored ones. Cleared
  when they match again.
- target_offline (target, ERROR): a server that ran the target (as far as the desktop knows)
  reports it not mounted, while the target should be mounted (its last start/stop job started
  it; with none, the model had it mounted) and no job is changing it. Cleared when any server
  reports it mounted, when a job stops it on purpose, or when it is removed.
- target_on_secondary (target, WARNING): reported mounted on a failover server. Cleared when
  reported on its primary, or no longer running where it was.
- storage_device_missing (volume node, ERROR): the server no longer reports a device path that a
  live, used volume node of it expects. Cleared when the path is reported again.
- capacity_high / inodes_high (target, WARNING; ERROR from `CAPACITY_FULL_PERCENT`): space
  used (as `lfs df` counts it) or inodes used reach `CAPACITY_PERCENT` / `INODES_PERCENT`.
  Cleared below `CAPACITY_CLEAR_PERCENT` / `INODES_CLEAR_PERCENT` (hysteresis, no flapping).
- recovery_in_progress (target, WARNING): a mount reports RECOVERING. Cleared when it reports
  anything else, or the target stops running there.
- job_failed (the job's object, WARNING): a job failed or was interrupted (outcome unknown).
  Cleared when a later job on the same object succeeds, or when dismissed (a failure is a
  happening, not a condition: dismissing acknowledges it).
- agent_version_mismatch (host, WARNING): the agent said at connect that it runs another
  version than this desktop. Cleared when it connects with the same version.
- clock_skew (host, WARNING): the agent's clock is more than `CLOCK_SKEW_S` off the desktop's:
  the newest statistics sample of a batch is that far ahead of its arrival (conclusive: nothing
  arrives before it was measured), or every batch for `CLOCK_SKEW_SETTLE_S` arrived at least
  that late (one late batch may have been queued or fetched after a gap). Cleared by a batch
  that arrives within `CLOCK_SKEW_S`.
- error_log_spike (host, WARNING): at least `ERROR_SPIKE_LINES` syslog lines of severity err or
  worse within `ERROR_SPIKE_WINDOW_S` of the agent's newest record (that is
  `ERROR_SPIKE_LINES / (ERROR_SPIKE_WINDOW_S / 60)` per minute, sustained). Cleared when fewer
  than `ERROR_SPIKE_CLEAR_LINES` remain in the window.
- settings_changed_out_of_band (filesystem, WARNING): the server running the filesystem's MGS
  reports permanent parameters (`lctl conf_param`, `lctl set_param -P`) that differ from what
  Chroma Desktop set and applied, or an MDT/OST is reported running from another mount point
  than the one set for that server (`core.queries.settings`); the evidence is the differing rows.
  Not raised while a job is changing the MGT (applying conf params). Cleared when a report, or
  a successful ApplyConfParamsJob, leaves no difference.

Every alert keeps its evidence (log lines, statistics samples, report fragments), at most
`EVIDENCE_ITEMS` entries of at most `EVIDENCE_TEXT` characters each. An admin may dismiss an
alert: it stays dismissed while it is active and a later raise after it cleared is a new alert.
Alerts of removed objects are cleared.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.audit import ACTOR_KEY
from core.database import Database
from core.errors import NotFoundError, ValidationError
from core.models import (
    Alert,
    AlertKind,
    Event,
    Filesystem,
    Host,
    Job,
    LNetConfiguration,
    Nid,
    Severity,
    Step,
    Target,
    TargetMount,
    Volume,
    VolumeNode,
)
from core.models.lustre import ClientMount
from core.observations import (
    ContactChanged,
    DevicesReported,
    LogLine,
    LustreReported,
    MountSeen,
    Observation,
    RecordsMissed,
    RecordsReported,
    StatSample,
)
from core.ports import Clock
from core.queries import settings
from core.states import RunState, TargetState
from core.validation import normalise_nid
from core.version import installed_version

SERVER_OFFLINE_GRACE_S: Final = 30.0
CAPACITY_PERCENT: Final = 90.0
CAPACITY_CLEAR_PERCENT: Final = 88.0
CAPACITY_FULL_PERCENT: Final = 98.0
INODES_PERCENT: Final = 90.0
INODES_CLEAR_PERCENT: Final = 88.0
CLOCK_SKEW_S: Final = 30.0
CLOCK_SKEW_SETTLE_S: Final = 60.0
ERROR_SPIKE_WINDOW_S: Final = 300.0
ERROR_SPIKE_LINES: Final = 30
ERROR_SPIKE_CLEAR_LINES: Final = 15
EVIDENCE_ITEMS: Final = 20
EVIDENCE_TEXT: Final = 400
LAST_CONTACT_WRITE_S: Final = 30.0
"""Host.last_contact is written at most this often per server."""

HOST = "host"
TARGET = "target"
FILESYSTEM = "filesystem"
VOLUME_NODE = "volume_node"
CLIENT_MOUNT = "client_mount"

SEVERITY: Final[Mapping[AlertKind, Severity]] = {
    AlertKind.SERVER_OFFLINE: Severity.ERROR,
    AlertKind.LNET_DOWN: Severity.WARNING,
    AlertKind.LNET_NIDS_CHANGED: Severity.WARNING,
    AlertKind.TARGET_OFFLINE: Severity.ERROR,
    AlertKind.TARGET_ON_SECONDARY: Severity.WARNING,
    AlertKind.STORAGE_DEVICE_MISSING: Severity.ERROR,
    AlertKind.CAPACITY_HIGH: Severity.WARNING,
    AlertKind.INODES_HIGH: Severity.WARNING,
    AlertKind.RECOVERY_IN_PROGRESS: Severity.WARNING,
    AlertKind.JOB_FAILED: Severity.WARNING,
    AlertKind.AGENT_VERSION_MISMATCH: Severity.WARNING,
    AlertKind.CLOCK_SKEW: Severity.WARNING,
    AlertKind.ERROR_LOG_SPIKE: Severity.WARNING,
    AlertKind.SETTINGS_CHANGED_OUT_OF_BAND: Severity.WARNING,
}

_TARGET_START_JOBS = ("StartTargetJob", "FailoverTargetJob", "FailbackTargetJob")
_REMOVE_HOST_JOBS = ("RemoveHostJob", "ForceRemoveHostJob", "RemoveUnconfiguredHostJob")
_UNFINISHED = (RunState.PENDING, RunState.RUNNING)

Subject = tuple[str, int]


class AlertChangeKind(StrEnum):
    RAISED = "raised"
    CLEARED = "cleared"
    DISMISSED = "dismissed"


@dataclass(frozen=True)
class AlertChange:
    """One alert raised, cleared or dismissed: what the window and the CLI are told."""

    change: AlertChangeKind
    alert_id: int
    kind: AlertKind
    subject_kind: str
    subject_id: int
    message: str


@dataclass(frozen=True)
class AlertRecord:
    id: int
    kind: AlertKind
    severity: Severity
    subject_kind: str
    subject_id: int
    message: str
    raised_at: datetime
    last_seen_at: datetime
    cleared_at: datetime | None
    dismissed_at: datetime | None
    dismissed_by: str | None
    evidence: tuple[Mapping[str, Any], ...]

    @property
    def active(self) -> bool:
        return self.cleared_at is None


def alert_record(alert: Alert) -> AlertRecord:
    return AlertRecord(
        id=alert.id,
        kind=AlertKind(alert.kind),
        severity=Severity(alert.severity),
        subject_kind=alert.subject_kind,
        subject_id=alert.subject_id,
        message=alert.message,
        raised_at=alert.raised_at,
        last_seen_at=alert.last_seen_at,
        cleared_at=alert.cleared_at,
        dismissed_at=alert.dismissed_at,
        dismissed_by=alert.dismissed_by,
        evidence=tuple(dict(item) for item in alert.evidence or ()),
    )


def list_alerts(
    session: Session, *, active_only: bool = True, subject: Subject | None = None
) -> list[AlertRecord]:
    """Alerts, newest first: the active ones (dismissed or not), or all of them."""
    query = select(Alert).order_by(Alert.raised_at.desc(), Alert.id.desc())
    if active_only:
        query = query.where(Alert.cleared_at.is_(None))
    if subject is not None:
        query = query.where(Alert.subject_kind == subject[0], Alert.subject_id == subject[1])
    return [alert_record(alert) for alert in session.scalars(query)]


def _text(value: object) -> object:
    if isinstance(value, str) and len(value) > EVIDENCE_TEXT:
        return value[: EVIDENCE_TEXT - 1] + "…"
    return value


def _bounded(item: Mapping[str, Any]) -> dict[str, Any]:
    """One evidence entry, JSON-safe and bounded in size."""
    bounded: dict[str, Any] = {}
    for key, value in item.items():
        if isinstance(value, datetime):
            bounded[key] = value.isoformat()
        elif isinstance(value, list | tuple):
            bounded[key] = [_text(v) for v in list(value)[:EVIDENCE_ITEMS]]
        else:
            bounded[key] = _text(value)
    return bounded


def _log_evidence(line: LogLine) -> dict[str, Any]:
    return {
        "log": line.message,
        "t": line.t,
        "severity": line.severity.name.lower(),
        "source": line.source,
    }


def _percent(used: float, whole: float) -> float:
    return 100.0 * used / whole if whole > 0 else 0.0


# --- the unit of work ----------------------------------------------------------------------------


class _Work:
    """One transaction of the engine: the active alerts, loaded once, and what changed."""

    def __init__(self, session: Session, now: datetime) -> None:
        self.session = session
        self.now = now
        self.changes: list[AlertChange] = []
        self.active: dict[tuple[AlertKind, str, int], Alert] = {
            (AlertKind(a.kind), a.subject_kind, a.subject_id): a
            for a in session.scalars(select(Alert).where(Alert.cleared_at.is_(None)))
        }

    def current(self, kind: AlertKind, subject: Subject) -> Alert | None:
        return self.active.get((kind, *subject))

    def raise_(
        self,
        kind: AlertKind,
        subject: Subject,
        message: str,
        evidence: Sequence[Mapping[str, Any]],
        *,
        host_id: int | None = None,
        severity: Severity | None = None,
        accumulate: bool = False,
    ) -> Alert:
        """Raise the alert, or refresh it while it lasts (its evidence replaced, or added to
        with `accumulate`); a dismissed one stays dismissed."""
        severity = severity or SEVERITY[kind]
        items = [_bounded(item) for item in evidence][-EVIDENCE_ITEMS:]
        alert = self.current(kind, subject)
        if alert is not None:
            alert.last_seen_at = self.now
            alert.message = message[:1024]
            alert.severity = int(severity)
            alert.evidence = [*alert.evidence, *items][-EVIDENCE_ITEMS:] if accumulate else items
            return alert
        alert = Alert(
            kind=kind,
            severity=int(severity),
            subject_kind=subject[0],
            subject_id=subject[1],
            message=message[:1024],
            raised_at=self.now,
            last_seen_at=self.now,
            evidence=items,
        )
        self.session.add(alert)
        self.session.flush()
        self.active[(kind, *subject)] = alert
        self._event(alert, severity, message, host_id)
        self.changes.append(
            AlertChange(AlertChangeKind.RAISED, alert.id, kind, subject[0], subject[1], message)
        )
        return alert

    def clear(
        self, kind: AlertKind, subject: Subject, why: str, *, host_id: int | None = None
    ) -> None:
        alert = self.active.pop((kind, *subject), None)
        if alert is None:
            return
        alert.cleared_at = self.now
        alert.last_seen_at = self.now
        message = f"Cleared: {alert.message} ({why})"
        self._event(alert, Severity.INFO, message, host_id)
        self.changes.append(
            AlertChange(AlertChangeKind.CLEARED, alert.id, kind, subject[0], subject[1], message)
        )

    def _event(self, alert: Alert, severity: Severity, message: str, host_id: int | None) -> None:
        if host_id is None and alert.subject_kind == HOST:
            host_id = alert.subject_id
        self.session.add(
            Event(
                created_at=self.now,
                severity=int(severity),
                kind="alert",
                host_id=host_id,
                subject_kind=alert.subject_kind,
                subject_id=alert.subject_id,
                alert_id=alert.id,
                message=message,
            )
        )

    def note(self, kind: str, severity: Severity, message: str, host_id: int | None) -> None:
        """A timeline entry that is not an alert (a reboot, records lost)."""
        self.session.add(
            Event(
                created_at=self.now,
                severity=int(severity),
                kind=kind,
                host_id=host_id,
                subject_kind=HOST if host_id is not None else None,
                subject_id=host_id,
                message=message,
            )
        )


# --- what the engine remembers between reports -------------------------------------------------


@dataclass
class _HostMemory:
    link_up: bool | None = None
    """None: not heard of since the desktop started."""
    lost_at: datetime | None = None
    lost_reason: str = ""
    last_contact_written: datetime | None = None
    offset_s: float = 0.0
    """How far the agent's clock is thought to be ahead of the desktop's (negative: behind)."""
    late_since: datetime | None = None
    """When the current run of record batches arriving more than CLOCK_SKEW_S late began."""
    least_late_s: float = 0.0
    agent_now: datetime | None = None
    """The newest record time seen from the agent (its own clock)."""
    errors: deque[LogLine] = field(
        default_factory=lambda: deque(maxlen=max(ERROR_SPIKE_LINES * 20, EVIDENCE_ITEMS))
    )


@dataclass(frozen=True)
class _TargetAtHost:
    id: int
    name: str
    state: str
    monitor_only: bool
    device: str
    failover_order: int
    active_host_id: int | None


class AlertEngine:
    def __init__(
        self, database: Database, clock: Clock, *, agent_version: str | None = None
    ) -> None:
        self.database = database
        self.clock = clock
        self.agent_version = agent_version or installed_version()
        """The version every agent should run: this desktop's."""
        self.started_at = clock.now()
        self._hosts: dict[int, _HostMemory] = defaultdict(_HostMemory)
        self._location: dict[int, int | None] = {}
        """Where each target was last reported running (None: reported nowhere)."""

    @contextmanager
    def _work(self, actor: str = "alerts") -> Iterator[_Work]:
        with self.database.session(actor=actor) as session:
            yield _Work(session, self.clock.now())

    # --- entry points ---------------------------------------------------------------------------

    def observe(self, host_address: str, observation: Observation) -> list[AlertChange]:
        """Raise and clear the alerts what `host_address`'s agent reported calls for."""
        with self._work() as work:
            host = work.session.scalar(
                select(Host).where(Host.address == host_address, Host.deleted_at.is_(None))
            )
            if host is None:
                return []
            work.session.info[ACTOR_KEY] = f"agent on {host.label}"
            if isinstance(observation, ContactChanged):
                self._contact(work, host, observation)
                return work.changes
            self._heard_from(work, host, observation.received_at)
            if isinstance(observation, LustreReported):
                self._lustre(work, host, observation)
            elif isinstance(observation, DevicesReported):
                self._devices(work, host, observation)
            elif isinstance(observation, RecordsReported):
                self._records(work, host, observation)
            elif isinstance(observation, RecordsMissed):
                work.note(
                    "records",
                    Severity.WARNING,
                    f"{observation.missed} statistics and log records of {host.label} were "
                    f"lost: its agent dropped them before the desktop could fetch them.",
                    host.id,
                )
            return work.changes

    def job_finished(self, job_id: int) -> list[AlertChange]:
        """A job ended: a failure raises job_failed on its object, a success clears it."""
        with self._work() as work:
            job = work.session.get(Job, job_id)
            if job is None:
                raise NotFoundError(f"There is no job with id {job_id}.")
            if job.subject_kind is None or job.subject_id is None:
                return []
            subject = (HOST if job.subject_kind == "lnet" else job.subject_kind, job.subject_id)
            if job.state == RunState.SUCCEEDED:
                work.clear(AlertKind.JOB_FAILED, subject, f"{job.description} succeeded")
                if subject[0] == TARGET and job.to_state == TargetState.UNMOUNTED:
                    work.clear(AlertKind.TARGET_OFFLINE, subject, "stopped on purpose")
                if job.subject_kind == "lnet" and job.to_state in ("down", "unloaded"):
                    work.clear(AlertKind.LNET_DOWN, subject, "LNet stopped on purpose")
                if job.kind == "ApplyConfParamsJob":
                    for filesystem in work.session.scalars(
                        select(Filesystem).where(
                            Filesystem.mgs_id == job.subject_id, Filesystem.deleted_at.is_(None)
                        )
                    ):
                        self._settings(work, filesystem, None)
            elif job.state in (RunState.FAILED, RunState.INTERRUPTED):
                self._job_failed(work, job, subject)
            self._sweep_removed(work)
            return work.changes

    def tick(self) -> list[AlertChange]:
        """Raise server_offline for servers silent past the grace time; clear the alerts of
        removed objects. Call every few seconds."""
        with self._work() as work:
            now = work.now
            grace = timedelta(seconds=SERVER_OFFLINE_GRACE_S)
            hosts = work.session.scalars(select(Host).where(Host.deleted_at.is_(None))).all()
            for host in hosts:
                memory = self._hosts[host.id]
                if memory.link_up is None:
                    if host.cert_fingerprint is None or now - self.started_at < grace:
                        continue
                    since = self.started_at
                    reason = "no contact since Chroma Desktop started"
                elif memory.link_up or memory.lost_at is None:
                    continue
                else:
                    since, reason = memory.lost_at, memory.lost_reason
                if now - since < grace or self._being_removed(work.session, host.id):
                    continue
                work.raise_(
                    AlertKind.SERVER_OFFLINE,
                    (HOST, host.id),
                    f"Lost contact with {host.label}",
                    [
                        {
                            "link": reason,
                            "since": since,
                            "last_contact": host.last_contact,
                        }
                    ],
                )
            self._sweep_removed(work)
            return work.changes

    def dismiss(self, alert_id: int, *, actor: str) -> AlertRecord:
        """An admin has seen the alert: it no longer pops up. A job_failed alert ends there."""
        with self._work(actor) as work:
            alert = work.session.get(Alert, alert_id)
            if alert is None:
                raise NotFoundError(f"There is no alert with id {alert_id}.")
            if not actor:
                raise ValidationError("actor", actor, "say who dismisses the alert")
            if alert.dismissed_at is None:
                alert.dismissed_at = work.now
                alert.dismissed_by = actor[:128]
                work.session.add(
                    Event(
                        created_at=work.now,
                        severity=int(Severity.INFO),
                        kind="alert",
                        host_id=alert.subject_id if alert.subject_kind == HOST else None,
                        subject_kind=alert.subject_kind,
                        subject_id=alert.subject_id,
                        alert_id=alert.id,
                        message=f"Dismissed by {actor}: {alert.message}",
                    )
                )
                if alert.kind == AlertKind.JOB_FAILED and alert.cleared_at is None:
                    work.clear(
                        AlertKind.JOB_FAILED,
                        (alert.subject_kind, alert.subject_id),
                        f"dismissed by {actor}",
                    )
            return alert_record(alert)

    # --- contact --------------------------------------------------------------------------------

    def _heard_from(self, work: _Work, host: Host, at: datetime) -> None:
        """Any push proves the link is up."""
        memory = self._hosts[host.id]
        if memory.link_up is not True:
            memory.link_up, memory.lost_at = True, None
            work.clear(AlertKind.SERVER_OFFLINE, (HOST, host.id), "contact re-established")
        last = memory.last_contact_written
        if last is None or at - last >= timedelta(seconds=LAST_CONTACT_WRITE_S):
            memory.last_contact_written = at
            # A plain UPDATE: the audit trail records changes, not heartbeats.
            work.session.execute(update(Host).where(Host.id == host.id).values(last_contact=at))

    def _contact(self, work: _Work, host: Host, seen: ContactChanged) -> None:
        memory = self._hosts[host.id]
        subject = (HOST, host.id)
        if seen.up:
            self._heard_from(work, host, seen.received_at)
            if seen.agent_version is None:
                return
            if host.agent_version != seen.agent_version:
                host.agent_version = seen.agent_version[:64]
            if seen.agent_version != self.agent_version:
                work.raise_(
                    AlertKind.AGENT_VERSION_MISMATCH,
                    subject,
                    f"The agent on {host.label} runs version {seen.agent_version}, this "
                    f"desktop {self.agent_version}: install the same version on both",
                    [
                        {
                            "agent": seen.agent_name,
                            "agent_version": seen.agent_version,
                            "desktop_version": self.agent_version,
                        }
                    ],
                )
            else:
                work.clear(AlertKind.AGENT_VERSION_MISMATCH, subject, f"now {seen.agent_version}")
            return
        memory.link_up = False
        if seen.planned:
            memory.lost_at = None
            return
        if memory.lost_at is None:
            memory.lost_at, memory.lost_reason = seen.received_at, seen.reason

    @staticmethod
    def _being_removed(session: Session, host_id: int) -> bool:
        return (
            session.scalar(
                select(Job.id).where(
                    Job.subject_kind == HOST,
                    Job.subject_id == host_id,
                    Job.kind.in_(_REMOVE_HOST_JOBS),
                    Job.state.in_(_UNFINISHED),
                )
            )
            is not None
        )

    # --- Lustre ---------------------------------------------------------------------------------

    def _lustre(self, work: _Work, host: Host, seen: LustreReported) -> None:
        session = work.session
        subject = (HOST, host.id)
        if host.boot_time is None or abs((host.boot_time - seen.boot_time).total_seconds()) > 1:
            if host.boot_time is not None:
                work.note(
                    "reboot",
                    Severity.WARNING,
                    f"{host.label} restarted at {seen.boot_time:%Y-%m-%d %H:%M:%S} UTC",
                    host.id,
                )
            host.boot_time = seen.boot_time
        fragment = {"lnet": seen.lnet, "nids": list(seen.nids)}
        if seen.lnet == "up":
            work.clear(AlertKind.LNET_DOWN, subject, "LNet is up", host_id=host.id)
        elif not self._lnet_should_be_up(session, host):
            work.clear(AlertKind.LNET_DOWN, subject, "LNet was stopped on purpose")
        elif not self._busy(session, "lnet", host.id):
            shown = "loaded but down" if seen.lnet == "loaded" else "not loaded"
            work.raise_(
                AlertKind.LNET_DOWN, subject, f"LNet is {shown} on {host.label}", [fragment]
            )
        self._nids(work, host, seen)
        judge: dict[int, Filesystem] = {}
        for target in self._targets_at(session, host.id):
            self._target(work, host, target, seen)
            filesystem = self._mount_point(work, host, target, seen)
            if filesystem is not None:
                judge[filesystem.id] = filesystem
        if seen.conf_params is not None:
            for filesystem in settings.record_reported(
                session, host.id, seen.conf_params, work.now
            ):
                judge[filesystem.id] = filesystem
        for filesystem in judge.values():
            self._settings(work, filesystem, host.id)

    def _mount_point(
        self, work: _Work, host: Host, target: _TargetAtHost, seen: LustreReported
    ) -> Filesystem | None:
        """Keep where the target runs from, as this report says; its filesystem when that
        changed what is kept (its settings are then compared again)."""
        mount = next((m for m in seen.mounts if m.device == target.device), None)
        if mount is not None:
            return settings.record_mount_point(
                work.session, target.id, host.id, mount.mount_point, work.now
            )
        if self._location.get(target.id) is None:
            return settings.forget_mount_point(work.session, target.id)
        return None

    def _settings(self, work: _Work, filesystem: Filesystem, host_id: int | None) -> None:
        subject = (FILESYSTEM, filesystem.id)
        differences = settings.settings_differences(work.session, filesystem)
        if not differences:
            work.clear(
                AlertKind.SETTINGS_CHANGED_OUT_OF_BAND,
                subject,
                "the servers hold what was set",
                host_id=host_id,
            )
            return
        if self._busy(work.session, TARGET, filesystem.mgs_id):
            return  # conf params are being applied: the job's outcome says what holds
        shown = ", ".join(d.lustre_key for d in differences[:5])
        more = f" and {len(differences) - 5} more" if len(differences) > 5 else ""
        work.raise_(
            AlertKind.SETTINGS_CHANGED_OUT_OF_BAND,
            subject,
            f"Settings of {filesystem.name} were changed outside Chroma Desktop: {shown}{more}",
            [
                {
                    "parameter": d.lustre_key,
                    "set": d.ours,
                    "reported": d.reported,
                    "since": d.since,
                }
                for d in differences
            ],
            host_id=host_id,
        )

    def _nids(self, work: _Work, host: Host, seen: LustreReported) -> None:
        if seen.lnet != "up" or not seen.nids:
            return
        stored = set(
            work.session.scalars(
                select(Nid.nid_string)
                .join(LNetConfiguration, LNetConfiguration.id == Nid.lnet_configuration_id)
                .where(LNetConfiguration.host_id == host.id)
            )
        )
        if not stored:
            return
        reported = set()
        for nid in seen.nids:
            try:
                reported.add(normalise_nid(nid))
            except ValidationError:
                reported.add(nid)
        subject = (HOST, host.id)
        if reported == stored:
            work.clear(AlertKind.LNET_NIDS_CHANGED, subject, "the NIDs match again")
        else:
            work.raise_(
                AlertKind.LNET_NIDS_CHANGED,
                subject,
                f"LNet NIDs changed on {host.label}: re-scan its NIDs",
                [{"reported": sorted(reported), "stored": sorted(stored)}],
            )

    @staticmethod
    def _targets_at(session: Session, host_id: int) -> list[_TargetAtHost]:
        rows = session.execute(
            select(
                Target.id,
                Target.name,
                Target.state,
                Target.monitor_only,
                VolumeNode.path,
                TargetMount.failover_order,
            )
            .join(TargetMount, TargetMount.target_id == Target.id)
            .join(VolumeNode, VolumeNode.id == TargetMount.volume_node_id)
            .where(TargetMount.host_id == host_id, Target.deleted_at.is_(None))
            .order_by(Target.id)
        ).all()
        ids = [row.id for row in rows]
        active = {
            target_id: host_id
            for target_id, host_id in session.execute(
                select(TargetMount.target_id, TargetMount.host_id).where(
                    TargetMount.target_id.in_(ids), TargetMount.active.is_(True)
                )
            )
        }
        return [
            _TargetAtHost(
                row.id,
                row.name,
                str(row.state),
                row.monitor_only,
                row.path,
                row.failover_order,
                active.get(row.id),
            )
            for row in rows
        ]

    def _target(self, work: _Work, host: Host, target: _TargetAtHost, seen: LustreReported) -> None:
        subject = (TARGET, target.id)
        mount = next((m for m in seen.mounts if m.device == target.device), None) or next(
            (m for m in seen.mounts if m.label == target.name), None
        )
        where = self._location.get(target.id, target.active_host_id)
        if mount is not None:
            self._location[target.id] = host.id
            self._running_here(work, host, target, mount)
            return
        if where not in (host.id, None):
            return  # it runs on another server: that server reports it
        self._location[target.id] = None
        gone = f"no longer running on {host.label}"
        work.clear(AlertKind.RECOVERY_IN_PROGRESS, subject, gone, host_id=host.id)
        work.clear(AlertKind.TARGET_ON_SECONDARY, subject, gone, host_id=host.id)
        if self._busy(work.session, TARGET, target.id):
            return
        if not self._should_be_mounted(work.session, target):
            work.clear(AlertKind.TARGET_OFFLINE, subject, "stopped on purpose", host_id=host.id)
            return
        work.raise_(
            AlertKind.TARGET_OFFLINE,
            subject,
            f"{target.name} is not running" + (f" (it ran on {host.label})" if where else ""),
            [
                {
                    "host": host.label,
                    "expected_device": target.device,
                    "mounted": [m.label for m in seen.mounts],
                    "lnet": seen.lnet,
                }
            ],
            host_id=host.id,
        )

    def _running_here(
        self, work: _Work, host: Host, target: _TargetAtHost, mount: MountSeen
    ) -> None:
        subject = (TARGET, target.id)
        fragment = {
            "host": host.label,
            "label": mount.label,
            "device": mount.device,
            "mount_point": mount.mount_point,
            "recovery": mount.recovery,
        }
        work.clear(AlertKind.TARGET_OFFLINE, subject, f"running on {host.label}", host_id=host.id)
        if target.failover_order > 0:
            work.raise_(
                AlertKind.TARGET_ON_SECONDARY,
                subject,
                f"{target.name} is running on its failover server {host.label}",
                [fragment],
                host_id=host.id,
            )
        else:
            work.clear(
                AlertKind.TARGET_ON_SECONDARY,
                subject,
                f"back on its primary server {host.label}",
                host_id=host.id,
            )
        if mount.recovering:
            work.raise_(
                AlertKind.RECOVERY_IN_PROGRESS,
                subject,
                f"{target.name} is in recovery on {host.label}: clients are reconnecting",
                [fragment],
                host_id=host.id,
            )
        else:
            work.clear(
                AlertKind.RECOVERY_IN_PROGRESS,
                subject,
                f"recovery {mount.recovery.lower()}",
                host_id=host.id,
            )

    @staticmethod
    def _busy(session: Session, subject_kind: str, subject_id: int) -> bool:
        """A job is changing the object: its outcome, not a report, says what happened."""
        return (
            session.scalar(
                select(Job.id).where(
                    Job.subject_kind == subject_kind,
                    Job.subject_id == subject_id,
                    Job.state.in_(_UNFINISHED),
                )
            )
            is not None
        )

    @staticmethod
    def _should_be_mounted(session: Session, target: _TargetAtHost) -> bool:
        """The admin's last word on the target: its last successful start or stop; the model's
        state for a target no job ever started (monitor-only, discovered)."""
        last = session.execute(
            select(Job.kind, Job.to_state)
            .where(
                Job.subject_kind == TARGET,
                Job.subject_id == target.id,
                Job.state == RunState.SUCCEEDED,
                (Job.to_state.in_([TargetState.MOUNTED, TargetState.UNMOUNTED]))
                | Job.kind.in_(_TARGET_START_JOBS),
            )
            .order_by(Job.finished_at.desc(), Job.id.desc())
            .limit(1)
        ).first()
        if last is None:
            return target.state == TargetState.MOUNTED
        return last.kind in _TARGET_START_JOBS or last.to_state == TargetState.MOUNTED

    @staticmethod
    def _lnet_should_be_up(session: Session, host: Host) -> bool:
        last = session.scalar(
            select(Job.to_state)
            .where(
                Job.subject_kind == "lnet",
                Job.subject_id == host.id,
                Job.state == RunState.SUCCEEDED,
                Job.to_state.is_not(None),
            )
            .order_by(Job.finished_at.desc(), Job.id.desc())
            .limit(1)
        )
        if last is not None:
            return last == "up"
        return host.lnet is not None and host.lnet.state == "up"

    # --- devices --------------------------------------------------------------------------------

    def _devices(self, work: _Work, host: Host, seen: DevicesReported) -> None:
        paths = seen.paths
        at_path = {device.serial: device.path for device in seen.devices if device.serial}
        nodes = work.session.execute(
            select(VolumeNode.id, VolumeNode.path, Volume.serial, Volume.label)
            .join(Volume, Volume.id == VolumeNode.volume_id)
            .where(
                VolumeNode.host_id == host.id,
                VolumeNode.deleted_at.is_(None),
                VolumeNode.use.is_(True),
                Volume.deleted_at.is_(None),
            )
        ).all()
        for node in nodes:
            subject = (VOLUME_NODE, node.id)
            if node.path in paths:
                work.clear(
                    AlertKind.STORAGE_DEVICE_MISSING,
                    subject,
                    f"{host.label} sees {node.path} again",
                    host_id=host.id,
                )
                continue
            name = node.label or node.serial or node.path
            work.raise_(
                AlertKind.STORAGE_DEVICE_MISSING,
                subject,
                f"{host.label} no longer sees the device {node.path} of volume {name}",
                [
                    {
                        "host": host.label,
                        "expected": node.path,
                        "serial": node.serial,
                        # a device with no serial cannot be recognised at another path
                        "serial_now_at": at_path.get(node.serial) if node.serial else None,
                        "reported": sorted(paths),
                    }
                ],
                host_id=host.id,
            )

    # --- records --------------------------------------------------------------------------------

    def _records(self, work: _Work, host: Host, seen: RecordsReported) -> None:
        memory = self._hosts[host.id]
        times = [s.t for s in seen.stats] + [line.t for line in seen.logs]
        if times:
            newest = max(times)
            memory.agent_now = max(newest, memory.agent_now or newest)
        if seen.stats:
            self._clock_skew(work, host, memory, seen)
            self._capacity(work, host, seen.stats)
        self._error_spike(work, host, memory, seen)

    def _clock_skew(
        self, work: _Work, host: Host, memory: _HostMemory, seen: RecordsReported
    ) -> None:
        newest = max(sample.t for sample in seen.stats)
        offset = (newest - seen.received_at).total_seconds()
        subject = (HOST, host.id)
        evidence = [
            {"agent_time": newest, "desktop_time": seen.received_at, "offset_s": round(offset, 1)}
        ]
        if offset >= -CLOCK_SKEW_S:
            memory.late_since = None
            memory.offset_s = offset
            if offset > CLOCK_SKEW_S:
                work.raise_(
                    AlertKind.CLOCK_SKEW,
                    subject,
                    f"The clock of {host.label} is {offset:.0f} s ahead of this desktop's",
                    evidence,
                )
            else:
                work.clear(AlertKind.CLOCK_SKEW, subject, f"now {offset:+.0f} s")
            return
        # Late: queued somewhere, or a clock behind. Only a run of late batches tells.
        if memory.late_since is None:
            memory.late_since, memory.least_late_s = seen.received_at, offset
        memory.least_late_s = max(memory.least_late_s, offset)
        if seen.received_at - memory.late_since >= timedelta(seconds=CLOCK_SKEW_SETTLE_S):
            memory.offset_s = memory.least_late_s
            work.raise_(
                AlertKind.CLOCK_SKEW,
                subject,
                f"The clock of {host.label} is at least {-memory.least_late_s:.0f} s behind "
                "this desktop's",
                evidence,
            )

    def _capacity(self, work: _Work, host: Host, stats: Iterable[StatSample]) -> None:
        latest: dict[str, dict[str, StatSample]] = defaultdict(dict)
        for sample in stats:
            known = latest[sample.subject].get(sample.metric)
            if known is None or sample.t >= known.t:
                latest[sample.subject][sample.metric] = sample
        wanted = {"kbytestotal", "filestotal"}
        labels = [s for s, metrics in latest.items() if wanted & metrics.keys()]
        if not labels:
            return
        targets = work.session.execute(
            select(Target.id, Target.name)
            .join(TargetMount, TargetMount.target_id == Target.id)
            .where(
                TargetMount.host_id == host.id,
                Target.name.in_(labels),
                Target.deleted_at.is_(None),
            )
        ).all()
        for target in targets:
            metrics = latest[target.name]
            subject = (TARGET, target.id)
            total, free = metrics.get("kbytestotal"), metrics.get("kbytesfree")
            if total is not None and free is not None and total.value > 0:
                used = total.value - free.value
                avail = metrics.get("kbytesavail")
                room = avail.value if avail is not None else free.value
                percent = _percent(used, used + room)
                self._threshold(
                    work,
                    AlertKind.CAPACITY_HIGH,
                    subject,
                    percent,
                    CAPACITY_PERCENT,
                    CAPACITY_CLEAR_PERCENT,
                    f"{target.name} is {percent:.0f} % full",
                    [
                        {
                            "t": total.t,
                            "target": target.name,
                            "host": host.label,
                            **{m: s.value for m, s in metrics.items() if m.startswith("kbytes")},
                            "percent": round(percent, 1),
                        }
                    ],
                    host.id,
                )
            total, free = metrics.get("filestotal"), metrics.get("filesfree")
            if total is not None and free is not None and total.value > 0:
                percent = _percent(total.value - free.value, total.value)
                self._threshold(
                    work,
                    AlertKind.INODES_HIGH,
                    subject,
                    percent,
                    INODES_PERCENT,
                    INODES_CLEAR_PERCENT,
                    f"{target.name} has used {percent:.0f} % of its inodes",
                    [
                        {
                            "t": total.t,
                            "target": target.name,
                            "host": host.label,
                            "filestotal": total.value,
                            "filesfree": free.value,
                            "percent": round(percent, 1),
                        }
                    ],
                    host.id,
                )

    @staticmethod
    def _threshold(
        work: _Work,
        kind: AlertKind,
        subject: Subject,
        percent: float,
        raise_at: float,
        clear_below: float,
        message: str,
        evidence: list[dict[str, Any]],
        host_id: int,
    ) -> None:
        if percent >= raise_at:
            severity = Severity.ERROR if percent >= CAPACITY_FULL_PERCENT else Severity.WARNING
            work.raise_(kind, subject, message, evidence, host_id=host_id, severity=severity)
        elif percent < clear_below:
            work.clear(kind, subject, f"now {percent:.0f} %", host_id=host_id)
        elif work.current(kind, subject) is not None:
            work.raise_(kind, subject, message, evidence, host_id=host_id)

    def _error_spike(
        self, work: _Work, host: Host, memory: _HostMemory, seen: RecordsReported
    ) -> None:
        memory.errors.extend(line for line in seen.logs if line.severity.error_or_worse)
        now = memory.agent_now
        if now is None:
            return
        window = timedelta(seconds=ERROR_SPIKE_WINDOW_S)
        while memory.errors and memory.errors[0].t < now - window:
            memory.errors.popleft()
        # A backfill of old records shows what happened then, not now: judge only fresh ones.
        if seen.received_at + timedelta(seconds=memory.offset_s) - now > window:
            return
        recent = [line for line in memory.errors if line.t >= now - window]
        subject = (HOST, host.id)
        if len(recent) >= ERROR_SPIKE_LINES:
            minutes = ERROR_SPIKE_WINDOW_S / 60
            work.raise_(
                AlertKind.ERROR_LOG_SPIKE,
                subject,
                f"{len(recent)} error lines in {minutes:.0f} minutes in the log of {host.label}",
                [_log_evidence(line) for line in recent[-EVIDENCE_ITEMS:]],
            )
        elif len(recent) < ERROR_SPIKE_CLEAR_LINES:
            work.clear(
                AlertKind.ERROR_LOG_SPIKE, subject, f"{len(recent)} error lines in the window"
            )

    # --- jobs and removals ----------------------------------------------------------------------

    @staticmethod
    def _job_failed(work: _Work, job: Job, subject: Subject) -> None:
        step = work.session.scalar(
            select(Step)
            # The last step that started is the one that failed (its row may say cancelled:
            # the scheduler marks the steps after the running one, from the failed one on).
            .where(Step.job_id == job.id, Step.started_at.is_not(None))
            .order_by(Step.index.desc())
            .limit(1)
        )
        outcome = "failed" if job.state == RunState.FAILED else "was interrupted"
        evidence: dict[str, Any] = {
            "job_id": job.id,
            "job": job.kind,
            "state": str(job.state),
            "error": job.error,
            "finished_at": job.finished_at,
        }
        host_id = None
        if step is not None:
            host_id = step.host_id
            evidence |= {
                "step": step.description,
                "command_lines": [" ".join(line) for line in step.command_lines],
                "stderr": step.stderr[-EVIDENCE_TEXT:],
            }
        work.raise_(
            AlertKind.JOB_FAILED,
            subject,
            f"{job.description} {outcome}: {job.error or 'no reason given'}",
            [evidence],
            host_id=host_id,
            accumulate=True,
        )

    @staticmethod
    def _sweep_removed(work: _Work) -> None:
        """Removed objects have no alerts."""
        models: dict[str, Any] = {
            HOST: Host,
            TARGET: Target,
            FILESYSTEM: Filesystem,
            VOLUME_NODE: VolumeNode,
            CLIENT_MOUNT: ClientMount,
        }
        by_kind: dict[str, set[int]] = defaultdict(set)
        for _, subject_kind, subject_id in work.active:
            by_kind[subject_kind].add(subject_id)
        for subject_kind, ids in by_kind.items():
            model = models.get(subject_kind)
            if model is None:
                continue
            live = set(
                work.session.scalars(
                    select(model.id).where(model.id.in_(ids), model.deleted_at.is_(None))
                )
            )
            for kind, k, ident in list(work.active):
                if k == subject_kind and ident not in live:
                    work.clear(kind, (k, ident), "removed")
