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
