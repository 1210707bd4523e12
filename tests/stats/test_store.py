"""What an administrator sees of the stats store: rates, charts, totals, top-N, bad input."""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from stats import wal
from stats.errors import (
    StatsDiskFullError,
    StatsInputError,
    StatsLockedError,
    StatsVersionError,
)
from stats.store import DAY, PARTITION, Chart, SeriesKind, StatsStore, StoreConfig, Tier

T0 = 1_700_006_400  # a whole day, in the past of any test run
NOW = float(T0 + 40 * DAY)


def config(**kw: object) -> StoreConfig:
    return StoreConfig(clock=lambda: NOW, **kw)  # type: ignore[arg-type]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StatsStore]:
    s = StatsStore.open(tmp_path / "stats", config())
    yield s
    s.close()


def test_counter_rates_survive_a_reset_and_a_32_bit_wrap(store: StatsStore) -> None:
    sid = store.series_id("OST0000", "stats_read_bytes", SeriesKind.COUNTER)
    readings = [1000, 2000, 3000, 500, 1500, 2**32 - 100, 900]
    for k, value in enumerate(readings):
        store.ingest(T0 + 10 * (k + 1), [sid], [value])
    chart = store.fetch(sid, T0, T0 + 70, 10)
    # first reading has nothing before it; the reset (3000 -> 500) is unknown, not a negative rate
    assert np.isnan(chart.avg[0])
    assert list(chart.avg[1:3]) == [100.0, 100.0]
    assert np.isnan(chart.avg[3])
    assert chart.avg[4] == 100.0
    assert chart.avg[6] == pytest.approx((100 + 900) / 10)  # wrapped at 2**32
    assert store.latest([sid])[1][0] == pytest.approx(100.0)


def test_chart_of_a_month_matches_the_raw_averages_across_tiers(tmp_path: Path) -> None:
    s = StatsStore.open(tmp_path / "month", config())
    sid = s.series_id("OST0001", "kbytesfree")
    n = 10 * 8640
    ts = T0 + 10 * np.arange(1, n + 1)
    rng = np.random.default_rng(1)
    values = 1e6 + np.cumsum(rng.normal(0, 100, n))
    values[500:520] = np.nan  # a gap
    s.ingest_block(ts, [sid], values[:, None])
    end = int(ts[-1])
    chart = s.fetch(sid, end - 8 * DAY, end, 2700)
    assert chart.tier == "5 min"
    raw = values[-8 * 8640 :].reshape(-1, 270)
    assert np.allclose(chart.avg, np.nanmean(raw, axis=1), rtol=1e-12)
    assert np.array_equal(chart.max, np.nanmax(raw, axis=1))
    assert np.array_equal(chart.min, np.nanmin(raw, axis=1))
    auto = s.chart(sid, end - 8 * DAY, end, max_points=500)
    assert len(auto.ts) <= 500 and end <= auto.ts[-1] < end + auto.step  # whole buckets
    usage = s.usage()
    assert usage.describe().startswith("stats use ")
    assert "raw points back to" in usage.describe()
    # retention: raw points are kept one day (plus what the 1-min tier has not been built from)
    raw_tier = usage.tiers[0]
    assert raw_tier.oldest is not None and raw_tier.oldest >= end - 2 * DAY
    assert usage.tiers[2].oldest is not None and usage.tiers[2].oldest <= end - 9 * DAY
    s.close()
    again = StatsStore.open(tmp_path / "month", config())
    assert np.array_equal(again.fetch(sid, end - 8 * DAY, end, 2700).avg, chart.avg, equal_nan=True)
    again.close()


def test_totals_top_n_and_ost_balance(store: StatsStore) -> None:
    osts = [f"OST{k:04x}" for k in range(4)]
    write = store.series_ids(((o, "stats_write_bytes") for o in osts), SeriesKind.COUNTER)
    free = store.series_ids((o, "kbytesfree") for o in osts)
    total = store.series_ids((o, "kbytestotal") for o in osts)
    speeds = np.array([10.0, 40.0, 20.0, 30.0])
    for k in range(31):
        t = T0 + 10 * k
        store.ingest(t, write, speeds * 10 * k)
        store.ingest(t, free, [900.0, 500.0, 100.0, 700.0])
        store.ingest(t, total, [1000.0] * 4)
    ts, sums = store.reduce(write, T0, T0 + 300, 60)
    assert ts[-1] == T0 + 300
    assert np.allclose(sums[1:], speeds.sum())
    _, per_report = store.reduce(write, T0, T0 + 300, 10)
    assert per_report.size == 30 and np.allclose(per_report, speeds.sum())
    # a series that missed reports is left out of those buckets only
    store.ingest(T0 + 310, write[:2], speeds[:2] * 310)
    store.ingest(T0 + 320, write, speeds * 320)
    _, tail = store.reduce(write, T0 + 290, T0 + 320, 10)
    assert np.allclose(tail, [speeds.sum(), speeds[:2].sum(), speeds.sum()])
    busiest = store.top(write, T0, T0 + 300, 2)
    assert [sid for sid, _ in busiest] == [int(write[1]), int(write[3])]
    assert busiest[0][1] == pytest.approx(40.0)
    balance = store.ost_balance(free, total)
    assert np.allclose(balance.used, [0.1, 0.5, 0.9, 0.3])
    assert balance.spread == pytest.approx(0.8)


@pytest.mark.parametrize("uneven", [False, True])
def test_totals_of_the_hour_in_memory_equal_the_sum_of_each_series_chart(
    store: StatsStore, uneven: bool
) -> None:
    rng = np.random.default_rng(7)
    gauges = store.series_ids((f"OST{k:04x}", "kbytesfree") for k in range(6))
    counters = store.series_ids(
        ((f"OST{k:04x}", "stats_read_bytes") for k in range(6)), SeriesKind.COUNTER
    )
    level = rng.random(6) * 1e6
    for k in range(1, 91):
        keep = rng.random(6) < 0.7 if uneven else np.ones(6, dtype=bool)
        store.ingest(T0 + 10 * k, gauges[keep], rng.random(6)[keep] * 1e3)
        level += rng.integers(0, 1 << 20, 6)
        store.ingest(T0 + 10 * k, counters[keep], level[keep])
    for ids in (gauges, counters):
        for bucket in (10, 60, 300):
            per_series = np.array([store.fetch(int(i), T0, T0 + 900, bucket).avg for i in ids])
            have = np.isfinite(per_series)
            want = np.where(have.any(axis=0), np.where(have, per_series, 0).sum(axis=0), np.nan)
            _, got = store.reduce(ids, T0, T0 + 900, bucket)
            np.testing.assert_allclose(got, want, rtol=1e-12, equal_nan=True)
        means = np.nanmean([store.fetch(int(i), T0, T0 + 900, 900).avg[0] for i in ids])
        assert store.reduce(ids, T0, T0 + 900, 900, "avg")[1][0] == pytest.approx(means)
        for start in (T0, T0 + 890):  # the busiest over the whole span, and in the last report
            span = {
                int(i): store.fetch(int(i), start, T0 + 900, T0 + 900 - start).avg[0] for i in ids
            }
            ranked = sorted((i for i in span if np.isfinite(span[i])), key=lambda i: -span[i])
            top = store.top(ids, start, T0 + 900, 6)
            assert [(i, pytest.approx(span[i])) for i in ranked] == top


def test_bad_input_has_defined_outcomes(store: StatsStore) -> None:
    sid = store.series_id("mds1", "cpu_user")
    assert store.ingest(T0 + 10, [sid], [1.0]).accepted == 1
    assert store.ingest(T0 + 10, [sid], [2.0]).duplicate == 1  # first value wins
    assert store.ingest(T0 + 5, [sid], [3.0]).out_of_order == 1  # clock went back
    assert store.ingest(NOW + 3600, [sid], [4.0]).future == 1  # clock jumped forward
    nan = store.ingest(T0 + 20, [sid], [float("nan")])
    inf = store.ingest(T0 + 30, [sid], [float("inf")])
    assert (nan.non_finite, inf.non_finite, nan.accepted) == (1, 1, 1)
    store.ingest(T0 + 40, [sid], [5.0])
    chart = store.fetch(sid, T0, T0 + 40, 10)
    assert chart.avg[0] == 1.0 and chart.avg[3] == 5.0
    assert np.isnan(chart.avg[1]) and np.isnan(chart.avg[2])  # unknown, not zero or infinite
    # a day later the 1-minute rollups of the first day are built: older samples are late
    store.ingest(T0 + 2 * DAY, [sid], [6.0])
    other = store.series_id("mds1", "cpu_system")
    assert store.ingest(T0 + 100, [other], [1.0]).late == 1


def test_a_report_naming_an_unregistered_series_is_refused_whole(store: StatsStore) -> None:
    sid = store.series_id("oss1", "cpu_user")
    store.ingest(T0 + 10, [sid], [1.0])
    for bad in ([sid, sid + 1], [sid, -1], [sid, 2**31 - 1], [sid + 40]):
        with pytest.raises(StatsInputError, match="never registered"):
            store.ingest(T0 + 20, bad, [2.0] * len(bad))
        with pytest.raises(StatsInputError, match="never registered"):
            store.ingest_block([T0 + 20], bad, [[2.0] * len(bad)])
    assert store.ingest(T0 + 20, [sid], [3.0]).accepted == 1  # nothing of the refused landed
    assert list(store.fetch(sid, T0, T0 + 20, 10).avg) == [1.0, 3.0]


def test_reports_of_uneven_series_keep_each_series_samples_apart(tmp_path: Path) -> None:
    # series join and skip reports: each keeps its own samples, in memory and once written out
    s = StatsStore.open(tmp_path / "uneven", config())
    ids = s.series_ids([("OST0000", f"m{k}") for k in range(5)])
    expect: dict[int, list[float]] = {int(i): [] for i in ids}
    for k in range(1, 400):  # past the hour: the first hour is written out
        some = ids[[j for j in range(5) if (k + j) % (j + 1) == 0]]
        vals = [float(1000 * int(i) + k) for i in some]
        s.ingest(T0 + 10 * k, some, vals)
        for i, v in zip(some.tolist(), vals, strict=True):
            expect[i].append(v)
    s.ingest_block(T0 + 10 * np.arange(400, 410), ids[::2], np.arange(30.0).reshape(10, 3))
    for j, i in enumerate(ids.tolist()):
        if j % 2 == 0:
            expect[i] += [float(3 * r + j // 2) for r in range(10)]
        chart = s.fetch(i, T0, T0 + 4100, 10)
        assert list(chart.avg[np.isfinite(chart.avg)]) == expect[i]
    assert s.latest(ids)[1].tolist() == [expect[int(i)][-1] for i in ids]
    s.close()


def test_a_second_process_cannot_open_the_store(store: StatsStore) -> None:
    with pytest.raises(StatsLockedError, match="in use"):
        StatsStore.open(store.root, config())


@pytest.mark.parametrize(("found", "says"), [(1, "an older"), (2, "an older"), (99, "a newer")])
def test_a_store_of_another_layout_is_named_as_such_and_left_untouched(
    tmp_path: Path, found: int, says: str
) -> None:
    root = tmp_path / "stats"
    with StatsStore.open(root, config()) as made:
        sid = made.series_id("oss1", "cpu_user")
        made.ingest(T0 + 10, [sid], [1.0])
    with sqlite3.connect(root / "catalogue.sqlite") as db:
        (current,) = db.execute("SELECT version FROM state").fetchone()
        db.execute("UPDATE state SET version = ?", (found,))
    before = sorted((p.name, p.stat().st_size) for p in root.rglob("*") if p.is_file())
    with pytest.raises(StatsVersionError, match=says) as raised:
        StatsStore.open(root, config())
    assert "damaged" not in str(raised.value)
    after = sorted((p.name, p.stat().st_size) for p in root.rglob("*") if p.is_file())
    assert after == before
    with sqlite3.connect(root / "catalogue.sqlite") as db:  # put back, it opens with its data
        db.execute("UPDATE state SET version = ?", (current,))
    with StatsStore.open(root, config()) as reopened:
        assert reopened.series_id("oss1", "cpu_user") == sid


def test_disk_full_is_reported_and_the_store_stays_consistent(
    store: StatsStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    sid = store.series_id("oss1", "mem_MemFree")
    store.ingest(T0 + 10, [sid], [1.0])

    def no_space(fd: int, parts: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(wal, "write_all", no_space)
        with pytest.raises(StatsDiskFullError, match="ran out of disk space"):
            store.ingest(T0 + 20, [sid], [2.0])
        with pytest.raises(StatsDiskFullError):
            store.checkpoint()
    store.ingest(T0 + 30, [sid], [3.0])  # space is back
    root = store.root
    store.abandon()
    reopened = StatsStore.open(root, config())
    chart = reopened.fetch(sid, T0, T0 + 30, 10)
    assert list(np.nan_to_num(chart.avg)) == [1.0, 0.0, 3.0]
    reopened.close()


def test_an_unstored_tier_gives_the_same_charts_from_less_disk(tmp_path: Path) -> None:
    def tiers(stored: bool) -> tuple[Tier, ...]:
        return (
            Tier("raw", 0, 40 * DAY, PARTITION),
            Tier("1 min", 60, 40 * DAY, DAY, stored=stored),
            Tier("5 min", 300, 40 * DAY, 7 * DAY),
            Tier("1 h", 3600, None, 7 * DAY),
        )

    ts, values = _walk(10 * 8640, 2)
    end = int(ts[-1])
    charts = {}
    for stored in (True, False):
        s = StatsStore.open(tmp_path / str(stored), config(tiers=tiers(stored)))
        sid = s.series_id("OST0002", "kbytesfree")
        s.ingest_block(ts, [sid], values[:, None])
        s.close()
        s = StatsStore.open(tmp_path / str(stored), config(tiers=tiers(stored)))
        charts[stored] = [s.fetch(sid, end - 9 * DAY, end, b) for b in (60, 600, 2700, 3600)]
        usage = {t.name: t.bytes for t in s.usage().tiers}
        assert (usage["1 min"] > 0) is stored and usage["5 min"] > 0 and usage["1 h"] > 0
        s.close()
    for kept, derived in zip(charts[True], charts[False], strict=True):
        assert np.allclose(kept.avg, derived.avg, rtol=1e-12, equal_nan=True)
        assert np.array_equal(kept.min, derived.min, equal_nan=True)
        assert np.array_equal(kept.count, derived.count)


def test_an_unstored_tier_needs_the_tier_below_kept_as_long(tmp_path: Path) -> None:
    short_raw = (Tier("raw", 0, DAY, PARTITION), Tier("1 min", 60, 7 * DAY, DAY, stored=False))
    with pytest.raises(StatsInputError, match="kept at least as long"):
        StatsStore.open(tmp_path / "bad", config(tiers=short_raw))


def test_tiers_keeping_averages_only_chart_the_same_averages_from_a_third_of_the_disk(
    tmp_path: Path,
) -> None:
    def tiers(min_max: bool) -> tuple[Tier, ...]:
        return (
            Tier("raw", 0, 3 * DAY, PARTITION),
            Tier("1 min", 60, 40 * DAY, DAY, keeps_min_max=min_max),
            Tier("5 min", 300, 40 * DAY, 7 * DAY, keeps_min_max=min_max),
            Tier("1 h", 3600, None, 7 * DAY, keeps_min_max=min_max),
        )

    ts, values = _walk(15 * 8640, 4)
    end = int(ts[-1])
    charts, usage = {}, {}
    for min_max in (True, False):
        path = tmp_path / str(min_max)
        with StatsStore.open(path, config(tiers=tiers(min_max))) as s:
            sid = s.series_id("OST0003", "kbytesfree")
            s.ingest_block(ts, [sid], values[:, None])
        with StatsStore.open(path, config(tiers=tiers(min_max))) as s:
            charts[min_max] = [s.fetch(sid, end - 14 * DAY, end, b) for b in (60, 600, 3600)]
            usage[min_max] = {t.name: t.bytes for t in s.usage().tiers}
    for full, averages in zip(charts[True], charts[False], strict=True):
        assert averages.tier != "raw"
        assert np.allclose(full.avg, averages.avg, rtol=1e-12, equal_nan=True)
        assert np.array_equal(full.count, averages.count)
        assert np.isnan(averages.min).all() and np.isnan(averages.max).all()
        assert np.isfinite(full.min[full.count > 0]).all()
    for name in ("1 min", "5 min", "1 h"):
        assert 0 < usage[False][name] < 0.45 * usage[True][name]


def test_a_tier_cannot_keep_min_and_max_built_from_one_without(tmp_path: Path) -> None:
    mixed = (
        Tier("raw", 0, DAY, PARTITION),
        Tier("1 min", 60, 7 * DAY, DAY, keeps_min_max=False),
        Tier("5 min", 300, 31 * DAY, 7 * DAY),
    )
    with pytest.raises(StatsInputError, match="keeps averages only"):
        StatsStore.open(tmp_path / "bad", config(tiers=mixed))
    assert not (tmp_path / "bad" / "catalogue.sqlite").exists()


def _bucket_means(ts: np.ndarray, values: np.ndarray, t0: int, t1: int, bucket: int) -> np.ndarray:
    """The plain mean of the finite samples in each bucket (L - bucket, L] of (t0, t1]."""
    keep = (ts > t0) & (ts <= t1) & np.isfinite(values)
    k = (-((-ts[keep]) // bucket) * bucket - t0) // bucket - 1
    nb = (t1 - t0) // bucket
    with np.errstate(invalid="ignore"):
        return np.bincount(k, values[keep], nb) / np.bincount(k, minlength=nb)


def _walk(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`n` samples 10 s apart from T0 on, of a gauge wandering about 1e6."""
    ts = T0 + 10 * np.arange(1, n + 1)
    return ts, 1e6 + np.cumsum(np.random.default_rng(seed).normal(0, 100, n))


def _chart_of_plain_means(
    s: StatsStore, sid: int, ts: np.ndarray, values: np.ndarray, span: int, bucket: int
) -> Chart:
    """The chart of the last `span` seconds to `ts[-1]`, checked against the plain means of
    the samples in each of its buckets."""
    end = int(ts[-1])
    chart = s.fetch(sid, end - span, end, bucket)
    t0, t1 = int(chart.ts[0]) - bucket, int(chart.ts[-1])
    assert np.allclose(chart.avg, _bucket_means(ts, values, t0, t1, bucket), rtol=1e-12)
    return chart


def test_charts_read_cold_warm_or_half_cached_are_the_same(tmp_path: Path) -> None:
    # the benchmark's layout: raw kept 40 days, 1 min rolled up when asked, 5 min built daily
    tiers = (
        Tier("raw", 0, 40 * DAY, PARTITION),
        Tier("1 min", 60, 40 * DAY, DAY, stored=False),
        Tier("5 min", 300, 40 * DAY, DAY),
        Tier("1 h", 3600, None, 7 * DAY),
    )
    s = StatsStore.open(tmp_path / "stats", config(tiers=tiers, cache_bytes=4 << 20))
    gauge = s.series_id("OST0004", "kbytesfree")
    counter = s.series_id("OST0004", "stats_read_bytes", SeriesKind.COUNTER)
    n = 10 * 8640 + 123  # ten days and a part-hour still in memory
    ts = T0 + 10 * np.arange(1, n + 1)
    rng = np.random.default_rng(6)
    walk = 1e6 + np.cumsum(rng.normal(0, 100, n))
    walk[40_000:40_300] = np.nan  # a gap
    reads = 2.0**40 + np.cumsum(rng.poisson(30, n) * 2.0**20)
    s.ingest_block(ts, [gauge, counter], np.stack([walk, reads], axis=1))
    end = int(ts[-1]) - int(ts[-1]) % 2700 + 2700
    for sid in (gauge, counter):
        s.drop_cache()
        cold = s.fetch(sid, end - 9 * DAY, end, 2700)
        warm = s.fetch(sid, end - 9 * DAY, end, 2700)
        s.drop_cache()
        s.fetch(sid, end - 2 * DAY, end - DAY, 2700)  # some of the chunks cached, not all
        half = s.fetch(sid, end - 9 * DAY, end, 2700)
        assert cold.tier == "5 min"
        for other in (warm, half):
            for got, want in zip(
                (other.avg, other.min, other.max, other.count),
                (cold.avg, cold.min, cold.max, cold.count),
                strict=True,
            ):
                assert np.array_equal(got, want, equal_nan=True)
    s.drop_cache()
    chart = s.fetch(gauge, end - 9 * DAY, end, 2700)
    want = _bucket_means(ts, walk, end - 9 * DAY, end, 2700)
    assert np.allclose(chart.avg, want, rtol=1e-12, equal_nan=True)
    rates = np.diff(reads) / 10
    assert np.allclose(
        s.fetch(counter, end - 9 * DAY, end, 2700).avg,
        _bucket_means(ts[1:], rates, end - 9 * DAY, end, 2700),
        rtol=1e-12,
        equal_nan=True,
    )
    s.close()


def test_a_chart_bucket_across_the_end_of_a_built_tier_holds_all_its_samples(
    tmp_path: Path,
) -> None:
    # 65-minute buckets: the 5-minute tier (built daily here) answers them, and the bucket
    # holding the end of its last built day gets its rows from the tier and from raw samples
    tiers = (
        Tier("raw", 0, 40 * DAY, PARTITION),
        Tier("1 min", 60, 40 * DAY, DAY, stored=False),
        Tier("5 min", 300, 40 * DAY, DAY),
    )
    s = StatsStore.open(tmp_path / "stats", config(tiers=tiers))
    sid = s.series_id("OST0005", "kbytesfree")
    ts, walk = _walk(3 * 8640 + 900, 7)
    s.ingest_block(ts, [sid], walk[:, None])
    built = s.built_until()[2]
    assert built % 3900  # the day's end falls inside a bucket
    chart = _chart_of_plain_means(s, sid, ts, walk, 2 * DAY, 3900)
    assert chart.tier == "5 min"
    straddling = (chart.ts > built) & (chart.ts - 3900 < built)
    assert straddling.sum() == 1 and chart.count[straddling][0] == 390
    s.close()


def test_a_store_of_format_3_opens_reads_on_and_is_written_as_format_4(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # format 3 kept every rollup column delta-coded; format 4 keeps noisy floats' bits plain
    from stats import codec
    from stats import store as stats_store

    ts, walk = _walk(4 * 8640, 9)
    half = ts.size // 2
    encode = codec.encode_chunk
    with monkeypatch.context() as patched:  # the rollups as format 3 wrote them
        patched.setattr(
            stats_store.codec, "encode_chunk", lambda cols, plain_noise=False: encode(cols)
        )
        with StatsStore.open(tmp_path / "old", config()) as old:
            sid = old.series_id("OST0000", "kbytesfree")
            old.ingest_block(ts[:half], [sid], walk[:half, None])
    with sqlite3.connect(tmp_path / "old" / "catalogue.sqlite") as db:
        db.execute("UPDATE state SET version = 3")
    with StatsStore.open(tmp_path / "old", config()) as upgraded:
        upgraded.ingest_block(ts[half:], [sid], walk[half:, None])
        charts = [upgraded.fetch(sid, int(ts[-1]) - 4 * DAY, int(ts[-1]), b) for b in (300, 3600)]
    with sqlite3.connect(tmp_path / "old" / "catalogue.sqlite") as db:
        assert db.execute("SELECT version FROM state").fetchone() == (4,)
    with StatsStore.open(tmp_path / "new", config()) as new:
        ref = new.series_id("OST0000", "kbytesfree")
        new.ingest_block(ts, [ref], walk[:, None])
        for chart, bucket in zip(charts, (300, 3600), strict=True):
            want = new.fetch(ref, int(ts[-1]) - 4 * DAY, int(ts[-1]), bucket)
            assert np.allclose(chart.avg, want.avg, rtol=1e-12, equal_nan=True)
            assert np.array_equal(chart.max, want.max, equal_nan=True)


def test_a_chart_bucket_across_two_tiers_ends_holds_all_its_samples(tmp_path: Path) -> None:
    # default tiers: 65-minute buckets read the 5-minute tier (built weekly), then the 1-minute
    # tier (built daily), then raw samples; both ends fall inside buckets
    s = StatsStore.open(tmp_path / "stats", config())
    sid = s.series_id("OST0006", "kbytesfree")
    ts, walk = _walk(9 * 8640 + 1500, 8)
    s.ingest_block(ts, [sid], walk[:, None])
    built = s.built_until()
    assert built[2] % 3900 and built[1] % 3900 and built[2] < built[1]
    chart = _chart_of_plain_means(s, sid, ts, walk, 8 * DAY, 3900)
    assert chart.tier == "5 min"
    in_chart = (ts > chart.ts[0] - 3900) & (ts <= chart.ts[-1])
    assert int(chart.count.sum()) == int(in_chart.sum())
    assert (chart.ts[1:] > chart.ts[:-1]).all()
    s.close()
