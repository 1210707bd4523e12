"""kill -9 loses no acknowledged report and the store opens clean; the log is synced within 1 s."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import numpy as np
import pytest

from stats import wal
from stats.store import StatsStore, StoreConfig
from tests.children import start_child

T0 = 1_700_006_400


def test_kill_9_loses_no_acknowledged_report(tmp_path: Path) -> None:
    path = tmp_path / "stats"
    child = start_child("tests.stats.ingest_child", str(path))
    assert child.stdout is not None
    acked = []
    for line in child.stdout:  # past the first hourly flush (360 reports) and on into the next hour
        acked.append(int(line))
        if len(acked) >= 500:
            break
    os.kill(child.pid, signal.SIGKILL)
    rest = child.stdout.read()  # through the reader's buffer: lines it holds were acknowledged too
    child.communicate(timeout=30)  # reaps the child and closes its pipes
    acked += [int(x) for x in rest.split()]
    last = acked[-1]

    store = StatsStore.open(path, StoreConfig(clock=lambda: float(T0 + 10**7)))
    ids = np.arange(1, 101)
    ts, values = store.latest(ids)
    # everything acknowledged is there; at most the one report being written when killed is extra
    assert ts.min() >= last and ts.max() <= last + 10
    assert values[0] == 1000.0 * (ts[0] - T0) / 10
    assert values[-1] == pytest.approx(100.0)  # the counter's rate: 1000 per 10 s
    chart = store.fetch(1, T0, last, 10)
    assert np.count_nonzero(chart.count) == (last - T0) // 10  # no report lost, none doubled
    store.close()


def test_the_log_is_synced_within_the_interval(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced = threading.Event()
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        real_fsync(fd)
        synced.set()

    store = StatsStore.open(tmp_path / "stats", StoreConfig(sync_interval=0.05, clock=lambda: 2e9))
    sid = store.series_id("oss1", "cpu_user")
    monkeypatch.setattr(wal.os, "fsync", spy)
    store.ingest(T0, [sid], [1.0])
    assert synced.wait(1.0)
    monkeypatch.undo()
    store.close()


def test_opening_after_a_crash_writes_nothing_and_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "stats"
    cfg = StoreConfig(clock=lambda: float(T0 + 10**7))
    store = StatsStore.open(path, cfg)
    ids = store.series_ids((f"OST{k:04x}", "kbytesfree") for k in range(20))
    reports = 500  # past one hourly flush and on into the next hour
    for k in range(1, reports + 1):
        store.ingest(T0 + 10 * k, ids, np.full(ids.size, float(k)))
    store.abandon()  # as kill -9 leaves it: the second hour only in the log
    segments = sorted(p.name for p in (path / "seg").iterdir())

    again = StatsStore.open(path, cfg)
    assert sorted(p.name for p in (path / "seg").iterdir()) == segments  # replayed into memory
    chart = again.fetch(int(ids[3]), T0, T0 + 10 * reports, 10)
    assert np.array_equal(chart.avg, np.arange(1, reports + 1, dtype=float))
    for k in range(reports + 1, 800):  # the replayed hour is written at the next hourly flush
        again.ingest(T0 + 10 * k, ids, np.full(ids.size, float(k)))
    assert len(list((path / "seg").iterdir())) > len(segments)
    again.abandon()
    third = StatsStore.open(path, cfg)
    chart = third.fetch(int(ids[3]), T0, T0 + 10 * 799, 10)
    assert np.array_equal(chart.avg, np.arange(1, 800, dtype=float))
    third.close()


def test_a_short_write_of_the_log_is_finished(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the kernel may write part of a writev (a signal, a nearly full disk): the rest follows
    writev = os.writev
    calls = []

    def part_of_it(fd: int, parts: list[memoryview]) -> int:
        calls.append(len(parts))
        return writev(fd, parts[:1])  # the record's header only

    monkeypatch.setattr(os, "writev", part_of_it)
    log = wal.WriteAheadLog(tmp_path, 1, 1.0)
    ts, ids, values = np.array([T0]), np.arange(3, dtype=np.int32), np.array([1.0, 2.0, 3.0])
    log.append(ts, ids, values)
    log.close()
    monkeypatch.undo()
    assert calls == [4]
    [(got_ts, got_ids, got_values)] = wal.replay(tmp_path / "1.log")
    assert got_ts.tolist() == [T0] and got_ids.tolist() == [0, 1, 2]
    assert got_values.tolist() == [[1.0, 2.0, 3.0]]
