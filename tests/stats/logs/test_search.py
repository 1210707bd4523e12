"""Searching the log store as an administrator does: words, phrases, NIDs, filters, counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ValidationError
from core.observations import SyslogSeverity
from stats.logs import LogLine, LogStore, MessageClass, RetentionPolicy
from tests.stats.logs.helpers import anchor_entries, record

LINES = [
    (
        "oss01",
        100.0,
        "LustreError: 120-3: Can't start acceptor on port 988: port already in use",
        "err",
    ),
    (
        "oss01",
        101.0,
        "Lustre: fs1-OST0001: Client 5b1c9a0e (at 10.1.0.90@tcp) reconnecting",
        "info",
    ),
    (
        "oss02",
        102.0,
        "Lustre: fs1-OST0002: Client 77aa0b11 (at 10.1.0.91@tcp) reconnecting",
        "warning",
    ),
    (
        "mds1",
        103.0,
        "Lustre: fs1-MDT0000: Recovery over after 0:12, of 4 clients 4 recovered",
        "notice",
    ),
    ("oss02", 104.0, "sshd[311]: Accepted publickey for root from 10.1.0.5 port 4022 ssh2", "info"),
]


@pytest.fixture
def store(tmp_path: Path) -> LogStore:
    store = LogStore(tmp_path / "logs.sqlite", block_lines=2)  # several blocks and a tail
    for host, t, message, severity in LINES:
        store.append(host, [record(t, message, severity)])
    return store


def messages(lines: list) -> list[str]:  # type: ignore[type-arg]
    return [line.message for line in lines]


def test_words_phrases_and_nids_find_their_lines_newest_first(store: LogStore) -> None:
    assert messages(store.search("reconnecting")) == [LINES[2][2], LINES[1][2]]
    assert messages(store.search('"recovery over"')) == [LINES[3][2]]
    assert messages(store.search("10.1.0.90@tcp")) == [LINES[1][2]]
    assert messages(store.search("fs1-OST0002 reconnecting")) == [LINES[2][2]]
    assert messages(store.search("CLIENT AND ost0001")) == [LINES[1][2]]
    assert store.search('"over recovery"') == []
    assert store.search("reconnect") == []  # whole words, as FTS5 matches


def test_filters_by_host_severity_and_time(store: LogStore) -> None:
    assert messages(store.search("", hosts=["oss02"])) == [LINES[4][2], LINES[2][2]]
    assert messages(store.search("reconnecting", severities=["warning"])) == [LINES[2][2]]
    assert messages(store.search("", severities=[SyslogSeverity.ERR, "notice"])) == [
        LINES[3][2],
        LINES[0][2],
    ]
    assert messages(store.search("", since=101.0, until=102.0)) == [LINES[2][2], LINES[1][2]]
    assert store.search("reconnecting", hosts=["nowhere"]) == []
    assert store.count("", since=103.0) == 2
    assert store.count("reconnecting", hosts=["oss01", "oss02"]) == 2


def test_limit_returns_the_newest_lines(store: LogStore) -> None:
    found = store.search("", limit=2)
    assert [line.t for line in found] == [104.0, 103.0]
    assert [line.seq for line in found] == [5, 4]
    assert found[0].host == "oss02" and found[0].severity is SyslogSeverity.INFO


def test_anchor_lines_match_a_line_by_line_reading(tmp_path: Path) -> None:
    entries = list(anchor_entries(3000))
    store = LogStore(tmp_path / "logs.sqlite", block_lines=1000)
    store.append_mixed(entries[:2500])
    store.append_mixed(entries[2500:])
    reconnect = next(
        r["message"] for _, r in entries[1500:] if r["message"].endswith("reconnecting")
    )
    uuid = reconnect.split("Client ")[1].split()[0]
    nid = reconnect.split("(at ")[1].split(")")[0]  # a phrase of numbers: 10 1 2 3 o2ib
    queries = ['"Recovery over"', "evicting AND OST0007", "Attached SCSI", "o2ib reconnecting"]
    for text in [*queries, uuid, nid, f"{nid} reconnecting", "OST0007 0"]:
        expected = [i + 1 for i, (_, r) in enumerate(entries) if _reference(text, r["message"])]
        assert expected, text
        assert store.count(text) == len(expected), text
        found = store.search(text, limit=50)
        assert [line.seq for line in found] == sorted(expected, reverse=True)[:50], text
        assert [line.message for line in found] == [
            entries[line.seq - 1][1]["message"] for line in found
        ], text


def test_rare_tokens_are_found_in_every_group_of_blocks_and_after_reopening(
    tmp_path: Path,
) -> None:
    # 150 blocks of 20 lines: two full groups of 64 blocks (their filters stored) and 22
    # blocks of the group being filled (its filter in memory, rebuilt when reopened).
    entries = list(anchor_entries(3010))
    path = tmp_path / "logs.sqlite"
    uuids = [
        r["message"].split("Client ")[1].split()[0]
        for _, r in entries[::97]
        if r["message"].endswith("reconnecting")
    ]
    assert len(uuids) >= 3

    def check(store: LogStore) -> None:
        for uuid in uuids:
            expected = [i + 1 for i, (_, r) in enumerate(entries) if _reference(uuid, r["message"])]
            assert [line.seq for line in store.search(uuid)] == expected[::-1], uuid
            assert store.count(f"{uuid} reconnecting") == len(expected), uuid

    with LogStore(path, block_lines=20) as store:
        for start in range(0, len(entries), 700):
            store.append_mixed(entries[start : start + 700])
        check(store)
    with LogStore(path, block_lines=20) as store:
        check(store)
        late = [("oss01", record(1_700_000_100.0 + i, f"late client z{i}x{i}")) for i in range(45)]
        store.append_mixed(late)  # two more blocks into the rebuilt group
        assert [line.message for line in store.search("z3x3")] == ["late client z3x3"]
        assert store.count("z44x44") == 1
        check(store)
        # Age retention takes the first 70 blocks (1,400 lines, times up to 1_700_000_013):
        # the first group's filter goes with them, and the rest are still found.
        store.set_policy(RetentionPolicy(max_age_s=1.0))
        assert store.apply_retention(now=1_700_000_014.5).removed_lines == 1400
        (filters,) = store._db.execute("SELECT count(*) FROM block_blooms").fetchone()
        assert filters == 1
        for uuid in uuids:
            expected = [
                i + 1
                for i, (_, r) in enumerate(entries)
                if i >= 1400 and _reference(uuid, r["message"])
            ]
            assert [line.seq for line in store.search(uuid)] == expected[::-1], uuid


def test_each_line_keeps_its_own_facility_and_host(tmp_path: Path) -> None:
    facilities = ["kern", "daemon", "kern", "f" * 80, "authpriv"]
    entries = [
        (f"oss{i % 3}", {**record(float(i), f"line {i}"), "facility": facilities[i % 5]})
        for i in range(30)
    ]
    path = tmp_path / "logs.sqlite"
    with LogStore(path, block_lines=8) as store:
        store.append_mixed(entries)
    with LogStore(path, block_lines=8) as store:  # from blocks and from the pending tail
        found = store.search("line", limit=30)
    assert [(line.host, line.facility) for line in reversed(found)] == [
        (host, r["facility"][:64]) for host, r in entries
    ]


def _reference(text: str, message: str) -> bool:
    from stats.logs.text import parse_query

    return parse_query(text).matches(message)


def test_queries_a_person_can_get_wrong_are_explained(store: LogStore) -> None:
    with pytest.raises(ValidationError, match="not closed"):
        store.search('"Recovery over')
    with pytest.raises(ValidationError, match="OR is not supported"):
        store.search("evicting OR reconnecting")
    with pytest.raises(ValidationError, match="severity"):
        store.search("", severities=["loud"])
    with pytest.raises(ValidationError, match="limit"):
        store.search("x", limit=0)
    with pytest.raises(ValidationError, match="since"):
        store.search("x", since=float("nan"))


def test_a_stored_line_tells_its_lustre_fields() -> None:
    line = LogLine(
        seq=1,
        t=1.0,
        host="oss1",
        severity=SyslogSeverity.ERR,
        facility="kern",
        source="kernel",
        message="LustreError: 11-0: fs1-OST0003-osc: operation failed with -19",
    )
    assert line.lustre.targets == ("fs1-OST0003",)
    assert line.lustre.message_class == MessageClass.LUSTRE_ERROR
