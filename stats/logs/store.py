"""The log store: syslog lines from every server, searched, counted, tailed and aged out.

Layer: stats (no Qt, no Twisted). Thread: one owner thread, the database worker's; a store is
not shared between threads (its SQLite connection refuses it) or between processes.

See the package docstring (`stats.logs`) for the design, the on-disk layout and the durability
bound.
"""

from __future__ import annotations

import heapq
import json
import os
import re
import sqlite3
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np

from core.errors import ValidationError
from core.observations import SEVERITY_NAMES, SEVERITY_RULE, SyslogSeverity
from stats.logs.blocks import (
    MAX_TEMPLATE_BYTES,
    Bools,
    Columns,
    DecodedColumns,
    LineIndex,
    StoredIndex,
    build_index,
    decode_columns,
    decode_frame,
    decode_index,
    decode_text,
    decode_text_bytes,
    encode,
    encode_index,
    frame_table,
    hash_word,
    index_document,
    template_keys,
    to_columns,
    token_hash,
)
from stats.logs.records import (
    LogLine,
    LogRecordError,
    LogStoreError,
    LogStoreFullError,
    LogUsage,
    RetentionPolicy,
    RetentionReport,
    TailPage,
)
from stats.logs.text import Query, Verdict, is_variable, parse_query

BLOCK_LINES = 16384
MAX_MESSAGE_CHARS = 65536
"""Longer messages are cut here, with a note saying how much was cut."""
MAX_SOURCE_CHARS = 256
MAX_TEMPLATES = 50_000
"""Past this many templates new ones are not kept: their lines are judged one by one."""
MAX_T = 1e11
_APPLICATION_ID = 0x43444C47  # "CDLG"
_FORMAT = 2
"""1: no line index (blocks.vidx); such files gain the column and their blocks are scanned."""
_BLOCK_LEVEL = 1
_PENDING_LEVEL = 1
_CONTROL_BYTES = bytes(b for b in range(256) if (b < 0x20 and b != 0x09) or b == 0x7F)
_NOT_CONTROL = bytes(b for b in range(256) if b not in _CONTROL_BYTES)
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f]")
_SEVERITY_CODES: dict[object, int] = {
    **{name: int(s) for name, s in SEVERITY_NAMES.items()},
    **{int(s): int(s) for s in SyslogSeverity},
}
_SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE hosts(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE facilities(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE templates(id INTEGER PRIMARY KEY, key BLOB NOT NULL UNIQUE);
CREATE TABLE blocks(
    id INTEGER PRIMARY KEY, first_seq INTEGER NOT NULL, n INTEGER NOT NULL,
    t_min INTEGER NOT NULL, t_max INTEGER NOT NULL, cols BLOB NOT NULL, text BLOB NOT NULL,
    vidx BLOB);
CREATE INDEX blocks_by_time ON blocks(t_max, t_min, first_seq, n);
CREATE INDEX blocks_by_seq ON blocks(first_seq, n);
CREATE TABLE block_templates(
    block_id INTEGER NOT NULL, template_id INTEGER NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY(block_id, template_id)) WITHOUT ROWID;
CREATE INDEX block_templates_by_template ON block_templates(template_id, block_id);
CREATE VIRTUAL TABLE block_vars USING fts5(vars, content='', detail=none);
CREATE TABLE pending(id INTEGER PRIMARY KEY, cols BLOB NOT NULL, text BLOB NOT NULL);
INSERT INTO meta VALUES ('next_seq', 1);
"""


@dataclass(frozen=True)
class _Filter:
    host_ids: list[int] | None
    severities: list[int] | None
    since_us: int
    until_us: int

    @property
    def per_line(self) -> bool:
        return self.host_ids is not None or self.severities is not None


@dataclass(frozen=True)
class _ItemCheck:
    """What decides one item of a query (a token or a phrase) for a line."""

    verdicts: np.ndarray
    """By template id: NONE, ALL or MAYBE for this item alone."""
    hashes: list[int]
    """The hashes of the item's ASCII variable tokens: a line lacking one cannot match."""
    exact: bool
    """The item is one ASCII variable token, so holding it decides the line."""


@dataclass
class _Source:
    """A sealed block, or the unsealed tail (block_id None), as a search walks them."""

    block_id: int | None
    first_seq: int
    n: int
    t_min: int
    t_max: int


class LogStore:
    """Syslog lines of all servers in one SQLite file: `append`, `search`, `count`, `tail`,
    `usage` and `apply_retention`. Every method either does all it was asked or raises a
    `ChromaError` having changed nothing."""

    def __init__(
        self,
        path: Path,
        *,
        policy: RetentionPolicy | None = None,
        block_lines: int = BLOCK_LINES,
        durable: bool = False,
    ) -> None:
        self.path = Path(path)
        self.policy = policy or RetentionPolicy()
        if block_lines < 1:
            raise ValidationError("block_lines", block_lines, "give 1 or more")
        self._block_lines = block_lines
        self._db = self._connect(durable)
        self._hosts: dict[str, int] = {}
        self._host_names: dict[int, str] = {}
        self._facilities: dict[str, int] = {}
        self._facility_names: dict[int, str] = {}
        self._templates: dict[bytes, int] = {}
        self._template_texts: list[str] = [""]  # id 0: lines left unclassified
        self._verdict_cache: dict[Query, np.ndarray] = {}
        self._pending_decoded: DecodedColumns | None = None
        self._pending_index: LineIndex | None = None
        self._item_cache: dict[Query, list[_ItemCheck]] = {}
        self._raw_cache: dict[tuple[int, int], list[str]] = {}
        """Decompressed frames of block texts, kept for the length of one read call."""
        self._frame_tables: dict[int, tuple[bytes, int, list[int]]] = {}
        """Text blobs and their frame tables, kept for the length of one read call."""
        for hid, name in self._db.execute("SELECT id, name FROM hosts"):
            self._hosts[name] = hid
            self._host_names[hid] = name
        for fid, name in self._db.execute("SELECT id, name FROM facilities"):
            self._facilities[name] = fid
            self._facility_names[fid] = name
        for tid, key in self._db.execute("SELECT id, key FROM templates ORDER BY id"):
            self._templates[bytes(key)] = tid
            self._template_texts.append(bytes(key).decode("utf-8"))
        (self._next_seq,) = self._db.execute(
            "SELECT value FROM meta WHERE key = 'next_seq'"
        ).fetchone()
        self._tail = Columns()
        for cols, text in self._db.execute("SELECT cols, text FROM pending ORDER BY id"):
            self._tail.extend(to_columns(decode_columns(cols), _split(decode_text(text))))

    # -- opening and closing ---------------------------------------------------------------

    def _connect(self, durable: bool) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise LogStoreError(
                f"Cannot create the folder for the log store {self.path}: {error.strerror}.",
                hint="Choose a folder you may write to.",
            ) from error
        try:
            db = sqlite3.connect(self.path, isolation_level=None, timeout=5)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
            db.execute("PRAGMA cache_size=-65536")
            (app,) = db.execute("PRAGMA application_id").fetchone()
            (version,) = db.execute("PRAGMA user_version").fetchone()
            (tables,) = db.execute("SELECT count(*) FROM sqlite_schema").fetchone()
            if app == 0 and tables == 0:
                db.execute("PRAGMA auto_vacuum=INCREMENTAL")
                db.execute("VACUUM")  # auto_vacuum takes effect on an empty file only so
                db.executescript(
                    f"BEGIN; {_SCHEMA} PRAGMA application_id={_APPLICATION_ID}; "
                    f"PRAGMA user_version={_FORMAT}; COMMIT;"
                )
            elif app != _APPLICATION_ID:
                raise LogStoreError(
                    f"{self.path} is an SQLite database but not a Chroma Desktop log store.",
                    hint="Move it away or choose another path for the logs.",
                )
            elif version > _FORMAT:
                raise LogStoreError(
                    f"The log store {self.path} was written by a newer Chroma Desktop "
                    f"(format {version}, this one reads {_FORMAT}).",
                    hint="Upgrade Chroma Desktop, or choose another path for the logs.",
                )
            elif version < _FORMAT:
                _upgrade(db)
        except sqlite3.OperationalError as error:
            raise _store_error(self.path, error, "open") from error
        except sqlite3.DatabaseError as error:
            raise LogStoreError(
                f"{self.path} is not a readable log store ({error}).",
                hint="Move it away (Chroma Desktop starts a new one) or restore it from backup.",
            ) from error
        return db

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> LogStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self, doing: str) -> Iterator[sqlite3.Connection]:
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            raise _store_error(self.path, error, doing) from error
        try:
            yield self._db
            self._db.execute("COMMIT")
        except BaseException as error:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            if isinstance(error, sqlite3.OperationalError):
                raise _store_error(self.path, error, doing) from error
            raise

    # -- appending -------------------------------------------------------------------------

    @property
    def last_seq(self) -> int:
        """The number of the newest line stored (0 before the first): a live tail starts here."""
        return int(self._next_seq) - 1

    def append(self, host: str, records: Sequence[Mapping[str, object]]) -> int:
        """Store one server's syslog records (shaped like the agent's `LogRecord`: t,
        severity, facility, source, message) and return the number of the last line stored.

        All or nothing: a malformed record raises `LogRecordError` naming it, and a full disk
        raises `LogStoreFullError`; in both cases none of these records is stored and nothing
        stored before is touched. Messages are kept as sent except that control characters are
        written as rsyslog does ("#012" for a line feed), bytes that are not UTF-8 as "\\xNN",
        and anything past 65,536 characters is cut with a note."""
        return self._append([host], records)

    def append_mixed(self, entries: Sequence[tuple[str, Mapping[str, object]]]) -> int:
        """`append` for records of several servers at once, each with its host name."""
        return self._append([h for h, _ in entries], [r for _, r in entries])

    def _append(self, hosts: Sequence[str], records: Sequence[Mapping[str, object]]) -> int:
        if not records:
            return self.last_seq
        staged: list[Callable[[], object]] = []  # undoes in-memory additions if the write fails
        try:
            new = self._columns(hosts, records, staged)
            self._write(new, staged)
        except BaseException:
            for undo in reversed(staged):
                undo()
            raise
        return self.last_seq

    def _columns(
        self,
        hosts: Sequence[str],
        records: Sequence[Mapping[str, object]],
        staged: list[Callable[[], object]],
    ) -> Columns:
        try:
            times = [r["t"] for r in records]
            severities = [r["severity"] for r in records]
            facilities = [r["facility"] for r in records]
            sources = [r["source"] for r in records]
            messages = [r["message"] for r in records]
        except (KeyError, TypeError):
            raise _bad_record(hosts, records) from None
        if not set(map(type, times)) <= {int, float}:
            raise _bad_record(hosts, records)
        t = np.array(times, np.float64)
        if not bool(np.all((t >= 0) & (t < MAX_T))):  # NaN fails both
            raise _bad_record(hosts, records)
        try:
            severity_codes = [_SEVERITY_CODES[s] for s in severities]
        except (KeyError, TypeError):
            raise _bad_record(hosts, records) from None
        if (
            not set(map(type, facilities)) <= {str}
            or not set(map(type, sources)) <= {str}
            or not set(map(type, messages)) <= {str, bytes, bytearray}
        ):
            raise _bad_record(hosts, records)
        for name in set(hosts):
            if not isinstance(name, str) or not 0 < len(name) <= 255 or _CONTROL.search(name):
                raise _bad_record(hosts, records)
        clean_sources, _ = _clean(sources, MAX_SOURCE_CHARS)
        clean_messages, raw = _clean(messages, MAX_MESSAGE_CHARS)
        if len(hosts) == 1:
            host_ids = [self._intern_host(hosts[0], staged)] * len(records)
        else:
            get = self._hosts.get
            host_ids = [get(h) or self._intern_host(h, staged) for h in hosts]
        get_facility = self._facilities.get
        facility_ids = [
            get_facility(f) or self._intern_facility(f[:64], staged)
            for f in cast(list[str], facilities)
        ]
        keys, tokens = template_keys(raw)
        get_template = self._templates.get
        template_ids = [get_template(k) for k in keys]
        if None in template_ids:
            template_ids = [
                i if i is not None else self._intern_template(k, staged)
                for i, k in zip(template_ids, keys, strict=True)
            ]
        return Columns(
            t_us=np.rint(t * 1e6).astype(np.int64).tolist(),
            host=host_ids,
            facility=facility_ids,
            severity=severity_codes,
            template=template_ids,  # type: ignore[arg-type]
            source=clean_sources,
            message=clean_messages,
            tokens=tokens,
        )

    def _intern_host(self, name: str, staged: list[Callable[[], object]]) -> int:
        found = self._hosts.get(name)
        if found is None:
            found = len(self._hosts) + 1
            self._hosts[name] = found
            self._host_names[found] = name
            staged.append(lambda: (self._hosts.pop(name), self._host_names.pop(found)))
        return found

    def _intern_facility(self, name: str, staged: list[Callable[[], object]]) -> int:
        found = self._facilities.get(name)
        if found is None:
            found = len(self._facilities) + 1
            self._facilities[name] = found
            self._facility_names[found] = name
            staged.append(lambda: (self._facilities.pop(name), self._facility_names.pop(found)))
        return found

    def _intern_template(self, key: bytes, staged: list[Callable[[], object]]) -> int:
        found = self._templates.get(key)
        if found is not None:
            return found
        if len(key) > MAX_TEMPLATE_BYTES or len(self._template_texts) > MAX_TEMPLATES:
            return 0
        found = len(self._template_texts)
        self._templates[key] = found
        self._template_texts.append(key.decode("utf-8"))
        staged.append(lambda: (self._templates.pop(key), self._template_texts.pop()))
        return found

    def _write(self, new: Columns, staged: list[Callable[[], object]]) -> None:
        with self._transaction(f"store {len(new)} log lines") as db:
            self._save_names(db)
            tail = Columns()
            tail.extend(self._tail)
            tail.extend(new)
            first_seq = self._next_seq - len(self._tail)
            sealed = False
            while len(tail) >= self._block_lines:
                head, tail = tail.split(self._block_lines)
                self._seal(db, head, first_seq)
                first_seq += len(head)
                sealed = True
            if sealed:
                db.execute("DELETE FROM pending")
                if len(tail):
                    db.execute("INSERT INTO pending(cols, text) VALUES (?, ?)", encode(tail, 1))
            else:
                db.execute("INSERT INTO pending(cols, text) VALUES (?, ?)", encode(new, 1))
            next_seq = self._next_seq + len(new)
            db.execute("UPDATE meta SET value = ? WHERE key = 'next_seq'", (next_seq,))
        staged.clear()
        self._tail = tail
        self._next_seq = next_seq
        self._pending_decoded = None
        self._pending_index = None
        if sealed and self.policy.max_bytes is not None:
            self._enforce_size(self.policy.max_bytes)

    def _save_names(self, db: sqlite3.Connection) -> None:
        (hosts,) = db.execute("SELECT count(*) FROM hosts").fetchone()
        if hosts < len(self._hosts):
            db.executemany(
                "INSERT INTO hosts(id, name) VALUES (?, ?)",
                [(i, n) for i, n in self._host_names.items() if i > hosts],
            )
        (facilities,) = db.execute("SELECT count(*) FROM facilities").fetchone()
        if facilities < len(self._facilities):
            db.executemany(
                "INSERT INTO facilities(id, name) VALUES (?, ?)",
                [(i, n) for i, n in self._facility_names.items() if i > facilities],
            )
        (templates,) = db.execute("SELECT count(*) FROM templates").fetchone()
        if templates < len(self._template_texts) - 1:
            db.executemany(
                "INSERT INTO templates(id, key) VALUES (?, ?)",
                [
                    (i, self._template_texts[i].encode("utf-8"))
                    for i in range(templates + 1, len(self._template_texts))
                ],
            )

    def _seal(self, db: sqlite3.Connection, head: Columns, first_seq: int) -> None:
        cols, text = encode(head, _BLOCK_LEVEL, framed=True)
        index = build_index(len(head), head.tokens)
        vidx = encode_index(index)
        cursor = db.execute(
            "INSERT INTO blocks(first_seq, n, t_min, t_max, cols, text, vidx)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (first_seq, len(head), min(head.t_us), max(head.t_us), cols, text, vidx),
        )
        block_id = cursor.lastrowid
        db.executemany(
            "INSERT INTO block_templates(block_id, template_id, n) VALUES (?, ?, ?)",
            [(block_id, tid, n) for tid, n in Counter(head.template).items()],
        )
        db.execute(
            "INSERT INTO block_vars(rowid, vars) VALUES (?, ?)",
            (block_id, index_document(index)),
        )

    # -- reading ---------------------------------------------------------------------------

    def search(
        self,
        text: str = "",
        *,
        hosts: Collection[str] | None = None,
        severities: Collection[SyslogSeverity | str | int] | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 100,
    ) -> list[LogLine]:
        """The newest `limit` lines (by time, then by arrival) that hold every word, number and
        "phrase" of `text` (case does not matter; empty text matches every line), come from one
        of `hosts`, have one of `severities`, and fall within [since, until] (seconds)."""
        if not isinstance(limit, int) or limit < 1:
            raise ValidationError("limit", limit, "give a whole number of lines, 1 or more")
        query = parse_query(text)
        where = self._filter(hosts, severities, since, until)
        verdicts = self._verdicts(query)
        self._forget_reads()
        sources = self._candidates(query, verdicts, where)
        sources.sort(key=lambda s: s.t_max, reverse=True)
        best: list[tuple[int, int, int | None, int]] = []  # (t_us, seq, block, index)
        loaded: dict[int | None, DecodedColumns] = {}
        texts: dict[int | None, str] = {}
        for source in sources:
            if len(best) >= limit and source.t_max < best[limit - 1][0]:
                break
            columns = self._load_columns(source.block_id)
            loaded[source.block_id] = columns
            mask = self._mask(source, columns, query, verdicts, where, texts)
            index = np.flatnonzero(mask)
            if not index.size:
                continue
            times = columns.t_us[index]
            order = np.lexsort((index, times))[::-1][:limit]
            best = heapq.nlargest(
                limit,
                best
                + [
                    (
                        int(times[o]),
                        source.first_seq + int(index[o]),
                        source.block_id,
                        int(index[o]),
                    )
                    for o in order
                ],
            )
        lines: dict[int | None, list[str]] = {}
        found = [self._line(loaded, texts, lines, block, seq, i) for _, seq, block, i in best]
        self._forget_reads()
        return found

    def count(
        self,
        text: str = "",
        *,
        hosts: Collection[str] | None = None,
        severities: Collection[SyslogSeverity | str | int] | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> int:
        """How many lines `search` with the same arguments would find without a limit."""
        query = parse_query(text)
        where = self._filter(hosts, severities, since, until)
        verdicts = self._verdicts(query)
        all_ids = json.dumps(np.flatnonzero(verdicts == Verdict.ALL).tolist())
        maybe_ids = json.dumps(np.flatnonzero(verdicts == Verdict.MAYBE).tolist())
        total = 0
        texts: dict[int | None, str] = {}
        self._forget_reads()
        for source in self._candidates(query, verdicts, where):
            if source.block_id is not None and not where.per_line:
                inside = where.since_us <= source.t_min and source.t_max <= where.until_us
                n_all, has_maybe = self._db.execute(
                    "SELECT (SELECT coalesce(sum(n), 0) FROM block_templates WHERE block_id = ?1"
                    "  AND template_id IN (SELECT value FROM json_each(?2))),"
                    " EXISTS(SELECT 1 FROM block_templates WHERE block_id = ?1"
                    "  AND template_id IN (SELECT value FROM json_each(?3)))",
                    (source.block_id, all_ids, maybe_ids),
                ).fetchone()
                if inside and not has_maybe:
                    total += n_all
                    continue
            columns = self._load_columns(source.block_id)
            total += int(self._mask(source, columns, query, verdicts, where, texts).sum())
            texts.clear()
            self._forget_reads()
        return total

    def tail(
        self,
        after: int,
        *,
        limit: int = 1000,
        text: str = "",
        hosts: Collection[str] | None = None,
        severities: Collection[SyslogSeverity | str | int] | None = None,
    ) -> TailPage:
        """Lines stored after line number `after` (a cursor from `last_seq` or an earlier
        page), oldest first, at most `limit`, with the cursor to ask with next time."""
        if not isinstance(after, int) or after < 0:
            raise ValidationError("tail cursor", after, "give a line number, 0 or more")
        if not isinstance(limit, int) or limit < 1:
            raise ValidationError("limit", limit, "give a whole number of lines, 1 or more")
        query = parse_query(text)
        where = self._filter(hosts, severities, None, None)
        verdicts = self._verdicts(query)
        rows = self._db.execute(
            "SELECT id, first_seq, n, t_min, t_max FROM blocks"
            " WHERE first_seq + n - 1 > ? ORDER BY first_seq",
            (after,),
        ).fetchall()
        sources = [_Source(*row) for row in rows]
        if len(self._tail):
            sources.append(self._tail_source())
        lines: list[LogLine] = []
        cursor = max(after, self.last_seq) if after <= self.last_seq else after
        self._forget_reads()
        for source in sources:
            columns = self._load_columns(source.block_id)
            texts: dict[int | None, str] = {}
            mask = self._mask(source, columns, query, verdicts, where, texts)
            seqs = source.first_seq + np.arange(source.n)
            mask &= seqs > after
            split: dict[int | None, list[str]] = {}
            loaded = {source.block_id: columns}
            for i in np.flatnonzero(mask).tolist():
                seq = source.first_seq + i
                lines.append(self._line(loaded, texts, split, source.block_id, seq, i))
                if len(lines) == limit:
                    self._forget_reads()
                    return TailPage(tuple(lines), lines[-1].seq)
        self._forget_reads()
        return TailPage(tuple(lines), cursor)

    def _filter(
        self,
        hosts: Collection[str] | None,
        severities: Collection[SyslogSeverity | str | int] | None,
        since: float | None,
        until: float | None,
    ) -> _Filter:
        if isinstance(hosts, str):
            raise ValidationError("hosts", hosts, "give a list of host names")
        if isinstance(severities, str | int):
            raise ValidationError("severities", severities, "give a list of severities")
        for name, value in (("since", since), ("until", until)):
            if value is not None and (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not 0 <= value < MAX_T
            ):
                raise ValidationError(name, value, "give seconds since the epoch")
        since_us = 0 if since is None else int(np.ceil(since * 1e6))
        until_us = 2**62 if until is None else int(np.floor(until * 1e6))
        return _Filter(
            host_ids=None if hosts is None else [self._hosts.get(h, -1) for h in hosts],
            severities=None
            if severities is None
            else [int(SyslogSeverity.parse(s)) for s in severities],
            since_us=since_us,
            until_us=until_us,
        )

    def _verdicts(self, query: Query) -> np.ndarray:
        cached = self._verdict_cache.get(query)
        if cached is not None and len(cached) == len(self._template_texts):
            return cached
        verdicts = np.fromiter(
            (query.judge(t) for t in self._template_texts), np.uint8, len(self._template_texts)
        )
        verdicts[0] = Verdict.ALL if query.matches_everything else Verdict.MAYBE
        if len(self._verdict_cache) > 64:
            self._verdict_cache.clear()
        self._verdict_cache[query] = verdicts
        return verdicts

    def _candidates(self, query: Query, verdicts: np.ndarray, where: _Filter) -> list[_Source]:
        """The blocks that may hold a match (and the unsealed tail), from the indexes alone."""
        sql = ["SELECT id, first_seq, n, t_min, t_max FROM blocks WHERE t_max >= ? AND t_min <= ?"]
        args: list[object] = [where.since_us, where.until_us]
        indexed = [v for v in query.variables if v.isascii()]
        if indexed:
            sql.append("AND id IN (SELECT rowid FROM block_vars WHERE block_vars MATCH ?)")
            args.append(" AND ".join(hash_word(token_hash(v)) for v in indexed))
        live = np.flatnonzero(verdicts != Verdict.NONE)
        if len(live) < len(verdicts):
            sql.append(
                "AND id IN (SELECT block_id FROM block_templates"
                " WHERE template_id IN (SELECT value FROM json_each(?)))"
            )
            args.append(json.dumps(live.tolist()))
        sources = [_Source(*row) for row in self._db.execute(" ".join(sql), args)]
        if len(self._tail):
            tail = self._tail_source()
            if tail.t_max >= where.since_us and tail.t_min <= where.until_us:
                sources.append(tail)
        return sources

    def _tail_source(self) -> _Source:
        return _Source(
            None,
            self._next_seq - len(self._tail),
            len(self._tail),
            min(self._tail.t_us),
            max(self._tail.t_us),
        )

    def _load_columns(self, block_id: int | None) -> DecodedColumns:
        if block_id is None:
            if self._pending_decoded is None:
                tail = self._tail
                self._pending_decoded = DecodedColumns(
                    t_us=np.array(tail.t_us, np.int64),
                    host=np.array(tail.host, np.uint32),
                    facility=np.array(tail.facility, np.uint16),
                    severity=np.array(tail.severity, np.uint8),
                    template=np.array(tail.template, np.uint32),
                    source_text=tail.source,
                )
            return self._pending_decoded
        (blob,) = self._db.execute("SELECT cols FROM blocks WHERE id = ?", (block_id,)).fetchone()
        return decode_columns(blob)

    def _text(self, texts: dict[int | None, str], block_id: int | None) -> str:
        found = texts.get(block_id)
        if found is None:
            if block_id is None:
                found = "\n".join(self._tail.message)
            else:
                (blob,) = self._db.execute(
                    "SELECT text FROM blocks WHERE id = ?", (block_id,)
                ).fetchone()
                found = decode_text(blob)
            texts[block_id] = found
        return found

    def _mask(
        self,
        source: _Source,
        columns: DecodedColumns,
        query: Query,
        verdicts: np.ndarray,
        where: _Filter,
        texts: dict[int | None, str],
    ) -> Bools:
        judged = verdicts[columns.template]
        keep: Bools = judged != Verdict.NONE
        if where.host_ids is not None:
            keep &= np.isin(columns.host, where.host_ids)
        if where.severities is not None:
            keep &= np.isin(columns.severity, where.severities)
        if where.since_us > 0 or where.until_us < 2**62:
            keep &= (columns.t_us >= where.since_us) & (columns.t_us <= where.until_us)
        maybe = keep & (judged == Verdict.MAYBE)
        if maybe.any():
            keep &= ~maybe | self._resolve(source, columns, query, maybe, texts)
        return keep

    def _resolve(
        self,
        source: _Source,
        columns: DecodedColumns,
        query: Query,
        maybe: Bools,
        texts: dict[int | None, str],
    ) -> Bools:
        """Which of the `maybe` lines match: from the block's line index where a variable token
        decides, reading the text only for the lines the index cannot decide."""
        index = self._load_index(source.block_id)
        trusted = ~index.unhashed
        ok: Bools = np.ones(source.n, np.bool_)
        to_read: Bools = maybe & index.unhashed
        for check in self._item_checks(query):
            open_lines = maybe & (check.verdicts[columns.template] == Verdict.MAYBE)
            if not open_lines.any():
                continue
            present: Bools = trusted.copy()
            for token in check.hashes:
                present &= index.lines_with(token)
            ok &= ~open_lines | present | index.unhashed
            if not check.exact:
                to_read |= open_lines
        to_read &= ok & maybe
        if to_read.any():
            ok &= ~to_read | self._text_hits(source, query, to_read, texts)
        return ok

    def _text_hits(
        self, source: _Source, query: Query, lines: Bools, texts: dict[int | None, str]
    ) -> Bools:
        picked = np.flatnonzero(lines)
        if len(picked) > 256:  # one pass over the whole text beats many small ones
            return _item_hits(self._text(texts, source.block_id), query, source.n)
        hits: Bools = np.zeros(source.n, np.bool_)
        for i, message in zip(picked.tolist(), self._messages(source, picked), strict=True):
            hits[i] = query.matches(message)
        return hits

    def _item_checks(self, query: Query) -> list[_ItemCheck]:
        """For each item of the query, what each template says of it, and the hashes of the
        variable tokens a line must hold for it."""
        cached = self._item_cache.get(query)
        if cached is not None and len(cached[0].verdicts) == len(self._template_texts):
            return cached
        checks = []
        for item in query.items:
            one = Query((item,))
            variables = [t for t in item if is_variable(t)]
            ascii_variables = [t for t in variables if t.isascii()]
            checks.append(
                _ItemCheck(
                    verdicts=self._verdicts(one),
                    hashes=[token_hash(t) for t in ascii_variables],
                    exact=len(item) == 1 and len(ascii_variables) == 1,
                )
            )
        if len(self._item_cache) > 64:
            self._item_cache.clear()
        self._item_cache[query] = checks
        return checks

    def _load_index(self, block_id: int | None) -> LineIndex | StoredIndex:
        if block_id is None:
            if self._pending_index is None:
                self._pending_index = build_index(len(self._tail), self._tail.tokens)
            return self._pending_index
        db = self._db

        def read(at: int, size: int) -> bytes:
            with db.blobopen("blocks", "vidx", block_id, readonly=True) as blob:
                blob.seek(at)
                return blob.read(size)

        return StoredIndex(read)

    def _messages(self, source: _Source, picked: np.ndarray) -> list[str]:
        """The messages of lines `picked` (indexes into the source), decompressing only the
        frames that hold them."""
        if source.block_id is None:
            return [self._tail.message[i] for i in picked.tolist()]
        return [self._message(source.block_id, i) for i in picked.tolist()]

    def _message(self, block_id: int, index: int) -> str:
        """One message of a sealed block, decompressing only the frame holding it."""
        table = self._frame_tables.get(block_id)
        if table is None:
            (blob,) = self._db.execute(
                "SELECT text FROM blocks WHERE id = ?", (block_id,)
            ).fetchone()
            found = frame_table(blob, lambda at, size: blob[at : at + size])
            table = self._frame_tables[block_id] = (blob, *(found or (2**62, [0, len(blob)])))
        blob, per_frame, offsets = table
        frame = index // per_frame
        messages = self._raw_cache.get((block_id, frame))
        if messages is None:
            start, end = offsets[frame], offsets[frame + 1]
            if per_frame == 2**62:  # an unframed text (format 1)
                messages = decode_text(blob).split("\n")
            else:
                messages = decode_frame(blob[start:end])
            self._raw_cache[block_id, frame] = messages
        return messages[index - frame * per_frame]

    def _forget_reads(self) -> None:
        """Drop what one read call decompressed (blocks may go, and their ids come back)."""
        self._raw_cache.clear()
        self._frame_tables.clear()

    def _line(
        self,
        loaded: dict[int | None, DecodedColumns],
        texts: dict[int | None, str],
        lines: dict[int | None, list[str]],
        block_id: int | None,
        seq: int,
        index: int,
    ) -> LogLine:
        columns = loaded[block_id]
        if block_id is None:
            message = self._tail.message[index]
        elif block_id in texts:  # already split for a scan
            messages = lines.get(block_id)
            if messages is None:
                messages = lines[block_id] = _split(texts[block_id])
            message = messages[index]
        else:
            message = self._message(block_id, index)
        return LogLine(
            seq=seq,
            t=int(columns.t_us[index]) / 1e6,
            host=self._host_names.get(int(columns.host[index]), "?"),
            severity=SyslogSeverity(int(columns.severity[index])),
            facility=self._facility_names.get(int(columns.facility[index]), "?"),
            source=columns.source_at(index),
            message=message,
        )

    # -- retention -------------------------------------------------------------------------

    def usage(self) -> LogUsage:
        """What the store holds and what it takes on disk (the retention readout)."""
        (lines, oldest, newest) = self._db.execute(
            "SELECT coalesce(sum(n), 0), min(t_min), max(t_max) FROM blocks"
        ).fetchone()
        if len(self._tail):
            tail = self._tail_source()
            oldest = tail.t_min if oldest is None else min(oldest, tail.t_min)
            newest = tail.t_max if newest is None else max(newest, tail.t_max)
        return LogUsage(
            lines=lines + len(self._tail),
            bytes_on_disk=self._file_bytes(),
            oldest_t=None if oldest is None else oldest / 1e6,
            newest_t=None if newest is None else newest / 1e6,
            policy=self.policy,
        )

    def set_policy(self, policy: RetentionPolicy) -> None:
        self.policy = policy

    def apply_retention(self, now: float) -> RetentionReport:
        """Remove lines older than the policy's age and, oldest first, what is over its size.
        Lines go a block (16,384 lines) at a time: a block leaves once all its lines are too
        old, and the newest lines (not yet in a block) stay whatever the size."""
        before = self._file_bytes()
        removed = 0
        if self.policy.max_age_s is not None:
            cutoff = int((now - self.policy.max_age_s) * 1e6)
            ids = [
                row[0]
                for row in self._db.execute(
                    "SELECT id FROM blocks WHERE t_max < ? ORDER BY first_seq", (cutoff,)
                )
            ]
            removed += self._delete_blocks(ids)
        if self.policy.max_bytes is not None:
            removed += self._enforce_size(self.policy.max_bytes)
        self._compact()
        return RetentionReport(
            removed_lines=removed,
            freed_bytes=max(0, before - self._file_bytes()),
            usage=self.usage(),
        )

    def _enforce_size(self, max_bytes: int) -> int:
        removed = 0
        for _ in range(100):
            excess = self._live_bytes() - max_bytes
            if excess <= 0:
                break
            ids: list[int] = []
            freed = 0
            for block_id, size in self._db.execute(
                "SELECT id, length(cols) + length(text) + coalesce(length(vidx), 0)"
                " FROM blocks ORDER BY first_seq"
            ):
                ids.append(block_id)
                freed += size
                if freed >= excess:
                    break
            if not ids:
                break
            removed += self._delete_blocks(ids)
        self._compact()
        return removed

    def _delete_blocks(self, ids: list[int]) -> int:
        removed = 0
        with self._transaction("remove old log lines") as db:
            for block_id in ids:
                n, blob = db.execute(
                    "SELECT n, vidx FROM blocks WHERE id = ?", (block_id,)
                ).fetchone()
                db.execute(  # a contentless index forgets a row given the words it indexed
                    "INSERT INTO block_vars(block_vars, rowid, vars) VALUES ('delete', ?, ?)",
                    (block_id, index_document(decode_index(blob))),
                )
                db.execute("DELETE FROM block_templates WHERE block_id = ?", (block_id,))
                db.execute("DELETE FROM blocks WHERE id = ?", (block_id,))
                removed += n
            # A contentless index keeps deletions as markers until its segments are merged.
            db.execute("INSERT INTO block_vars(block_vars) VALUES ('optimize')")
        return removed

    def _compact(self) -> None:
        try:
            # Python steps a statement once, and each step frees one page: run it as a script.
            self._db.executescript("PRAGMA incremental_vacuum;")
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.OperationalError as error:
            raise _store_error(self.path, error, "give freed space back") from error

    def _live_bytes(self) -> int:
        (pages,) = self._db.execute("PRAGMA page_count").fetchone()
        (free,) = self._db.execute("PRAGMA freelist_count").fetchone()
        (size,) = self._db.execute("PRAGMA page_size").fetchone()
        return int((pages - free) * size)

    def _file_bytes(self) -> int:
        total = 0
        for suffix in ("", "-wal"):
            with suppress(FileNotFoundError):
                total += os.stat(f"{self.path}{suffix}").st_size
        return total


def _upgrade(db: sqlite3.Connection) -> None:
    """Bring a format 1 file to this format: index every block's lines and re-spell the
    full-text index by hashes. Done once, in one transaction."""
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute("ALTER TABLE blocks ADD COLUMN vidx BLOB")
        db.execute("DROP TABLE block_vars")
        db.execute("CREATE VIRTUAL TABLE block_vars USING fts5(vars, content='', detail=none)")
        for block_id, n, blob in db.execute("SELECT id, n, text FROM blocks").fetchall():
            index = build_index(n, template_keys(decode_text_bytes(blob))[1])
            db.execute(
                "UPDATE blocks SET vidx = ? WHERE id = ?",
                (encode_index(index), block_id),
            )
            db.execute(
                "INSERT INTO block_vars(rowid, vars) VALUES (?, ?)",
                (block_id, index_document(index)),
            )
        db.execute(f"PRAGMA user_version={_FORMAT}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def _split(text: str) -> list[str]:
    return text.split("\n")


def _item_hits(text: str, query: Query, n: int) -> Bools:
    """Which lines of `text` (n lines joined by "\\n") hold every item of the query."""
    folded = text.casefold()
    result: Bools = np.ones(n, np.bool_)
    for pattern in query.patterns():
        lines: list[int] = []
        line = 0
        last = 0
        count = folded.count
        for match in pattern.finditer(folded):
            start = match.start()
            line += count("\n", last, start)
            last = start
            lines.append(line)
        hits = np.zeros(n, np.bool_)
        hits[lines] = True
        result &= hits
    return result


def _clean(values: list[object], limit: int) -> tuple[list[str], bytes]:
    """The values as storable text, and their UTF-8 joined by line feeds."""
    if set(map(type, values)) <= {str}:
        texts: list[str] = values  # type: ignore[assignment]
        if max(map(len, texts), default=0) <= limit:
            try:
                raw = "\n".join(texts).encode("utf-8")
            except UnicodeEncodeError:
                pass
            else:
                if raw.translate(None, _NOT_CONTROL) == b"\n" * (len(texts) - 1):
                    return texts, raw
    cleaned = [_clean_one(v, limit) for v in values]
    return cleaned, "\n".join(cleaned).encode("utf-8")


def _clean_one(value: object, limit: int) -> str:
    if isinstance(value, bytes | bytearray):
        text = bytes(value).decode("utf-8", "backslashreplace")
    else:
        text = str(value).encode("utf-8", "backslashreplace").decode("utf-8")
    text = _CONTROL.sub(lambda m: f"#{ord(m.group()):03o}", text)
    if len(text) > limit:
        text = f"{text[:limit]} [… {len(text) - limit} more characters cut]"
    return text


def _bad_record(hosts: Sequence[object], records: Sequence[object]) -> LogRecordError:
    """The first malformed record's error (the slow path, once something is wrong)."""
    for index, record in enumerate(records):
        host = hosts[0] if len(hosts) == 1 else hosts[index]
        if not isinstance(host, str) or not 0 < len(host) <= 255 or _CONTROL.search(host):
            return LogRecordError(
                index, host, "host", host, "give the server's name, 1-255 printable characters"
            )
        if not isinstance(record, Mapping):
            return LogRecordError(index, host, "record", record, "give a mapping like LogRecord")
        for name in ("t", "severity", "facility", "source", "message"):
            if name not in record:
                return LogRecordError(index, host, name, None, "the field is missing")
        t = record["t"]
        if isinstance(t, bool) or not isinstance(t, int | float) or not 0 <= t < MAX_T:
            return LogRecordError(index, host, "t", t, "give seconds since the epoch")
        severity = record["severity"]
        try:
            known = severity in _SEVERITY_CODES and not isinstance(severity, bool)
        except TypeError:  # unhashable
            known = False
        if not known:
            return LogRecordError(index, host, "severity", severity, SEVERITY_RULE)
        for name in ("facility", "source"):
            if not isinstance(record[name], str):
                return LogRecordError(index, host, name, record[name], "give text")
        if not isinstance(record["message"], str | bytes | bytearray):
            return LogRecordError(index, host, "message", record["message"], "give text")
    return LogRecordError(0, hosts[0] if hosts else None, "record", None, "malformed")


def _store_error(path: Path, error: sqlite3.OperationalError, doing: str) -> LogStoreError:
    code = getattr(error, "sqlite_errorcode", None)
    if code == sqlite3.SQLITE_FULL:
        return LogStoreFullError(
            f"Could not {doing} in the log store {path}: the disk is full. "
            "Nothing stored before was lost.",
            hint="Free space on that disk, or lower the log retention size and apply it.",
        )
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return LogStoreError(
            f"Could not {doing}: another program is using the log store {path}.",
            hint="Close the other Chroma Desktop using it, or choose another path for the logs.",
        )
    if code == sqlite3.SQLITE_READONLY or code == sqlite3.SQLITE_CANTOPEN:
        return LogStoreError(
            f"Could not {doing}: the log store {path} cannot be written ({error}).",
            hint="Check that this user may write to the file and its folder.",
        )
    return LogStoreError(f"Could not {doing} in the log store {path}: {error}.")
