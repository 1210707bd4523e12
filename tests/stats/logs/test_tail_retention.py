"""The live tail and retention by age and by size, with the usage readout."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ValidationError
from stats.logs import LogStore, RetentionPolicy
from tests.stats.logs.helpers import anchor_entries, record


def test_tail_returns_only_lines_after_the_cursor(tmp_path: Path) -> None:
    store = LogStore(tmp_path / "logs.sqlite", block_lines=3)
    store.append("oss01", [record(1.0, f"old line {i}") for i in range(4)])
    cursor = store.last_seq
    assert store.tail(cursor).lines == ()
    store.append("oss02", [record(2.0, f"new line {i}") for i in range(5)])
    page = store.tail(cursor, limit=3)
    assert [line.message for line in page.lines] == ["new line 0", "new line 1", "new line 2"]
    rest = store.tail(page.cursor)
    assert [line.message for line in rest.lines] == ["new line 3", "new line 4"]
    assert store.tail(rest.cursor).lines == ()
    filtered = store.tail(cursor, text="line 4", hosts=["oss02"])
    assert [line.message for line in filtered.lines] == ["new line 4"]


def test_age_retention_removes_old_blocks_and_the_readout_says_so(tmp_path: Path) -> None:
    store = LogStore(tmp_path / "logs.sqlite", block_lines=100)
    store.append("oss01", [record(1000.0 + i, f"early {i}") for i in range(200)])
    store.append("oss01", [record(5000.0 + i, f"late {i}") for i in range(150)])
    before = store.usage()
    assert (before.lines, before.oldest_t, before.newest_t) == (350, 1000.0, 5149.0)
    store.set_policy(RetentionPolicy(max_age_s=1000.0))
    report = store.apply_retention(now=5200.0)
    assert report.removed_lines == 200
    assert report.usage.lines == 150 and report.usage.oldest_t == 5000.0
    assert store.search("early") == []
    assert store.count("late") == 150


def test_size_retention_keeps_the_file_under_the_limit(tmp_path: Path) -> None:
    limit = 2**20
    store = LogStore(
        tmp_path / "logs.sqlite", block_lines=2000, policy=RetentionPolicy(max_bytes=limit)
    )
    entries = list(anchor_entries(60_000))
    for start in range(0, len(entries), 5000):
        store.append_mixed(entries[start : start + 5000])
    report = store.apply_retention(now=2e9)
    usage = report.usage
    assert usage.bytes_on_disk <= limit
    assert 0 < usage.lines < 60_000
    newest = store.search("", limit=1)
    assert newest[0].seq == 60_000  # the newest lines stay
    assert store.count("") == usage.lines


def test_retention_limits_that_make_no_sense_are_refused() -> None:
    with pytest.raises(ValidationError, match="MiB"):
        RetentionPolicy(max_bytes=10)
    with pytest.raises(ValidationError, match="seconds"):
        RetentionPolicy(max_age_s=-1)
