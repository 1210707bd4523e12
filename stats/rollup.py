"""NumPy kernels of the stats store: counter rates and min/avg/max rollups into buckets.

Layer: stats. Thread: any; pure functions.

Buckets are labelled by their end, as in RRD: the bucket labelled L with step s holds the samples
with L - s < t <= L. A rollup row keeps sum, count, min and max of the finite samples in it, so
rows of a fine tier combine exactly into the rows of a coarser one and an average over any run of
rows is the plain mean of the raw samples.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

WRAP32: Final = float(2**32)


@dataclass(frozen=True)
class Rows:
    """Rollup rows: bucket end labels (seconds) and sum, count, min, max of the samples in each."""

    labels: I64
    sum: F64
    count: I64
    min: F64
    max: F64

    @staticmethod
    def empty() -> Rows:
        f = np.empty(0)
        return Rows(np.empty(0, dtype=np.int64), f, np.empty(0, dtype=np.int64), f, f)

    def __len__(self) -> int:
        return int(self.labels.size)

    def select(self, t0: int, t1: int) -> Rows:
        """The rows labelled in (t0, t1]."""
        a, b = np.searchsorted(self.labels, [t0, t1], side="right")
        return Rows(self.labels[a:b], self.sum[a:b], self.count[a:b], self.min[a:b], self.max[a:b])

    @staticmethod
    def concat(parts: list[Rows]) -> Rows:
        parts = [p for p in parts if len(p)]
        if not parts:
            return Rows.empty()
        if len(parts) == 1:
            return parts[0]
        return Rows(
            np.concatenate([p.labels for p in parts]),
            np.concatenate([p.sum for p in parts]),
            np.concatenate([p.count for p in parts]),
            np.concatenate([p.min for p in parts]),
            np.concatenate([p.max for p in parts]),
        )


def bucket_labels(ts: I64, step: int) -> I64:
    """The end label of the bucket of width `step` holding each time."""
    return -((-ts) // step) * step


def counter_rates(
    prev_ts: npt.ArrayLike,
    prev_val: npt.ArrayLike,
    ts: npt.ArrayLike,
    val: npt.ArrayLike,
    heartbeat: float,
) -> F64:
    """Per-second rates of a cumulative counter between consecutive readings.

    A decrease is a 32-bit wrap when both readings fit in 32 bits and the wrapped difference is
    below 2**31; any other decrease is a reset (the server restarted) and that interval's rate is
    unknown (NaN). Intervals longer than `heartbeat` seconds or not positive, and readings that are
    NaN, also give NaN: a rate is never made up across a gap.
    """
    t0 = np.asarray(prev_ts, dtype=np.float64)
    t1 = np.asarray(ts, dtype=np.float64)
    c0 = np.asarray(prev_val, dtype=np.float64)
    c1 = np.asarray(val, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        dt = t1 - t0
        d = c1 - c0
        wrap = (d < 0) & (c0 < WRAP32) & (c1 >= 0) & (d + WRAP32 < WRAP32 / 2)
        d = np.where(wrap, d + WRAP32, d)
        rate = d / dt
    unknown = (d < 0) | ~(dt > 0) | (dt > heartbeat) | ~np.isfinite(rate)
    return np.where(unknown, np.nan, rate)


def series_rates(ts: I64, val: F64, prev_ts: int | None, prev_val: float, heartbeat: float) -> F64:
    """Rates at each reading of one counter; the first uses (prev_ts, prev_val) when known."""
    if not ts.size:
        return np.empty(0)
    p_ts = np.empty(ts.size, dtype=np.int64)
    p_val = np.empty(ts.size)
    p_ts[1:] = ts[:-1]
    p_val[1:] = val[:-1]
    if prev_ts is None:
        p_ts[0] = ts[0]  # dt = 0 gives NaN: nothing to difference against
        p_val[0] = np.nan
    else:
        p_ts[0] = prev_ts
        p_val[0] = prev_val
    return counter_rates(p_ts, p_val, ts, val, heartbeat)


def _buckets(t: I64, step: int, even: bool = False) -> tuple[I64, I64]:
    """Where each bucket of `step` s starts among times `t` (sorted), and the buckets' labels.
    `even`: the caller knows the times are evenly spaced (spares checking every one)."""
    n = t.size
    if n > 1:
        every = int(t[1] - t[0])
        if every > 0 and step % every == 0 and (even or bool((t[1:] - t[:-1] == every).all())):
            # evenly spaced (reports every 10 s, rows of a tier without gaps): no per-time work
            first = -(-int(t[0]) // step) * step
            starts = np.arange((first - int(t[0])) // every + 1 - step // every, n, step // every)
            starts[0] = 0
            return starts, first + step * np.arange(starts.size, dtype=np.int64)
    labels = bucket_labels(t, step)
    starts = np.concatenate(([0], np.flatnonzero(labels[1:] != labels[:-1]) + 1))
    return starts, labels[starts]


def rollup_samples(ts: I64, val: F64, step: int) -> Rows:
    """Roll samples (sorted by time) up into buckets of `step` seconds; NaNs are left out."""
    ok = np.isfinite(val)
    if not ok.all():
        ts, val = ts[ok], val[ok]
    if not ts.size:
        return Rows.empty()
    starts, labels = _buckets(ts, step)
    counts = np.empty(starts.size, dtype=np.int64)
    np.subtract(starts[1:], starts[:-1], out=counts[:-1])
    counts[-1] = ts.size - starts[-1]
    return Rows(
        labels,
        np.add.reduceat(val, starts),
        counts,
        np.minimum.reduceat(val, starts),
        np.maximum.reduceat(val, starts),
    )


def rollup_rows(rows: Rows, step: int, tier_step: int = 0) -> Rows:
    """Combine rows of a finer tier into rows of `step` seconds (exact for sum, count, min, max).

    `tier_step`: the rows are a tier's of that step (labels on its multiples, increasing), which
    makes them evenly spaced when they span len - 1 steps: no gap to look for row by row."""
    if not len(rows):
        return rows
    labels = rows.labels
    even = bool(tier_step) and int(labels[-1] - labels[0]) == tier_step * (labels.size - 1)
    starts, labels = _buckets(labels, step, even)
    return Rows(
        labels,
        np.add.reduceat(rows.sum, starts),
        np.add.reduceat(rows.count, starts),
        np.minimum.reduceat(rows.min, starts),
        np.maximum.reduceat(rows.max, starts),
    )
