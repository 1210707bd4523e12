"""A child process that appends batches to a log store and says after each one it stored."""

from __future__ import annotations

import sys
from pathlib import Path

from stats.logs import LogStore
from tests.stats.logs.helpers import record


def main() -> None:
    store = LogStore(Path(sys.argv[1]), block_lines=500)
    batch = 0
    while True:
        store.append("oss01", [record(float(batch), f"batch {batch} line {i}") for i in range(97)])
        print(batch, flush=True)
        batch += 1


if __name__ == "__main__":
    main()
