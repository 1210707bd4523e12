"""Benchmark of offline archives: size, export time, open time and the export's memory.

Two sites:
  demo       the demo (eight simulated servers paired, demofs created for real) left running
             `--demo-seconds`, its whole history exported
  synthetic  `--series` series sampled every 10 s for `--days` days (default 1,000 x 7), the
             default tiers (so raw points for the last day, 1-minute rows for the week), a
             command with output and 20 events an hour, and `--log-lines` syslog lines over the
             week; the whole week exported
Each export runs in a child process with the stores opened there, so its peak RSS above the
child's RSS after opening the stores is the export's own memory (`export_peak_rss_mb`; 0 when it
stays below that), and `export_peak_traced_mb` is the most the export held at once as
tracemalloc (which NumPy reports to) counts it. Prints one JSON line per site.

Usage: python bench/archive.py [--quick] [--site demo|synthetic|both]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import sys
import tempfile
import threading
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.database import open_database
from core.models import Command, Event, Job, Step
from core.states import RunState
from stats.archive import DirectStores, export_archive, open_archive
from stats.logs import LogStore
from stats.store import StatsStore, StoreConfig

STEP_S = 10


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build_synthetic(home: Path, series: int, days: int, log_lines: int) -> tuple[float, float]:
    end = float((int(time.time()) // 3600) * 3600)
    start = end - days * 86400
    database = open_database(f"sqlite:///{home / 'chroma.db'}")
    with database.session(actor="bench") as session:
        for hour in range(days * 24):
            t = datetime.fromtimestamp(start + hour * 3600, UTC)
            job = Job(kind="StartTargetJob", description=f"job {hour}")
            job.steps.append(Step(index=0, description="mount", stdout="x" * 1000, stderr=""))
            session.add(
                Command(
                    message=f"command {hour}",
                    actor="bench",
                    state=RunState.SUCCEEDED,
                    created_at=t,
                    finished_at=t + timedelta(seconds=30),
                    jobs=[job],
                )
            )
            for k in range(20):
                session.add(
                    Event(created_at=t + timedelta(seconds=k), kind="job", message=f"e{hour}.{k}")
                )
    database.close()
    stats = StatsStore.open(home / "data" / "stats", StoreConfig(clock=lambda: end))
    ids = stats.series_ids((f"fs-OST{i:04x}", "kbytesfree") for i in range(series))
    rng = np.random.default_rng(1)
    level = rng.uniform(1e6, 2e6, series)
    hour_steps = 3600 // STEP_S
    for h in range(days * 24):
        ts = start + STEP_S * (h * hour_steps + np.arange(1, hour_steps + 1))
        values = level + np.cumsum(rng.normal(0, 50, (hour_steps, series)), axis=0)
        level = values[-1]
        stats.ingest_block(ts, ids, values)
    stats.close()
    logs = LogStore(home / "data" / "logs" / "logs.sqlite")
    per_batch = 10_000
    for first in range(0, log_lines, per_batch):
        n = min(per_batch, log_lines - first)
        t = start + (first + np.arange(n)) * (days * 86400 / log_lines)
        logs.append_mixed(
            [
                (
                    f"oss{(first + k) % 16:02d}",
                    {
                        "t": float(t[k]),
                        "severity": "info",
                        "facility": "kern",
                        "source": "kernel",
                        "message": f"Lustre: fs-OST{(first + k) % 64:04x}: Client "
                        f"{(first + k) * 7919 % 100000} reconnecting",
                    },
                )
                for k in range(n)
            ]
        )
    logs.close()
    return start, end


def export_child(home: str, target: str, start: float, end: float, out: Any) -> None:
    """In a child process: open the stores, export, report time and memory."""
    root = Path(home)
    database = open_database(f"sqlite:///{root / 'chroma.db'}")
    stats = StatsStore.open(root / "data" / "stats", StoreConfig(clock=lambda: end))
    logs = LogStore(root / "data" / "logs" / "logs.sqlite")
    before = rss_mb()
    tracemalloc.start()
    began = time.perf_counter()
    result = export_archive(
        target,
        database,
        datetime.fromtimestamp(start, UTC),
        datetime.fromtimestamp(end, UTC),
        stores=DirectStores(stats, logs),
    )
    seconds = time.perf_counter() - began
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    out.put(
        {
            "export_s": round(seconds, 2),
            "archive_mb": round(result.size / 1e6, 2),
            "rss_after_open_mb": round(before, 1),
            "export_peak_rss_mb": round(rss_mb() - before, 1),
            "export_peak_traced_mb": round(traced_peak / 1e6, 1),
            "counts": dict(result.manifest.counts),
        }
    )
    stats.close()
    logs.close()
    database.close()


def measure(home: Path, start: float, end: float, site: str) -> dict[str, Any]:
    target = home / f"{site}.chroma-archive"
    queue: Any = multiprocessing.get_context("spawn").Queue()
    child = multiprocessing.get_context("spawn").Process(
        target=export_child, args=(str(home), str(target), start, end, queue)
    )
    child.start()
    figures: dict[str, Any] = queue.get()
    child.join()
    began = time.perf_counter()
    with open_archive(target, cache_dir=home / "cache") as opened:
        figures["open_s"] = round(time.perf_counter() - began, 2)
        store = opened.open_stats()
        began = time.perf_counter()
        sid = store.series_list()[0].id
        store.chart(sid, int(start), int(end), 1000)
        figures["first_chart_ms"] = round((time.perf_counter() - began) * 1000, 1)
        store.close()
    source = sum(p.stat().st_size for p in home.rglob("*") if p.is_file() and "cache" not in p.parts
                 and p != target)  # fmt: skip
    figures["site_mb"] = round(source / 1e6, 1)
    return {"site": site, **figures}


def demo(home: Path, seconds: float) -> dict[str, Any]:
    from agentlink.runtime import ReactorThread
    from chroma_desktop.demo import populate_demo, start_demo_cluster
    from chroma_desktop.history import History
    from chroma_desktop.manager import Manager
    from core.fakes import MemorySecretStore

    began = time.time()
    database = open_database(f"sqlite:///{home / 'chroma.db'}")
    reactor_thread = ReactorThread()
    reactor_thread.start()
    cluster, network = start_demo_cluster(reactor_thread, home / "simulator")
    manager = Manager(database, MemorySecretStore(), home / "config", reactor_thread)
    history = History(home / "data")
    history.attach(manager)
    manager.start()
    populate_demo(manager, cluster, network, out=lambda _line: None)
    threading.Event().wait(seconds)
    manager.stop()
    history.close()
    reactor_thread.call_and_wait(network.stop)
    database.close()
    return measure(home, began - 60, time.time() + 1, "demo")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--site", choices=["demo", "synthetic", "both"], default="both")
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--log-lines", type=int, default=500_000)
    parser.add_argument("--demo-seconds", type=float, default=60.0)
    options = parser.parse_args()
    if options.quick:
        options.series, options.days, options.log_lines = 100, 2, 50_000
        options.demo_seconds = 15.0
    if options.site in ("demo", "both"):
        with tempfile.TemporaryDirectory() as home:
            print(json.dumps(demo(Path(home), options.demo_seconds)), flush=True)
    if options.site in ("synthetic", "both"):
        with tempfile.TemporaryDirectory() as home:
            began = time.perf_counter()
            start, end = build_synthetic(
                Path(home), options.series, options.days, options.log_lines
            )
            built = time.perf_counter() - began
            figures = measure(Path(home), start, end, "synthetic")
            figures.update(series=options.series, days=options.days, build_s=round(built, 1))
            print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()
