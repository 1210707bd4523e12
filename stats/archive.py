"""Offline archives: a time range of a site's whole history in one file, opened read-only on
another machine with no agents.

Layer: stats (imports core; no Qt, no Twisted). Thread: `export_archive` runs on the caller's
thread, which must not be the GUI thread nor the thread owning the live stores: it reads the live
stores only through `StoreAccess.run`, a piece at a time (one batch of series, one page of log
lines), so their own thread goes on ingesting in between, and the live database through its own
read-only connection. `open_archive` runs on any thread but the GUI's; the stores it opens
belong to whichever thread opens them (`OpenedArchive.open_stats`, `open_logs`).

The file is an uncompressed POSIX tar (the statistics chunks are zstd already) of these members,
`manifest.json` always first:

- `manifest.json`: the format version, the app version and schema revision that wrote it, when,
  from which site, the time range, the statistics tiers, what it holds, and per member its name,
  size and SHA-256;
- `model.sqlite`: the model database made with the project's own migrations and filled through
  SQLAlchemy's metadata (so the live one may be SQLite or PostgreSQL): every model row as it is
  (soft-deleted ones too), and only the events, alerts, audit records and commands (with their
  jobs and steps, output included) of the time range;
- `stats/…`: a stats store with every series' points in the range, from every stored tier;
- `logs/logs.sqlite`: a log store with the syslog lines of the range.

Opening checks the manifest and every member's size and checksum while extracting to a private
folder (under the cache directory, removed on close), upgrades the extracted model if an older
version wrote it, and opens everything read-only; the archive file itself is only ever read. A
file that is not an archive, truncated, damaged, or of a newer format raises `ArchiveError`
naming the file, the member and what is wrong.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
import shutil
import sqlite3
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Final, Protocol, Self, TypeVar

import platformdirs
from sqlalchemy import ColumnElement, Connection, Table, and_, insert, or_, select

from core.database import Database, open_database, open_database_read_only, schema_head
from core.errors import ChromaError
from core.models import Base
from core.paths import APP_NAME, HOME_ENV
from core.version import installed_version
from stats.logs import LogStore, TailPage
from stats.store import SeriesCopy, StatsStore, StoreConfig, Tier

T = TypeVar("T")

FORMAT_VERSION: Final = 1
SUFFIX: Final = ".chroma-archive"
MANIFEST: Final = "manifest.json"
MODEL: Final = "model.sqlite"
STATS_DIR: Final = "stats"
LOGS_FILE: Final = "logs/logs.sqlite"
MAX_MANIFEST_BYTES: Final = 1 << 20
SERIES_PER_BATCH: Final = 64
"""Series copied per visit to the stats store's thread: bounds the memory an export holds and
how long ingest waits behind it."""
LOG_LINES_PER_PAGE: Final = 16384
ROWS_PER_BATCH: Final = 2000
_COPY_BLOCK: Final = 1 << 20
_OWNER = ".owner-pid"
"""In an extraction folder: the process using it (folders of dead processes are removed)."""
_MEMBER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*(/[A-Za-z0-9][A-Za-z0-9_.-]*)*")


class ArchiveError(ChromaError):
    """The file is not an archive this version can open, or is damaged; nothing was changed."""

    def __init__(
        self, path: str | os.PathLike[str], problem: str, *, member: str | None = None
    ) -> None:
        self.path = str(path)
        self.member = member
        where = f", member {member}" if member else ""
        super().__init__(
            f"Cannot open the archive {self.path}{where}: {problem}.",
            hint="The file was left as it is. Export the archive again from the site, or copy "
            "it again if it was damaged on the way.",
        )


# --- the manifest -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArchiveMember:
    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    """What an archive says about itself; `counts` says how much of each kind it holds."""

    format_version: int
    app_version: str
    schema_revision: str
    created_at: datetime
    source: str
    start: datetime
    end: datetime
    tiers: tuple[Tier, ...]
    counts: Mapping[str, int]
    members: tuple[ArchiveMember, ...]

    def describe_range(self) -> str:
        return f"{_minute(self.start)} to {_minute(self.end)}"

    def to_json(self) -> bytes:
        document = {
            "format": "chroma-desktop-archive",
            "format_version": self.format_version,
            "app_version": self.app_version,
            "schema_revision": self.schema_revision,
            "created_at": self.created_at.isoformat(),
            "source": self.source,
            "range": {"start": self.start.isoformat(), "end": self.end.isoformat()},
            "stats_tiers": [
                {
                    "name": t.name,
                    "step": t.step,
                    "retention": t.retention,
                    "build_every": t.build_every,
                    "stored": t.stored,
                }
                for t in self.tiers
            ],
            "counts": dict(self.counts),
            "members": [{"name": m.name, "size": m.size, "sha256": m.sha256} for m in self.members],
        }
        return json.dumps(document, indent=2).encode("utf-8")


def read_manifest(data: bytes, path: str | os.PathLike[str] = "<archive>") -> Manifest:
    """Parse a manifest, checking every field; anything else raises `ArchiveError`."""

    def bad(problem: str) -> ArchiveError:
        return ArchiveError(path, problem, member=MANIFEST)

    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise bad(f"it is not valid JSON ({error})") from None
    if not isinstance(document, dict) or document.get("format") != "chroma-desktop-archive":
        raise bad("it is not a Chroma Desktop archive manifest")
    version = _field(document, "format_version", int, bad)
    if version > FORMAT_VERSION:
        raise bad(
            f"it was written by a newer Chroma Desktop (archive format {version}; this one "
            f"reads format {FORMAT_VERSION} and older): upgrade Chroma Desktop to open it"
        )
    if version < 1:
        raise bad(f"archive format {version} does not exist")
    span = _field(document, "range", dict, bad)
    start = _time(_field(span, "start", str, bad), "range start", bad)
    end = _time(_field(span, "end", str, bad), "range end", bad)
    if end <= start:
        raise bad("its time range ends before it starts")
    tiers = []
    for raw in _field(document, "stats_tiers", list, bad):
        if not isinstance(raw, dict):
            raise bad("a statistics tier is not an object")
        retention = raw.get("retention")
        if retention is not None and (type(retention) is not int or retention <= 0):
            raise bad("a statistics tier has a bad retention")
        step, every = _field(raw, "step", int, bad), _field(raw, "build_every", int, bad)
        if step < 0 or every <= 0:
            raise bad("a statistics tier has a bad step")
        tiers.append(
            Tier(
                _field(raw, "name", str, bad),
                step,
                retention,
                every,
                _field(raw, "stored", bool, bad),
            )
        )
    if not tiers or tiers[0].step != 0:
        raise bad("its statistics tiers do not start with raw samples")
    counts = _field(document, "counts", dict, bad)
    if not all(isinstance(k, str) and type(v) is int and v >= 0 for k, v in counts.items()):
        raise bad("its counts are not whole numbers")
    members = []
    for raw in _field(document, "members", list, bad):
        if not isinstance(raw, dict):
            raise bad("a member is not an object")
        name = _field(raw, "name", str, bad)
        size = _field(raw, "size", int, bad)
        digest = _field(raw, "sha256", str, bad)
        if not _MEMBER_NAME.fullmatch(name) or ".." in name.split("/") or name == MANIFEST:
            raise bad(f"member name {name!r} is not allowed")
        if size < 0 or not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise bad(f"member {name} has a bad size or checksum")
        members.append(ArchiveMember(name, size, digest))
    names = [m.name for m in members]
    if len(set(names)) != len(names):
        raise bad("it lists a member twice")
    for needed in (MODEL, LOGS_FILE, f"{STATS_DIR}/catalogue.sqlite"):
        if needed not in names:
            raise bad(f"it lists no {needed}")
    return Manifest(
        format_version=version,
        app_version=_field(document, "app_version", str, bad),
        schema_revision=_field(document, "schema_revision", str, bad),
        created_at=_time(_field(document, "created_at", str, bad), "creation time", bad),
        source=_field(document, "source", str, bad),
        start=start,
        end=end,
        tiers=tuple(tiers),
        counts=dict(counts),
        members=tuple(members),
    )


def _field(
    document: Mapping[str, Any], key: str, kind: type[T], bad: Callable[[str], ArchiveError]
) -> T:
    value = document.get(key)
    # bool is an int to Python, but not to a manifest
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise bad(f"its field {key!r} is missing or not a {kind.__name__}")
    return value


def _time(text: str, what: str, bad: Callable[[str], ArchiveError]) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise bad(f"its {what} {text[:40]!r} is not a time") from None
    if value.tzinfo is None:
        raise bad(f"its {what} has no time zone")
    return value.astimezone(UTC)


def _minute(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


# --- exporting ----------------------------------------------------------------------------------


class StoreAccess(Protocol):
    """How an export reaches the live stores: `run(work)` calls `work(stats, logs)` on the
    thread that owns them (either may be None: not kept) and returns its result."""

    def run(self, work: Callable[[StatsStore | None, LogStore | None], T]) -> T: ...


@dataclass(frozen=True)
class DirectStores:
    """Stores owned by the exporting thread itself (a script, the CLI with the app closed)."""

    stats: StatsStore | None
    logs: LogStore | None

    def run(self, work: Callable[[StatsStore | None, LogStore | None], T]) -> T:
        return work(self.stats, self.logs)


@dataclass(frozen=True)
class ExportResult:
    path: Path
    manifest: Manifest
    size: int
    seconds: float

    def describe(self) -> str:
        counts = self.manifest.counts
        held = ", ".join(
            _quantity(counts.get(key, 0), noun)
            for key, noun in (
                ("commands", "command"),
                ("events", "event"),
                ("series", "series"),
                ("log_lines", "log line"),
            )
        )
        return (
            f"Exported {self.manifest.describe_range()} to {self.path} "
            f"({self.size / 1e6:.1f} MB: {held}) in {self.seconds:.1f} s."
        )


def _quantity(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 or noun.endswith("s") else f"{n} {noun}s"


def export_archive(
    path: str | os.PathLike[str],
    database: Database,
    start: datetime,
    end: datetime,
    *,
    stores: StoreAccess | None = None,
    source: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> ExportResult:
    """Write the history of [start, end] to the archive file `path` (replaced only once the
    new one is complete). `stores` reaches the live stats and log stores (None: the archive
    holds no statistics and no log lines)."""
    began = time.monotonic()
    target = Path(path)
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("export_archive needs timezone-aware start and end")
    if end <= start:
        raise ChromaError("The export's time range ends before it starts.")
    say = progress or (lambda _text: None)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".chroma-export-", dir=target.parent))
    part = target.with_name(target.name + ".part")
    try:
        say("Copying the model, commands, events and alerts …")
        counts = _copy_model(database, staging / MODEL, start, end)
        t0, t1 = math.floor(start.timestamp()), math.ceil(end.timestamp())
        access = stores or DirectStores(None, None)
        tiers = access.run(lambda stats, _logs: stats.config.tiers if stats else None)
        if tiers is None:
            tiers = StoreConfig().tiers
        counts["series"] = _copy_stats(access, staging / STATS_DIR, tiers, t0, t1, say)
        counts["log_lines"] = _copy_logs(access, staging / LOGS_FILE, t0, t1, say)
        say("Writing the archive …")
        files = _member_files(staging)
        manifest = Manifest(
            format_version=FORMAT_VERSION,
            app_version=installed_version(),
            schema_revision=schema_head(),
            created_at=datetime.now(UTC),
            source=source or database.url,
            start=start.astimezone(UTC),
            end=end.astimezone(UTC),
            tiers=tuple(tiers),
            counts=counts,
            members=tuple(
                ArchiveMember(name, file.stat().st_size, _sha256(file)) for name, file in files
            ),
        )
        _write_tar(part, manifest, files)
        os.replace(part, target)
    except BaseException as error:
        with suppress(FileNotFoundError):
            part.unlink()
        if isinstance(error, OSError):
            raise ChromaError(
                f"Cannot write the archive {target}: {error.strerror or error}.",
                hint="Choose another folder, or free space there. The site was not changed.",
            ) from error
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ExportResult(target, manifest, target.stat().st_size, time.monotonic() - began)


def _ranged_filters(start: datetime, end: datetime) -> dict[str, ColumnElement[bool]]:
    """Which rows of the time-ranged tables an archive keeps: events and audit records of the
    range, alerts and commands that overlap it (and those the former refer to), the jobs of
    those commands with their steps and dependencies."""
    t = Base.metadata.tables
    events, alerts, audit = t["events"], t["alerts"], t["audit_records"]
    commands, command_jobs, jobs = t["commands"], t["command_jobs"], t["jobs"]
    event_in_range = events.c.created_at.between(start, end)
    audit_in_range = audit.c.at.between(start, end)
    kept_commands = or_(
        and_(
            commands.c.created_at <= end,
            or_(commands.c.finished_at.is_(None), commands.c.finished_at >= start),
        ),
        commands.c.id.in_(
            select(audit.c.command_id).where(audit_in_range, audit.c.command_id.is_not(None))
        ),
    )
    kept_command_ids = select(commands.c.id).where(kept_commands)
    kept_job_ids = select(command_jobs.c.job_id).where(
        command_jobs.c.command_id.in_(kept_command_ids)
    )
    return {
        "events": event_in_range,
        "audit_records": audit_in_range,
        "alerts": or_(
            and_(
                alerts.c.raised_at <= end,
                or_(alerts.c.cleared_at.is_(None), alerts.c.cleared_at >= start),
            ),
            alerts.c.id.in_(
                select(events.c.alert_id).where(event_in_range, events.c.alert_id.is_not(None))
            ),
        ),
        "commands": kept_commands,
        "command_jobs": command_jobs.c.command_id.in_(kept_command_ids),
        "jobs": jobs.c.id.in_(kept_job_ids),
        "job_dependencies": and_(
            t["job_dependencies"].c.job_id.in_(kept_job_ids),
            t["job_dependencies"].c.depends_on_id.in_(kept_job_ids),
        ),
        "steps": t["steps"].c.job_id.in_(kept_job_ids),
    }


def _copy_model(database: Database, file: Path, start: datetime, end: datetime) -> dict[str, int]:
    """The model into a new SQLite file made by the migrations, read in one snapshot of the
    live database; returns the number of rows per time-ranged table."""
    filters = _ranged_filters(start, end)
    copy = open_database(f"sqlite:///{file}")
    counts: dict[str, int] = {}
    try:
        with database.engine.connect() as live, copy.engine.begin() as out:
            _begin_snapshot(live)
            # filesystems and targets refer to each other: references are checked at commit
            out.exec_driver_sql("PRAGMA defer_foreign_keys=ON")
            for table in reversed(Base.metadata.sorted_tables):  # rows the migrations seed
                out.execute(table.delete())
            for table in Base.metadata.sorted_tables:
                where = filters.get(table.name)
                query = select(table) if where is None else select(table).where(where)
                copied = _copy_rows(live, out, table, query)
                if where is not None:
                    counts[table.name] = copied
            live.rollback()
    finally:
        copy.close()
    _single_file(file)
    return counts


def _begin_snapshot(live: Connection) -> None:
    """Every table read from one consistent state of the live database."""
    if live.dialect.name == "sqlite":
        live.exec_driver_sql("BEGIN")  # pysqlite starts no transaction for reads by itself
    elif live.dialect.name == "postgresql":
        live.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")


def _copy_rows(live: Connection, out: Connection, table: Table, query: Any) -> int:
    copied = 0
    result = live.execution_options(yield_per=ROWS_PER_BATCH).execute(query)
    keys = [column.key for column in table.columns]
    for rows in result.partitions():
        out.execute(insert(table), [dict(zip(keys, row, strict=True)) for row in rows])
        copied += len(rows)
    return copied


def _copy_stats(
    access: StoreAccess,
    directory: Path,
    tiers: Sequence[Tier],
    start: int,
    end: int,
    say: Callable[[str], None],
) -> int:
    """Every series' points in (start, end] into a new store, a batch of series at a time."""
    copy = StatsStore.open(directory, StoreConfig(tiers=tuple(tiers)))
    try:
        series = access.run(lambda stats, _logs: stats.series_list() if stats else ())
        built = access.run(lambda stats, _logs: stats.built_until() if stats else ())
        copy_built = [end] + [min(b, end) for b in built[1:]] if built else list(copy.built_until())
        ids = [s.id for s in series]
        for first in range(0, len(ids), SERIES_PER_BATCH):
            batch = ids[first : first + SERIES_PER_BATCH]

            def read(
                stats: StatsStore | None, _logs: object, batch: list[int] = batch
            ) -> list[SeriesCopy]:
                return stats.copy_series(batch, start, end) if stats else []

            copies = access.run(read)
            copy.paste_series(copies, copy_built)
            say(f"Copied statistics of {first + len(batch)} of {len(ids)} series …")
        if not ids:
            copy.paste_series([], copy_built)
    finally:
        copy.close()
    (directory / "LOCK").unlink(missing_ok=True)
    shutil.rmtree(directory / "wal", ignore_errors=True)
    _single_file(directory / "catalogue.sqlite")
    return len(series)


def _copy_logs(
    access: StoreAccess, file: Path, start: int, end: int, say: Callable[[str], None]
) -> int:
    """The log lines of [start, end], a page at a time in the order they were stored."""
    copy = LogStore(file)
    copied = 0
    try:
        last = access.run(lambda _stats, logs: logs.last_seq if logs else 0)
        after = 0
        while after < last:

            def read(_stats: object, logs: LogStore | None, after: int = after) -> TailPage | None:
                return logs.tail(after, limit=LOG_LINES_PER_PAGE) if logs else None

            page = access.run(read)
            if page is None or not page.lines:
                break
            kept = [
                (
                    line.host,
                    {
                        "t": line.t,
                        "severity": int(line.severity),
                        "facility": line.facility,
                        "source": line.source,
                        "message": line.message,
                    },
                )
                for line in page.lines
                if start <= line.t <= end and line.seq <= last
            ]
            if kept:
                copy.append_mixed(kept)
                copied += len(kept)
            after = page.cursor
            say(f"Copied {copied} log lines …")
    finally:
        copy.close()
    _single_file(file)
    return copied


def _single_file(file: Path) -> None:
    """A SQLite file as one self-contained file (no -wal beside it), so it opens read-only."""
    with closing(sqlite3.connect(file)) as db:
        db.execute("PRAGMA journal_mode=DELETE").fetchone()


def _member_files(staging: Path) -> list[tuple[str, Path]]:
    files = [
        (file.relative_to(staging).as_posix(), file)
        for file in sorted(staging.rglob("*"))
        if file.is_file()
    ]
    return [(name, file) for name, file in files if name != MANIFEST]


def _sha256(file: Path) -> str:
    digest = hashlib.sha256()
    with file.open("rb") as handle:
        while block := handle.read(_COPY_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _write_tar(part: Path, manifest: Manifest, files: Sequence[tuple[str, Path]]) -> None:
    when = int(manifest.created_at.timestamp())
    data = manifest.to_json()
    with (
        part.open("wb") as raw,
        tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        info = tarfile.TarInfo(MANIFEST)
        info.size, info.mtime, info.mode = len(data), when, 0o644
        tar.addfile(info, io.BytesIO(data))
        for name, file in files:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = file.stat().st_size, when, 0o644
            with file.open("rb") as handle:
                tar.addfile(info, handle)
        tar.close()
        raw.flush()
        os.fsync(raw.fileno())


# --- opening ------------------------------------------------------------------------------------


def archive_cache_dir() -> Path:
    """Where opened archives are extracted (beside the rest of CHROMA_HOME when it is set)."""
    home = os.environ.get(HOME_ENV)
    if home:
        return Path(home).expanduser() / "cache" / "archives"
    return platformdirs.user_cache_path(APP_NAME) / "archives"


@dataclass
class OpenedArchive:
    """An archive checked and extracted to a private folder, its model open read-only. The
    stores open read-only on the thread that will use them; `close()` removes the folder."""

    path: Path
    manifest: Manifest
    directory: Path
    database: Database
    _closed: bool = field(default=False, repr=False)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def stats_config(self) -> StoreConfig:
        return StoreConfig(tiers=self.manifest.tiers)

    @property
    def stats_dir(self) -> Path:
        return self.directory / STATS_DIR

    @property
    def logs_file(self) -> Path:
        return self.directory / LOGS_FILE

    def describe(self) -> str:
        """What the window's title and banner say."""
        return f"Offline archive {self.name}, {self.manifest.describe_range()}, read-only"

    def open_stats(self) -> StatsStore:
        return StatsStore.open(self.stats_dir, self.stats_config, read_only=True)

    def open_logs(self) -> LogStore:
        return LogStore(self.logs_file, read_only=True)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.database.close()
        _remove_tree(self.directory)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def open_archive(path: str | os.PathLike[str], *, cache_dir: Path | None = None) -> OpenedArchive:
    """Check the archive at `path` and open it read-only (see the module docstring)."""
    source = Path(path)
    if not source.is_file():
        raise ArchiveError(source, "there is no such file")
    parent = cache_dir or archive_cache_dir()
    parent.mkdir(parents=True, exist_ok=True)
    _sweep_abandoned(parent)
    directory = Path(tempfile.mkdtemp(prefix="archive-", dir=parent))
    (directory / _OWNER).write_text(str(os.getpid()))
    try:
        manifest = _extract(source, directory)
        database = _open_model(source, directory / MODEL)
        opened = OpenedArchive(source, manifest, directory, database)
        try:
            _probe_stores(opened)
        except BaseException:
            database.close()
            raise
        return opened
    except BaseException:
        _remove_tree(directory)
        raise


def _extract(source: Path, directory: Path) -> Manifest:
    """Check and extract every member; the manifest must come first and vouch for each."""
    try:
        with source.open("rb") as raw, tarfile.open(fileobj=raw, mode="r:") as tar:
            first = tar.next()
            if first is None or first.name != MANIFEST:
                raise ArchiveError(source, "the file does not start with one", member=MANIFEST)
            if not first.isfile() or first.size > MAX_MANIFEST_BYTES:
                raise ArchiveError(source, "it is not a small regular file", member=MANIFEST)
            manifest = read_manifest(_read_member(source, tar, first), source)
            expected = {m.name: m for m in manifest.members}
            seen: set[str] = set()
            for member in _members(source, tar):
                wanted = expected.get(member.name)
                if wanted is None or member.name in seen or not member.isfile():
                    raise ArchiveError(source, "the manifest does not list it", member=member.name)
                seen.add(member.name)
                _extract_member(source, tar, member, wanted, directory)
            missing = sorted(set(expected) - seen)
            if missing:
                raise ArchiveError(
                    source,
                    "it is missing: the file is truncated or damaged before it",
                    member=missing[0],
                )
            return manifest
    except tarfile.ReadError as error:
        raise ArchiveError(
            source, f"it is not a Chroma Desktop archive (not a tar file: {error})"
        ) from None
    except OSError as error:
        raise ArchiveError(source, f"it cannot be read ({error.strerror or error})") from None


def _members(source: Path, tar: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    while True:
        try:
            member = tar.next()
        except tarfile.TarError:
            return  # the members not seen are named as missing
        if member is None:
            return
        yield member


def _read_member(source: Path, tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    handle = tar.extractfile(member)
    assert handle is not None
    try:
        data = handle.read()
    except (tarfile.ReadError, EOFError):
        data = b""
    if len(data) != member.size:
        raise ArchiveError(source, "it is cut short (the file is truncated)", member=member.name)
    return data


def _extract_member(
    source: Path,
    tar: tarfile.TarFile,
    member: tarfile.TarInfo,
    wanted: ArchiveMember,
    directory: Path,
) -> None:
    if member.size != wanted.size:
        raise ArchiveError(
            source,
            f"it holds {member.size} bytes, the manifest says {wanted.size}",
            member=member.name,
        )
    target = directory / wanted.name  # names were checked by read_manifest: no "..", relative
    target.parent.mkdir(parents=True, exist_ok=True)
    handle: IO[bytes] | None = tar.extractfile(member)
    assert handle is not None
    digest = hashlib.sha256()
    written = 0
    with target.open("wb") as out:
        while True:
            try:
                block = handle.read(_COPY_BLOCK)
            except (tarfile.ReadError, EOFError):
                block = b""
            if not block:
                break
            digest.update(block)
            out.write(block)
            written += len(block)
    if written != wanted.size:
        raise ArchiveError(
            source,
            f"it is cut short at {written} of {wanted.size} bytes (the file is truncated)",
            member=member.name,
        )
    if digest.hexdigest() != wanted.sha256:
        raise ArchiveError(
            source, "its checksum does not match the manifest (it is damaged)", member=member.name
        )


def _open_model(source: Path, file: Path) -> Database:
    """The extracted model, upgraded in place if an older version wrote it (the archive itself
    is never written), then opened read-only."""
    try:
        open_database(f"sqlite:///{file}").close()
        _single_file(file)
        file.chmod(0o444)
        return open_database_read_only(file)
    except ChromaError as error:
        raise ArchiveError(source, error.message, member=MODEL) from None


def _probe_stores(opened: OpenedArchive) -> None:
    try:
        opened.open_stats().close()
    except ChromaError as error:
        raise ArchiveError(opened.path, error.message, member=STATS_DIR) from None
    try:
        opened.open_logs().close()
    except ChromaError as error:
        raise ArchiveError(opened.path, error.message, member=LOGS_FILE) from None


def _sweep_abandoned(parent: Path) -> None:
    """Remove what archives opened by processes that have since died left behind."""
    for directory in parent.glob("archive-*"):
        try:
            pid = int((directory / _OWNER).read_text())
            os.kill(pid, 0)
        except ProcessLookupError:
            _remove_tree(directory)
        except (OSError, ValueError):
            continue  # being made right now, or not ours to judge


def _remove_tree(directory: Path) -> None:
    for file in directory.rglob("*"):
        with suppress(OSError):
            if file.is_file():
                file.chmod(0o644)
    shutil.rmtree(directory, ignore_errors=True)
