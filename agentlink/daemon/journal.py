"""The agent's record journal: its statistics and log records, numbered and kept on disk, bounded.

Layer: agentlink.daemon (standard library and msgpack only: no core, SQLAlchemy or Qt). Thread:
the agent's reactor thread, which each call blocks briefly on local disk (one write per append,
a few block reads per read). The agent appends what its backend collects, pushes it, and when a
desktop comes back it backfills with `read_since` what it missed; the journal keeps at most
`max_bytes` by deleting its oldest whole segments, and says so (`Batch.first_available`).

On disk, in one directory (0700) that one journal locks (`flock`) while open:

- Segment files `<first seq, 20 digits>.seg` (0600), appended to and never rewritten. Each starts
  with the 8 bytes `CDJRNL1\\n`, then records, each one frame: a 20-byte header of big-endian
  seq (u64), body length (u32), CRC-32 of the body (u32) and CRC-32 of those 16 header bytes
  (u32), then the body: the record as one msgpack map. Within a segment the seqs run on by one
  from the number in its name; the next segment's name is the seq its first record got.
- `journal.state` (0600, JSON `{"format": 1, "last_seq": N}`, replaced atomically): the highest
  seq handed out, written when segments are deleted and at close. The newest segment gives that
  mark too; the file keeps it when every segment is gone.

Sequence numbers start at 1 and never repeat or go back. Damage never stops the journal from
opening or costs a good record before it: a torn last record (a crash in the middle of its write)
is cut away, and the next record takes its number, since an append that did not return was never
pushed. Any other damage (a bad checksum, bytes that are not a record) ends its segment's
readable records there, with a warning; if that is the newest segment, appends go to a new one
whose first number lies past every record the damaged bytes could have held, so numbers that may
have been pushed are never given again. Records are written with one `write` per append (so they
survive the agent's crash) and fsync'ed only with `fsync=True` or on `sync()`: a power failure
loses at most the records since the last fsync, and then their numbers may be given again.
"""

from __future__ import annotations

import bisect
import contextlib
import fcntl
import json
import logging
import math
import os
import re
import secrets
import stat
import struct
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Final, NamedTuple

import msgpack

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_SEGMENT_BYTES",
    "MAX_RECORD_BYTES",
    "Batch",
    "JournalError",
    "JournalLockedError",
    "JournalRecord",
    "RecordJournal",
    "RecordTooLargeError",
]

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES: Final = 64 * 1024 * 1024
DEFAULT_SEGMENT_BYTES: Final = 4 * 1024 * 1024
"""Unless the journal is small: then a quarter of `max_bytes`, so that one drop is a quarter."""
MIN_SEGMENT_BYTES: Final = 256
MAX_RECORD_BYTES: Final = 1024 * 1024
"""The largest msgpack body of one record (a smaller segment size lowers it to what fits)."""

SEGMENT_MAGIC: Final = b"CDJRNL1\n"
STATE_FILE: Final = "journal.state"
_STATE_FORMAT: Final = 1
_FRAME: Final = struct.Struct(">QIII")  # seq, body length, body CRC-32, header CRC-32
_HEADER_CHECKED: Final = 16  # the header bytes the header CRC covers
_MIN_FRAME_BYTES: Final = _FRAME.size + 1  # the smallest body: an empty map
_SEGMENT_NAME: Final = re.compile(r"^(\d{20})\.seg$")
_READ_CHUNK: Final = 64 * 1024


class JournalError(Exception):
    """The journal cannot be used as asked; the message says why and what to do."""


class JournalLockedError(JournalError):
    """Another open journal (another agent process) holds the directory."""


class RecordTooLargeError(JournalError, ValueError):
    """A record's encoding exceeds what one frame may hold; nothing of its append was written."""


class JournalRecord(NamedTuple):
    seq: int
    record: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Batch:
    """The answer of `read_since(after_seq, limit)`.

    `records` are in seq order. Records after_seq + 1 .. first_available - 1 were deleted to keep
    the journal bounded (`missed` counts them). A jump between two consecutive seqs means records
    lost to damage. `last` is the highest seq handed out; `last < after_seq` means this journal
    is not the one the reader followed (its directory was wiped). `remaining` is at most how many
    records follow this batch: 0 once it reached the end of the journal."""

    after_seq: int
    records: tuple[JournalRecord, ...]
    first_available: int
    last: int
    remaining: int

    @property
    def missed(self) -> int:
        return max(0, self.first_available - 1 - self.after_seq)


@dataclass(eq=False, slots=True)
class _Segment:
    first_seq: int
    path: Path
    size: int
    """Bytes in the file, as far as this journal wrote or found them."""
    damaged_at: int | None = None
    """Where a bad frame ends the readable records, once found."""

    @property
    def readable_end(self) -> int:
        return self.size if self.damaged_at is None else self.damaged_at


@dataclass(frozen=True, slots=True)
class _Cursor:
    """Where the last read stopped, so that reading on from there skips nothing twice."""

    seq: int
    segment: _Segment
    offset: int


class _FrameReader:
    """Walks the frames of one segment file from `offset` (0: the magic first) up to `end`,
    checking each; iterating yields (seq, frame start, body) of the good ones. Where a bad frame
    stops the walk, `problem` says what it is, `torn` whether it is a record cut short at the end
    of the file, and `offset` where the good frames end."""

    def __init__(self, file: BinaryIO, offset: int, end: int, expected_seq: int) -> None:
        self.offset = offset
        self.expected_seq = expected_seq
        self.problem: str | None = None
        self.torn = False
        self._file = file
        self._end = end
        self._buffer = b""
        self._pos = 0
        file.seek(offset)

    def _have(self, count: int) -> bool:
        while len(self._buffer) - self._pos < count:
            chunk = self._file.read(max(_READ_CHUNK, count))
            if not chunk:
                return False
            self._buffer = self._buffer[self._pos :] + chunk
            self._pos = 0
        return True

    def _stop(self, problem: str, *, torn: bool = False) -> None:
        self.problem = problem
        self.torn = torn

    def __iter__(self) -> Iterator[tuple[int, int, bytes]]:
        if self.offset == 0 and not self._read_magic():
            return
        while self.offset < self._end:
            if self._end - self.offset < _FRAME.size or not self._have(_FRAME.size):
                self._stop("a partial record header", torn=True)
                return
            pos = self._pos
            seq, length, body_crc, header_crc = _FRAME.unpack_from(self._buffer, pos)
            if zlib.crc32(self._buffer[pos : pos + _HEADER_CHECKED]) != header_crc:
                self._stop("a damaged record header")
                return
            if seq != self.expected_seq:
                self._stop(f"record {seq} where {self.expected_seq} should follow")
                return
            if not 0 < length <= MAX_RECORD_BYTES:
                self._stop(f"an impossible record length ({length} bytes)")
                return
            frame_bytes = _FRAME.size + length
            if self._end - self.offset < frame_bytes or not self._have(frame_bytes):
                self._stop("a partial record", torn=True)
                return
            pos = self._pos  # reading the rest of the frame may have moved it in the buffer
            body = self._buffer[pos + _FRAME.size : pos + frame_bytes]
            if zlib.crc32(body) != body_crc:
                self._stop(f"record {seq} with a bad checksum")
                return
            start = self.offset
            self._pos += frame_bytes
            self.offset += frame_bytes
            self.expected_seq += 1
            yield seq, start, body

    def _read_magic(self) -> bool:
        size = len(SEGMENT_MAGIC)
        available = self._have(size) and self._end >= size
        magic = self._buffer[self._pos : self._pos + min(size, self._end)]
        if available and magic == SEGMENT_MAGIC:
            self._pos += size
            self.offset = size
            return True
        if not available and SEGMENT_MAGIC.startswith(magic):
            self._stop("a partial segment header", torn=True)
        else:
            self._stop("no journal segment header")
        return False


def _frame(seq: int, body: bytes) -> bytes:
    head = struct.pack(">QII", seq, len(body), zlib.crc32(body))
    return head + struct.pack(">I", zlib.crc32(head)) + body


def _refuse_extension(code: int, data: bytes) -> object:
    raise ValueError(f"msgpack extension type {code}")


def _decode(body: bytes) -> dict[str, Any] | None:
    try:
        record = msgpack.unpackb(body, raw=False, strict_map_key=False, ext_hook=_refuse_extension)
    except (ValueError, TypeError, msgpack.UnpackException):
        return None
    return record if isinstance(record, dict) else None


def _ensure_private_directory(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    status = path.stat()
    if not stat.S_ISDIR(status.st_mode):
        raise JournalError(f"the record journal needs {path} to be a directory")
    if stat.S_IMODE(status.st_mode) != 0o700:
        # Records carry hostnames and log lines; mkdir's mode also passed through the umask.
        path.chmod(0o700)


class RecordJournal:
    """The journal in `directory`, opened (repaired if damaged) and locked until `close()`.

    It keeps between `max_bytes - segment_bytes` and `max_bytes` of the newest records, in
    segments of at most `segment_bytes` (by default 4 MiB, or a quarter of `max_bytes` if that is
    less). It holds in memory only the list of its segments and where the last read stopped.
    With `fsync=True` every append is on disk when it returns; otherwise see `sync()`."""

    def __init__(
        self,
        directory: Path,
        max_bytes: int = DEFAULT_MAX_BYTES,
        segment_bytes: int | None = None,
        *,
        fsync: bool = False,
    ) -> None:
        if segment_bytes is None:
            segment_bytes = max(MIN_SEGMENT_BYTES, min(DEFAULT_SEGMENT_BYTES, max_bytes // 4))
        if segment_bytes < MIN_SEGMENT_BYTES:
            raise ValueError(f"segment_bytes must be at least {MIN_SEGMENT_BYTES}")
        if max_bytes < 2 * segment_bytes:
            raise ValueError(
                f"max_bytes ({max_bytes}) must be at least twice segment_bytes ({segment_bytes}): "
                "the journal drops whole segments and always keeps the newest"
            )
        self.directory = directory
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        self.fsync = fsync
        self._max_body = min(MAX_RECORD_BYTES, segment_bytes - len(SEGMENT_MAGIC) - _FRAME.size)
        self._segments: list[_Segment] = []
        self._total_bytes = 0
        self._next_seq = 1
        self._stored_last_seq = 0
        self._fd: int | None = None
        """The newest segment, open for appending; None: the next append starts a segment."""
        self._cursor: _Cursor | None = None
        self._closed = False
        _ensure_private_directory(directory)
        self._dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            fcntl.flock(self._dir_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._dir_fd)
            raise JournalLockedError(
                f"the record journal in {directory} is in use by another agent process; stop "
                "that one first, or give this one a journal directory of its own"
            ) from None
        try:
            self._open()
        except BaseException:
            self._release()
            raise

    # --- public -----------------------------------------------------------------------------------

    @property
    def last_seq(self) -> int:
        """The highest seq handed out (0 before the first record)."""
        return self._next_seq - 1

    @property
    def first_available(self) -> int:
        """The oldest seq the journal still holds (last_seq + 1 when it holds none)."""
        return self._segments[0].first_seq if self._segments else self._next_seq

    @property
    def size_bytes(self) -> int:
        return self._total_bytes

    def append(self, records: Sequence[Mapping[str, Any]]) -> tuple[int, int]:
        """Store `records` (plain data: they are msgpack-encoded) with the next seqs, and return
        the first and the last seq given (an empty range, (n, n - 1), for no records). All are
        encoded before any is written, so a record that cannot be (TypeError) or is too large
        (RecordTooLargeError) stores none; an OSError (disk full) may leave the records of
        segments filled before it stored, and never a damaged record or a repeated seq."""
        self._check_open()
        bodies = [self._encode(record) for record in records]
        first = self._next_seq
        seq = first
        chunk = bytearray()
        for body in bodies:
            frame = _frame(seq, body)
            active = self._segments[-1] if self._fd is not None else None
            if active is None or active.size + len(chunk) + len(frame) > self.segment_bytes:
                self._write(chunk, seq)
                chunk = bytearray(SEGMENT_MAGIC)
                self._start_segment(seq)
            chunk += frame
            seq += 1
        self._write(chunk, seq)
        self._enforce_bound()
        return first, seq - 1

    def read_since(self, after_seq: int, limit: int) -> Batch:
        """Up to `limit` records with seqs after `after_seq`, oldest first; see `Batch`."""
        self._check_open()
        if after_seq < 0:
            raise ValueError("after_seq is a sequence number: 0 or more")
        if limit < 1:
            raise ValueError("limit must be at least 1")
        last = self.last_seq
        found: list[JournalRecord] = []
        full = False
        if after_seq < last and self._segments:
            index, offset, expected = self._start_point(after_seq)
            for segment in self._segments[index:]:
                full = self._read_segment(segment, offset, expected, after_seq, limit, found)
                if full:
                    break
                offset, expected = 0, None
        return Batch(
            after_seq=after_seq,
            records=tuple(found),
            first_available=self.first_available,
            last=last,
            remaining=last - found[-1].seq if full else 0,
        )

    def sync(self) -> None:
        """Put every record appended so far on disk (fsync), so a power failure keeps them."""
        self._check_open()
        if self._fd is not None:
            os.fsync(self._fd)
        os.fsync(self._dir_fd)

    def close(self) -> None:
        """Store the high-water mark, close the files and unlock the directory. Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._fd is not None and self.fsync:
                os.fsync(self._fd)
            self._store_last_seq()
        finally:
            self._release()

    def __enter__(self) -> RecordJournal:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- opening ----------------------------------------------------------------------------------

    def _open(self) -> None:
        self._stored_last_seq = self._read_state()
        for stale in self.directory.glob(f".{STATE_FILE}.*.tmp"):
            with contextlib.suppress(FileNotFoundError):
                stale.unlink()
        for entry in os.scandir(self.directory):
            match = _SEGMENT_NAME.match(entry.name)
            if match is None:
                continue
            status = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(status.st_mode):
                log.warning("record journal: ignoring %s, which is not a regular file", entry.path)
                continue
            if stat.S_IMODE(status.st_mode) & 0o077:
                os.chmod(entry.path, 0o600)
            self._segments.append(_Segment(int(match.group(1)), Path(entry.path), status.st_size))
        self._segments.sort(key=lambda segment: segment.first_seq)
        self._total_bytes = sum(segment.size for segment in self._segments)
        # A segment's name is the seq its first record got (or was getting, if torn).
        next_seq = max(
            self._stored_last_seq + 1, self._segments[-1].first_seq if self._segments else 1
        )
        changed = False
        while self._segments:
            newest = self._segments[-1]
            with newest.path.open("rb") as file:
                reader = _FrameReader(file, 0, newest.size, newest.first_seq)
                for _ in reader:
                    pass
            good_end, after_good = reader.offset, reader.expected_seq
            if reader.problem is None:
                next_seq = max(next_seq, after_good)
                if after_good == next_seq:
                    self._fd = self._open_for_append(newest.path)
                break
            changed = True
            if not reader.torn:
                # The damaged bytes may have held records that were pushed: skip all their seqs.
                lost = math.ceil((newest.size - good_end) / _MIN_FRAME_BYTES)
                next_seq = max(next_seq, after_good + lost)
                self._mark_damaged(newest, good_end, reader.problem)
                break
            log.warning(
                "record journal %s: %s at byte %d (the agent stopped while writing it); "
                "removed its %d bytes",
                newest.path,
                reader.problem,
                good_end,
                newest.size - good_end,
            )
            self._total_bytes -= newest.size - good_end
            if good_end > len(SEGMENT_MAGIC):
                fd = self._open_for_append(newest.path)
                try:
                    os.ftruncate(fd, good_end)
                    if self.fsync:
                        os.fsync(fd)
                except BaseException:
                    os.close(fd)
                    raise
                newest.size = good_end
                next_seq = max(next_seq, after_good)
                if after_good == next_seq:
                    self._fd = fd
                else:
                    os.close(fd)
                break
            # Not one good record: the segment goes, and the one before it is the newest.
            self._total_bytes -= good_end
            newest.path.unlink()
            self._segments.pop()
        self._next_seq = next_seq
        if self.fsync and changed:
            os.fsync(self._dir_fd)
        if self._drop_oldest() or changed:
            self._store_last_seq()

    def _read_state(self) -> int:
        path = self.directory / STATE_FILE
        try:
            document = json.loads(path.read_bytes())
        except FileNotFoundError:
            return 0
        except (OSError, ValueError) as error:
            log.warning("record journal: ignoring %s, which cannot be read (%s)", path, error)
            return 0
        last_seq = document.get("last_seq") if isinstance(document, dict) else None
        if isinstance(last_seq, bool) or not isinstance(last_seq, int) or last_seq < 0:
            log.warning("record journal: ignoring %s, which holds no last_seq", path)
            return 0
        return last_seq

    # --- writing ----------------------------------------------------------------------------------

    def _encode(self, record: Mapping[str, Any]) -> bytes:
        body: bytes = msgpack.packb(
            record if isinstance(record, dict) else dict(record), use_bin_type=True
        )
        if len(body) > self._max_body:
            raise RecordTooLargeError(
                f"a record of {len(body)} bytes does not fit the record journal "
                f"(at most {self._max_body} bytes each with {self.segment_bytes}-byte segments)"
            )
        return body

    def _open_for_append(self, path: Path) -> int:
        return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC | os.O_NOFOLLOW)

    def _start_segment(self, first_seq: int) -> None:
        self._close_active()
        if self._segments and self._segments[-1].first_seq == first_seq:
            # A newest segment named for the next seq has no record in it (damaged at its start).
            stale = self._segments.pop()
            self._total_bytes -= stale.size
            with contextlib.suppress(FileNotFoundError):
                stale.path.unlink()
        path = self.directory / f"{first_seq:020d}.seg"
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW
        self._fd = os.open(path, flags, 0o600)
        self._segments.append(_Segment(first_seq, path, 0))
        if self.fsync:
            os.fsync(self._dir_fd)

    def _write(self, chunk: bytearray, next_seq: int) -> None:
        """Append `chunk` (whole frames, ending before `next_seq`) to the newest segment."""
        if not chunk:
            return
        assert self._fd is not None
        segment = self._segments[-1]
        view = memoryview(chunk)
        try:
            while view:
                view = view[os.write(self._fd, view) :]
            if self.fsync:
                os.fsync(self._fd)
        except OSError:
            self._undo_write(segment, len(chunk), next_seq)
            raise
        segment.size += len(chunk)
        self._total_bytes += len(chunk)
        self._next_seq = next_seq

    def _undo_write(self, segment: _Segment, attempted: int, next_seq: int) -> None:
        """After a failed write, take its bytes back; if that fails too, never give their seqs
        again and append to a new segment."""
        self._close_active()
        try:
            if segment.size == 0:
                segment.path.unlink()
                self._segments.pop()
            else:
                os.truncate(segment.path, segment.size)
                self._fd = self._open_for_append(segment.path)
        except OSError as error:
            log.warning(
                "record journal %s: could not take back a failed write (%s); seqs up to %d "
                "will not be used",
                segment.path,
                error,
                next_seq - 1,
            )
            segment.damaged_at = segment.size
            segment.size += attempted
            self._total_bytes += attempted
            self._next_seq = next_seq

    def _enforce_bound(self) -> None:
        if self._drop_oldest():
            self._store_last_seq()

    def _drop_oldest(self) -> bool:
        dropped = False
        while self._total_bytes > self.max_bytes and len(self._segments) > 1:
            oldest = self._segments.pop(0)
            with contextlib.suppress(FileNotFoundError):
                oldest.path.unlink()
            self._total_bytes -= oldest.size
            dropped = True
            log.info(
                "record journal: dropped records %d to %d to stay within %d bytes",
                oldest.first_seq,
                self._segments[0].first_seq - 1,
                self.max_bytes,
            )
        if dropped and self.fsync:
            os.fsync(self._dir_fd)
        return dropped

    def _store_last_seq(self) -> None:
        last_seq = self.last_seq
        if last_seq == self._stored_last_seq:
            return
        data = json.dumps({"format": _STATE_FORMAT, "last_seq": last_seq}).encode()
        path = self.directory / STATE_FILE
        temporary = path.with_name(f".{STATE_FILE}.{secrets.token_hex(4)}.tmp")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW
        try:
            fd = os.open(temporary, flags, 0o600)
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                if self.fsync:
                    os.fsync(file.fileno())
            os.replace(temporary, path)
            if self.fsync:
                os.fsync(self._dir_fd)
        except OSError as error:
            # The newest segment still gives the mark; the file is for when none is left.
            log.warning("record journal: could not write %s (%s)", path, error)
            with contextlib.suppress(OSError):
                temporary.unlink()
            return
        self._stored_last_seq = last_seq

    # --- reading ----------------------------------------------------------------------------------

    def _start_point(self, after_seq: int) -> tuple[int, int, int | None]:
        """The segment index, offset and seq expected there (None: the segment's first) to read
        the records after `after_seq` from."""
        cursor = self._cursor
        if cursor is not None and cursor.seq == after_seq:
            segment = cursor.segment
            if segment in self._segments and cursor.offset <= segment.readable_end:
                return self._segments.index(segment), cursor.offset, after_seq + 1
        index = bisect.bisect_right(
            self._segments, after_seq + 1, key=lambda segment: segment.first_seq
        )
        return max(index - 1, 0), 0, None

    def _read_segment(
        self,
        segment: _Segment,
        offset: int,
        expected_seq: int | None,
        after_seq: int,
        limit: int,
        found: list[JournalRecord],
    ) -> bool:
        """Add the records of `segment` after `after_seq` to `found`; True once it holds `limit`."""
        end = segment.readable_end
        if offset >= end:
            return False
        try:
            file = segment.path.open("rb")
        except FileNotFoundError:
            self._mark_damaged(segment, 0, "the file is gone")
            return False
        with file:
            first = segment.first_seq if expected_seq is None else expected_seq
            reader = _FrameReader(file, offset, end, first)
            for seq, start, body in reader:
                if seq <= after_seq:
                    continue
                record = _decode(body)
                if record is None:
                    self._mark_damaged(segment, start, f"record {seq} that is not a msgpack map")
                    return False
                found.append(JournalRecord(seq, record))
                self._cursor = _Cursor(seq, segment, reader.offset)
                if len(found) == limit:
                    return True
        if reader.problem is not None:
            self._mark_damaged(segment, reader.offset, reader.problem)
        return False

    def _mark_damaged(self, segment: _Segment, offset: int, problem: str) -> None:
        log.warning(
            "record journal %s: %s at byte %d; the records from there to the end of this "
            "segment (%d bytes) cannot be read",
            segment.path,
            problem,
            offset,
            segment.size - offset,
        )
        segment.damaged_at = offset
        if self._segments and segment is self._segments[-1]:
            self._close_active()  # appending behind damage would hide the new records

    # --- closing ----------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError("the record journal is closed")

    def _close_active(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

    def _release(self) -> None:
        try:
            self._close_active()
        finally:
            os.close(self._dir_fd)  # closing it releases the lock
