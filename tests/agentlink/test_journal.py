"""The agent's record journal: records come back with their numbers, numbers never repeat or go
back (across restarts, drops and damage), the journal stays within its size and says what it
dropped, a crash in the middle of a write or damaged bytes cost no earlier record and never stop
it from opening, and nobody else may read the files."""

from __future__ import annotations

import logging
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentlink.daemon.journal import (
    STATE_FILE,
    JournalLockedError,
    JournalRecord,
    RecordJournal,
    RecordTooLargeError,
)

SMALL: dict[str, Any] = {"max_bytes": 2048, "segment_bytes": 512}
"""Small enough that a few dozen records fill it and the oldest segments go."""


def stat_record(n: int) -> dict[str, Any]:
    return {
        "kind": "stat",
        "t": 1_700_000_000.0 + n,
        "subject": "demofs-OST0001",
        "metric": "read_bytes",
        "value": float(n),
    }


def log_record(n: int) -> dict[str, Any]:
    return {
        "kind": "log",
        "t": 1_700_000_000.0 + n,
        "severity": "warning",
        "facility": "kern",
        "source": "oss1.example.com",
        "message": f"LustreError: {n} " + "x" * (n % 40),
    }


def segment_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.seg"))


def disk_bytes(directory: Path) -> int:
    return sum(path.stat().st_size for path in segment_files(directory))


def everything(journal: RecordJournal) -> list[JournalRecord]:
    return list(journal.read_since(0, 1_000_000).records)


def crash_copy(directory: Path, destination: Path) -> Path:
    """The directory as a crash would leave it (what was written, without close's bookkeeping)."""
    shutil.copytree(directory, destination)
    return destination


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    return tmp_path / "journal"


def test_appended_records_come_back_in_order_with_their_seqs(directory: Path) -> None:
    first_batch = [stat_record(1), log_record(2), stat_record(3)]
    second_batch = [log_record(4), stat_record(5)]
    with RecordJournal(directory) as journal:
        assert journal.append(first_batch) == (1, 3)
        assert journal.append(second_batch) == (4, 5)
        assert journal.append([]) == (6, 5)

        batch = journal.read_since(0, 100)
        assert batch.records == tuple(
            JournalRecord(seq, record)
            for seq, record in enumerate(first_batch + second_batch, start=1)
        )
        assert (batch.first_available, batch.last, batch.missed, batch.remaining) == (1, 5, 0, 0)

        after_three = journal.read_since(3, 100)
        assert [seq for seq, _ in after_three.records] == [4, 5]
        assert after_three.records[0].record == log_record(4)

        caught_up = journal.read_since(5, 100)
        assert (caught_up.records, caught_up.last, caught_up.remaining) == ((), 5, 0)


def test_a_fresh_journal_holds_nothing_and_numbers_from_one(directory: Path) -> None:
    with RecordJournal(directory) as journal:
        batch = journal.read_since(0, 10)
        assert (batch.records, batch.first_available, batch.last, batch.missed) == ((), 1, 0, 0)
        assert journal.append([stat_record(1)]) == (1, 1)


def test_paging_with_a_limit_reads_every_record_once(directory: Path) -> None:
    records = [stat_record(n) if n % 3 else log_record(n) for n in range(1, 301)]
    with RecordJournal(directory, max_bytes=1 << 20, segment_bytes=1024) as journal:
        journal.append(records)
        pages = []
        after = 0
        while True:
            batch = journal.read_since(after, 7)
            pages.append(batch)
            if not batch.records:
                break
            assert len(batch.records) <= 7
            assert batch.remaining == 300 - batch.records[-1].seq
            after = batch.records[-1].seq
        # Pages from an unrelated position (not where the last read stopped) agree.
        assert journal.read_since(150, 3).records == pages[150 // 7].records[3:6]

    read_back = [entry for page in pages for entry in page.records]
    assert read_back == [JournalRecord(seq, record) for seq, record in enumerate(records, 1)]
    assert pages[-1].remaining == 0


def test_records_read_back_from_segments_larger_than_one_read(directory: Path) -> None:
    # The reader takes a segment 64 KiB at a time: records straddle those reads.
    records = [log_record(n) for n in range(3000)]
    with RecordJournal(directory, max_bytes=4 << 20, segment_bytes=1 << 20) as journal:
        journal.append(records)
    with RecordJournal(directory, max_bytes=4 << 20, segment_bytes=1 << 20) as journal:
        assert disk_bytes(directory) > 4 * 64 * 1024
        assert everything(journal) == [
            JournalRecord(seq, record) for seq, record in enumerate(records, 1)
        ]
        assert journal.append([stat_record(1)]) == (3001, 3001)


def test_seqs_continue_after_a_clean_reopen_and_after_a_crash(
    directory: Path, tmp_path: Path
) -> None:
    with RecordJournal(directory) as journal:
        journal.append([stat_record(n) for n in range(10)])
    with RecordJournal(directory) as journal:
        assert journal.append([stat_record(10)]) == (11, 11)
        crashed = crash_copy(directory, tmp_path / "crashed")
    with RecordJournal(crashed) as journal:
        assert journal.read_since(0, 100).last == 11
        assert journal.append([stat_record(11), stat_record(12)]) == (12, 13)
        assert [seq for seq, _ in everything(journal)] == list(range(1, 14))


def test_a_second_journal_on_the_same_directory_is_refused(directory: Path) -> None:
    with RecordJournal(directory) as journal:
        journal.append([stat_record(1)])
        with pytest.raises(JournalLockedError, match="in use by another agent process"):
            RecordJournal(directory)
    with RecordJournal(directory) as journal:
        assert journal.append([stat_record(2)]) == (2, 2)


def test_the_journal_stays_within_max_bytes_and_reports_what_it_dropped(directory: Path) -> None:
    records = {n: log_record(n) for n in range(1, 401)}
    with RecordJournal(directory, **SMALL) as journal:
        for record in records.values():
            journal.append([record])
            assert disk_bytes(directory) <= SMALL["max_bytes"]
            assert journal.size_bytes == disk_bytes(directory)
        assert disk_bytes(directory) >= SMALL["max_bytes"] - SMALL["segment_bytes"]

        batch = journal.read_since(0, 1000)
        first = batch.first_available
        assert first > 1
        assert batch.missed == first - 1
        assert batch.last == 400
        # Exactly the newest records remain, none missing between first_available and last.
        assert batch.records == tuple(JournalRecord(n, records[n]) for n in range(first, 401))

        # A reader that had seen up to 10 learns which records are gone and reads on after them.
        behind = journal.read_since(10, 5)
        assert behind.missed == first - 11
        assert [seq for seq, _ in behind.records] == list(range(first, first + 5))
        assert journal.read_since(first - 1, 1000).missed == 0


def test_seqs_continue_when_every_segment_is_gone(directory: Path) -> None:
    with RecordJournal(directory, **SMALL) as journal:
        journal.append([log_record(n) for n in range(60)])
    for segment in segment_files(directory):
        segment.unlink()
    with RecordJournal(directory, **SMALL) as journal:
        batch = journal.read_since(0, 10)
        assert (batch.records, batch.first_available, batch.last, batch.missed) == ((), 61, 60, 60)
        assert journal.append([stat_record(1)]) == (61, 61)


def test_seqs_do_not_go_back_when_the_state_file_is_damaged(directory: Path) -> None:
    with RecordJournal(directory, **SMALL) as journal:
        journal.append([log_record(n) for n in range(60)])
    (directory / STATE_FILE).write_bytes(b"\x00garbage")
    with RecordJournal(directory, **SMALL) as journal:
        assert journal.append([stat_record(1)]) == (61, 61)


def _torn_cases(tmp_path: Path, last_starts_a_segment: bool) -> tuple[bytes, int, int]:
    """A crashed journal's newest segment: its bytes, where its last record starts, its seq."""
    live = tmp_path / "live"
    with RecordJournal(live, **SMALL) as journal:
        if last_starts_a_segment:
            while len(segment_files(live)) < 2:
                journal.append([log_record(7)])
            journal.close()
            (live / STATE_FILE).unlink()  # as after a crash: close's bookkeeping never happened
            newest = segment_files(live)[-1]
            return newest.read_bytes(), 0, journal.last_seq
        journal.append([stat_record(1), log_record(2)])
        start = segment_files(live)[-1].stat().st_size
        journal.append([log_record(3)])
        return segment_files(live)[-1].read_bytes(), start, 3


@pytest.mark.parametrize("last_starts_a_segment", [False, True])
def test_a_torn_last_record_is_cut_away_at_every_byte_offset(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, last_starts_a_segment: bool
) -> None:
    live = tmp_path / "live"
    content, start, torn_seq = _torn_cases(tmp_path, last_starts_a_segment)
    newest_name = segment_files(live)[-1].name
    older = segment_files(live)[:-1]
    with RecordJournal(live, **SMALL) as journal:
        good = [entry for entry in everything(journal) if entry.seq < torn_seq]

    for cut in range(start, len(content)):
        crashed = tmp_path / f"cut{cut}"
        crashed.mkdir(mode=0o700)
        for segment in older:
            shutil.copy(segment, crashed / segment.name)
        (crashed / newest_name).write_bytes(content[:cut])
        caplog.clear()
        with caplog.at_level(logging.WARNING), RecordJournal(crashed, **SMALL) as journal:
            assert everything(journal) == good, cut
            # The torn record never got through append, so it was never pushed: its seq is free.
            assert journal.append([stat_record(99)]) == (torn_seq, torn_seq)
            assert everything(journal) == [*good, JournalRecord(torn_seq, stat_record(99))]
        # A cut between whole records (or after a new segment's header) is no damage at all.
        clean = cut == (len(b"CDJRNL1\n") if last_starts_a_segment else start)
        assert ("stopped while writing" in caplog.text) != clean, cut
        shutil.rmtree(crashed)


def _newest_segment_with_five_records(tmp_path: Path) -> tuple[Path, list[int]]:
    """A crashed journal of five records in one segment, and where each record starts."""
    live = tmp_path / "live"
    starts = []
    with RecordJournal(live) as journal:
        for n in range(1, 6):
            starts.append(disk_bytes(live) if n > 1 else 8)
            journal.append([log_record(n)])
        crashed = crash_copy(live, tmp_path / "crashed")
    return crashed, starts


@pytest.mark.parametrize(
    "damage",
    [
        "flip a body byte",
        "flip a length byte",
        "a length past the end",
        "insert garbage",
        "overwrite with zeros",
    ],
)
def test_garbage_in_the_newest_segment_keeps_earlier_records_and_never_reuses_seqs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    crashed, starts = _newest_segment_with_five_records(tmp_path)
    segment = segment_files(crashed)[0]
    content = bytearray(segment.read_bytes())
    third = starts[2]
    if damage == "flip a body byte":
        content[third + 25] ^= 0x40
    elif damage == "flip a length byte":
        content[third + 11] ^= 0x01  # the length now runs one byte into the next record
    elif damage == "a length past the end":
        # Looks like a record cut short by a crash, but records follow it: not to be cut away.
        content[third + 9] = 0x01
    elif damage == "insert garbage":
        content[third:third] = b"\x01not a record at all\xff"
    else:
        content[third : starts[4]] = bytes(starts[4] - third)
    segment.write_bytes(bytes(content))

    with caplog.at_level(logging.WARNING), RecordJournal(crashed) as journal:
        assert everything(journal) == [JournalRecord(n, log_record(n)) for n in (1, 2)]
        assert "cannot be read" in caplog.text
        # Records 3..5 may have been pushed: their numbers are not given again.
        first, last = journal.append([stat_record(6)])
        assert first == last > 5
        assert everything(journal)[-1] == JournalRecord(first, stat_record(6))
        assert journal.read_since(2, 10).records == (JournalRecord(first, stat_record(6)),)
    with RecordJournal(crashed) as journal:
        assert journal.append([stat_record(7)]) == (first + 1, first + 1)


def test_a_segment_the_agent_was_starting_when_it_stopped_keeps_its_number(
    directory: Path, tmp_path: Path
) -> None:
    # After a failed write it could not take back, the agent skips the seqs that write may have
    # stored and starts a segment named for the next one; a crash cuts that segment's header.
    with RecordJournal(directory) as journal:
        journal.append([stat_record(n) for n in range(3)])
        crashed = crash_copy(directory, tmp_path / "crashed")
    (crashed / f"{10:020d}.seg").write_bytes(b"CDJ")
    with RecordJournal(crashed) as journal:
        assert journal.append([stat_record(3)]) == (10, 10)
        assert [seq for seq, _ in everything(journal)] == [1, 2, 3, 10]


def test_garbage_in_an_older_segment_ends_only_that_segments_records(
    directory: Path, caplog: pytest.LogCaptureFixture
) -> None:
    records = {n: log_record(n) for n in range(1, 41)}
    with RecordJournal(directory, max_bytes=1 << 20, segment_bytes=1024) as journal:
        journal.append(list(records.values()))
    oldest, second = segment_files(directory)[:2]
    next_first = int(second.stem)
    content = bytearray(oldest.read_bytes())
    content[-30] ^= 0xFF  # inside the segment's last record
    oldest.write_bytes(bytes(content))

    with caplog.at_level(logging.WARNING), RecordJournal(directory) as journal:
        seqs = [seq for seq, _ in everything(journal)]
        assert "cannot be read" in caplog.text
        assert seqs == [*range(1, next_first - 1), *range(next_first, 41)]
        assert journal.read_since(next_first - 3, 2).records == (
            JournalRecord(next_first - 2, records[next_first - 2]),
            JournalRecord(next_first, records[next_first]),
        )
        assert journal.append([stat_record(0)]) == (41, 41)


def test_files_are_private_to_the_agent(directory: Path) -> None:
    previous = os.umask(0)
    try:
        directory.mkdir(mode=0o755)
        with RecordJournal(directory, **SMALL) as journal:
            journal.append([log_record(n) for n in range(60)])
    finally:
        os.umask(previous)
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    files = list(directory.iterdir())
    assert STATE_FILE in {path.name for path in files}
    assert {stat.S_IMODE(path.stat().st_mode) for path in files} == {0o600}


def test_a_record_too_large_for_a_segment_stores_nothing_of_its_append(directory: Path) -> None:
    with RecordJournal(directory, **SMALL) as journal:
        journal.append([stat_record(1)])
        with pytest.raises(RecordTooLargeError, match="does not fit"):
            journal.append([stat_record(2), {"kind": "log", "message": "x" * 600}])
        assert [seq for seq, _ in everything(journal)] == [1]
        assert journal.append([stat_record(3)]) == (2, 2)


def test_arguments_that_make_no_sense_are_refused(directory: Path) -> None:
    with pytest.raises(ValueError, match="twice segment_bytes"):
        RecordJournal(directory, max_bytes=1000, segment_bytes=600)
    with RecordJournal(directory) as journal:
        with pytest.raises(ValueError, match="limit"):
            journal.read_since(0, 0)
        with pytest.raises(ValueError, match="after_seq"):
            journal.read_since(-1, 10)
    with pytest.raises(ValueError, match="closed"):
        journal.append([stat_record(1)])


operations = st.lists(
    st.one_of(
        st.tuples(st.just("append"), st.integers(0, 15)),
        st.tuples(st.just("reopen"), st.booleans()),
        st.tuples(st.just("read"), st.integers(1, 8)),
    ),
    max_size=30,
)
TINY: dict[str, Any] = {"max_bytes": 1024, "segment_bytes": 256}


@settings(max_examples=100, deadline=None)
@given(operations, st.data())
def test_any_mix_of_appends_reopens_and_reads_keeps_numbers_and_records_straight(
    steps: list[tuple[str, int | bool]], data: st.DataObject
) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch) / "journal"
        journal = RecordJournal(directory, **TINY)
        stored: dict[int, dict[str, Any]] = {}
        last = 0
        first_available = 1
        made = 0
        crashes = 0
        read_up_to = 0
        try:
            for step, argument in steps:
                if step == "append":
                    batch = []
                    for _ in range(int(argument)):
                        made += 1
                        batch.append(log_record(made) if made % 2 else stat_record(made))
                    assert journal.append(batch) == (last + 1, last + len(batch))
                    stored.update(enumerate(batch, start=last + 1))
                    last += len(batch)
                elif step == "reopen":
                    if argument:
                        journal.close()
                    else:  # a crash: the directory as it is, without close's bookkeeping
                        crashes += 1
                        directory = crash_copy(directory, Path(scratch) / f"crash{crashes}")
                        journal.close()
                    journal = RecordJournal(directory, **TINY)
                else:
                    # Often on from where the previous read stopped, as the desktop pages.
                    after = data.draw(
                        st.one_of(st.just(read_up_to), st.integers(0, last + 2)), label="after"
                    )
                    batch_read = journal.read_since(after, int(argument))
                    assert batch_read.last == last
                    assert first_available <= batch_read.first_available <= last + 1
                    first_available = batch_read.first_available
                    retained = range(max(after, first_available - 1) + 1, last + 1)
                    expected = [JournalRecord(seq, stored[seq]) for seq in retained]
                    assert list(batch_read.records) == expected[: int(argument)]
                    assert batch_read.remaining == len(expected) - len(batch_read.records)
                    assert batch_read.missed == max(0, first_available - 1 - after)
                    if batch_read.records:
                        read_up_to = batch_read.records[-1].seq
                assert disk_bytes(directory) <= TINY["max_bytes"]
        finally:
            journal.close()
