"""The stats store: ingest agent reports, keep raw points and min/avg/max rollups, answer charts.

Layer: stats (NumPy, SQLite, zstd; no Qt, no Twisted). Thread: one stats/database worker thread
owns a store; the only other thread is the write-ahead log's fsync timer. Never the GUI thread.

Design. Each series (object, metric) has an id in a SQLite catalogue. A report (one timestamp,
many series) is checked, appended to the write-ahead log and copied into per-series in-memory
buffers with a few vectorised NumPy operations. When a report opens a new hour the buffered hour is
written as one compressed chunk per series into a segment file, listed in the catalogue, and the
log is dropped. Opening after a crash replays the log into the buffers and writes nothing; the
next hourly flush writes the hour out. Rollup tiers (1 min, 5 min, 1 h, 1 day by default) are
built from the tier below them whenever a whole build period (1 day, 1 week, 1 week, 4 weeks) of
it is on disk, one segment per tier and period, so every chunk is written once and never
rewritten; a tier configured `stored=False` (redundant where the tier below is kept as long) is
rolled up from the tier below when asked for; a tier configured `keeps_min_max=False` keeps
averages only (sum and count), as an rrdtool AVERAGE archive does. A query reads the finest data
it needs: tier chunks up to where that tier is built, then the tier below for the rest (rolled
straight to the chart's buckets), down to the in-memory buffer; the chunks one query needs from
a tier are decoded together, each column end to end in one array (stats.codec.decode_joined),
and kept in a bounded cache of decoded chunks (`cache_bytes`; rollup builds bypass it;
`drop_cache` empties it): a chart whose chunks are all cached in one batch, or all missing,
reads its columns with no join. Rows of a stored tier are evenly spaced when they span as many
steps as they have rows, which spares rolling them up a check a row. Retention and the size
budget delete whole segment files, finest tier first, never data a coarser tier has not been
built from yet.

On disk, under the store's folder: `catalogue.sqlite` (series, segments, chunks, checkpoint
state), `seg/<id>.seg` (chunks as stats.codec.encode_chunk writes them), `wal/<n>.log`
(the write-ahead log, see stats.wal) and `LOCK`.
"""

from __future__ import annotations

import errno
import fcntl
import itertools
import math
import os
import sqlite3
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from types import TracebackType
from typing import Final, Literal, Self

import numpy as np
import numpy.typing as npt

from stats import codec, wal
from stats.errors import (
    StatsCorruptError,
    StatsDiskFullError,
    StatsError,
    StatsInputError,
    StatsLockedError,
    StatsReadOnlyError,
    StatsVersionError,
)
from stats.rollup import Rows, counter_rates, rollup_rows, rollup_samples, series_rates

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
I32 = npt.NDArray[np.int32]

NO_TIME: Final = np.iinfo(np.int64).min
PARTITION: Final = 3600  # seconds of raw data per flush
_SCHEMA_VERSION: Final = 4  # 3: straight-line columns, trimmed byte planes; 4: plain floats
_READS_VERSIONS: Final = (3, 4)  # a store of format 3 is read as it is and written as 4
_RAW_KINDS: Final = (codec.Kind.TIME, codec.Kind.FLOAT)
_ROW_KINDS: Final = (
    codec.Kind.TIME,
    codec.Kind.FLOAT,
    codec.Kind.INT,
    codec.Kind.FLOAT,
    codec.Kind.FLOAT,
)
ChunkRef = tuple[int, int, int]  # segment id, offset, length
# a cached chunk: the columns of the batch it was decoded in, its first row there, its rows
_Cached = tuple[list[codec.Column], int, int]


class SeriesKind(Enum):
    """GAUGE values are shown as they are; COUNTER values are cumulative and shown as rates."""

    GAUGE = "gauge"
    COUNTER = "counter"


@dataclass(frozen=True)
class Tier:
    """One resolution: `step` seconds per row (0 = raw samples), kept `retention` seconds (None:
    for ever), built from the tier below every `build_every` seconds.

    `stored=False` keeps no rows of the tier: its rows are rolled up from the tier below when
    asked for, and the tier above is built from that one. It is allowed only where the tier
    below is stored and kept at least as long, which makes the tier's rows redundant (raw
    samples kept for weeks make a 1-minute tier pure duplication: ~17 bytes a row, since a
    lossless min/avg/max row of noisy floats cannot be much smaller).

    `keeps_min_max=False` keeps only each row's average (its sum and count), as an rrdtool
    AVERAGE archive does, at about a third of the bytes for noisy floats: min and max are stored
    as unknown (no bytes per row) and charts read from the tier show none. Every tier above such
    a tier must leave them out too (they are built from it)."""

    name: str
    step: int
    retention: int | None
    build_every: int
    stored: bool = True
    keeps_min_max: bool = True


DAY: Final = 86400
DEFAULT_TIERS: Final = (
    Tier("raw", 0, DAY, PARTITION),
    Tier("1 min", 60, 7 * DAY, DAY),
    Tier("5 min", 300, 31 * DAY, 7 * DAY),
    Tier("1 h", 3600, 366 * DAY, 7 * DAY),
    Tier("1 day", DAY, None, 28 * DAY),
)


@dataclass(frozen=True)
class StoreConfig:
    """How a store keeps data. `heartbeat`: longest interval a counter rate spans; `max_future`:
    how far ahead of the clock a timestamp may be; `size_budget`: bytes on disk (None: no limit)."""

    tiers: tuple[Tier, ...] = DEFAULT_TIERS
    size_budget: int | None = None
    sync_interval: float = 1.0
    heartbeat: float = 600.0
    max_future: float = 600.0
    cache_bytes: int = 8 << 20  # decoded chunks kept for charts (about eight month charts' worth)
    clock: Callable[[], float] = time.time


@dataclass(frozen=True)
class IngestResult:
    """What happened to a report's samples: stored, or refused and why (nothing else is dropped)."""

    accepted: int = 0
    duplicate: int = 0  # same timestamp as the series' last sample
    out_of_order: int = 0  # older than the series' last sample (e.g. the agent's clock went back)
    late: int = 0  # older than rollups already built (more than one build period late)
    future: int = 0  # more than max_future ahead of the clock (a clock jump forward)
    non_finite: int = 0  # NaN or ±inf: stored as unknown (NaN), counted here, accepted too


@dataclass(frozen=True)
class Chart:
    """A series on a bucket grid: `ts` are bucket end times; NaN where a bucket holds no sample."""

    ts: I64
    avg: F64
    min: F64
    max: F64
    count: I64
    step: int
    tier: str


@dataclass(frozen=True)
class TierUsage:
    name: str
    bytes: int
    points: int
    oldest: int | None
    newest: int | None


@dataclass(frozen=True)
class Usage:
    """What the store keeps: bytes per tier and how far back each reaches."""

    total_bytes: int
    tiers: tuple[TierUsage, ...]
    log_bytes: int
    catalogue_bytes: int

    def describe(self) -> str:
        parts = [f"stats use {_human_bytes(self.total_bytes)}"]
        for t in self.tiers:
            if t.oldest is not None:
                when = datetime.fromtimestamp(t.oldest, UTC).strftime("%Y-%m-%d %H:%M UTC")
                what = "raw points" if t.name == "raw" else f"{t.name} averages"
                parts.append(f"{what} back to {when}")
        return "; ".join(parts)


@dataclass(frozen=True)
class OstBalance:
    """How full each OST is (0..1) from its latest kbytesfree/kbytestotal, and the spread."""

    used: F64
    mean: float
    min: float
    max: float
    spread: float


def _human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{n} B"
        size /= 1000
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class SeriesInfo:
    """A series as the catalogue lists it."""

    id: int
    object: str
    metric: str
    kind: SeriesKind


@dataclass(frozen=True)
class ChunkCopy:
    """One stored chunk of a tier (`blob` as stats.codec.encode_chunk wrote it), copied out."""

    tier: int
    t_first: int
    t_last: int
    n: int
    blob: bytes


@dataclass(frozen=True)
class SeriesCopy:
    """One series' stored data in a time range, every stored tier, as `copy_series` reads it
    and `paste_series` writes it into another store (an archive's). `last_*`: its newest raw
    sample in the range (time NO_TIME and NaN when it has none), for `latest`."""

    object: str
    metric: str
    kind: SeriesKind
    chunks: tuple[ChunkCopy, ...]
    last_ts: int
    last_value: float
    last_rate: float


@dataclass
class _Chunk:
    series: int
    t_first: int
    t_last: int
    n: int
    blob: bytes


@dataclass
class _State:
    checkpoint: int = 0
    part_end: int | None = None
    built: list[int] = field(default_factory=list)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS series (
    id INTEGER PRIMARY KEY, object TEXT NOT NULL, metric TEXT NOT NULL, kind TEXT NOT NULL,
    UNIQUE (object, metric));
CREATE TABLE IF NOT EXISTS segments (
    id INTEGER PRIMARY KEY, tier INTEGER NOT NULL, t_min INTEGER NOT NULL, t_max INTEGER NOT NULL,
    bytes INTEGER NOT NULL, points INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (
    series_id INTEGER NOT NULL, tier INTEGER NOT NULL, t_last INTEGER NOT NULL,
    t_first INTEGER NOT NULL, n INTEGER NOT NULL, segment_id INTEGER NOT NULL,
    offset INTEGER NOT NULL, length INTEGER NOT NULL,
    PRIMARY KEY (series_id, tier, t_last)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS chunks_by_segment ON chunks (segment_id);
CREATE TABLE IF NOT EXISTS state (
    id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL, checkpoint INTEGER NOT NULL,
    part_end INTEGER, built TEXT NOT NULL, prev BLOB NOT NULL);
"""


class StatsStore:
    """An open stats store: `StatsStore.open(path)`, then close it (or use it in a `with`)."""

    def __init__(self, root: Path, config: StoreConfig, *, read_only: bool = False) -> None:
        self.root = root
        self.config = config
        self.read_only = read_only
        self._tiers = config.tiers
        _check_tiers(config.tiers)
        self._closed = False
        if read_only:  # an archive's copy: no lock, no log, nothing written, nothing tidied
            self._lock_fd: int | None = None
            self._db = _connect_read_only(root / "catalogue.sqlite")
        else:
            self._lock_fd = self._take_lock()
            (root / "seg").mkdir(exist_ok=True)
            (root / "wal").mkdir(exist_ok=True)
            self._db = sqlite3.connect(root / "catalogue.sqlite", isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        self._series: dict[tuple[str, str], int] = {}
        size = 64
        self._counter = np.zeros(size, dtype=bool)
        self._known = np.zeros(size, dtype=bool)
        self._last_ts = np.full(size, NO_TIME, dtype=np.int64)
        self._prev_ts = np.full(size, NO_TIME, dtype=np.int64)
        self._prev_val = np.full(size, np.nan)
        self._prev_rate = np.full(size, np.nan)
        self._buf_n = np.zeros(size, dtype=np.int64)
        self._buf_ts = np.zeros((size, 0), dtype=np.int64)
        self._buf_v = np.zeros((size, 0))
        self._fds: dict[int, int] = {}  # segment files kept open for reading
        self._cache: OrderedDict[tuple[int, int], _Cached] = OrderedDict()
        self._cache_used = 0
        self._cache_reads = True  # off while building rollups: their reads are used once
        self._state = _State(built=[NO_TIME] * len(self._tiers))
        self._next_segment = 1
        try:
            self._load()
        except StatsError:
            self._db.close()
            self._release_lock()  # the store stays usable by a later open in this process
            raise
        if not self._buf_ts.shape[1]:
            self._grow_buffer(1)  # `latest` indexes the buffers even before any sample
        if read_only:
            return
        self._wal = wal.WriteAheadLog(root / "wal", self._replay(), config.sync_interval)
        if self._buf_n.any() and self._needs_flush_after_replay:
            self.checkpoint()

    # -- opening -------------------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        config: StoreConfig | None = None,
        *,
        read_only: bool = False,
    ) -> StatsStore:
        """Open (creating if needed) the store in folder `path`, replaying its log.

        `read_only` opens an existing store (an archive's) without touching its files: every
        write raises `StatsReadOnlyError`."""
        root = Path(path)
        if not read_only:
            root.mkdir(parents=True, exist_ok=True)
        return cls(root, config or StoreConfig(), read_only=read_only)

    def _writable(self, doing: str) -> None:
        if self.read_only:
            raise StatsReadOnlyError(str(self.root), doing)

    def _release_lock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _take_lock(self) -> int:
        fd = os.open(self.root / "LOCK", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StatsLockedError(str(self.root)) from None
        return fd

    def _load(self) -> None:
        db = self._db
        row = db.execute("SELECT version, checkpoint, part_end, built, prev FROM state").fetchone()
        for sid, kind in db.execute("SELECT id, kind FROM series"):
            self._grow_series(sid)
            self._known[sid] = True
            self._counter[sid] = kind == SeriesKind.COUNTER.value
        for sid, obj, metric in db.execute("SELECT id, object, metric FROM series"):
            self._series[(obj, metric)] = sid
        if row is not None:
            version, checkpoint, part_end, built, prev = row
            if version not in _READS_VERSIONS:
                raise StatsVersionError(str(self.root), version, _SCHEMA_VERSION)
            self._state = _State(checkpoint, part_end, [int(b) for b in built.split(",")])
            if len(self._state.built) != len(self._tiers):
                raise StatsCorruptError("the store was made with other tiers")
            arr = np.frombuffer(prev, dtype=np.float64).reshape(3, -1)
            n = arr.shape[1]
            self._grow_series(n - 1)
            self._prev_ts[:n] = arr[0].view(np.int64)
            self._prev_val[:n] = arr[1]
            self._prev_rate[:n] = arr[2]
            self._last_ts[:n] = self._prev_ts[:n]
        top = db.execute("SELECT max(id) FROM segments").fetchone()[0]
        self._next_segment = (top or 0) + 1
        live = {r[0] for r in db.execute("SELECT id FROM segments")}
        for path in () if self.read_only else (self.root / "seg").iterdir():
            stem = path.name.split(".")[0]
            if not stem.isdigit() or int(stem) not in live:
                path.unlink()  # written by a flush that never committed

    def _replay(self) -> int:
        """Replay the log into the buffers as its reports were ingested; returns the file to go on
        appending to.

        Nothing is written out here: the replayed hour stays covered by the log (synced as it is
        reopened) and is written at the next hourly flush, so opening after a crash costs one read
        of the log. Only samples of two hours at once (a crash between a flush's log rotation and
        its commit) leave a write-out to do, which `__init__` then does."""
        logs = wal.list_logs(self.root / "wal")
        self._needs_flush_after_replay = False
        number = self._state.checkpoint + 1
        for n, path in logs:
            if n <= self._state.checkpoint:
                path.unlink()
                continue
            number = n
            for ts, ids, values in wal.replay(path):
                self._grow_series(int(ids.max()) if ids.size else 0)
                first, last = int(ts[0]), int(ts[-1])
                part_end = self._state.part_end
                if part_end is None:
                    self._init_times(first)
                elif first > part_end:
                    if self._buf_n.any():
                        self._needs_flush_after_replay = True
                        self._init_times(first)
                    else:  # the hour before was flushed before the crash: as `_roll` did
                        self._init_times(first)
                        self._state.built[0] = self._state.part_end - PARTITION  # type: ignore[operator]
                if self._state.part_end is not None and last > self._state.part_end:
                    self._needs_flush_after_replay = True
                    self._init_times(last)
                self._apply_block(ts, ids, values)
        return number

    # -- series ---------------------------------------------------------------------------------
    def series_id(self, obj: str, metric: str, kind: SeriesKind = SeriesKind.GAUGE) -> int:
        """The id of series (obj, metric), registering it with `kind` if new."""
        return int(self.series_ids([(obj, metric)], kind)[0])

    def series_ids(
        self, keys: Iterable[tuple[str, str]], kind: SeriesKind = SeriesKind.GAUGE
    ) -> I32:
        """Ids for many (object, metric) keys, registering the new ones in one transaction."""
        keys = list(keys)
        missing = [k for k in keys if k not in self._series]
        if missing:
            self._writable("register new series")
            db = self._db
            db.execute("BEGIN")
            for obj, metric in dict.fromkeys(missing):
                cur = db.execute(
                    "INSERT INTO series (object, metric, kind) VALUES (?, ?, ?)",
                    (obj, metric, kind.value),
                )
                sid = int(cur.lastrowid or 0)
                self._series[(obj, metric)] = sid
                self._grow_series(sid)
                self._known[sid] = True
                self._counter[sid] = kind is SeriesKind.COUNTER
            db.execute("COMMIT")
        return np.fromiter((self._series[k] for k in keys), dtype=np.int32, count=len(keys))

    def series_key(self, sid: int) -> tuple[str, str]:
        for key, value in self._series.items():
            if value == sid:
                return key
        raise StatsInputError(f"There is no statistics series with id {sid}.")

    def series_list(self) -> tuple[SeriesInfo, ...]:
        """Every series the store knows, by id."""
        rows = self._db.execute("SELECT id, object, metric, kind FROM series ORDER BY id")
        return tuple(SeriesInfo(int(i), o, m, SeriesKind(k)) for i, o, m, k in rows)

    def _grow_series(self, sid: int) -> None:
        size = self._counter.size
        if sid < size:
            return
        new = max(sid + 1, 2 * size)

        def grow(a: npt.NDArray[np.generic], fill: object) -> npt.NDArray[np.generic]:
            out = np.empty((new, *a.shape[1:]), dtype=a.dtype)
            out[:size] = a
            out[size:] = fill
            return out

        self._counter = grow(self._counter, False)
        self._known = grow(self._known, False)
        self._last_ts = grow(self._last_ts, NO_TIME)  # type: ignore[assignment]
        self._prev_ts = grow(self._prev_ts, NO_TIME)  # type: ignore[assignment]
        self._prev_val = grow(self._prev_val, np.nan)
        self._prev_rate = grow(self._prev_rate, np.nan)
        self._buf_n = grow(self._buf_n, 0)  # type: ignore[assignment]
        self._buf_ts = grow(self._buf_ts, 0)  # type: ignore[assignment]
        self._buf_v = grow(self._buf_v, np.nan)  # type: ignore[assignment]

    def _check_ids(self, ids: I32) -> None:
        try:  # one pass: a negative id seen unsigned is out of range too
            known = bool(self._known.take(ids.view(np.uint32)).all())
        except IndexError:
            known = False
        if not known:
            raise StatsInputError("A report names a statistics series that was never registered.")

    # -- ingest ---------------------------------------------------------------------------------
    def ingest(self, ts: float, ids: npt.ArrayLike, values: npt.ArrayLike) -> IngestResult:
        """Store one report: one timestamp (s), series ids (unique) and their values."""
        self._writable("store samples")
        t = round(ts)
        sids = np.ascontiguousarray(ids, dtype=np.int32)
        vals = np.ascontiguousarray(values, dtype=np.float64)
        if sids.shape != vals.shape or sids.ndim != 1:
            raise StatsInputError("A report needs as many values as series ids.")
        self._check_ids(sids)
        if t > self.config.clock() + self.config.max_future:
            return IngestResult(future=int(sids.size))
        if self._state.part_end is None:
            self._init_times(t)
        elif t > self._state.part_end:
            self._roll(t)
        if t <= self._state.built[1 if len(self._tiers) > 1 else 0]:
            return IngestResult(late=int(sids.size))
        last = self._last_ts[sids]
        fresh = last < t
        dup = old = 0
        if not fresh.all():
            dup = int(np.count_nonzero(last == t))
            old = int(sids.size - dup - np.count_nonzero(fresh))
            sids, vals = sids[fresh], vals[fresh]
        finite = np.isfinite(vals)
        bad = 0
        if not finite.all():
            bad = int(vals.size - np.count_nonzero(finite))
            vals = np.where(finite, vals, np.nan)
        tsa = np.array([t], dtype=np.int64)
        self._wal.append(tsa, sids, vals)
        self._apply_block(tsa, sids, vals.reshape(1, -1))
        return IngestResult(int(sids.size), dup, old, 0, 0, bad)

    def ingest_report(
        self, ts: float, obj: str, metrics: Mapping[str, float], counters: Collection[str] = ()
    ) -> IngestResult:
        """Store one agent report for one object: {metric: value}; `counters` are cumulative."""
        names = list(metrics)
        gauges = [n for n in names if n not in counters]
        ctrs = [n for n in names if n in counters]
        if gauges:
            self.series_ids(((obj, n) for n in gauges), SeriesKind.GAUGE)
        if ctrs:
            self.series_ids(((obj, n) for n in ctrs), SeriesKind.COUNTER)
        ids = [self._series[(obj, n)] for n in names]
        return self.ingest(ts, ids, [metrics[n] for n in names])

    def ingest_block(self, ts: npt.ArrayLike, ids: npt.ArrayLike, values: npt.ArrayLike) -> int:
        """Bulk-load many reports: `ts` (T, strictly increasing), `ids` (N), `values` (T, N).

        Samples not newer than their series' last one, late, or in the future are skipped as in
        `ingest`; returns how many were stored."""
        self._writable("store samples")
        tsa = np.asarray(np.round(np.asarray(ts, dtype=np.float64)), dtype=np.int64)
        sids = np.ascontiguousarray(ids, dtype=np.int32)
        vals = np.asarray(values, dtype=np.float64)
        if vals.shape != (tsa.size, sids.size) or tsa.ndim != 1:
            raise StatsInputError("A block needs one row of values per timestamp.")
        if tsa.size > 1 and not np.all(tsa[1:] > tsa[:-1]):
            raise StatsInputError("A block's timestamps must be strictly increasing.")
        self._check_ids(sids)
        stored = 0
        i = 0
        while i < tsa.size:
            t = int(tsa[i])
            if self._state.part_end is None:
                self._init_times(t)
            elif t > self._state.part_end:
                self._roll(t)
            assert self._state.part_end is not None
            j = int(np.searchsorted(tsa, self._state.part_end, side="right"))
            piece_ts, piece = tsa[i:j], vals[i:j]
            floor = max(
                int(self._last_ts[sids].max()) if sids.size else NO_TIME, self._late_limit()
            )
            limit = self.config.clock() + self.config.max_future
            if piece_ts[0] > floor and piece_ts[-1] <= limit:
                piece = np.where(np.isfinite(piece), piece, np.nan)
                self._wal.append(piece_ts, sids, np.ascontiguousarray(piece))
                self._apply_block(piece_ts, sids, piece)
                stored += piece.size
            else:  # some samples must be refused: take the careful path one report at a time
                for k in range(piece_ts.size):
                    stored += self.ingest(int(piece_ts[k]), sids, piece[k]).accepted
            i = j
        return stored

    def _late_limit(self) -> int:
        return self._state.built[1 if len(self._tiers) > 1 else 0]

    def _apply_block(self, ts: I64, ids: I32, values: F64) -> None:
        if not ids.size:
            return
        pos = self._buf_n[ids]
        need = int(pos.max()) + ts.size
        if need > self._buf_ts.shape[1]:
            self._grow_buffer(need)
        if ts.size == 1:  # a report: one flat index a sample is cheaper than a row and a column
            # (the buffers are only ever made whole by np.zeros/full/empty: reshape is a view)
            at = pos + self._buf_ts.shape[1] * ids.astype(np.int64)
            self._buf_ts.reshape(-1)[at] = ts[0]
            self._buf_v.reshape(-1)[at] = values[0]
        else:
            cols = pos[:, None] + np.arange(ts.size)
            rows = ids[:, None]
            self._buf_ts[rows, cols] = ts[None, :]
            self._buf_v[rows, cols] = values.T
        self._buf_n[ids] = pos + ts.size
        self._last_ts[ids] = ts[-1]

    def _grow_buffer(self, need: int) -> None:
        cap = max(need, 2 * self._buf_ts.shape[1], 64)
        s = self._buf_ts.shape[0]
        ts = np.zeros((s, cap), dtype=np.int64)
        v = np.full((s, cap), np.nan)
        old = self._buf_ts.shape[1]
        ts[:, :old] = self._buf_ts
        v[:, :old] = self._buf_v
        self._buf_ts, self._buf_v = ts, v

    def _init_times(self, t: int) -> None:
        if self._state.part_end is None:
            self._state.part_end = -((-t) // PARTITION) * PARTITION
            start = self._state.part_end - PARTITION
            self._state.built = [
                (start // tier.build_every) * tier.build_every for tier in self._tiers
            ]
            self._state.built[0] = start
        elif t > self._state.part_end:
            self._state.part_end = -((-t) // PARTITION) * PARTITION

    def sync(self) -> None:
        """Force the log to disk now (it is anyway within `sync_interval`)."""
        self._writable("sync its log")
        self._wal.sync()

    # -- flushing, building, retention -----------------------------------------------------------
    def _roll(self, t: int) -> None:
        """A sample opens a new hour: write the buffered one out, then build what became due."""
        self._flush_raw()
        self._init_times(t)
        assert self._state.part_end is not None
        self._state.built[0] = self._state.part_end - PARTITION
        self._build_due()
        self._apply_retention()

    def set_size_budget(self, size_budget: int | None) -> None:
        """Keep at most `size_budget` bytes on disk from now on (None: no limit), applied at
        once: the oldest segments of the finest tier go first, as at every checkpoint."""
        self._writable("drop statistics to fit a size budget")
        self.config = replace(self.config, size_budget=size_budget)
        self._apply_retention()

    def checkpoint(self) -> None:
        """Write the buffers to segments, build due rollups, apply retention, drop the log."""
        self._writable("write statistics out")
        self._flush_raw()
        if self._state.part_end is not None:
            self._state.built[0] = max(self._state.built[0], self._state.part_end - PARTITION)
        self._build_due()
        self._apply_retention()
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def _flush_raw(self) -> None:
        sids = np.flatnonzero(self._buf_n > 0)
        closed = self._wal.rotate()
        chunks = []
        for sid in sids.tolist():
            n = int(self._buf_n[sid])
            ts = self._buf_ts[sid, :n]
            v = self._buf_v[sid, :n]
            blob = codec.encode_chunk(list(zip(_RAW_KINDS, (ts, v), strict=True)))
            chunks.append(_Chunk(sid, int(ts[0]), int(ts[-1]), n, blob))
        if sids.size:
            last = self._buf_n[sids] - 1
            new_prev_ts = self._buf_ts[sids, last]
            new_prev_val = self._buf_v[sids, last]
            ctr = self._counter[sids]
            if ctr.any():
                before = np.maximum(last - 1, 0)
                p_ts = np.where(last > 0, self._buf_ts[sids, before], self._prev_ts[sids])
                p_val = np.where(last > 0, self._buf_v[sids, before], self._prev_val[sids])
                rates = counter_rates(p_ts, p_val, new_prev_ts, new_prev_val, self.config.heartbeat)
                self._prev_rate[sids[ctr]] = rates[ctr]
            self._prev_ts[sids] = new_prev_ts
            self._prev_val[sids] = new_prev_val
        self._commit(0, chunks, checkpoint=closed)
        self._buf_n[sids] = 0
        self._wal.drop_through(closed)

    def _commit(self, tier: int, chunks: list[_Chunk], *, checkpoint: int | None = None) -> None:
        """Write chunks as one segment, then list them and the new state in one transaction."""
        db = self._db
        seg_id = None
        rows = []
        if chunks:
            seg_id = self._next_segment
            path = self._segment_path(seg_id)
            offset = 0
            for c in chunks:
                rows.append((c.series, tier, c.t_last, c.t_first, c.n, seg_id, offset, len(c.blob)))
                offset += len(c.blob)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                wal.write_all(fd, [c.blob for c in chunks])
                os.fsync(fd)
            except OSError as exc:
                os.close(fd)
                path.unlink(missing_ok=True)
                if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                    raise StatsDiskFullError(str(self.root), "writing statistics to disk") from None
                raise
            os.close(fd)
            self._next_segment += 1
        if checkpoint is not None:
            self._state.checkpoint = checkpoint
        try:
            db.execute("BEGIN")
            if seg_id is not None:
                db.execute(
                    "INSERT INTO segments (id, tier, t_min, t_max, bytes, points) "
                    "VALUES (?,?,?,?,?,?)",
                    (
                        seg_id,
                        tier,
                        min(c.t_first for c in chunks),
                        max(c.t_last for c in chunks),
                        offset,
                        sum(c.n for c in chunks),
                    ),
                )
                db.executemany("INSERT INTO chunks VALUES (?,?,?,?,?,?,?,?)", rows)
            self._save_state()
            db.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            db.execute("ROLLBACK") if db.in_transaction else None
            if seg_id is not None:
                self._segment_path(seg_id).unlink(missing_ok=True)
            if "full" in str(exc):
                raise StatsDiskFullError(str(self.root), "updating the catalogue") from None
            raise

    def _save_state(self) -> None:
        n = self._prev_ts.size
        arr = np.empty((3, n))
        arr[0] = self._prev_ts.view(np.float64)
        arr[1] = self._prev_val
        arr[2] = self._prev_rate
        built = ",".join(str(b) for b in self._state.built)
        self._db.execute(
            "INSERT OR REPLACE INTO state (id, version, checkpoint, part_end, built, prev) "
            "VALUES (1, ?, ?, ?, ?, ?)",
            (_SCHEMA_VERSION, self._state.checkpoint, self._state.part_end, built, arr.tobytes()),
        )

    def _segment_path(self, seg_id: int) -> Path:
        return self.root / "seg" / f"{seg_id:010d}.seg"

    def _build_due(self) -> None:
        if self._state.part_end is None:
            return
        built = self._state.built
        for i in range(1, len(self._tiers)):
            tier = self._tiers[i]
            every = tier.build_every
            source_done = built[i - 1]
            if not tier.stored and built[i] + every <= source_done:
                built[i] = (source_done // every) * every  # nothing to write: mark it built
                self._commit(i, [])
                continue
            while built[i] + every <= source_done:
                b = built[i]
                nxt = self._db.execute(
                    "SELECT min(t_first) FROM chunks WHERE tier = ? AND t_last > ?",
                    (self._source(i), b),
                ).fetchone()[0]
                if nxt is None or nxt > source_done:  # nothing to build from: skip ahead
                    built[i] = (source_done // every) * every
                    self._commit(i, [])
                    break
                if nxt > b + every:
                    built[i] = ((nxt - 1) // every) * every
                    continue
                self._build_period(i, b, b + every)

    def _source(self, i: int) -> int:
        """The stored tier that tier i is built from."""
        return i - 1 if self._tiers[i - 1].stored else i - 2

    def _protected_until(self, i: int, limit: int) -> int:
        """Data of tier i up to this time may go: every tier built from it has been built."""
        for j in range(i + 1, len(self._tiers)):
            limit = min(limit, self._state.built[j])
            if self._tiers[j].stored:
                break
        return limit

    def _build_period(self, i: int, t0: int, t1: int) -> None:
        sids = [
            r[0]
            for r in self._db.execute(
                "SELECT DISTINCT series_id FROM chunks "
                "WHERE tier = ? AND t_last > ? AND t_first <= ?",
                (self._source(i), t0, t1),
            )
        ]
        self._cache_reads = False
        try:
            chunks = self._build_chunks(i, sids, t0, t1)
        finally:
            self._cache_reads = True
        self._state.built[i] = t1
        self._commit(i, chunks)

    def _build_chunks(self, i: int, sids: list[int], t0: int, t1: int) -> list[_Chunk]:
        step = self._tiers[i].step
        chunks = []
        for sid in sids:
            if i == 1:
                ts, vals = self._points(sid, t0, t1)
                rows = rollup_samples(ts, vals, step)
            else:
                rows = rollup_rows(self._tier_rows(sid, i - 1, t0, t1), step)
            rows = rows.select(t0, t1)
            if len(rows):
                chunks.append(
                    _Chunk(
                        sid,
                        int(rows.labels[0]),
                        int(rows.labels[-1]),
                        len(rows),
                        _encode_rows(rows, min_max=self._tiers[i].keeps_min_max),
                    )
                )
        return chunks

    def _apply_retention(self) -> None:
        if self._state.part_end is None:
            return  # nothing stored yet
        db = self._db
        horizon = self._state.built[0]
        doomed: list[int] = []
        for i, tier in enumerate(self._tiers):
            if tier.retention is None:
                continue
            cutoff = self._protected_until(i, horizon - tier.retention)
            doomed += [
                r[0]
                for r in db.execute(
                    "SELECT id FROM segments WHERE tier = ? AND t_max <= ?", (i, cutoff)
                )
            ]
        self._drop_segments(doomed)
        budget = self.config.size_budget
        if budget is None:
            return
        total = self.usage().total_bytes
        for i in range(len(self._tiers)):
            if total <= budget:
                break
            limit = self._protected_until(i, horizon)
            for seg_id, nbytes in db.execute(
                "SELECT id, bytes FROM segments WHERE tier = ? AND t_max <= ? ORDER BY t_max",
                (i, limit),
            ).fetchall():
                if total <= budget:
                    break
                self._drop_segments([seg_id])
                total -= nbytes

    def _drop_segments(self, seg_ids: list[int]) -> None:
        if not seg_ids:
            return
        db = self._db
        db.execute("BEGIN")
        db.executemany("DELETE FROM chunks WHERE segment_id = ?", [(s,) for s in seg_ids])
        db.executemany("DELETE FROM segments WHERE id = ?", [(s,) for s in seg_ids])
        db.execute("COMMIT")
        for s in seg_ids:
            fd = self._fds.pop(s, None)
            if fd is not None:
                os.close(fd)
            self._segment_path(s).unlink(missing_ok=True)
        gone = set(seg_ids)
        for key in [k for k in self._cache if k[0] in gone]:
            self._forget(key)

    # -- reading ----------------------------------------------------------------------------------
    def _columns(self, refs: Sequence[ChunkRef], tier: int) -> tuple[list[codec.Column], list[int]]:
        """The chunks' columns end to end (labels or times first) and each chunk's rows: cached
        chunks as they are, the rest read and decoded together (stats.codec.decode_joined).
        A query's chunks all missing (a cold chart) or all from one batch (the same chart
        again) cost no join."""
        if not refs:
            return [], []
        cache = self._cache
        hits = [cache.get((seg_id, offset)) for seg_id, offset, _ in refs]
        missing = [k for k, hit in enumerate(hits) if hit is None]
        if missing:
            blobs = self._read_blobs(
                refs if len(missing) == len(refs) else [refs[k] for k in missing]
            )
            cols, rows = codec.decode_joined(blobs, len(_kinds(tier)))
            starts = itertools.accumulate(rows, initial=0)
            decoded = [(cols, at, n) for at, n in zip(starts, rows, strict=False)]
            for k, chunk in zip(missing, decoded, strict=True):
                hits[k] = chunk
            if self._cache_reads:
                self._remember([(refs[k][0], refs[k][1]) for k in missing], decoded)
            if len(missing) == len(refs):
                return cols, rows
        pieces: list[_Cached] = []  # runs of adjacent rows of one batch: (batch, start, rows)
        for (seg_id, offset, _), hit in zip(refs, hits, strict=True):
            assert hit is not None
            if self._cache_reads and (seg_id, offset) in self._cache:
                self._cache.move_to_end((seg_id, offset))
            batch, at, n = hit
            last = pieces[-1] if pieces else None
            if last is not None and last[0] is batch and last[1] + last[2] == at:
                pieces[-1] = (batch, last[1], last[2] + n)
            else:
                pieces.append(hit)
        rows = [hit[2] for hit in hits if hit is not None]
        joined = [
            _joined([batch[j][at : at + n] for batch, at, n in pieces])
            for j in range(len(_kinds(tier)))
        ]
        return joined, rows

    def _remember(self, keys: list[tuple[int, int]], chunks: list[_Cached]) -> None:
        # A batch's arrays live while one of its chunks is cached: a batch is one series'
        # adjacent chunks of one tier, used and so evicted together, so counting each chunk's
        # rows is near enough.
        cache = self._cache
        for key in keys:
            if key in cache:
                self._forget(key)
        cache.update(zip(keys, chunks, strict=True))
        if chunks:  # the chunks of one batch: its columns, 8-byte values, its rows
            self._cache_used += 8 * len(chunks[0][0]) * sum(n for _, _, n in chunks)
        while self._cache_used > self.config.cache_bytes and len(cache) > 1:
            self._forget(next(iter(cache)))

    def _forget(self, key: tuple[int, int]) -> None:
        cols, _, n = self._cache.pop(key)
        self._cache_used -= 8 * len(cols) * n

    def drop_cache(self) -> None:
        """Forget every decoded chunk (the next charts read and decode from disk again)."""
        self._cache.clear()
        self._cache_used = 0

    def _raw_samples(self, sid: int, t0: int, t1: int) -> tuple[I64, F64, int | None, float]:
        """Raw samples of a series with t0 < t <= t1 plus the sample just before them, if known."""
        rows = self._db.execute(
            "SELECT segment_id, offset, length FROM chunks WHERE series_id = ? AND tier = 0 "
            "AND t_last > ? AND t_first <= ? ORDER BY t_last",
            (sid, t0, t1),
        ).fetchall()
        ts_parts: list[I64] = []
        v_parts: list[F64] = []
        prev_ts: int | None = None
        prev_val = math.nan
        before = None
        if self._counter[sid]:  # a rate needs the reading before the first one
            before = self._db.execute(
                "SELECT segment_id, offset, length FROM chunks WHERE series_id = ? AND tier = 0 "
                "AND t_last <= ? ORDER BY t_last DESC LIMIT 1",
                (sid, t0),
            ).fetchone()
        cols, counts = self._columns([before, *rows] if before is not None else rows, 0)
        if cols:
            skip = 0
            if before is not None:
                skip = counts[0]
                if skip:
                    prev_ts, prev_val = int(cols[0][skip - 1]), float(cols[1][skip - 1])
            if rows:
                ts_parts.append(cols[0][skip:])  # type: ignore[arg-type]
                v_parts.append(cols[1][skip:])  # type: ignore[arg-type]
        n = int(self._buf_n[sid])
        if n and self._buf_ts[sid, n - 1] > t0 and self._buf_ts[sid, 0] <= t1:
            if not rows and self._prev_ts[sid] != NO_TIME:
                prev_ts, prev_val = int(self._prev_ts[sid]), float(self._prev_val[sid])
            ts_parts.append(self._buf_ts[sid, :n])
            v_parts.append(self._buf_v[sid, :n])
        if not ts_parts:
            return np.empty(0, dtype=np.int64), np.empty(0), prev_ts, prev_val
        ts = np.concatenate(ts_parts) if len(ts_parts) > 1 else ts_parts[0]
        v = np.concatenate(v_parts) if len(v_parts) > 1 else v_parts[0]
        return ts, v, prev_ts, prev_val

    def _points(self, sid: int, t0: int, t1: int) -> tuple[I64, F64]:
        """Samples shown in (t0, t1]: values for gauges, per-second rates for counters."""
        ts, v, prev_ts, prev_val = self._raw_samples(sid, t0, t1)
        if self._counter[sid]:
            v = series_rates(ts, v, prev_ts, prev_val, self.config.heartbeat)
        a, b = np.searchsorted(ts, [t0, t1], side="right")
        return ts[a:b], v[a:b]

    def _tier_rows(self, sid: int, i: int, t0: int, t1: int, step: int = 0) -> Rows:
        """Rows of tier i in (t0, t1]: its chunks, then (past where it is built) the tier below
        rolled up. With `step` (a multiple of the tier's step) each part comes rolled up to it
        (a bucket across a tier's `built` then has a row in each part, labels in order): for a
        caller that rolls such rows together itself (a chart), which so rolls and joins far
        fewer rows."""
        built = self._state.built[i] if self._tiers[i].stored else NO_TIME
        parts = []
        if t0 < built:
            refs = self._db.execute(
                "SELECT segment_id, offset, length FROM chunks WHERE series_id = ? AND tier = ? "
                "AND t_last > ? AND t_first <= ? ORDER BY t_last",
                (sid, i, t0, min(t1, built)),
            ).fetchall()
            cols, _ = self._columns(refs, i)
            if cols:  # labels, sum, count, min, max: each one's chunks end to end
                rows = Rows(*cols).select(t0, t1)  # type: ignore[arg-type]
                parts.append(rollup_rows(rows, step, self._tiers[i].step) if step else rows)
        if t1 > built:
            lo = max(t0, built)
            if i == 1:
                ts, vals = self._points(sid, lo, t1)
                parts.append(rollup_samples(ts, vals, step or self._tiers[i].step))
            elif step:  # already at `step`: the caller joins a bucket's rows
                parts.append(self._tier_rows(sid, i - 1, lo, t1, step))
            else:
                below = self._tier_rows(sid, i - 1, lo, t1, self._tiers[i].step)
                parts.append(rollup_rows(below, self._tiers[i].step))
        return Rows.concat(parts).select(t0, t1)

    def _pick_tier(self, bucket: int) -> int:
        best = 0
        for i, tier in enumerate(self._tiers):
            if i and bucket % tier.step == 0:
                best = i
        return best

    # -- queries ----------------------------------------------------------------------------------
    def fetch(self, sid: int, start: int, end: int, bucket: int) -> Chart:
        """Series `sid` averaged (with min and max) into buckets of `bucket` s over (start, end].

        Start and end are widened to whole buckets; the finest stored data needed is read."""
        if bucket <= 0 or end <= start:
            raise StatsInputError("A chart needs a positive bucket and an end after its start.")
        t0 = (start // bucket) * bucket
        t1 = -((-end) // bucket) * bucket
        i = self._pick_tier(bucket)
        if i == 0:
            ts, vals = self._points(sid, t0, t1)
            rows = rollup_samples(ts, vals, bucket)
        else:
            rows = self._tier_rows(sid, i, t0, t1, bucket)
            labels = rows.labels
            if labels.size > 1 and not bool((labels[1:] > labels[:-1]).all()):
                rows = rollup_rows(rows, bucket)  # a bucket across a tier's `built` time
        n = (t1 - t0) // bucket
        grid = t0 + bucket * np.arange(1, n + 1, dtype=np.int64)
        avg = np.full(n, np.nan)
        lo = np.full(n, np.nan)
        hi = np.full(n, np.nan)
        cnt = np.zeros(n, dtype=np.int64)
        if len(rows):
            k = (rows.labels - t0) // bucket - 1
            avg[k] = rows.sum / rows.count
            lo[k] = rows.min
            hi[k] = rows.max
            cnt[k] = rows.count
        if not self._tiers[i].keeps_min_max:  # the part rolled up from finer tiers too
            lo[:] = np.nan
            hi[:] = np.nan
        return Chart(grid, avg, lo, hi, cnt, bucket, self._tiers[i].name)

    def chart(self, sid: int, start: int, end: int, max_points: int = 1000) -> Chart:
        """Series `sid` over (start, end] in at most `max_points` buckets at the best resolution."""
        want = max(1, -((start - end) // max_points))
        base = 10
        for tier in self._tiers[1:]:
            if tier.step <= want:
                base = tier.step
        bucket = -(-want // base) * base
        while -((start - end) // bucket) > max_points:
            bucket += base
        return self.fetch(sid, start, end, bucket)

    def latest(self, ids: npt.ArrayLike) -> tuple[I64, F64]:
        """Last sample time and value of each series (counters: the rate of the last interval)."""
        sids = np.asarray(ids, dtype=np.int64)
        n = self._buf_n[sids]
        ts = np.where(n > 0, self._buf_ts[sids, np.maximum(n - 1, 0)], self._prev_ts[sids])
        val = np.where(n > 0, self._buf_v[sids, np.maximum(n - 1, 0)], self._prev_val[sids])
        ctr = self._counter[sids]
        if ctr.any():
            p_ts = np.where(n > 1, self._buf_ts[sids, np.maximum(n - 2, 0)], self._prev_ts[sids])
            p_val = np.where(n > 1, self._buf_v[sids, np.maximum(n - 2, 0)], self._prev_val[sids])
            rate = counter_rates(p_ts, p_val, ts, val, self.config.heartbeat)
            rate = np.where(n > 0, rate, self._prev_rate[sids])
            val = np.where(ctr, rate, val)
        val = np.where(ts == NO_TIME, np.nan, val)
        return ts, val

    def _means_grid(self, ids: I64, start: int, end: int, bucket: int) -> tuple[I64, F64]:
        """Per-series bucket means, shape (len(ids), buckets), NaN where a series has no sample."""
        t0 = (start // bucket) * bucket
        t1 = -((-end) // bucket) * bucket
        nb = (t1 - t0) // bucket
        grid = t0 + bucket * np.arange(1, nb + 1, dtype=np.int64)
        if ids.size and bool(np.all(self._prev_ts[ids] <= t0)):
            # everything asked for is still in memory: one vectorised pass over the buffers
            n = self._buf_n[ids]
            m = int(n.max()) if ids.size else 0
            ts = self._buf_ts[ids, :m]
            v = self._buf_v[ids, :m]
            ctr = self._counter[ids]
            if ctr.any():
                p_ts = np.concatenate([self._prev_ts[ids][:, None], ts[:, :-1]], axis=1)
                p_v = np.concatenate([self._prev_val[ids][:, None], v[:, :-1]], axis=1)
                rates = counter_rates(p_ts, p_v, ts, v, self.config.heartbeat)
                v = np.where(ctr[:, None], rates, v)
            row = ts[0]
            if bool(np.all(n == m)) and bool((ts == row).all()):
                # one report per timestamp, as agents send them: bucket the shared times once
                sel = np.flatnonzero((row > t0) & (row <= t1))
                k = (-((-row[sel]) // bucket) * bucket - t0) // bucket - 1
                means = np.full((ids.size, nb), np.nan)
                if sel.size and bool(np.all(k[1:] > k[:-1])):  # a bucket per report
                    means[:, k] = v[:, sel]
                elif sel.size:
                    starts = np.concatenate(([0], np.flatnonzero(k[1:] != k[:-1]) + 1))
                    part = v[:, sel]
                    have = np.isfinite(part)
                    sums = np.add.reduceat(np.where(have, part, 0.0), starts, axis=1)
                    cnts = np.add.reduceat(have, starts, axis=1, dtype=np.int64)
                    with np.errstate(invalid="ignore", divide="ignore"):
                        means[:, k[starts]] = sums / cnts
                return grid, means
            ok = (np.arange(m) < n[:, None]) & (ts > t0) & (ts <= t1) & np.isfinite(v)
            cells = ids.size * nb
            k = (-((-ts) // bucket) * bucket - t0) // bucket - 1
            key = np.where(ok, np.arange(ids.size)[:, None] * nb + k, cells).ravel()
            sums = np.bincount(key, weights=np.where(ok, v, 0.0).ravel(), minlength=cells + 1)
            cnts = np.bincount(key, minlength=cells + 1)
            with np.errstate(invalid="ignore", divide="ignore"):
                means = (sums[:cells] / cnts[:cells]).reshape(ids.size, nb)
            return grid, means
        means = np.full((ids.size, nb), np.nan)
        for r, sid in enumerate(ids.tolist()):
            means[r] = self.fetch(sid, t0, t1, bucket).avg
        return grid, means

    def reduce(
        self,
        ids: npt.ArrayLike,
        start: int,
        end: int,
        bucket: int,
        how: Literal["sum", "avg"] = "sum",
    ) -> tuple[I64, F64]:
        """Filesystem totals: per bucket, the sum (or average) over series of each one's mean;
        series with no sample in a bucket are left out of it, a bucket none has is NaN."""
        sids = np.asarray(ids, dtype=np.int64)
        grid, means = self._means_grid(sids, start, end, bucket)
        have = np.isfinite(means)
        any_have = have.any(axis=0)
        total = np.where(have, means, 0.0).sum(axis=0)
        if how == "avg":
            with np.errstate(invalid="ignore", divide="ignore"):
                total = total / have.sum(axis=0)
        return grid, np.where(any_have, total, np.nan)

    def top(self, ids: npt.ArrayLike, start: int, end: int, n: int) -> list[tuple[int, float]]:
        """The n series with the highest mean over (start, end] (busiest OSTs), busiest first."""
        sids = np.asarray(ids, dtype=np.int64)
        bucket = end - start
        _, means = self._means_grid(
            sids, start - start % bucket, start - start % bucket + bucket, bucket
        )
        col = means[:, 0] if means.shape[1] else np.full(sids.size, np.nan)
        order = np.argsort(np.where(np.isfinite(col), -col, np.inf), kind="stable")[:n]
        return [(int(sids[k]), float(col[k])) for k in order if np.isfinite(col[k])]

    def ost_balance(self, free_ids: npt.ArrayLike, total_ids: npt.ArrayLike) -> OstBalance:
        """OST fill from the latest kbytesfree and kbytestotal of each OST (same order)."""
        _, free = self.latest(free_ids)
        _, total = self.latest(total_ids)
        with np.errstate(invalid="ignore", divide="ignore"):
            used = 1.0 - free / total
        ok = used[np.isfinite(used)]
        if not ok.size:
            return OstBalance(used, math.nan, math.nan, math.nan, math.nan)
        return OstBalance(
            used, float(ok.mean()), float(ok.min()), float(ok.max()), float(ok.max() - ok.min())
        )

    def usage(self) -> Usage:
        """Bytes per tier and how far back each goes ("stats use 1.2 GB; raw points back to …")."""
        tiers = []
        seg_total = 0
        by_tier = {
            r[0]: r[1:]
            for r in self._db.execute(
                "SELECT tier, sum(bytes), sum(points), min(t_min), max(t_max) FROM segments "
                "GROUP BY tier"
            )
        }
        for i, tier in enumerate(self._tiers):
            nbytes, points, oldest, newest = by_tier.get(i, (0, 0, None, None))
            if i == 0:
                n = self._buf_n
                if n.any():
                    live = np.flatnonzero(n)
                    first = int(self._buf_ts[live, 0].min())
                    oldest = first if oldest is None else min(oldest, first)
                    points += int(n.sum())
            tiers.append(TierUsage(tier.name, int(nbytes), int(points), oldest, newest))
            seg_total += int(nbytes)
        log_bytes = sum(p.stat().st_size for _, p in wal.list_logs(self.root / "wal"))
        cat = sum(p.stat().st_size for p in self.root.glob("catalogue.sqlite*") if p.is_file())
        return Usage(seg_total + log_bytes + cat, tuple(tiers), log_bytes, cat)

    # -- copying (archives) -----------------------------------------------------------------------
    def built_until(self) -> tuple[int, ...]:
        """Per tier, the time up to which its rows are on disk (NO_TIME: none yet); past it a
        query rolls the tier below up."""
        return tuple(self._state.built)

    def copy_series(self, sids: Sequence[int], start: int, end: int) -> list[SeriesCopy]:
        """What the store keeps of each series in (start, end]: the chunks of every stored tier
        (those wholly inside copied as they are, the two at the edges cut) and the samples of
        the hour not yet written out. Reads only; the decoded-chunk cache is left alone."""
        keys = {sid: key for key, sid in self._series.items()}
        out = []
        for sid in sids:
            if sid not in keys:
                raise StatsInputError(f"There is no statistics series with id {sid}.")
            chunks: list[ChunkCopy] = []
            for tier_index, tier in enumerate(self._tiers):
                if not tier.stored:
                    continue
                for t_first, t_last, n, seg_id, offset, length in self._db.execute(
                    "SELECT t_first, t_last, n, segment_id, offset, length FROM chunks "
                    "WHERE series_id = ? AND tier = ? AND t_last > ? AND t_first <= ? "
                    "ORDER BY t_last",
                    (sid, tier_index, start, end),
                ).fetchall():
                    blob = self._read_blob(seg_id, offset, length)
                    if t_first > start and t_last <= end:
                        chunks.append(ChunkCopy(tier_index, t_first, t_last, n, blob))
                    else:
                        cols = codec.decode_chunks([blob], len(_kinds(tier_index)))[0]
                        chunks += _cut(tier_index, cols, start, end)
            n = int(self._buf_n[sid])
            if n:
                chunks += _cut(0, [self._buf_ts[sid, :n], self._buf_v[sid, :n]], start, end)
            out.append(self._series_copy(keys[sid], sid, chunks))
        return out

    def _series_copy(self, key: tuple[str, str], sid: int, chunks: list[ChunkCopy]) -> SeriesCopy:
        kind = SeriesKind.COUNTER if self._counter[sid] else SeriesKind.GAUGE
        raw = [c for c in chunks if c.tier == 0]
        last_ts, last_value, last_rate = NO_TIME, math.nan, math.nan
        if raw:
            ts, v = codec.decode_chunks([max(raw, key=lambda c: c.t_last).blob], 2)[0]
            last_ts, last_value = int(ts[-1]), float(v[-1])
            if kind is SeriesKind.COUNTER and ts.size > 1:
                rate = counter_rates(ts[-2:-1], v[-2:-1], ts[-1:], v[-1:], self.config.heartbeat)
                last_rate = float(rate[0])
        elif chunks:  # rollups only: queries must still look on disk (see _means_grid)
            last_ts = max(c.t_last for c in chunks)
        return SeriesCopy(*key, kind, tuple(chunks), last_ts, last_value, last_rate)

    def paste_series(self, copies: Sequence[SeriesCopy], built: Sequence[int]) -> None:
        """Write copies made by another store's `copy_series` into this one (an archive being
        made, which must have the same tiers): one segment per tier, each tier then counted as
        built up to `built` (its `built_until`, limited to the copied range)."""
        self._writable("take copied series")
        if len(built) != len(self._tiers):
            raise StatsInputError("Copied series must go to a store with the same tiers.")
        by_tier: dict[int, list[_Chunk]] = {}
        for copy in copies:
            sid = self.series_id(copy.object, copy.metric, copy.kind)
            for c in copy.chunks:
                by_tier.setdefault(c.tier, []).append(_Chunk(sid, c.t_first, c.t_last, c.n, c.blob))
            if copy.last_ts != NO_TIME:
                self._prev_ts[sid] = self._last_ts[sid] = copy.last_ts
                self._prev_val[sid] = copy.last_value
                self._prev_rate[sid] = copy.last_rate
        self._state.built = [int(b) for b in built]
        for tier_index in sorted(by_tier) or [0]:
            self._commit(tier_index, by_tier.get(tier_index, []))

    def _read_blob(self, seg_id: int, offset: int, length: int) -> bytes:
        return self._read_blobs([(seg_id, offset, length)])[0]

    def _read_blobs(self, refs: Sequence[ChunkRef]) -> list[bytes]:
        # pread, not mmap: mapped segment pages would count as the process's memory
        fds, pread = self._fds, os.pread
        out = []
        for seg_id, offset, length in refs:
            fd = fds.get(seg_id)
            if fd is None:
                fd = fds[seg_id] = os.open(self._segment_path(seg_id), os.O_RDONLY)
            out.append(pread(fd, length, offset))
        return out

    # -- closing ----------------------------------------------------------------------------------
    def close(self) -> None:
        """Checkpoint and close; the store then opens without replaying anything."""
        if self._closed:
            return
        try:
            if not self.read_only:
                self.checkpoint()
        finally:
            self._closed = True
            if not self.read_only:
                self._wal.close()
            for fd in self._fds.values():
                os.close(fd)
            self._fds.clear()
            self._db.close()
            self._release_lock()

    def abandon(self) -> None:
        """Close without a checkpoint, as a crash would leave it (tests and benchmarks)."""
        self._closed = True
        if not self.read_only:
            self._wal.close()
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
        self._db.close()
        self._release_lock()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _joined(parts: list[codec.Column]) -> codec.Column:
    return parts[0] if len(parts) == 1 else np.concatenate(parts)  # type: ignore[return-value]


def _kinds(tier_index: int) -> tuple[codec.Kind, ...]:
    return _RAW_KINDS if tier_index == 0 else _ROW_KINDS


def _cut(tier_index: int, cols: Sequence[codec.Column], start: int, end: int) -> list[ChunkCopy]:
    """The rows of decoded chunk columns in (start, end], encoded again (none: empty list)."""
    keep = (cols[0] > start) & (cols[0] <= end)
    if not keep.any():
        return []
    kept = [np.ascontiguousarray(c[keep]) for c in cols]
    blob = codec.encode_chunk(
        list(zip(_kinds(tier_index), kept, strict=True)), plain_noise=tier_index > 0
    )
    labels = kept[0]
    return [ChunkCopy(tier_index, int(labels[0]), int(labels[-1]), int(labels.size), blob)]


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """The catalogue opened so that nothing can write to it."""
    if not path.is_file():
        raise StatsCorruptError(f"the catalogue {path} is missing")
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
        db.execute("PRAGMA query_only=ON")
        db.execute("SELECT count(*) FROM series").fetchone()
    except sqlite3.DatabaseError as error:
        raise StatsCorruptError(f"the catalogue {path} cannot be read ({error})") from None
    return db


def _check_tiers(tiers: Sequence[Tier]) -> None:
    if not tiers or tiers[0].step != 0 or not tiers[0].stored or not tiers[0].keeps_min_max:
        raise StatsInputError("The first statistics tier must be the stored raw samples.")
    for below, tier in itertools.pairwise(tiers):
        if tier.keeps_min_max and not below.keeps_min_max:
            raise StatsInputError(
                f"The statistics tier {tier.name!r} cannot keep min and max: it is built from "
                f"{below.name!r}, which keeps averages only."
            )
        if tier.stored:
            continue
        keeps = below.retention is None or (
            tier.retention is not None and below.retention >= tier.retention
        )
        if not below.stored or not keeps:
            raise StatsInputError(
                f"The statistics tier {tier.name!r} can be left unstored only when the tier "
                "below it is stored and kept at least as long."
            )


def _encode_rows(rows: Rows, *, min_max: bool = True) -> bytes:
    """Rollup rows as a chunk; without `min_max`, min and max go as unknown (one NaN line each,
    which the codec keeps in the chunk header)."""
    if min_max:
        low, high = rows.min, rows.max
    else:
        low = high = np.full(len(rows), np.nan)
    cols = (rows.labels, rows.sum, rows.count, low, high)
    return codec.encode_chunk(list(zip(_ROW_KINDS, cols, strict=True)), plain_noise=True)
