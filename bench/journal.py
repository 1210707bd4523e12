"""Benchmark of the agent's record journal: appending and backfilling 100k statistics records.

It appends 100,000 stat records in rounds of 100 (one collect round of a busy server), then
reads them all back as a desktop backfills, in pages of 5,000 (the agent's FETCH limit), and
prints:
  append_records_per_s   records appended per second (flush per append, no fsync)
  read_records_per_s     records read back (checked and decoded) per second
  bytes_per_record       segment bytes on disk per record (20 of them are the frame header)
  append_fsync_records_per_s   the same rounds with fsync=True, on the first 10,000 records
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RECORDS = 100_000
ROUND = 100
PAGE = 5_000
FSYNC_RECORDS = 10_000
METRICS = ("read_bytes", "write_bytes", "kbytesfree", "num_exports", "cpu_user")


def stat_records(count: int) -> list[dict[str, Any]]:
    return [
        {
            "kind": "stat",
            "t": 1_700_000_000.0 + n // 50 * 10,
            "subject": f"demofs-OST{n % 10:04x}",
            "metric": METRICS[n % len(METRICS)],
            "value": float(n * 4096),
        }
        for n in range(count)
    ]


def append_all(directory: Path, records: list[dict[str, Any]], *, fsync: bool) -> float:
    from agentlink.daemon.journal import RecordJournal

    with RecordJournal(directory, fsync=fsync) as journal:
        started = time.perf_counter()
        for start in range(0, len(records), ROUND):
            journal.append(records[start : start + ROUND])
        return time.perf_counter() - started


def measure() -> dict[str, Any]:
    from agentlink.daemon.journal import RecordJournal

    records = stat_records(RECORDS)
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch) / "journal"
        append_s = append_all(directory, records, fsync=False)
        with RecordJournal(directory) as journal:
            size = journal.size_bytes
            started = time.perf_counter()
            after, read = 0, 0
            while True:
                batch = journal.read_since(after, PAGE)
                if not batch.records:
                    break
                read += len(batch.records)
                after = batch.records[-1].seq
            read_s = time.perf_counter() - started
        assert read == RECORDS, read
        fsync_s = append_all(Path(scratch) / "synced", records[:FSYNC_RECORDS], fsync=True)
    return {
        "bench": "journal",
        "records": RECORDS,
        "append_records_per_s": round(RECORDS / append_s),
        "read_records_per_s": round(RECORDS / read_s),
        "bytes_per_record": round(size / RECORDS, 1),
        "append_fsync_records_per_s": round(FSYNC_RECORDS / fsync_s),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="one JSON object")
    options = parser.parse_args()
    row = measure()
    if options.json:
        print(json.dumps(row))
    else:
        print(", ".join(f"{key}={value}" for key, value in row.items()))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
