"""The stats store's write-ahead log: reports are appended here before it is acknowledged.

Layer: stats. Thread: the stats thread appends and replays; one daemon thread of its own only calls
fsync, at most `sync_interval` seconds after a record was written.

Durability: `append` hands the whole record to the kernel with one `writev` before it returns, so a
killed process (kill -9, a crash) loses nothing that was acknowledged; the kernel's copy reaches the
disk at the next fsync, at most `sync_interval` (1 s) later, so a power cut loses at most that much.
Each record carries a CRC-32; replay stops at the first torn or damaged record and cuts it off.

A file `wal/<n>.log` holds the records written after checkpoint n-1; a checkpoint writes them into
segments and deletes the file. Record: header `<IIIII` (magic, timestamp count, series count,
payload bytes, CRC-32 of the payload), then int64 timestamps, int32 series ids and float64 values
laid out timestamp-major.
"""

from __future__ import annotations

import errno
import os
import struct
import threading
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from stats.errors import StatsDiskFullError

_MAGIC: Final = 0x57A75A1
_HEAD: Final = struct.Struct("<IIIII")
_IOV_MAX: Final = 512


def write_all(fd: int, parts: Sequence[bytes | memoryview]) -> None:
    """Write every byte of `parts` at the file's position (tests replace this to inject faults)."""
    for start in range(0, len(parts), _IOV_MAX):
        group = parts[start : start + _IOV_MAX]
        total = sum(memoryview(p).nbytes for p in group)  # an array's len counts items
        written = os.writev(fd, group)
        if written != total:  # a short write: finish it the slow way
            rest = b"".join(bytes(p) for p in group)[written:]
            while rest:
                rest = rest[os.write(fd, rest) :]


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class WriteAheadLog:
    """Append-only record files under `directory`, numbered by checkpoint."""

    def __init__(self, directory: Path, number: int, sync_interval: float) -> None:
        self.directory = directory
        self.number = number
        self._sync_interval = sync_interval
        self._lock = threading.Lock()
        self._dirty = False
        self._size = 0
        self._fd = self._open(number)
        os.fsync(self._fd)  # what a killed process left in the page cache is on disk from here
        self._stop = threading.Event()
        self._syncer = threading.Thread(target=self._sync_loop, name="stats-wal-fsync", daemon=True)
        self._syncer.start()

    def _open(self, number: int) -> int:
        path = self.directory / f"{number}.log"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._size = os.fstat(fd).st_size
        return fd

    def append(
        self, ts: npt.NDArray[np.int64], ids: npt.NDArray[np.int32], values: npt.NDArray[np.float64]
    ) -> None:
        """Log one block (a report is one timestamp); on a full disk the log is left intact."""
        crc = zlib.crc32(values.data, zlib.crc32(ids.data, zlib.crc32(ts.data)))
        nbytes = ts.nbytes + ids.nbytes + values.nbytes
        head = _HEAD.pack(_MAGIC, ts.size, ids.size, nbytes, crc)
        try:
            write_all(self._fd, (head, ts.data, ids.data, values.data))
        except OSError as exc:
            os.ftruncate(self._fd, self._size)  # no half record stays behind
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise StatsDiskFullError(str(self.directory), "logging a report") from None
            raise
        self._size += _HEAD.size + nbytes
        self._dirty = True

    @property
    def size_bytes(self) -> int:
        return self._size

    def sync(self) -> None:
        """fsync now (the background thread does it anyway within `sync_interval`)."""
        with self._lock:
            if self._dirty:
                self._dirty = False
                os.fsync(self._fd)

    def _sync_loop(self) -> None:
        while not self._stop.wait(self._sync_interval):
            self.sync()

    def rotate(self) -> int:
        """Close the current file (synced) and start the next; returns the closed file's number."""
        with self._lock:
            os.fsync(self._fd)
            self._dirty = False
            os.close(self._fd)
            closed = self.number
            self.number += 1
            self._fd = self._open(self.number)
        fsync_dir(self.directory)
        return closed

    def drop_through(self, number: int) -> None:
        """Delete the files up to `number`: a checkpoint has made them redundant."""
        for n, path in list_logs(self.directory):
            if n <= number:
                path.unlink()

    def close(self) -> None:
        self._stop.set()
        self._syncer.join()
        with self._lock:
            os.fsync(self._fd)
            os.close(self._fd)


def list_logs(directory: Path) -> list[tuple[int, Path]]:
    found = []
    for path in directory.glob("*.log"):
        if path.stem.isdigit():
            found.append((int(path.stem), path))
    return sorted(found)


Block = tuple[npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.float64]]


def replay(path: Path) -> Iterator[Block]:
    """Yield the intact records of one file; cut off a torn or damaged tail."""
    data = path.read_bytes()
    pos = 0
    while pos + _HEAD.size <= len(data):
        magic, n_ts, n_ids, nbytes, crc = _HEAD.unpack_from(data, pos)
        end = pos + _HEAD.size + nbytes
        if magic != _MAGIC or nbytes != 8 * n_ts + 4 * n_ids + 8 * n_ts * n_ids or end > len(data):
            break
        body = memoryview(data)[pos + _HEAD.size : end]
        if zlib.crc32(body) != crc:
            break
        ts = np.frombuffer(body, dtype=np.int64, count=n_ts)
        ids = np.frombuffer(body, dtype=np.int32, count=n_ids, offset=8 * n_ts)
        values = np.frombuffer(body, dtype=np.float64, offset=8 * n_ts + 4 * n_ids)
        yield ts, ids, values.reshape(n_ts, n_ids)
        pos = end
    if pos < len(data):
        with open(path, "r+b") as fh:
            fh.truncate(pos)
            os.fsync(fh.fileno())
