"""History in the running app: a paired server's statistics and syslog lines reach the stores
through the manager, and a store that cannot be opened is told as a message, not a crash."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from chroma_desktop.history import CPU, MEMORY, History, Subject, SubjectKind
from core.errors import ChromaError
from stats.logs import LogStore, LogStoreFullError
from stats.store import StatsStore
from tests.desktop.conftest import WAIT_S, Site, wait_for
from tests.desktop.history_support import ReportFeed, reboot


@pytest.fixture
def history(tmp_path: Path, site: Site) -> Iterator[tuple[History, list[ChromaError]]]:
    errors: list[ChromaError] = []
    opened = History(tmp_path / "data", on_error=errors.append)
    opened.attach(site.manager)
    opened.ready.result(timeout=WAIT_S)
    yield opened, errors
    opened.close()


def test_a_paired_servers_stats_and_syslog_reach_the_stores(
    history: tuple[History, list[ChromaError]], site: Site
) -> None:
    store, errors = history
    address = site.pair("sim-mds1").address
    server = Subject(SubjectKind.SERVER, address)
    wait_for(lambda: server in store.subjects().result(), "the server's statistics")

    def memory_charted() -> bool:
        now = int(time.time())
        series = store.measure(server, MEMORY, now - 300, now + 10, 400).result()
        return not series.empty

    wait_for(memory_charted, "a memory chart with data")
    now = int(time.time())
    series = store.measure(server, MEMORY, now - 300, now + 10, 400).result()
    used = series.avg[np.isfinite(series.avg)]
    assert ((used > 0) & (used < 100)).all(), used
    # CPU is a rate of cumulative counters: it needs two reports a second apart
    wait_for(
        lambda: (
            not store.measure(server, CPU, now - 300, int(time.time()) + 10, 400).result().empty
        ),
        "a CPU chart",
    )

    reboot(site, "sim-mds1")

    def agent_started_line() -> bool:
        page = store.search_logs('"Started Chroma Desktop agent"').result()
        return any(line.host == address for line in page.lines)

    wait_for(agent_started_line, "the agent's start in the log store")
    assert errors == []


def test_a_store_held_by_another_process_is_told_and_the_rest_still_works(
    tmp_path: Path, site: Site
) -> None:
    data = tmp_path / "data"
    holder = StatsStore.open(data / "stats")
    errors: list[ChromaError] = []
    store = History(data, on_error=errors.append)
    try:
        store.attach(site.manager)
        store.ready.result(timeout=WAIT_S)
        assert len(errors) == 1
        assert "in use by another Chroma Desktop" in str(errors[0])
        with pytest.raises(ChromaError, match="in use"):
            store.measure(Subject(SubjectKind.ALL), CPU, 0, 100, 10).result(timeout=WAIT_S)
        address = site.pair("sim-mds1").address
        links = site.manager.links
        assert links is not None
        wait_for(lambda: address in links.connected, "the link")  # boot lines need a link
        reboot(site, "sim-mds1")
        wait_for(
            lambda: store.search_logs("Started Chroma Desktop agent").result().lines,
            "syslog lines, stored although statistics are not",
        )
    finally:
        store.close()
        holder.close()


def test_a_damaged_log_store_is_told_as_a_message(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "logs").mkdir(parents=True)
    (data / "logs" / "logs.sqlite").write_bytes(b"this is not a database" * 100)
    errors: list[ChromaError] = []
    store = History(data, on_error=errors.append)
    try:
        store.ready.result(timeout=WAIT_S)
        assert len(errors) == 1
        assert "log store" in errors[0].message
        assert errors[0].hint
        with pytest.raises(ChromaError):
            store.search_logs("anything").result(timeout=WAIT_S)
    finally:
        store.close()


def test_a_full_disk_is_told_once_and_the_statistics_go_on(
    history: tuple[History, list[ChromaError]], site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, errors = history
    refused: list[str] = []

    def full(self: LogStore, host: str, records: object) -> int:
        refused.append(host)
        raise LogStoreFullError("The disk holding the log store is full.", hint="Free space.")

    monkeypatch.setattr(LogStore, "append", full)
    paired = site.pair("sim-mds1")
    links = site.manager.links
    assert links is not None
    wait_for(lambda: paired.address in links.connected, "the link")
    for attempt in range(1, 4):
        reboot(site, "sim-mds1")
        wait_for(lambda n=attempt: len(refused) >= n, "the boot lines refused")
        wait_for(lambda: paired.address in links.connected, "the link back")
    assert [str(e) for e in errors] == ["The disk holding the log store is full. Free space."]
    server = Subject(SubjectKind.SERVER, paired.address)
    assert server in store.subjects().result(timeout=WAIT_S)  # statistics stored all the same


def _log(t: float, message: str, severity: str = "info") -> dict[str, Any]:
    return {
        "kind": "log",
        "t": t,
        "severity": severity,
        "facility": "kern",
        "source": "kernel",
        "message": message,
    }


def test_only_lustre_messages_are_lustre_and_lustreerror_lines_in_search_and_tail(
    tmp_path: Path,
) -> None:
    errors: list[ChromaError] = []
    store = History(tmp_path / "data", on_error=errors.append)
    reports = ReportFeed()
    store.attach(reports)
    now = time.time()
    try:
        reports.push(
            "10.0.0.1:988",
            [
                _log(now - 3, "Lustre: demofs-OST0000: Recovery over after 0:05"),
                _log(now - 2, "systemd: the word Lustre in a line that is not Lustre's"),
                _log(now - 1, "LustreError: 11-0: demofs-MDT0000: rc = -107", "err"),
            ],
        )
        page = store.search_logs(lustre_only=True).result(timeout=WAIT_S)
        assert [line.message[:12] for line in page.lines] == ["LustreError:", "Lustre: demo"]
        assert len(store.search_logs().result(timeout=WAIT_S).lines) == 3
        reports.push("10.0.0.1:988", [_log(now, "Started Chroma Desktop agent.")])
        reports.push("10.0.0.1:988", [_log(now, "Lustre: Mounted demofs-client")])
        tail = store.tail_logs(page.cursor, lustre_only=True).result(timeout=WAIT_S)
        assert [line.message for line in tail.lines] == ["Lustre: Mounted demofs-client"]
        assert tail.cursor == page.cursor + 2
        assert errors == []
    finally:
        store.close()


def _stat(t: float, subject: str, metric: str, value: float) -> dict[str, Any]:
    return {"kind": "stat", "t": t, "subject": subject, "metric": metric, "value": value}


def test_each_targets_latest_figures_are_its_rates_space_and_metadata_operations(
    tmp_path: Path,
) -> None:
    store = History(tmp_path / "data")
    reports = ReportFeed()
    store.attach(reports)
    now = float(int(time.time()))
    try:
        for step, t in enumerate((now - 20, now - 10)):
            reports.push(
                "10.0.0.2:988",
                [
                    _stat(t, "fs1-OST0000", "read_bytes", 1e9 + step * 10 * 2**20),
                    _stat(t, "fs1-OST0000", "write_bytes", 5e8 + step * 10 * 2**10),
                    _stat(t, "fs1-OST0000", "kbytestotal", 1000.0),
                    _stat(t, "fs1-OST0000", "kbytesfree", 250.0),
                ],
            )
            reports.push(
                "10.0.0.1:988",
                [
                    _stat(t, "fs1-MDT0000", "open", 100.0 + step * 500),
                    _stat(t, "fs1-MDT0000", "close", 100.0 + step * 300),
                    _stat(t, "fs1-MDT0000", "kbytestotal", 0.0),
                    _stat(t - 3600, "fs1-MDT0000", "kbytesfree", 0.0),
                ],
            )
        figures = store.target_figures().result(timeout=WAIT_S)
    finally:
        store.close()
    ost, mdt = figures["fs1-OST0000"], figures["fs1-MDT0000"]
    assert ost.read_bps == pytest.approx(2**20)  # 10 MiB over 10 s
    assert ost.write_bps == pytest.approx(2**10)
    assert ost.used_pct == pytest.approx(75.0)
    assert np.isnan(ost.metadata_ops)
    assert mdt.metadata_ops == pytest.approx(80.0)  # (500 + 300) operations over 10 s
    assert np.isnan(mdt.read_bps)
    assert np.isnan(mdt.used_pct)  # no size reported, and a free count an hour old


def test_a_read_after_closing_fails_with_a_message_not_a_crash(tmp_path: Path) -> None:
    store = History(tmp_path / "data")
    store.close()
    with pytest.raises(ChromaError, match="closed"):
        store.subjects().result(timeout=WAIT_S)
