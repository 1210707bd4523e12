"""Search and count equal a naive line-by-line filter over whatever was stored."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from core.observations import SyslogSeverity
from stats.logs import LogStore, parse_query
from tests.stats.logs.helpers import record

WORDS = [
    "Lustre:",
    "evicting",
    "client",
    "OST0007",
    "ost0007",
    "10.1.0.9@tcp",
    "a1",
    "b-2",
    "Recovery",
    "over",
    "caf\u00e9",
    "\u00df1",
    "x_y",
    "ld",
    "0",
    "7",
]
message = st.lists(st.sampled_from(WORDS), min_size=0, max_size=6).map(" ".join)
line = st.tuples(
    st.sampled_from(["oss01", "oss02", "mds1"]),
    st.integers(0, 50),
    st.sampled_from(list(SyslogSeverity)),
    message,
)
query = st.lists(st.sampled_from([*WORDS, '"recovery over"', '"client ost0007"']), max_size=3)


@settings(max_examples=60, deadline=None)
@given(
    lines=st.lists(line, max_size=40),
    words=query,
    hosts=st.none() | st.sets(st.sampled_from(["oss01", "mds1"])),
    since=st.none() | st.integers(0, 50),
)
def test_search_equals_a_naive_filter(lines, words, hosts, since) -> None:  # type: ignore[no-untyped-def]
    text = " ".join(words)
    parsed = parse_query(text)
    expected = [
        seq
        for seq, (host, t, _, msg) in enumerate(lines, 1)
        if parsed.matches(msg)
        and (hosts is None or host in hosts)
        and (since is None or t >= since)
    ]
    expected.sort(key=lambda seq: (lines[seq - 1][1], seq), reverse=True)
    with tempfile.TemporaryDirectory() as scratch:
        store = LogStore(Path(scratch) / "logs.sqlite", block_lines=7)
        for start in range(0, len(lines), 5):
            store.append_mixed(
                [(h, record(float(t), m, s.label)) for h, t, s, m in lines[start : start + 5]]
            )
        found = store.search(text, hosts=hosts, since=since, limit=10)
        assert [line.seq for line in found] == expected[:10]
        assert store.count(text, hosts=hosts, since=since) == len(expected)
        store.close()
