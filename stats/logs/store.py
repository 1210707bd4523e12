"""The log store: syslog lines from every server, searched, counted, tailed and aged out.

Layer: stats (no Qt, no Twisted). Thread: one owner thread, the database worker's; a store is
not shared between threads (its SQLite connection refuses it) or between processes.

See the package docstring (`stats.logs`) for the design, the on-disk layout and the durability
bound.
"""

from __future__ import annotations

import functools
import heapq
import json
import operator
import os
import re
import sqlite3
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar, cast

import numpy as np

from core.errors import ValidationError
from core.observations import SEVERITY_NAMES, SEVERITY_RULE, SyslogSeverity
from stats.logs.blocks import (
    FRAMES_HEADER_BYTES,
    MAX_TEMPLATE_BYTES,
    Bools,
    Columns,
    DecodedColumns,
    StoredIndex,
    TokenScan,
    build_index,
    decode_columns,
    decode_frame,
    decode_index,
    decode_text,
    decode_text_bytes,
    encode,
    encode_index,
    frame_table,
    template_keys,
    to_columns,
    token_hash,
)
from stats.logs.blooms import (
    GROUP_BLOCKS,
    GroupBloom,
    first_block,
    group_of,
    stored_blocks_with,
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
from stats.logs.text import PLACEHOLDER, Query, Verdict, is_variable, parse_query

BLOCK_LINES = 16384
MAX_MESSAGE_CHARS = 65536
"""Longer messages are cut here, with a note saying how much was cut."""
MAX_SOURCE_CHARS = 256
MAX_TEMPLATES = 50_000
"""Past this many templates new ones are not kept: their lines are judged one by one."""
MAX_T = 1e11
_APPLICATION_ID = 0x43444C47  # "CDLG"
_FORMAT = 3
"""1: no line index (blocks.vidx); 2: an FTS5 table of each block's tokens (block_vars) in place
of the group filters (block_blooms). Older files are brought to this format when opened."""
_RECENT_BLOCKS = 32
"""Decoded block columns kept (about 0.4 MB each)."""
_RECENT_FRAMES = 1024
"""Decompressed text frames kept (64 lines, about 10 kB each)."""
_UNFRAMED = 2**62
"""Lines per frame of a text stored as one frame (format 1)."""
_NONE, _MAYBE = int(Verdict.NONE), int(Verdict.MAYBE)  # plain ints: enum look-ups are slow
_SEVERITIES = {int(s): s for s in SyslogSeverity}
_Key = TypeVar("_Key")
_Value = TypeVar("_Value")
_BLOCK_LEVEL = 1
_PENDING_LEVEL = -1
"""Pending lines are rewritten into a block soon: compress them fast rather than small."""
_CONTROL_BYTES = bytes(b for b in range(256) if (b < 0x20 and b != 0x09) or b == 0x7F)
_NOT_CONTROL = bytes(b for b in range(256) if b not in _CONTROL_BYTES)
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f]")
_RECORD_FIELDS = [
    operator.itemgetter(name) for name in ("t", "severity", "facility", "source", "message")
]
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
CREATE TABLE block_blooms(group_id INTEGER PRIMARY KEY, bits BLOB NOT NULL);
CREATE TABLE pending(id INTEGER PRIMARY KEY, cols BLOB NOT NULL, text BLOB NOT NULL);
INSERT INTO meta VALUES ('next_seq', 1);
INSERT INTO meta VALUES ('next_block', 1);
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
        read_only: bool = False,
    ) -> None:
        """`read_only` opens an existing store (an archive's) without writing to its file:
        `append` and `apply_retention` then raise `LogStoreError`."""
        self.path = Path(path)
        self.read_only = read_only
        self.policy = policy or RetentionPolicy()
        if block_lines < 1:
            raise ValidationError("block_lines", block_lines, "give 1 or more")
        self._block_lines = block_lines
        self._db = self._connect_read_only() if read_only else self._connect(durable)
        self._hosts: dict[str, int] = {}
        self._host_names: dict[int, str] = {}
        self._facilities: dict[str, int] = {}
        self._facility_names: dict[int, str] = {}
        self._templates: dict[bytes, int] = {}
        self._template_texts: list[str] = [""]  # id 0: lines left unclassified
        self._verdict_cache: dict[Query, np.ndarray] = {}
        self._pending_decoded: DecodedColumns | None = None
        self._pending_index: TokenScan | None = None
        self._item_cache: dict[Query, list[_ItemCheck]] = {}
        # Recently read blocks, decoded (block ids are never used again, so they stay right):
        # a search shows lines from the newest blocks, and the next search mostly reads them too.
        self._recent_columns: _Recent[int, DecodedColumns] = _Recent(_RECENT_BLOCKS)
        self._recent_frames: _Recent[tuple[int, int], list[str]] = _Recent(_RECENT_FRAMES)
        self._recent_indexes: _Recent[int, StoredIndex] = _Recent(_RECENT_BLOCKS)
        self._group_hits: _Recent[tuple[int, tuple[int, ...]], list[int]] = _Recent(4096)
        """Blocks of a stored group filter that may hold some tokens."""
        self._frame_tables: _Recent[int, tuple[int, list[int]]] = _Recent(_RECENT_FRAMES)
        """Lines per frame and frame offsets of block texts."""
        self._tail_bounds: tuple[int, int] | None = None
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
        (self._next_block,) = self._db.execute(
            "SELECT value FROM meta WHERE key = 'next_block'"
        ).fetchone()
        self._bloom = _open_group_bloom(self._db, self._next_block)
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
                _upgrade(db, version)
        except sqlite3.OperationalError as error:
            raise _store_error(self.path, error, "open") from error
        except sqlite3.DatabaseError as error:
            raise LogStoreError(
                f"{self.path} is not a readable log store ({error}).",
                hint="Move it away (Chroma Desktop starts a new one) or restore it from backup.",
            ) from error
        return db

    def _connect_read_only(self) -> sqlite3.Connection:
        if not self.path.is_file():
            raise LogStoreError(f"The log store {self.path} does not exist.")
        try:
            db = sqlite3.connect(
                f"{self.path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None
            )
            db.execute("PRAGMA query_only=ON")
            (app,) = db.execute("PRAGMA application_id").fetchone()
            (version,) = db.execute("PRAGMA user_version").fetchone()
        except sqlite3.DatabaseError as error:
            raise LogStoreError(f"{self.path} is not a readable log store ({error}).") from None
        if app != _APPLICATION_ID or version != _FORMAT:
            db.close()
            raise LogStoreError(
                f"{self.path} is not a log store of format {_FORMAT} (application "
                f"{app:#x}, format {version}), so it cannot be opened read-only."
            )
        return db

    def _refuse_if_read_only(self, doing: str) -> None:
        if self.read_only:
            raise LogStoreError(
                f"The log store {self.path} is open read-only, so it cannot {doing}.",
                hint="It is an offline archive: open the live site to keep new log lines.",
            )

    def hosts(self) -> tuple[str, ...]:
        """Every server with lines stored, by name."""
        return tuple(sorted(self._hosts))

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
        self._refuse_if_read_only("store log lines")
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
        try:  # column by column, looked up in C
            times, severities, facilities, sources, messages = [
                list(map(field, records)) for field in _RECORD_FIELDS
            ]
        except (KeyError, TypeError):
            raise _bad_record(hosts, records) from None
        if not set(map(type, times)) <= {int, float}:
            raise _bad_record(hosts, records)
        t = np.array(times, np.float64)
        if not bool(np.all((t >= 0) & (t < MAX_T))):  # NaN fails both
            raise _bad_record(hosts, records)
        try:
            severity_codes = list(map(_SEVERITY_CODES.__getitem__, severities))
        except (KeyError, TypeError):
            raise _bad_record(hosts, records) from None
        if (
            not set(map(type, facilities)) <= {str}
            or not set(map(type, sources)) <= {str}
            or not set(map(type, messages)) <= {str, bytes, bytearray}
        ):
            raise _bad_record(hosts, records)
        host_names = dict.fromkeys(hosts)  # in order of first appearance
        for name in host_names:
            if not isinstance(name, str) or not 0 < len(name) <= 255 or _CONTROL.search(name):
                raise _bad_record(hosts, records)
        clean_sources, _ = _clean(sources, MAX_SOURCE_CHARS)
        clean_messages, raw = _clean(messages, MAX_MESSAGE_CHARS)
        if len(hosts) == 1:
            host_ids = np.full(len(records), self._intern_host(hosts[0], staged), np.uint32)
        else:
            by_host = {h: self._intern_host(h, staged) for h in host_names}
            host_ids = np.array(list(map(by_host.__getitem__, hosts)), np.uint32)
        by_facility = {
            f: self._facilities.get(f) or self._intern_facility(f[:64], staged)
            for f in dict.fromkeys(cast(list[str], facilities))
        }
        if len(by_facility) == 1:  # the usual batch
            facility_ids = np.full(len(records), next(iter(by_facility.values())), np.uint16)
        else:
            facility_ids = np.array(list(map(by_facility.__getitem__, facilities)), np.uint16)
        keys, tokens = template_keys(raw)
        template_ids = list(map(self._templates.get, keys))
        if None in template_ids:
            template_ids = [
                i if i is not None else self._intern_template(k, staged)
                for i, k in zip(template_ids, keys, strict=True)
            ]
        return Columns(
            t_us=np.rint(t * 1e6).astype(np.int64),
            host=host_ids,
            facility=facility_ids,
            severity=np.array(severity_codes, np.uint8),
            template=np.array(template_ids, np.uint32),
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
            next_block = self._next_block
            bloom = self._bloom
            sealed = False
            while len(tail) >= self._block_lines:
                head, tail = tail.split(self._block_lines)
                bloom = self._seal(db, head, first_seq, next_block, bloom)
                first_seq += len(head)
                next_block += 1
                sealed = True
            if sealed:
                db.execute("UPDATE meta SET value = ? WHERE key = 'next_block'", (next_block,))
            if sealed:
                db.execute("DELETE FROM pending")
                if len(tail):
                    db.execute(
                        "INSERT INTO pending(cols, text) VALUES (?, ?)",
                        encode(tail, _PENDING_LEVEL),
                    )
            else:
                db.execute(
                    "INSERT INTO pending(cols, text) VALUES (?, ?)", encode(new, _PENDING_LEVEL)
                )
            next_seq = self._next_seq + len(new)
            db.execute("UPDATE meta SET value = ? WHERE key = 'next_seq'", (next_seq,))
        staged.clear()
        self._tail = tail
        self._next_seq = next_seq
        self._next_block = next_block
        self._bloom = bloom
        self._pending_decoded = None
        self._pending_index = None
        self._tail_bounds = None
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

    def _seal(
        self,
        db: sqlite3.Connection,
        head: Columns,
        first_seq: int,
        block_id: int,
        bloom: GroupBloom,
    ) -> GroupBloom:
        """Write `head` as block `block_id`; the group filter holding it too (written with the
        group's last block) is returned, the one given is left as it was."""
        cols, text = encode(head, _BLOCK_LEVEL, framed=True)
        index = build_index(len(head), head.tokens)
        vidx = encode_index(index)
        db.execute(
            "INSERT INTO blocks(id, first_seq, n, t_min, t_max, cols, text, vidx)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                block_id,
                first_seq,
                len(head),
                int(head.t_us.min()),
                int(head.t_us.max()),
                cols,
                text,
                vidx,
            ),
        )
        template_ids, counts = np.unique(head.template, return_counts=True)
        db.executemany(
            "INSERT INTO block_templates(block_id, template_id, n) VALUES (?, ?, ?)",
            [
                (block_id, tid, n)
                for tid, n in zip(template_ids.tolist(), counts.tolist(), strict=True)
            ],
        )
        bloom = bloom.with_block(block_id, index.hashes)
        group, slot = group_of(block_id)
        if slot < GROUP_BLOCKS - 1:
            return bloom
        db.execute(
            "INSERT INTO block_blooms(group_id, bits) VALUES (?, ?)", (group, bloom.encode())
        )
        return GroupBloom(group + 1)

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
        sources = self._candidates(query, verdicts, where, newest_first=True)
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
        wanted: dict[int, list[int]] = {}
        for _, _, block, i in best:
            if block is not None and block not in texts:
                wanted.setdefault(block, []).append(i)
        for block, indexes in wanted.items():
            self._read_frames(block, indexes)
        found = [self._line(loaded, texts, lines, block, seq, i) for _, seq, block, i in best]
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
                    return TailPage(tuple(lines), lines[-1].seq)
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
        """What each template (by id) says of the query: NONE, ALL or MAYBE."""
        cached = self._verdict_cache.get(query)
        texts = self._template_texts
        if cached is not None and len(cached) == len(texts):
            return cached
        if len(query.items) > 1:  # item by item (each kept for other queries), then all of them
            each = np.stack([self._verdicts(Query((item,))) for item in query.items])
            verdicts = np.where((each == _NONE).any(axis=0), _NONE, each.max(axis=0))
            verdicts = verdicts.astype(np.uint8)
        elif query.items and len(query.items[0]) == 1 and is_variable(query.items[0][0]):
            # a lone variable token can stand only where a template has a variable
            has_variable = np.fromiter((PLACEHOLDER in t for t in texts), np.bool_, len(texts))
            verdicts = np.where(has_variable, _MAYBE, _NONE).astype(np.uint8)
        else:  # a template lacking one of the words as text cannot hold them as tokens
            words = [t for item in query.items for t in item if not is_variable(t)]
            verdicts = np.fromiter(
                (
                    _NONE if any(w not in _folded(t) for w in words) else query.judge(t)
                    for t in texts
                ),
                np.uint8,
                len(texts),
            )
        verdicts[0] = Verdict.ALL if query.matches_everything else Verdict.MAYBE
        if len(self._verdict_cache) > 64:
            self._verdict_cache.clear()
        self._verdict_cache[query] = verdicts
        return verdicts

    def _candidates(
        self, query: Query, verdicts: np.ndarray, where: _Filter, *, newest_first: bool = False
    ) -> Iterator[_Source]:
        """The blocks that may hold a match (and the unsealed tail), from the indexes alone;
        `newest_first`: by their latest time, read as they are asked for (a search stops early)."""
        sql = ["SELECT id, first_seq, n, t_min, t_max FROM blocks WHERE t_max >= ? AND t_min <= ?"]
        args: list[object] = [where.since_us, where.until_us]
        indexed = [token_hash(v) for v in query.variables if v.isascii()]
        allowed = set(self._blocks_with(indexed)) if indexed else None
        live = np.flatnonzero(verdicts != Verdict.NONE)
        if len(live) < len(verdicts):
            sql.append(
                "AND id IN (SELECT block_id FROM block_templates"
                " WHERE template_id IN (SELECT value FROM json_each(?)))"
            )
            args.append(json.dumps(live.tolist()))
        if newest_first:
            sql.append("ORDER BY t_max DESC")
        tail: _Source | None = None
        if len(self._tail):
            tail = self._tail_source()
            if not (tail.t_max >= where.since_us and tail.t_min <= where.until_us):
                tail = None
        for row in self._db.execute(" ".join(sql), args):
            if allowed is not None and row[0] not in allowed:
                continue
            if tail is not None and newest_first and row[4] < tail.t_max:
                yield tail
                tail = None
            yield _Source(*row)
        if tail is not None:
            yield tail

    def _blocks_with(self, token_hashes: list[int]) -> list[int]:
        """The ids of the blocks that may hold all these variable tokens (by the filters)."""
        found = self._bloom.blocks_with(token_hashes)
        db = self._db
        for (group,) in db.execute("SELECT group_id FROM block_blooms ORDER BY group_id"):
            key = (group, tuple(token_hashes))  # a stored filter never changes: keep its answer
            hits = self._group_hits.get(key)
            if hits is None:
                with db.blobopen("block_blooms", "bits", group, readonly=True) as blob:
                    hits = stored_blocks_with(group, _reader(blob), token_hashes)
                self._group_hits.put(key, hits)
            found.extend(hits)
        return found

    def _tail_source(self) -> _Source:
        if self._tail_bounds is None:
            times = self._load_columns(None).t_us
            self._tail_bounds = int(times.min()), int(times.max())
        return _Source(None, self._next_seq - len(self._tail), len(self._tail), *self._tail_bounds)

    def _load_columns(self, block_id: int | None) -> DecodedColumns:
        if block_id is None:
            if self._pending_decoded is None:
                tail = self._tail
                self._pending_decoded = DecodedColumns(
                    t_us=tail.t_us,
                    host=tail.host,
                    facility=tail.facility,
                    severity=tail.severity,
                    template=tail.template,
                    source_text=tail.source,
                )
            return self._pending_decoded
        found = self._recent_columns.get(block_id)
        if found is None:
            (blob,) = self._db.execute(
                "SELECT cols FROM blocks WHERE id = ?", (block_id,)
            ).fetchone()
            found = self._recent_columns.put(block_id, decode_columns(blob))
        return found

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
        keep: Bools = judged != _NONE
        if where.host_ids is not None:
            keep &= np.isin(columns.host, where.host_ids)
        if where.severities is not None:
            keep &= np.isin(columns.severity, where.severities)
        if where.since_us > 0 or where.until_us < 2**62:
            keep &= (columns.t_us >= where.since_us) & (columns.t_us <= where.until_us)
        maybe = keep & (judged == _MAYBE)
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
            open_lines = maybe & (check.verdicts[columns.template] == _MAYBE)
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

    def _load_index(self, block_id: int | None) -> TokenScan | StoredIndex:
        if block_id is None:
            if self._pending_index is None:
                self._pending_index = TokenScan(len(self._tail), self._tail.tokens)
            return self._pending_index
        found = self._recent_indexes.get(block_id)
        if found is None:
            db = self._db

            def read(at: int, size: int) -> bytes:
                with db.blobopen("blocks", "vidx", block_id, readonly=True) as blob:
                    blob.seek(at)
                    return blob.read(size)

            found = self._recent_indexes.put(block_id, StoredIndex(read))
        return found

    def _messages(self, source: _Source, picked: np.ndarray) -> list[str]:
        """The messages of lines `picked` (indexes into the source), decompressing only the
        frames that hold them."""
        if source.block_id is None:
            return [self._tail.message[i] for i in picked.tolist()]
        indexes = picked.tolist()
        self._read_frames(source.block_id, indexes)
        return [self._message(source.block_id, i) for i in indexes]

    def _message(self, block_id: int, index: int) -> str:
        """One message of a sealed block, decompressing only the frame holding it."""
        table = self._frame_tables.get(block_id)
        if table is not None:
            per_frame = table[0]
            frame = index // per_frame
            messages = self._recent_frames.get((block_id, frame))
            if messages is not None:
                return messages[index - frame * per_frame]
        per_frame, _ = self._read_frames(block_id, [index])
        frame = index // per_frame
        messages = self._recent_frames.get((block_id, frame))
        assert messages is not None  # just read
        return messages[index - frame * per_frame]

    def _read_frames(self, block_id: int, indexes: list[int]) -> tuple[int, list[int]]:
        """Have the frames holding lines `indexes` of a block decoded (one read of the blob for
        them all); the block's lines per frame and frame offsets."""
        table = self._frame_tables.get(block_id)
        if table is not None:
            per_frame = table[0]
            frames = {i // per_frame for i in indexes}
            if all(self._recent_frames.get((block_id, f)) is not None for f in frames):
                return table
        with self._db.blobopen("blocks", "text", block_id, readonly=True) as blob:
            read = _reader(blob)
            if table is None:
                found = frame_table(read(0, FRAMES_HEADER_BYTES), read)
                table = self._frame_tables.put(block_id, found or (_UNFRAMED, [0, len(blob)]))
            per_frame, offsets = table
            for frame in sorted({i // per_frame for i in indexes}):
                if self._recent_frames.get((block_id, frame)) is not None:
                    continue
                data = read(offsets[frame], offsets[frame + 1] - offsets[frame])
                messages = (
                    decode_text(data).split("\n") if per_frame == _UNFRAMED else decode_frame(data)
                )
                self._recent_frames.put((block_id, frame), messages)
        return table

    def _forget_blocks(self, ids: Collection[int]) -> None:
        """Drop what was decoded of blocks that are gone."""
        gone = set(ids)
        self._recent_columns.drop(lambda block_id: block_id in gone)
        self._recent_indexes.drop(lambda block_id: block_id in gone)
        self._frame_tables.drop(lambda block_id: block_id in gone)
        self._recent_frames.drop(lambda key: key[0] in gone)

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
            severity=_SEVERITIES[int(columns.severity[index])],
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
        self._refuse_if_read_only("remove old log lines")
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
                (n,) = db.execute("SELECT n FROM blocks WHERE id = ?", (block_id,)).fetchone()
                db.execute("DELETE FROM block_templates WHERE block_id = ?", (block_id,))
                db.execute("DELETE FROM blocks WHERE id = ?", (block_id,))
                removed += n
            self._forget_blocks(ids)
            # A filter naming only removed blocks goes (one naming some is merely less sharp).
            db.execute(
                "DELETE FROM block_blooms AS g WHERE NOT EXISTS (SELECT 1 FROM blocks"
                " WHERE id BETWEEN g.group_id * ?1 + 1 AND g.group_id * ?1 + ?1)",
                (GROUP_BLOCKS,),
            )
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


def _upgrade(db: sqlite3.Connection, version: int) -> None:
    """Bring a file of an earlier format to this one, once, in one transaction: index the lines
    of every block (format 1) and build the group filters in place of the full-text index."""
    db.execute("BEGIN IMMEDIATE")
    try:
        if version < 2:
            db.execute("ALTER TABLE blocks ADD COLUMN vidx BLOB")
            for block_id, n, blob in db.execute("SELECT id, n, text FROM blocks").fetchall():
                index = build_index(n, template_keys(decode_text_bytes(blob))[1])
                db.execute(
                    "UPDATE blocks SET vidx = ? WHERE id = ?", (encode_index(index), block_id)
                )
        db.execute("DROP TABLE IF EXISTS block_vars")
        db.execute("CREATE TABLE block_blooms(group_id INTEGER PRIMARY KEY, bits BLOB NOT NULL)")
        (last,) = db.execute("SELECT coalesce(max(id), 0) FROM blocks").fetchone()
        next_block = first_block(group_of(last)[0] + 1) if last else 1  # a fresh group
        db.execute("INSERT INTO meta VALUES ('next_block', ?)", (next_block,))
        for (group,) in db.execute(
            "SELECT DISTINCT (id - 1) / ? FROM blocks", (GROUP_BLOCKS,)
        ).fetchall():
            bloom = GroupBloom.of_blocks(group, _group_hashes(db, group, next_block))
            db.execute(
                "INSERT INTO block_blooms(group_id, bits) VALUES (?, ?)", (group, bloom.encode())
            )
        db.execute(f"PRAGMA user_version={_FORMAT}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def _group_hashes(
    db: sqlite3.Connection, group: int, next_block: int
) -> Iterator[tuple[int, np.ndarray]]:
    """(block id, distinct token hashes) of the stored blocks of `group`."""
    for block_id, blob in db.execute(
        "SELECT id, vidx FROM blocks WHERE id BETWEEN ? AND ? ORDER BY id",
        (first_block(group), min(first_block(group + 1), next_block) - 1),
    ).fetchall():
        yield block_id, decode_index(blob).hashes


def _open_group_bloom(db: sqlite3.Connection, next_block: int) -> GroupBloom:
    """The filter of the group being filled, from the line indexes of its blocks."""
    group, _ = group_of(next_block)
    return GroupBloom.of_blocks(group, _group_hashes(db, group, next_block))


class _Recent(Generic[_Key, _Value]):
    """A map keeping only its `size` most recently used entries."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[_Key, _Value] = OrderedDict()

    def get(self, key: _Key) -> _Value | None:
        found = self._items.get(key)
        if found is not None:
            self._items.move_to_end(key)
        return found

    def put(self, key: _Key, value: _Value) -> _Value:
        self._items[key] = value
        self._items.move_to_end(key)
        if len(self._items) > self._size:
            self._items.popitem(last=False)
        return value

    def drop(self, gone: Callable[[_Key], bool]) -> None:
        for key in [k for k in self._items if gone(k)]:
            del self._items[key]


@functools.lru_cache(maxsize=65536)
def _folded(template: str) -> str:
    return template.casefold()


def _reader(blob: sqlite3.Blob) -> Callable[[int, int], bytes]:
    def read(at: int, size: int) -> bytes:
        blob.seek(at)
        return blob.read(size)

    return read


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
