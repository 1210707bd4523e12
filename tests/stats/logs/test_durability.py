"""What a kill -9, a full disk and bad input do to the log store: nothing stored is lost."""

from __future__ import annotations

import signal
import sqlite3
from pathlib import Path

import pytest

from stats.logs import (
    LogRecordError,
    LogStore,
    LogStoreError,
    LogStoreFullError,
    RetentionPolicy,
)
from tests.children import start_child
from tests.stats.logs.helpers import record


def test_kill_9_loses_no_line_of_a_returned_append(tmp_path: Path) -> None:
    path = tmp_path / "logs.sqlite"
    child = start_child("tests.stats.logs.kill_child", str(path))
    assert child.stdout is not None
    confirmed = -1
    for line in child.stdout:
        confirmed = int(line)
        if confirmed >= 40:  # several blocks sealed, a tail pending
            break
    child.send_signal(signal.SIGKILL)
    child.wait()
    child.stdout.close()
    assert child.stderr is not None
    child.stderr.close()
    store = LogStore(path)
    stored = store.count("")
    assert stored % 97 == 0  # whole batches only
    assert stored >= (confirmed + 1) * 97
    for batch in range(confirmed + 1):
        assert store.count(f'"batch {batch} line"') == 97
    store.append("oss01", [record(1e6, "after the crash")])
    assert store.search("crash")[0].seq == stored + 1


def test_disk_full_fails_the_call_and_keeps_what_was_stored(tmp_path: Path) -> None:
    path = tmp_path / "logs.sqlite"
    store = LogStore(path, block_lines=50)
    store.append("oss01", [record(1.0, f"kept {i}") for i in range(120)])
    (pages,) = store._db.execute("PRAGMA page_count").fetchone()
    store._db.execute(f"PRAGMA max_page_count={pages + 2}")  # the disk as good as full
    big = [record(2.0, f"lost {i} " + f"x{i} " * 200) for i in range(2000)]
    with pytest.raises(LogStoreFullError, match="disk is full") as caught:
        store.append("oss01", big)
    assert "Free space" in str(caught.value)
    assert store.count("kept") == 120 and store.count("lost") == 0
    assert store.last_seq == 120
    store._db.execute("PRAGMA max_page_count=1073741823")
    store.append("oss01", big[:10])
    assert store.count("lost") == 10
    store.close()
    reopened = LogStore(path)
    assert reopened.count("kept") == 120 and reopened.count("lost") == 10


def test_bad_records_are_named_and_nothing_of_the_batch_is_stored(tmp_path: Path) -> None:
    store = LogStore(tmp_path / "logs.sqlite")
    store.append("oss01", [record(1.0, "before")])
    good = record(2.0, "good")
    cases = [
        ({**good, "t": float("nan")}, "t"),
        ({**good, "t": "yesterday"}, "t"),
        ({**good, "severity": "loud"}, "severity"),
        ({k: v for k, v in good.items() if k != "message"}, "message"),
        ({**good, "message": 42}, "message"),
        ({**good, "facility": None}, "facility"),
    ]
    for bad, field in cases:
        with pytest.raises(LogRecordError, match=f"log record 1 from host 'oss01': {field}"):
            store.append("oss01", [good, bad])
    with pytest.raises(LogRecordError, match="host"):
        store.append("", [good])
    assert [line.message for line in store.search("")] == ["before"]


def test_awkward_lines_are_stored_readably(tmp_path: Path) -> None:
    store = LogStore(tmp_path / "logs.sqlite", block_lines=4)
    store.append(
        "oss01",
        [
            record(5.0, b"bad \xff\xfe bytes"),
            record(3.0, "two\nlines\x00"),  # out of order in time, with control characters
            record(4.0, "huge " + "y" * 200_000),
            record(1.0, "caf\u00e9 OST0001 \u2603"),
            record(2.0, "last"),
        ],
    )
    newest = [line.message for line in store.search("")]
    assert newest[0] == "bad \\xff\\xfe bytes"
    assert newest[1].startswith("huge ") and newest[1].endswith("more characters cut]")
    assert newest[2] == "two#012lines#000"
    assert store.search("two")[0].message == "two#012lines#000"  # "012lines" is one token
    assert store.search("CAFÉ ost0001")[0].message == "caf\u00e9 OST0001 \u2603"
    assert store.search("", since=2.0, until=3.0)[0].message == "two#012lines#000"


def test_a_file_that_is_not_a_log_store_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE x(y)")
    with pytest.raises(LogStoreError, match="not a Chroma Desktop log store"):
        LogStore(other)
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is no database" * 100)
    with pytest.raises(LogStoreError, match="not a readable log store"):
        LogStore(garbage)


_FORMAT_2 = (  # an FTS5 table of each block's tokens, no group filters
    "DROP TABLE block_blooms; DELETE FROM meta WHERE key = 'next_block';"
    " CREATE VIRTUAL TABLE block_vars USING fts5(vars, content='', detail=none);"
)
_EARLIER_FORMATS = {
    1: f"ALTER TABLE blocks DROP COLUMN vidx; {_FORMAT_2} PRAGMA user_version=1;",
    2: f"{_FORMAT_2} PRAGMA user_version=2;",
}


@pytest.mark.parametrize("version", sorted(_EARLIER_FORMATS))
def test_a_store_of_an_earlier_format_is_upgraded_and_finds_the_same_lines(
    tmp_path: Path, version: int
) -> None:
    path = tmp_path / "logs.sqlite"
    entries = [
        (
            "oss01",
            record(float(i), f"Lustre: fs1-OST{i % 9:04x}: Client c{i} (at 10.1.0.{i % 7}@tcp)"),
        )
        for i in range(300)
    ]
    with LogStore(path, block_lines=100) as store:
        store.append_mixed(entries)
        before = [line.seq for line in store.search("OST0003 tcp", limit=500)]
    db = sqlite3.connect(path, isolation_level=None)  # as the earlier format had it
    db.executescript(_EARLIER_FORMATS[version])
    db.close()
    policy = RetentionPolicy(max_age_s=100)
    with LogStore(path, block_lines=100, policy=policy) as store:
        assert len(before) == 33
        assert [line.seq for line in store.search("OST0003 tcp", limit=500)] == before
        assert store.count("c50") == store.count("c150") == 1
        store.append("oss01", [record(400.0 + i, f"after c{1000 + i}") for i in range(100)])
        assert store.count("c1050") == 1
        assert store.apply_retention(now=199.5).removed_lines == 100  # the first block
        assert (store.count("c50"), store.count("c150")) == (0, 1)
    with LogStore(path, block_lines=100) as store:
        assert store.count("c150") == store.count("c1050") == 1


def test_a_store_of_a_newer_format_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "logs.sqlite"
    with LogStore(path) as store:
        store.append("oss01", [record(1.0, "kept")])
    with sqlite3.connect(path) as db:
        (version,) = db.execute("PRAGMA user_version").fetchone()
        db.execute("PRAGMA user_version=99")
    with pytest.raises(LogStoreError, match=r"newer Chroma Desktop \(format 99"):
        LogStore(path)
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version={version}")
    with LogStore(path) as store:
        assert [line.message for line in store.search("kept")] == ["kept"]
