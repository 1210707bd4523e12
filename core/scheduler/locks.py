"""State locks: which unfinished jobs read or write which objects, and the order they imply.

Layer: core. Thread: the database worker's. A job write-locks the object it changes (from its
begin state to its end state) and read-locks the objects it depends on. A new job waits for the
newest earlier writer of everything it touches, and a writer also waits for the readers since
then; reads never wait for reads. So commands touching the same object run in submission order
and unrelated work runs in parallel. The expected state of an object is the end state of its
newest unfinished writer.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

from core.scheduler.world import Ref

JobHandle = Hashable
"""A job id, or a key of a job still being planned."""


@dataclass
class _Entries:
    writer: JobHandle | None = None
    end_state: str | None = None
    readers: dict[JobHandle, None] = field(default_factory=dict)
    """Readers since the newest writer, in order (a dict for O(1) removal)."""


class LockTable:
    def __init__(self) -> None:
        self._by_ref: dict[Ref, _Entries] = defaultdict(_Entries)
        self._held: dict[JobHandle, list[tuple[Ref, bool]]] = {}

    def expected_state(self, ref: Ref) -> str | None:
        entries = self._by_ref.get(ref)
        return entries.end_state if entries is not None and entries.writer is not None else None

    def writer(self, ref: Ref) -> JobHandle | None:
        entries = self._by_ref.get(ref)
        return entries.writer if entries is not None else None

    def add(
        self,
        job: JobHandle,
        *,
        writes: Iterable[tuple[Ref, str]] = (),
        reads: Iterable[Ref] = (),
    ) -> set[JobHandle]:
        """Register a job's locks; returns the earlier jobs it must wait for."""
        waits: set[JobHandle] = set()
        held: list[tuple[Ref, bool]] = []
        written = set()
        for ref, end_state in writes:
            entries = self._by_ref[ref]
            if entries.writer is not None:
                waits.add(entries.writer)
            waits.update(entries.readers)
            entries.writer, entries.end_state, entries.readers = job, end_state, {}
            held.append((ref, True))
            written.add(ref)
        for ref in reads:
            if ref in written:
                continue
            entries = self._by_ref[ref]
            if entries.writer is not None:
                waits.add(entries.writer)
            entries.readers[job] = None
            held.append((ref, False))
        waits.discard(job)
        self._held[job] = held
        return waits

    def release(self, job: JobHandle) -> None:
        """Forget a finished job's locks."""
        for ref, write in self._held.pop(job, ()):
            entries = self._by_ref.get(ref)
            if entries is None:
                continue
            if write and entries.writer == job:
                entries.writer = entries.end_state = None
            elif not write:
                entries.readers.pop(job, None)
            if entries.writer is None and not entries.readers:
                del self._by_ref[ref]

    def rename(self, old: JobHandle, new: JobHandle) -> None:
        """A planned job was saved and got its id."""
        held = self._held.pop(old, [])
        self._held[new] = held
        for ref, write in held:
            entries = self._by_ref[ref]
            if write and entries.writer == old:
                entries.writer = new
            elif not write:
                entries.readers = {new if r == old else r: None for r in entries.readers}

    def holders(self) -> set[JobHandle]:
        return set(self._held)

    def write_locked(self, ref: Ref) -> bool:
        return self.writer(ref) is not None
