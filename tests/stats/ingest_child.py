"""Child process for the kill -9 test: ingests reports forever, printing each acknowledged time.

Layer: tests. Thread: main.
"""

from __future__ import annotations

import sys

import numpy as np

from stats.store import SeriesKind, StatsStore, StoreConfig

T0 = 1_700_006_400


def main() -> None:
    store = StatsStore.open(sys.argv[1], StoreConfig(clock=lambda: float(T0 + 10**7)))
    gauges = store.series_ids((f"OST{k:04x}", "kbytesfree") for k in range(50))
    counters = store.series_ids(
        ((f"OST{k:04x}", "stats_read_bytes") for k in range(50)), SeriesKind.COUNTER
    )
    ids = np.concatenate([gauges, counters])
    k = 0
    while True:
        k += 1
        store.ingest(T0 + 10 * k, ids, np.full(ids.size, 1000.0 * k))
        print(T0 + 10 * k, flush=True)


if __name__ == "__main__":
    main()
