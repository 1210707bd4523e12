"""Benchmark of the stats store against the reference engines of shared/bench/stats_anchors.py.

Runs the anchor script's workload and its own timing and correctness check on our store (engine
`chroma_stats`) and, in the same run, on the anchor engines (DuckDB and rrdtool by default), each
engine in its own child process. Two workloads: the anchor's float random walks, and Lustre-like
cumulative integer counters (bytes in 1 MiB RPCs and 4 KiB pages, operation counts, with idle
spells), which this script adds. Prints one JSON line per engine and workload with the anchor's
result fields plus ours:
  raw_bytes_per_pt      bytes of the raw tier (chunks, lossless) per raw point it holds
  rollup_bytes_per_row  bytes of a min/avg/max rollup row (all rollup tiers together)
  q_month_cold_ms       the month chart with the store's decoded-chunk cache emptied (median of
                        5 rounds over the queried series; q_month_cold_best_ms: the best;
                        q_month_cold_page_faults: minor page faults a query, memory the query
                        touched for the first time)
  open_s                reopening the benchmark's store
  cpu_calibration_ms    a fixed piece of NumPy and Python work (the best of 5), timed in the
                        process right after the cold month chart: this machine runs the same
                        code up to ~1.8x slower in some phases, and this tells them apart
  open_10k_replay_s     opening a 10,000-series store after a crash, replaying an hour of log
  open_year_*           (own line, workload "open_year") opening a store with a year of history
                        (every tier at its retention) for `open_year_series` series: 10,000, or
                        1,000 with --quick
  min1_bytes_per_row_if_stored  what a 1-minute row costs where that tier is stored (measured by
                        encoding the history's 1-minute rows a day a chunk)
  series_year_bytes     a year of one series in rrdtool's archives (10 s x 1 day, 1 min x 1 week,
                        5 min x 30 days, 1 h x 1 year) at this run's bytes per raw point and per
                        rollup row, keeping averages only as rrdtool's AVERAGE archives do
                        (tiers with keeps_min_max=False): like for like
  series_year_bytes_min_max  the same keeping min, average and max (the store's default)
  rollup_bytes_per_row_min_max / _avg_only  those per-row costs per tier
`bytes_per_stored_pt` is the store's whole folder (raw, rollups, catalogue, log) over the raw
points, as for the anchor's raw engines. The benchmark keeps raw points 40 days, so its 1-minute
tier is configured unstored (raw holds all of it) and its 5-minute tier is built daily.

Usage: python bench/stats.py [--json] [--quick] [--engines chroma_stats,duckdb,rrdtool]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ANCHORS_PATH = Path(__file__).resolve().parents[2] / "shared/bench/stats_anchors.py"
DEFAULT_ENGINES = "chroma_stats,duckdb,rrdtool"
WORKLOADS = ("walk", "counters")


def load_anchors() -> ModuleType:
    spec = importlib.util.spec_from_file_location("stats_anchors", ANCHORS_PATH)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load the anchor benchmark from {ANCHORS_PATH}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def counter_workload_class(anchors: ModuleType) -> type:
    """The anchor's Workload with its values replaced by Lustre-like cumulative counters."""

    class CounterWorkload(anchors.Workload):  # type: ignore[name-defined,misc]
        def __init__(self, n: int, m: int, h: int, seed: int) -> None:
            super().__init__(n, m, h, seed)
            rng = np.random.default_rng(seed + 1)
            for s in range(self.h):
                self.hist[s] = _counter(rng, s, self.hist_len)
            self.live[: self.h] = self.hist[:, -m:]
            for s in range(self.h, n):
                self.live[s] = _counter(rng, s, m)

    return CounterWorkload


def _counter(rng: np.random.Generator, s: int, length: int) -> np.ndarray:
    # busy and idle spells of ~10 minutes; metric 0/1 are read/write bytes, the rest op counts
    spell = rng.random(length // 60 + 1) < 0.5
    busy = np.repeat(spell, 60)[:length]
    kind = s % 10
    if kind < 2:
        rpcs = rng.poisson(30.0, length) * (1 << 20)
        pages = rng.poisson(2.0, length) * 4096
        inc = np.where(busy, rpcs + pages, 0)
    else:
        inc = np.where(busy, rng.poisson(50.0 * kind, length), rng.poisson(0.2, length))
    start = float(rng.integers(1 << 30, 1 << 40))
    return start + np.cumsum(inc).astype(np.float64)


def make_engine_class(anchors: ModuleType) -> type:
    sys.path.insert(0, str(ROOT))
    from stats import store as st
    from stats.store import DAY, PARTITION, StatsStore, StoreConfig, Tier

    # raw points are kept for all 31 days of history so the byte counts cover every point stored;
    # the 1-minute tier is then redundant (raw holds all it would), so it is not stored
    tiers = (
        Tier("raw", 0, 40 * DAY, PARTITION),
        Tier("1 min", 60, 40 * DAY, DAY, stored=False),
        Tier("5 min", 300, 40 * DAY, DAY),  # built daily: its lag is rolled up from raw
        Tier("1 h", 3600, 366 * DAY, 7 * DAY),
        Tier("1 day", DAY, None, 28 * DAY),
    )

    class ChromaStatsEngine(anchors.Engine):  # type: ignore[name-defined,misc]
        name = "chroma_stats"
        batching = (
            "one StatsStore.ingest() per report (WAL writev per report, fsync every <= 1 s, "
            "NumPy column buffers); flush() = fsync; backfill via ingest_block() one hour a call"
        )
        storage = (
            "SQLite catalogue + segment files of zstd-compressed delta/zigzag/byte-plane chunks; "
            "raw kept 40 days here + 5 min/1 h/1 day min/avg/max rollups (1 min rolled up from "
            "raw when asked: not stored while raw is kept as long)"
        )

        @staticmethod
        def version() -> str:
            import zstandard

            return f"chroma_stats (numpy {np.__version__}, zstandard {zstandard.__version__})"

        def setup(self) -> None:
            self.config = StoreConfig(tiers=tiers)
            self.store = StatsStore.open(os.path.join(self.root, "store"), self.config)
            keys = [(f"target-{i // 10}", f"m{i % 10}") for i in range(self.wl.n)]
            self.ids = self.store.series_ids(keys)

        def backfill(self) -> None:
            wl = self.wl
            if wl.h:
                self.store.ingest_block(
                    wl.hist_ts[: wl.backfill_len], self.ids[: wl.h], wl.hist[:, : wl.backfill_len].T
                )

        def ingest(self, j: int, ts: int, values: np.ndarray) -> None:
            self.store.ingest(ts, self.ids, values)

        def flush(self) -> None:
            self.store.sync()

        def q_chart(self, sid: int, window: int, bucket: int) -> np.ndarray:
            tend = self.wl.tend
            return self.store.fetch(int(self.ids[sid]), tend - window, tend, bucket).avg

        def q_dash(self, ids: list[int], window: int) -> np.ndarray:
            tend = self.wl.tend
            return self.store.reduce(self.ids[ids], tend - window, tend, 10, "sum")[1]

        def finalize_storage(self) -> None:
            t = time.perf_counter()
            self.store.checkpoint()
            self.checkpoint_s = time.perf_counter() - t
            extra: dict[str, Any] = {"checkpoint_s": self.checkpoint_s}
            usage = self.store.usage()
            raw = usage.tiers[0]
            rollup_bytes = sum(t.bytes for t in usage.tiers[1:])
            rollup_rows = sum(t.points for t in usage.tiers[1:])
            extra["raw_bytes_per_pt"] = raw.bytes / max(1, raw.points)
            extra["rollup_bytes_per_row"] = rollup_bytes / max(1, rollup_rows)
            extra["tier_bytes"] = {t.name: t.bytes for t in usage.tiers}
            extra["usage"] = usage.describe()
            # A year of one series in the rrdtool file's archives (10 s x 1 day, 1 min x 1 week,
            # 5 min x 30 days, 1 h x 1 year): raw points at what they cost here, rollup rows at
            # what the store's encoder makes of this history's rows of each tier, a default
            # build period a chunk. Twice: keeping min/avg/max (the default) and keeping averages
            # only (Tier.keeps_min_max=False), the same archives as rrdtool's AVERAGE ones.
            raw_pt = raw.bytes / max(1, raw.points)
            archives = {1: 10080, 2: 8640, 3: 8760}  # tier index: rows kept
            periods = {1: DAY, 2: 7 * DAY, 3: 7 * DAY}
            row_cost: dict[bool, dict[int, float]] = {True: {}, False: {}}
            tend = self.wl.tend
            self.store._cache_reads = False  # a measurement, not a chart: leave the cache be
            for i, every in periods.items():
                nbytes = {True: 0, False: 0}
                nrows = 0
                first = -(-(tend - 31 * DAY) // every) * every
                for sid in self.ids[: self.wl.h].tolist():
                    for p in range(first, tend - every + 1, every):
                        rows = self.store._tier_rows(int(sid), i, p, p + every)
                        for keep in (True, False):
                            nbytes[keep] += len(st._encode_rows(rows, min_max=keep))
                        nrows += len(rows)
                for keep in (True, False):
                    row_cost[keep][i] = nbytes[keep] / max(1, nrows)
            self.store._cache_reads = True
            extra["min1_bytes_per_row_if_stored"] = row_cost[True][1]
            extra["rollup_bytes_per_row_min_max"] = {
                tiers[i].name: row_cost[True][i] for i in periods
            }
            extra["rollup_bytes_per_row_avg_only"] = {
                tiers[i].name: row_cost[False][i] for i in periods
            }
            year = {
                keep: raw_pt * 8640 + sum(row_cost[keep][i] * rows for i, rows in archives.items())
                for keep in (True, False)
            }
            self.year_bytes = year[False]
            extra["series_year_bytes_min_max"] = year[True]
            if self.wl.h:
                # the month chart of each queried series with the decoded-chunk cache emptied
                # before each, 5 rounds: the median (as the anchor's q_month) and the best
                times = []
                faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
                for _ in range(5):
                    for q in self.wl.query_ids:
                        self.store.drop_cache()
                        t = time.perf_counter()
                        self.store.fetch(int(self.ids[q]), tend - 30 * DAY, tend, 2700)
                        times.append(time.perf_counter() - t)
                faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
                extra["q_month_cold_ms"] = 1e3 * statistics.median(times)
                extra["q_month_cold_best_ms"] = 1e3 * min(times)
                extra["q_month_cold_page_faults"] = faults / len(times)
                extra["cpu_calibration_ms"] = cpu_calibration_ms()
            self.store.close()
            t = time.perf_counter()
            again = StatsStore.open(os.path.join(self.root, "store"), self.config)
            extra["open_s"] = time.perf_counter() - t
            again.close()
            self.extra = extra

        def series_year_bytes(self, disk: float) -> float:
            # like for like with rrdtool: its archives, averages only (with min and max too:
            # series_year_bytes_min_max)
            return float(self.year_bytes)

        def close(self) -> None:
            pass

    return ChromaStatsEngine


def cpu_calibration_ms() -> float:
    """The best of 5 timings of a fixed mix of small NumPy calls and a Python loop, the kind of
    work a chart does: a reading of how fast this machine runs right now."""
    values = np.random.default_rng(0).random(8640)
    starts = np.arange(0, values.size, 9)
    best = math.inf
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(20):
            np.minimum.reduceat(values, starts)
        total = 0
        for k in range(50_000):
            total += k
        best = min(best, time.perf_counter() - started)
    return 1e3 * best


def open_10k_replay(workdir: str, reports: int) -> float:
    sys.path.insert(0, str(ROOT))
    from stats.store import StatsStore

    path = os.path.join(workdir, "open10k")
    store = StatsStore.open(path)
    ids = store.series_ids((f"target-{i // 10}", f"m{i % 10}") for i in range(10_000))
    rng = np.random.default_rng(3)
    t0 = 1_700_006_400
    for j in range(reports):
        store.ingest(t0 + 10 * (j + 1), ids, rng.random(ids.size))
    store.abandon()  # as after kill -9: an hour of reports only in the log
    started = time.perf_counter()
    store = StatsStore.open(path)
    took = time.perf_counter() - started
    store.close()
    shutil.rmtree(path, ignore_errors=True)
    return took


def open_year(workdir: str, series: int) -> dict[str, Any]:
    """Open a store holding a year of history for `series` series (default tiers), 5 times.

    The store is written tier by tier through the store's own commit path (a year of ingest would
    take hours): every retained period of every tier gets one chunk per series, so segments,
    catalogue and files are those of a year-old store. All series share one history (one encoded
    chunk per tier and period), which changes nothing that opening reads."""
    sys.path.insert(0, str(ROOT))
    from stats import store as st
    from stats.rollup import Rows

    tend = 1_700_006_400
    path = os.path.join(workdir, "year")
    config = st.StoreConfig(clock=lambda: float(tend))
    started = time.perf_counter()
    store = st.StatsStore.open(path, config)
    ids = store.series_ids((f"target-{i // 10}", f"m{i % 10}") for i in range(series))
    rng = np.random.default_rng(5)
    tiers = config.tiers
    built = [tend - st.PARTITION] + [(tend // t.build_every) * t.build_every for t in tiers[1:]]
    built[1] = tend - st.DAY
    store._state = st._State(0, tend, built)
    horizon = built[0]
    for i, tier in enumerate(tiers):
        every = tier.build_every
        keep = tier.retention if tier.retention is not None else 366 * st.DAY
        p = -(-(horizon - keep) // every) * every
        while p + every <= built[i]:
            if i == 0:
                ts = p + 10 * np.arange(1, every // 10 + 1, dtype=np.int64)
                blob = st.codec.encode_chunk(
                    [(st.codec.Kind.TIME, ts), (st.codec.Kind.FLOAT, _counter(rng, 2, ts.size))]
                )
                first, last, n = int(ts[0]), int(ts[-1]), ts.size
            else:
                labels = p + tier.step * np.arange(1, every // tier.step + 1, dtype=np.int64)
                count = np.full(labels.size, tier.step // 10, dtype=np.int64)
                avg = np.round(5e4 + np.cumsum(rng.normal(0, 100, labels.size)))
                spread = np.round(np.abs(rng.normal(0, 100, labels.size)))
                blob = st._encode_rows(Rows(labels, avg * count, count, avg - spread, avg + spread))
                first, last, n = int(labels[0]), int(labels[-1]), labels.size
            chunks = [st._Chunk(int(sid), first, last, n, blob) for sid in ids]
            store._commit(i, chunks)
            p += every
    store.close()
    build_s = time.perf_counter() - started
    times = []
    for _ in range(5):
        t = time.perf_counter()
        again = st.StatsStore.open(path, config)
        times.append(time.perf_counter() - t)
        again.close()
    disk = sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())
    shutil.rmtree(path, ignore_errors=True)
    return {
        "open_year_series": series,
        "open_year_s_min": min(times),
        "open_year_s_median": sorted(times)[2],
        "open_year_store_bytes": disk,
        "open_year_build_s": build_s,
    }


def child(args: argparse.Namespace) -> None:
    if args.workload == "open_year":
        res = {"engine": args.engine, "workload": "open_year"}
        res.update(open_year(args.workdir, args.year_series))
        print("RESULT " + json.dumps(res))
        return
    anchors = load_anchors()
    if args.workload == "counters":
        anchors.Workload = counter_workload_class(anchors)
    engine_cls = make_engine_class(anchors)
    anchors.ENGINES[engine_cls.name] = engine_cls
    captured: list[Any] = []
    orig_print = print

    def capture(*a: Any, **k: Any) -> None:
        if a and isinstance(a[0], str) and a[0].startswith("RESULT "):
            captured.append(json.loads(a[0][len("RESULT ") :]))
        else:
            orig_print(*a, **k)

    anchors.print = capture  # run_engine prints its result; we add our fields to it
    instances: list[Any] = []
    real_init = engine_cls.__init__

    def remember(self: Any, *a: Any, **k: Any) -> None:
        real_init(self, *a, **k)
        instances.append(self)

    engine_cls.__init__ = remember
    anchors.run_engine(args)
    res = captured[-1]
    res["workload"] = args.workload
    if instances and hasattr(instances[0], "extra"):
        res.update(instances[0].extra)
    if args.engine == "chroma_stats" and args.workload == "walk":
        res["open_10k_replay_s"] = open_10k_replay(args.workdir, args.points)
    orig_print("RESULT " + json.dumps(res))


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--json", action="store_true", help="print one JSON line per engine and workload"
    )
    ap.add_argument("--quick", action="store_true", help="a smaller run (under a minute)")
    ap.add_argument("--engines", default=DEFAULT_ENGINES)
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    ap.add_argument("--series", type=int, default=None)
    ap.add_argument("--points", type=int, default=360)
    ap.add_argument("--history-series", type=int, default=10)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--seed", type=int, default=20130601)
    ap.add_argument("--engine", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--workload", default="walk", help=argparse.SUPPRESS)
    ap.add_argument("--workdir", default=None, help=argparse.SUPPRESS)
    ap.add_argument(
        "--year-series",
        type=int,
        default=None,
        help="series in the year-long store whose opening is timed (10,000; 1,000 with --quick)",
    )
    args = ap.parse_args()
    if args.series is None:
        args.series = 1000
    args.keep = False
    args.no_limits = True
    if args.engine:
        child(args)
        return
    if args.year_series is None:
        args.year_series = 1000 if args.quick else 10_000
    if args.quick:
        args.reps = 3
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    if args.quick:
        engines = [e for e in engines if e != "rrdtool"] + (
            ["rrdtool"] if "rrdtool" in engines else []
        )
    workdir = tempfile.mkdtemp(prefix="chroma_stats_bench_")
    runs = [
        (name, workload)
        for workload in [w for w in args.workloads.split(",") if w]
        for name in engines
        # rrdtool's per-file updates take most of a minute on their own
        if not (args.quick and workload == "counters" and name == "rrdtool")
    ]
    if "chroma_stats" in engines:
        # last, in a child of its own: it writes a year-long store (over a GB at 10,000 series)
        # whose write-back would otherwise disturb the timings of the runs after it
        runs.append(("chroma_stats", "open_year"))
    failed = False
    try:
        for name, workload in runs:
            res = run_child(args, name, workload, workdir)
            failed = failed or "error" in res
            if args.json:
                print(json.dumps(res), flush=True)
            else:
                print(_summary(res), flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if failed:
        sys.exit(1)


def run_child(args: argparse.Namespace, name: str, workload: str, workdir: str) -> dict[str, Any]:
    cmd = [sys.executable, os.path.abspath(__file__), "--engine", name, "--workload", workload]
    for flag, value in (
        ("--series", args.series),
        ("--points", args.points),
        ("--history-series", args.history_series),
        ("--reps", args.reps),
        ("--seed", args.seed),
        ("--workdir", workdir),
        ("--year-series", args.year_series),
    ):
        cmd += [flag, str(value)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")]
    if p.returncode != 0 or not lines:
        err = (p.stderr.strip().splitlines() or [f"rc={p.returncode}"])[-1]
        return {"engine": name, "workload": workload, "error": err}
    result: dict[str, Any] = json.loads(lines[-1][len("RESULT ") :])
    return result


def _summary(r: dict[str, Any]) -> str:
    if "error" in r:
        return f"{r['engine']:<13} {r['workload']:<9} FAILED: {r['error']}"
    if r["workload"] == "open_year":
        return (
            f"{r['engine']:<13} open_year {r['open_year_series']} series with a year of history "
            f"open in {1e3 * r['open_year_s_median']:.1f} ms (min {1e3 * r['open_year_s_min']:.1f})"
        )
    return (
        f"{r['engine']:<13} {r['workload']:<9} ingest {r['ingest_pts_per_s'] / 1e6:6.2f}M pts/s  "
        f"p99 {r['report_ms_p99']:.3f} ms  q_month {r.get('q_month_ms') or 0:.3f} ms  "
        f"dash {r['dash_ms']:.3f} ms  {r['bytes_per_stored_pt']:.2f} B/pt  "
        f"year {r['series_year_bytes'] / 1e3:.0f} kB"
        + (
            f" ({r['series_year_bytes_min_max'] / 1e3:.0f} kB with min/max)  "
            if "series_year_bytes_min_max" in r
            else "  "
        )
        + (f"q_month_cold {r['q_month_cold_ms']:.3f} ms  " if "q_month_cold_ms" in r else "")
        + f"rss +{(r['rss_peak_bytes'] - r['rss_base_bytes']) / 1e6:.0f} MB"
    )


if __name__ == "__main__":
    main()
