"""Benchmark of the log store (stats.logs) against the anchors of shared/bench/log_anchors.py.

It runs the anchor script itself (grep, SQLite LIKE and per-line FTS5 on the same generated
lines), then stores the same lines with `LogStore.append_mixed` in batches of 10,000 (only the
appends are timed, not the generator) and answers the anchor's three queries, checking that the
counts and the newest 100 matches equal the anchor's FTS5 answers. With --json it prints one
object:
  ingest_lines_per_s   lines stored per second (target ≥ 200,000; the anchor's FTS5 ~52,000)
  search_ms            newest 100 matches, slowest of the three queries, median of 5 (≤ 5 ms)
  search_cold_ms       the same, the first search of a store just opened (nothing decoded yet)
  count_ms             all matches of the common phrase "Recovery over", median of 5 (≤ 200 ms)
  bytes_per_line       the store's file per line (≤ the raw text's; the anchor takes 2.4x)
plus each query's figures, the anchor's figures from the same run and `matches_anchor`.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

ANCHORS = Path(__file__).resolve().parents[2] / "shared/bench/log_anchors.py"
SEVERITIES = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"]
BATCH = 10_000
QUICK_LINES = 400_000
FULL_LINES = 10_000_000
PHRASE = '"Recovery over"'


def load_anchors() -> ModuleType:
    spec = importlib.util.spec_from_file_location("log_anchors", ANCHORS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_anchor(anchors: ModuleType, lines: int, workdir: Path) -> dict[str, Any]:
    """Run the anchor script's own main() and read its figures from what it prints."""
    out = io.StringIO()
    argv = sys.argv
    sys.argv = ["log_anchors.py", "--lines", str(lines), "--workdir", str(workdir)]
    try:
        with contextlib.redirect_stdout(out):
            anchors.main()
    finally:
        sys.argv = argv
    text = out.getvalue()
    ingest = re.search(
        r"sqlite rows ingest ([\d,]+) lines/s; fts rebuild ([\d.]+)s "
        r"\(rows\+fts ([\d,]+) lines/s\); db (\d+) MB",
        text,
    )
    assert ingest is not None, text
    figures: dict[str, Any] = {
        "printed": text.strip().splitlines(),
        "fts_ingest_lines_per_s": int(ingest.group(3).replace(",", "")),
        "db_mb": int(ingest.group(4)),
    }
    return figures


def timed(call: Callable[[], Any], repeat: int = 5) -> tuple[Any, float]:
    result = None
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = call()
        times.append((time.perf_counter() - started) * 1e3)
    return result, statistics.median(times)


def measure(lines: int, workdir: Path) -> dict[str, Any]:
    from stats.logs import LogStore

    anchors = load_anchors()
    anchor_dir = workdir / "anchor"
    anchor = run_anchor(anchors, lines, anchor_dir)
    raw_bytes = (anchor_dir / "messages").stat().st_size

    path = workdir / "logs.sqlite"
    store = LogStore(path)
    generator = anchors.lines(lines, 1)
    ingest_s = 0.0
    while True:
        batch: list[tuple[str, dict[str, Any]]] = []
        for row in generator:
            t, host, sev, message = row
            batch.append(
                (
                    host,
                    {
                        "kind": "log",
                        "t": float(t),
                        "severity": SEVERITIES[sev],
                        "facility": "daemon",
                        "source": "syslog",
                        "message": message,
                    },
                )
            )
            if len(batch) == BATCH:
                break
        if not batch:
            break
        started = time.perf_counter()
        store.append_mixed(batch)
        ingest_s += time.perf_counter() - started
    store.close()  # the last connection to close checkpoints the write-ahead log into the file
    store_bytes = sum(p.stat().st_size for p in workdir.glob("logs.sqlite*"))

    reference = sqlite3.connect(anchor_dir / "logs.sqlite")
    (sample,) = reference.execute(
        "select msg from log where msg like '%reconnecting' limit 1 offset 5000"
    ).fetchone()
    uuid = sample.split("Client ")[1].split()[0]
    queries = {
        "rare token (one uuid)": uuid,
        "evicting + OST0007": "evicting AND OST0007",
        "Recovery over": PHRASE,
    }
    store = LogStore(path)
    results: dict[str, Any] = {}
    matches = True
    for name, text in queries.items():
        (anchor_count,) = reference.execute(
            "select count(*) from log_fts where log_fts match ?", (text,)
        ).fetchone()
        anchor_newest = [
            r[0]
            for r in reference.execute(
                "select rowid from log_fts where log_fts match ? order by rowid desc limit 100",
                (text,),
            )
        ]
        with LogStore(path) as fresh:  # nothing of the store decoded yet
            _, search_cold_ms = timed(lambda text=text: fresh.search(text, limit=100), 1)
        count, count_ms = timed(lambda text=text: store.count(text))
        found, search_ms = timed(lambda text=text: store.search(text, limit=100))
        same = count == anchor_count and [line.seq for line in found] == anchor_newest
        matches &= same
        results[name] = {
            "query": text,
            "count": count,
            "count_ms": round(count_ms, 2),
            "search_ms": round(search_ms, 2),
            "search_cold_ms": round(search_cold_ms, 2),
            "matches_anchor": same,
        }
    store.close()
    reference.close()
    return {
        "lines": lines,
        "ingest_lines_per_s": round(lines / ingest_s),
        "search_ms": max(r["search_ms"] for r in results.values()),
        "search_cold_ms": max(r["search_cold_ms"] for r in results.values()),
        "count_ms": results["Recovery over"]["count_ms"],
        "bytes_per_line": round(store_bytes / lines, 1),
        "raw_text_bytes_per_line": round(raw_bytes / lines, 1),
        "matches_anchor": matches,
        "queries": results,
        "anchor": anchor,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_LINES:,} lines")
    parser.add_argument("--lines", type=int, help=f"default {FULL_LINES:,}")
    parser.add_argument("--workdir", type=Path, help="keep the files here (default: a temp dir)")
    args = parser.parse_args()
    lines = args.lines or (QUICK_LINES if args.quick else FULL_LINES)
    with contextlib.ExitStack() as stack:
        workdir = args.workdir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        workdir.mkdir(parents=True, exist_ok=True)
        for old in workdir.glob("logs.sqlite*"):
            old.unlink()
        result = measure(lines, workdir)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:24s} {value}")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
