"""History in the running app: the stats store and the log store, fed by every agent's "records"
push, and the reads the Dashboard, Charts and Logs screens make of them.

Layer: chroma_desktop (no Qt: the headless service can run it too). Thread: both stores belong to
one "chroma-history" thread that opens, fills, reads and closes them (each store is
single-threaded); the report handler runs on the "chroma-db" worker and only hands the parsed
records over, and every read returns a Future, so neither the GUI thread nor the scheduler's
worker ever waits on the stores' disk. A store that cannot be opened, or a write that fails (disk
full), is told to `on_error` once, as a `ChromaError` a person can act on; the other consumers of
the agents' reports never see it.

Series are named (object, metric): a target's series by its Lustre label ("demofs-OST0001"), so
its history follows it through a failover; a server's ("node" and "lnet" subjects) by its
address; any other subject (the MGS) as "<subject>@<address>".

An offline archive (stats.archive) is shown through the same class: `History.of_archive` opens
its copies of both stores read-only, learns what has history from the stores themselves, and
takes the archive's end as "now". `export_archive` writes an archive from the live stores, read
a batch at a time on the history thread while ingest goes on between the batches.

Storage budgets (`chroma_desktop.settings.StorageBudgets`): the stores are opened with them; the
stats store keeps its budget itself (at every hourly roll and checkpoint), the log store is
trimmed every RETENTION_EVERY_S while reports arrive; `set_budgets` saves and applies new ones at
once; `storage()` reads out what is kept against them.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Final, Protocol, TypeVar

import numpy as np
import numpy.typing as npt
from sqlalchemy.orm import Session

from chroma_desktop.settings import StorageBudgets, load_settings, save_settings
from core.database import Database
from core.errors import ChromaError
from core.observations import LogLine as ReportedLogLine
from core.observations import Observation, RecordsReported, StatSample, SyslogSeverity
from stats.archive import ExportResult, OpenedArchive, export_archive
from stats.logs import LogLine, LogStore, LogUsage, MessageClass, TailPage
from stats.store import OstBalance, SeriesKind, StatsStore, StoreConfig
from stats.store import Usage as StatsUsage

log = logging.getLogger(__name__)

T = TypeVar("T")
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

THREAD_NAME: Final = "chroma-history"
RETENTION_EVERY_S: Final = 600.0
"""How often, while reports arrive, log lines over the budgets are dropped."""
STATS_DIR: Final = "stats"
LOGS_FILE: Final = Path("logs") / "logs.sqlite"

METADATA_OPERATIONS: Final = (
    "open",
    "close",
    "getattr",
    "getxattr",
    "setattr",
    "statfs",
    "mknod",
    "unlink",
    "mkdir",
    "rmdir",
    "rename",
    "link",
)
COUNTER_METRICS: Final = frozenset(
    {
        "cpu_user",
        "cpu_system",
        "cpu_idle",
        "cpu_iowait",
        "cpu_total",
        "lnet_send_count",
        "lnet_recv_count",
        "read_bytes",
        "write_bytes",
        "read",
        "write",
        "create",
        "destroy",
        "punch",
        "ping",
        "connect",
        "reconnect",
        "disconnect",
        "sync",
        "get_page",
        "get_info",
        "set_info_async",
        "preprw",
        "commitrw",
        *METADATA_OPERATIONS,
    }
)
"""Metrics the agents report as cumulative counters (shown as per-second rates); every other
metric is a gauge, shown as it is."""


def metric_kind(metric: str) -> SeriesKind:
    return SeriesKind.COUNTER if metric in COUNTER_METRICS else SeriesKind.GAUGE


class ObjectKind(StrEnum):
    SERVER = "server"
    MGS = "MGS"
    MDT = "MDT"
    OST = "OST"


def series_key(host: str, subject: str, metric: str) -> tuple[str, str, ObjectKind]:
    """(object, metric, kind of object) under which a server's sample is kept."""
    if subject == "node":
        return host, metric, ObjectKind.SERVER
    if subject == "lnet":
        return host, metric if metric.startswith("lnet_") else f"lnet_{metric}", ObjectKind.SERVER
    if "-OST" in subject:
        return subject, metric, ObjectKind.OST
    if "-MDT" in subject:
        return subject, metric, ObjectKind.MDT
    return f"{subject}@{host}", metric, ObjectKind.MGS


# --- what the screens chart ------------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    """One chart line: the sum of coefficient * metric over the chosen objects' series,
    divided by the sum of the `per` metrics and multiplied by `scale` when `per` is given (a
    percentage)."""

    title: str
    unit: str
    of: ObjectKind
    terms: tuple[tuple[str, float], ...]
    per: tuple[str, ...] = ()
    scale: float = 1.0

    @property
    def metrics(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys([m for m, _ in self.terms] + list(self.per)))


CPU = Measure(
    "CPU",
    "%",
    ObjectKind.SERVER,
    (("cpu_user", 1.0), ("cpu_system", 1.0), ("cpu_iowait", 1.0)),
    per=("cpu_total",),
    scale=100.0,
)
MEMORY = Measure(
    "Memory used",
    "%",
    ObjectKind.SERVER,
    (("mem_MemTotal", 1.0), ("mem_MemFree", -1.0)),
    per=("mem_MemTotal",),
    scale=100.0,
)
LNET = Measure(
    "LNet messages",
    "msg/s",
    ObjectKind.SERVER,
    (("lnet_send_count", 1.0), ("lnet_recv_count", 1.0)),
)
READ = Measure("Read", "B/s", ObjectKind.OST, (("read_bytes", 1.0),))
WRITE = Measure("Write", "B/s", ObjectKind.OST, (("write_bytes", 1.0),))
OST_SPACE = Measure(
    "OST space used",
    "%",
    ObjectKind.OST,
    (("kbytestotal", 1.0), ("kbytesfree", -1.0)),
    per=("kbytestotal",),
    scale=100.0,
)
METADATA = Measure(
    "Metadata operations", "ops/s", ObjectKind.MDT, tuple((op, 1.0) for op in METADATA_OPERATIONS)
)
MDT_SPACE = Measure(
    "MDT space used",
    "%",
    ObjectKind.MDT,
    (("kbytestotal", 1.0), ("kbytesfree", -1.0)),
    per=("kbytestotal",),
    scale=100.0,
)
MDT_FILES = Measure(
    "Files used",
    "%",
    ObjectKind.MDT,
    (("filestotal", 1.0), ("filesfree", -1.0)),
    per=("filestotal",),
    scale=100.0,
)
EXPORTS = Measure("Exports", "", ObjectKind.MGS, (("num_exports", 1.0),))


class SubjectKind(StrEnum):
    ALL = "all"
    SERVER = "server"
    TARGET = "target"
    FILESYSTEM = "filesystem"


@dataclass(frozen=True)
class Subject:
    """What a chart is of: one server (by address), one target (by label), one filesystem (its
    targets' series summed), or everything."""

    kind: SubjectKind
    name: str = ""
    target_kind: ObjectKind | None = None

    @property
    def label(self) -> str:
        if self.kind == SubjectKind.ALL:
            return "All servers and filesystems"
        return f"{self.kind.value.capitalize()} {self.name}"

    @property
    def measures(self) -> tuple[Measure, ...]:
        if self.kind == SubjectKind.SERVER:
            return (CPU, MEMORY, LNET)
        if self.kind == SubjectKind.FILESYSTEM:
            return (READ, WRITE, METADATA, OST_SPACE)
        if self.target_kind == ObjectKind.OST:
            return (READ, WRITE, OST_SPACE)
        if self.target_kind == ObjectKind.MDT:
            return (METADATA, MDT_SPACE, MDT_FILES)
        if self.target_kind == ObjectKind.MGS:
            return (EXPORTS,)
        return (READ, WRITE, METADATA, CPU)


@dataclass(frozen=True)
class Series:
    """A measure on a bucket grid: `ts` bucket end times (s), NaN where nothing was reported;
    `low`/`high` the min/max band, given for a single series only."""

    ts: I64
    avg: F64
    low: F64 | None
    high: F64 | None
    step: int

    @property
    def empty(self) -> bool:
        return not bool(np.isfinite(self.avg).any())

    @classmethod
    def nothing(cls) -> Series:
        return cls(np.zeros(0, dtype=np.int64), np.zeros(0), None, None, 0)


@dataclass(frozen=True)
class OstFill:
    """Each OST's share of space used (0..1, NaN unknown), in the order of `names`, with the
    mean, the emptiest, the fullest and the spread between them."""

    names: tuple[str, ...]
    balance: OstBalance


@dataclass(frozen=True, slots=True, eq=False)
class TargetFigures:
    """A target's latest figures, NaN when unknown: bandwidth (OSTs), space used, and metadata
    operations per second (MDTs). Equal when every figure is equal or unknown in both, so the
    same figures read again do not repaint the table."""

    read_bps: float
    write_bps: float
    used_pct: float
    metadata_ops: float

    def _known(self) -> tuple[float | None, ...]:
        figures = (self.read_bps, self.write_bps, self.used_pct, self.metadata_ops)
        return tuple(None if math.isnan(figure) else figure for figure in figures)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TargetFigures):
            return NotImplemented
        return self._known() == other._known()

    def __hash__(self) -> int:
        return hash(self._known())


LIVE_FOR_S: Final = 120
"""Figures older than this are not shown as a target's current ones."""
_FIGURE_METRICS: Final = (
    "read_bytes",
    "write_bytes",
    "kbytesfree",
    "kbytestotal",
    *METADATA_OPERATIONS,
)


@dataclass(frozen=True)
class StorageReadout:
    """What the history stores keep against their budgets (a store that did not open is None
    and its problem is said)."""

    budgets: StorageBudgets
    stats: StatsUsage | None
    logs: LogUsage | None
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class LogPage:
    """Lines found (newest first) and the tail cursor that follows them."""

    lines: tuple[LogLine, ...]
    cursor: int


class HistoryUnavailableError(ChromaError):
    """A store could not be opened; the screens that need it say so instead of showing data."""


class _ReportSource(Protocol):
    def add_report_handler(
        self, kind: str, handler: Callable[[Session, str, Observation], None]
    ) -> None: ...


_STATS, _LOGS = "statistics", "logs"


class History:
    """The stores under `data_dir` (stats/ and logs/logs.sqlite), opened at once on their own
    thread; `attach(manager)` feeds them, the read calls return Futures, `close()` ends it."""

    def __init__(
        self,
        data_dir: Path,
        *,
        on_error: Callable[[ChromaError], None] | None = None,
        stats_config: StoreConfig | None = None,
        budgets: StorageBudgets | None = None,
        settings_dir: Path | None = None,
        read_only: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.read_only = read_only
        self.clock = clock
        """What "now" is: an archive's end for an archive."""
        self.budgets = budgets or StorageBudgets()
        self._settings_dir = settings_dir
        self._on_error = on_error or (lambda error: log.error("%s", error))
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=THREAD_NAME)
        self._closed = False
        # Everything below belongs to the history thread.
        self._stats: StatsStore | None = None
        self._logs: LogStore | None = None
        self._unavailable: dict[str, ChromaError] = {}
        self._failing: set[str] = set()
        self._ids: dict[tuple[str, str], int] = {}
        self._objects: dict[str, ObjectKind] = {}
        self._next_retention = 0.0
        self.ready: Future[None] = self._executor.submit(self._open, stats_config)

    @classmethod
    def of_archive(
        cls, archive: OpenedArchive, *, on_error: Callable[[ChromaError], None] | None = None
    ) -> History:
        """The history kept in an opened archive, read-only, its end taken as now."""
        end = archive.manifest.end.timestamp()
        return cls(
            archive.directory,
            on_error=on_error,
            stats_config=archive.stats_config,
            read_only=True,
            clock=lambda: end,
        )

    # --- lifecycle ------------------------------------------------------------------------------

    def attach(self, manager: _ReportSource) -> None:
        """Take every "records" push the manager handles (call before `manager.start()`)."""
        manager.add_report_handler("records", self._on_records)

    def close(self) -> None:
        """Close both stores (the stats store checkpoints) and end the thread; after the
        manager stopped, so no report arrives any more."""
        if self._closed:
            return
        self._closed = True
        self._executor.submit(self._close)
        self._executor.shutdown(wait=True)

    def _open(self, config: StoreConfig | None) -> None:
        if config is None:
            config = StoreConfig(size_budget=self.budgets.stats_bytes)
        try:
            self._stats = StatsStore.open(
                self.data_dir / STATS_DIR, config, read_only=self.read_only
            )
        except Exception as error:  # shown, and charts say why they are empty
            self._unavailable[_STATS] = self._fail_open(_STATS, self.data_dir / STATS_DIR, error)
        try:
            self._logs = LogStore(
                self.data_dir / LOGS_FILE,
                policy=self.budgets.log_policy,
                read_only=self.read_only,
            )
        except Exception as error:
            self._unavailable[_LOGS] = self._fail_open(_LOGS, self.data_dir / LOGS_FILE, error)
        if self.read_only:  # nothing is reported: what has history is what the stores hold
            for series in self._stats.series_list() if self._stats else ():
                self._ids[(series.object, series.metric)] = series.id
                self._objects.setdefault(series.object, object_kind(series.object))
            for host in self._logs.hosts() if self._logs else ():
                self._objects.setdefault(host, ObjectKind.SERVER)

    def _fail_open(self, what: str, path: Path, error: Exception) -> ChromaError:
        if isinstance(error, ChromaError):
            problem = error
        else:
            log.exception("opening the %s store at %s", what, path)
            problem = HistoryUnavailableError(
                f"The {what} store at {path} cannot be opened ({error}).",
                hint="Move it aside (Chroma Desktop then starts a new one) or restore it from "
                "a backup, then restart Chroma Desktop.",
            )
        self._on_error(problem)
        return problem

    def _close(self) -> None:
        for name, store in ((_STATS, self._stats), (_LOGS, self._logs)):
            if store is None:
                continue
            try:
                store.close()
            except Exception as error:
                log.exception("closing the %s store", name)
                self._on_error(_as_chroma(name, error))
        self._stats = self._logs = None

    # --- ingest ---------------------------------------------------------------------------------

    def _on_records(self, session: Session, host: str, report: Observation) -> None:
        """Database worker: hand the report's records to the history thread. Never raises: the
        report's other consumers come after this one."""
        if not isinstance(report, RecordsReported) or self._closed:
            return
        with suppress(RuntimeError):  # closing: the stores take nothing more
            self._executor.submit(self._ingest, host, report.stats, report.logs)

    def _ingest(
        self, host: str, stats: Sequence[StatSample], logs: Sequence[ReportedLogLine]
    ) -> None:
        if stats and self._stats is not None:
            self._guard(_STATS, lambda: self._ingest_stats(host, stats))
        if logs and self._logs is not None:
            self._objects.setdefault(host, ObjectKind.SERVER)
            store = self._logs
            records = [
                {
                    "t": line.t.timestamp(),
                    "severity": int(line.severity),
                    "facility": line.facility,
                    "source": line.source,
                    "message": line.message,
                }
                for line in logs
            ]
            self._guard(_LOGS, lambda: store.append(host, records))
        if time.monotonic() >= self._next_retention:
            self._next_retention = time.monotonic() + RETENTION_EVERY_S
            self._trim_logs()

    # --- archives -------------------------------------------------------------------------------

    def run(self, work: Callable[[StatsStore | None, LogStore | None], T]) -> T:
        """`work(stats, logs)` on the history thread, waited for (`stats.archive.StoreAccess`;
        never call it from the history thread itself)."""
        return self._executor.submit(lambda: work(self._stats, self._logs)).result()

    def export_archive(
        self,
        path: Path,
        database: Database,
        start: float,
        end: float,
        *,
        progress: Callable[[str], None] | None = None,
    ) -> Future[ExportResult]:
        """Write the history of [start, end] (seconds) to the archive `path` on its own
        "chroma-export" thread; the stores are read a batch at a time on the history thread."""
        done: Future[ExportResult] = Future()

        def on_thread() -> None:
            try:
                done.set_result(
                    export_archive(
                        path,
                        database,
                        datetime.fromtimestamp(start, UTC),
                        datetime.fromtimestamp(end, UTC),
                        stores=self,
                        source=f"{database.url} on {os.uname().nodename}",
                        progress=progress,
                    )
                )
            except BaseException as error:  # reaches whoever waits on the Future
                done.set_exception(error)

        threading.Thread(target=on_thread, name="chroma-export", daemon=True).start()
        return done

    # --- storage budgets ------------------------------------------------------------------------

    def storage(self) -> Future[StorageReadout]:
        """What each store keeps and takes on disk, against its budget."""
        return self._submit(self._readout)

    def set_budgets(self, budgets: StorageBudgets) -> Future[StorageReadout]:
        """Keep history within `budgets` from now on, applied at once (the oldest history goes
        first) and saved in the settings (when this History has a settings directory) so the
        next start keeps them; returns the readout after. Nothing changes when saving fails."""

        def work() -> StorageReadout:
            if self._settings_dir is not None:
                settings = load_settings(self._settings_dir).settings
                save_settings(self._settings_dir, replace(settings, budgets=budgets))
            self.budgets = budgets
            if self._logs is not None:
                self._logs.set_policy(budgets.log_policy)
            if self._stats is not None:
                self._stats.set_size_budget(budgets.stats_bytes)  # applied at once
            self._trim_logs()
            return self._readout()

        return self._submit(work)

    def _trim_logs(self) -> None:
        """History thread: drop the log lines over the budgets (also every RETENTION_EVERY_S of
        ingest, so a desktop left running for months stays within them). The stats store keeps
        its own budget: it trims itself at every hourly roll and checkpoint."""
        if self._logs is not None:
            logs = self._logs
            self._guard(f"{_LOGS} budget", lambda: logs.apply_retention(time.time()))

    def _readout(self) -> StorageReadout:
        return StorageReadout(
            budgets=self.budgets,
            stats=self._stats.usage() if self._stats is not None else None,
            logs=self._logs.usage() if self._logs is not None else None,
            problems=tuple(str(error) for error in self._unavailable.values()),
        )

    def _guard(self, what: str, work: Callable[[], object]) -> None:
        """Run a write; its first failure in a row is told, the rest only logged (each kind of
        write on its own: trimming to the budget succeeding says nothing of storing)."""
        try:
            work()
        except Exception as error:
            if what not in self._failing:
                self._failing.add(what)
                if not isinstance(error, ChromaError):
                    log.exception("storing %s", what)
                self._on_error(_as_chroma(what, error))
            else:
                log.debug("storing %s failed again: %s", what, error)
            return
        self._failing.discard(what)

    def _ingest_stats(self, host: str, stats: Sequence[StatSample]) -> None:
        store = self._stats
        assert store is not None
        by_second: dict[int, dict[tuple[str, str], float]] = {}
        for sample in stats:
            obj, metric, kind = series_key(host, sample.subject, sample.metric)
            self._objects.setdefault(obj, kind)
            by_second.setdefault(round(sample.t.timestamp()), {})[(obj, metric)] = sample.value
        for second in sorted(by_second):
            values = by_second[second]
            keys = list(values)
            store.ingest(second, self._series_ids(store, keys), [values[k] for k in keys])

    def _series_ids(self, store: StatsStore, keys: Sequence[tuple[str, str]]) -> list[int]:
        new = [k for k in keys if k not in self._ids]
        for kind in SeriesKind:
            group = [k for k in new if metric_kind(k[1]) is kind]
            if group:
                ids = store.series_ids(group, kind)
                self._ids.update(zip(group, (int(i) for i in ids), strict=True))
        return [self._ids[k] for k in keys]

    # --- reads (any thread; the work runs on the history thread) -------------------------------

    def _submit(self, work: Callable[[], T]) -> Future[T]:
        """`work` on the history thread; once closed, a Future failed with why."""
        try:
            return self._executor.submit(work)
        except RuntimeError:  # the executor is shut down: a late read from a closing screen
            closed: Future[T] = Future()
            closed.set_exception(_closed_error("history"))
            return closed

    def subjects(self) -> Future[tuple[Subject, ...]]:
        """What has history: every server, target and filesystem reported since start."""
        return self._submit(self._subjects)

    def _subjects(self) -> tuple[Subject, ...]:
        servers, targets, filesystems = [], [], set()
        for obj, kind in self._objects.items():
            if kind == ObjectKind.SERVER:
                servers.append(Subject(SubjectKind.SERVER, obj))
            else:
                targets.append(Subject(SubjectKind.TARGET, obj, kind))
                if kind in (ObjectKind.OST, ObjectKind.MDT):
                    filesystems.add(obj.rsplit("-", 1)[0])
        return (
            Subject(SubjectKind.ALL),
            *sorted(servers, key=lambda s: s.name),
            *(Subject(SubjectKind.FILESYSTEM, fs) for fs in sorted(filesystems)),
            *sorted(targets, key=lambda s: s.name),
        )

    def measure(
        self, subject: Subject, measure: Measure, start: int, end: int, max_points: int
    ) -> Future[Series]:
        """`measure` of `subject` over (start, end] in at most `max_points` buckets."""
        return self._submit(lambda: self._measure(subject, measure, start, end, max_points))

    def _objects_of(self, subject: Subject, of: ObjectKind) -> list[str]:
        known = [obj for obj, kind in self._objects.items() if kind == of]
        if subject.kind == SubjectKind.ALL:
            return known
        if subject.kind == SubjectKind.FILESYSTEM:
            return [obj for obj in known if obj.rsplit("-", 1)[0] == subject.name]
        return [obj for obj in known if obj == subject.name]

    def _measure(
        self, subject: Subject, measure: Measure, start: int, end: int, max_points: int
    ) -> Series:
        store = self._stats_store()
        objects = self._objects_of(subject, measure.of)
        ids = {
            metric: [self._ids[(o, metric)] for o in objects if (o, metric) in self._ids]
            for metric in measure.metrics
        }
        first = next((i[0] for i in ids.values() if i), None)
        if first is None or end <= start:
            return Series.nothing()
        chart = store.chart(first, start, end, max(1, max_points))
        (metric, coefficient), *more = measure.terms
        if not more and not measure.per and coefficient == 1.0 and len(ids[metric]) == 1:
            chart = store.fetch(ids[metric][0], start, end, chart.step)
            return Series(chart.ts, chart.avg, chart.min, chart.max, chart.step)

        def total(metric: str) -> F64:
            if not ids[metric]:
                return np.full(chart.ts.size, np.nan)
            return store.reduce(ids[metric], start, end, chart.step, how="sum")[1]

        values = np.zeros(chart.ts.size)
        for metric, coefficient in measure.terms:
            values = values + coefficient * total(metric)
        if measure.per:
            per = np.zeros(chart.ts.size)
            for metric in measure.per:
                per = per + total(metric)
            with np.errstate(invalid="ignore", divide="ignore"):
                values = np.where(per > 0, values / per * measure.scale, np.nan)
        return Series(chart.ts, values, None, None, chart.step)

    def latest(self, subject: Subject, measure: Measure) -> Future[float]:
        """The measure now (NaN when unknown): for a readout beside a chart."""

        def work() -> float:
            now = int(self.clock())
            series = self._measure(subject, measure, now - 120, now, 12)
            finite = series.avg[np.isfinite(series.avg)]
            return float(finite[-1]) if finite.size else math.nan

        return self._submit(work)

    def ost_fill(self, subject: Subject) -> Future[OstFill]:
        """How full each OST of `subject` (a filesystem, or everything) is now, and the spread
        between the emptiest and the fullest: the OST balance heat map."""

        def work() -> OstFill:
            osts = sorted(
                o
                for o in self._objects_of(subject, ObjectKind.OST)
                if (o, "kbytesfree") in self._ids and (o, "kbytestotal") in self._ids
            )
            balance = self._stats_store().ost_balance(
                [self._ids[(o, "kbytesfree")] for o in osts],
                [self._ids[(o, "kbytestotal")] for o in osts],
            )
            return OstFill(tuple(osts), balance)

        return self._submit(work)

    def target_figures(self) -> Future[dict[str, TargetFigures]]:
        """The latest figures of every target that reported, by its Lustre label; NaN where a
        figure was not reported in the last LIVE_FOR_S (for the Targets table's live columns)."""
        return self._submit(self._target_figures)

    def _target_figures(self) -> dict[str, TargetFigures]:
        store = self._stats_store()
        names = [o for o, kind in self._objects.items() if kind in (ObjectKind.OST, ObjectKind.MDT)]
        keys = [(o, m) for o in names for m in _FIGURE_METRICS if (o, m) in self._ids]
        if not keys:
            return {}
        ts, values = store.latest([self._ids[k] for k in keys])
        values = np.where(ts >= int(self.clock()) - LIVE_FOR_S, values, np.nan)
        latest = dict(zip(keys, values.tolist(), strict=True))

        def figure(name: str, metric: str) -> float:
            return float(latest.get((name, metric), math.nan))

        found = {}
        for name in names:
            free, total = figure(name, "kbytesfree"), figure(name, "kbytestotal")
            ops = [v for m in METADATA_OPERATIONS if not math.isnan(v := figure(name, m))]
            found[name] = TargetFigures(
                read_bps=figure(name, "read_bytes"),
                write_bps=figure(name, "write_bytes"),
                used_pct=100.0 * (1.0 - free / total) if total > 0 else math.nan,
                metadata_ops=sum(ops) if ops else math.nan,
            )
        return found

    def search_logs(
        self,
        text: str = "",
        *,
        hosts: Collection[str] | None = None,
        severities: Collection[SyslogSeverity] | None = None,
        since: float | None = None,
        until: float | None = None,
        lustre_only: bool = False,
        limit: int = 500,
    ) -> Future[LogPage]:
        """The newest `limit` lines matching (the log store's query language), newest first,
        with the cursor a live tail goes on from."""

        def work() -> LogPage:
            store = self._logs_store()
            cursor = store.last_seq

            def search(extra: str) -> list[LogLine]:
                return store.search(
                    f"{text} {extra}".strip(),
                    hosts=hosts,
                    severities=severities,
                    since=since,
                    until=until,
                    limit=limit,
                )

            if not lustre_only:
                return LogPage(tuple(search("")), cursor)
            # The query language finds the words; the line's Lustre class decides.
            found = {
                line.seq: line for extra in ("Lustre", "LustreError") for line in search(extra)
            }
            lines = sorted(
                (line for line in found.values() if _is_lustre(line)),
                key=lambda line: (line.t, line.seq),
                reverse=True,
            )
            return LogPage(tuple(lines[:limit]), cursor)

        return self._submit(work)

    def tail_logs(
        self,
        after: int,
        text: str = "",
        *,
        hosts: Collection[str] | None = None,
        severities: Collection[SyslogSeverity] | None = None,
        lustre_only: bool = False,
        limit: int = 1000,
    ) -> Future[TailPage]:
        """Matching lines stored after cursor `after`, oldest first, and the next cursor."""

        def work() -> TailPage:
            page = self._logs_store().tail(
                after, limit=limit, text=text, hosts=hosts, severities=severities
            )
            if not lustre_only:
                return page
            return TailPage(tuple(line for line in page.lines if _is_lustre(line)), page.cursor)

        return self._submit(work)

    def log_hosts(self) -> Future[tuple[str, ...]]:
        """Servers whose syslog reached the store since start (for the Logs screen's filter)."""
        return self._submit(
            lambda: tuple(sorted(o for o, k in self._objects.items() if k == ObjectKind.SERVER))
        )

    def _stats_store(self) -> StatsStore:
        if self._stats is None:
            raise self._unavailable.get(_STATS) or _closed_error(_STATS)
        return self._stats

    def _logs_store(self) -> LogStore:
        if self._logs is None:
            raise self._unavailable.get(_LOGS) or _closed_error(_LOGS)
        return self._logs


def object_kind(obj: str) -> ObjectKind:
    """The kind of object a series' object name denotes (the inverse of `series_key`)."""
    if "-OST" in obj:
        return ObjectKind.OST
    if "-MDT" in obj:
        return ObjectKind.MDT
    if "@" in obj:
        return ObjectKind.MGS
    return ObjectKind.SERVER


def _is_lustre(line: LogLine) -> bool:
    return line.lustre.message_class != MessageClass.NORMAL


def _closed_error(what: str) -> HistoryUnavailableError:
    return HistoryUnavailableError(
        f"The {what} store is closed.", hint="Chroma Desktop is shutting down."
    )


def _as_chroma(what: str, error: Exception) -> ChromaError:
    if isinstance(error, ChromaError):
        return error
    return HistoryUnavailableError(
        f"Storing {what} failed ({type(error).__name__}: {error}).",
        hint="New history is not kept until this is fixed; the details are in the log.",
    )
