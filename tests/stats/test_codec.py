"""The codec gives back every value bit for bit and packs Lustre-like series tightly."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from stats import codec
from stats.errors import StatsCorruptError

int64s = st.integers(min_value=-(2**63), max_value=2**63 - 1)


@given(st.lists(int64s, max_size=300))
def test_any_int64_sequence_round_trips(values: list[int]) -> None:
    arr = np.array(values, dtype=np.int64)
    assert np.array_equal(codec.decode_int64(codec.encode_int64(arr)), arr)
    assert np.array_equal(codec.decode_int64(codec.encode_int64(arr, dod=True)), arr)


@given(st.lists(int64s, max_size=300))
def test_any_float64_bit_pattern_round_trips(bits: list[int]) -> None:
    # every bit pattern: NaN payloads, signalling NaNs, infinities, -0.0, subnormals
    arr = np.array(bits, dtype=np.int64).view(np.float64)
    back = codec.decode_float64(codec.encode_float64(arr))
    assert np.array_equal(back.view(np.int64), arr.view(np.int64))


@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=300))
def test_any_float64_value_round_trips(values: list[float]) -> None:
    arr = np.array(values, dtype=np.float64)
    back = codec.decode_float64(codec.encode_float64(arr))
    assert np.array_equal(back.view(np.int64), arr.view(np.int64))


def test_whole_numbers_keep_negative_zero() -> None:
    arr = np.array([1.0, -0.0, 3.0])
    assert np.signbit(codec.decode_float64(codec.encode_float64(arr))[1])


def test_lustre_counters_take_under_two_bytes_a_point() -> None:
    rng = np.random.default_rng(7)
    busy = np.repeat(rng.random(12) < 0.5, 30)
    inc = np.where(busy, rng.poisson(30, 360) * 2**20 + rng.poisson(2, 360) * 4096, 0)
    read_bytes = (2**36 + np.cumsum(inc)).astype(np.float64)
    ops = (10**9 + np.cumsum(np.where(busy, rng.poisson(300, 360), 0))).astype(np.float64)
    assert len(codec.encode_float64(read_bytes)) / 360 < 2
    assert len(codec.encode_float64(ops)) / 360 < 2


def test_regular_timestamps_cost_almost_nothing() -> None:
    ts = 1_700_000_000 + 10 * np.arange(360, dtype=np.int64)
    assert len(codec.encode_int64(ts, dod=True)) < 64


@given(
    st.lists(
        st.tuples(
            st.lists(int64s, min_size=0, max_size=40),
            st.sampled_from(["whole", "bits", "counter"]),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_chunks_decoded_together_match_each_chunk(parts: list[tuple[list[int], str]]) -> None:
    # chunks of one query mix transforms (dod or delta, whole or bit-coded floats) and lengths
    blobs, expected = [], []
    for ints, shape in parts:
        t = np.array(ints, dtype=np.int64)
        if shape == "whole":
            f = (t % 1000).astype(np.float64)
        elif shape == "bits":
            f = t.view(np.float64)
        else:
            f = np.cumsum(np.abs(t) % 7).astype(np.float64)
        cols = [(codec.Kind.TIME, t), (codec.Kind.FLOAT, f), (codec.Kind.INT, t // 3)]
        blobs.append(codec.encode_chunk(cols))
        expected.append([t, f, t // 3])
    for got, want in zip(codec.decode_chunks(blobs, 3), expected, strict=True):
        assert got[0].dtype == np.int64 and got[2].dtype == np.int64
        assert got[1].dtype == np.float64
        for g, w in zip(got, want, strict=True):
            assert np.array_equal(g.view(np.int64), w.view(np.int64))


def _column(shape: str, n: int, seed: int) -> tuple[codec.Kind, np.ndarray]:
    rng = np.random.default_rng(seed)
    if shape == "times":
        return codec.Kind.TIME, 1_700_000_000 + 10 * np.arange(n, dtype=np.int64)
    if shape == "counts":
        return codec.Kind.INT, np.full(n, 30, dtype=np.int64)
    if shape == "unknown":
        return codec.Kind.FLOAT, np.full(n, np.nan)
    if shape == "constant":
        return codec.Kind.FLOAT, np.full(n, 7.25e12)
    if shape == "walk":
        return codec.Kind.FLOAT, 1e6 + np.cumsum(rng.normal(0, 1000, n))
    if shape == "sign_flips":
        return codec.Kind.FLOAT, rng.normal(0, 1, n)
    return codec.Kind.FLOAT, (2**40 + np.cumsum(rng.poisson(30, n))).astype(np.float64)


@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=400),
            st.lists(
                st.sampled_from(
                    ["times", "counts", "unknown", "constant", "walk", "sign_flips", "counter"]
                ),
                min_size=3,
                max_size=3,
            ),
            st.integers(min_value=0, max_value=2**31),
            st.booleans(),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_chunks_of_every_layout_decode_together_bit_for_bit(
    chunks: list[tuple[int, list[str], int, bool]],
) -> None:
    # a query's chunks: straight lines, delta-coded or plain floats, lengths 0 to 400, mixed
    blobs, expected = [], []
    for n, shapes, seed, plain in chunks:
        cols = [_column(shape, n, seed + k) for k, shape in enumerate(shapes)]
        blobs.append(codec.encode_chunk(cols, plain_noise=plain))
        expected.append([values for _, values in cols])
    for got, want in zip(codec.decode_chunks(blobs, 3), expected, strict=True):
        for g, w in zip(got, want, strict=True):
            assert g.dtype == w.dtype
            assert np.array_equal(g.view(np.int64), w.view(np.int64))


def test_straight_line_columns_take_no_bytes_beyond_the_header() -> None:
    # regular labels, full buckets' counts, a tier's unknown min and max: 16 header bytes each
    n = 1440
    cols = [_column(shape, n, 0) for shape in ("times", "counts", "unknown", "unknown")]
    assert len(codec.encode_chunk(cols)) == 6 + 4 + 4 * 16


@given(st.binary(max_size=200), st.integers(min_value=1, max_value=5))
def test_garbage_is_reported_as_damage(blob: bytes, ncols: int) -> None:
    with contextlib.suppress(StatsCorruptError):  # anything else (a crash, a hang) fails
        assert all(len(cols) == ncols for cols in codec.decode_chunks([blob], ncols))


@given(
    st.integers(min_value=0, max_value=10**6),
    st.integers(min_value=1, max_value=255),
    st.sampled_from(["walk", "counter", "sign_flips", "counts"]),
    st.booleans(),
)
def test_a_damaged_byte_is_reported_as_damage_or_decodes(
    at: int, flip: int, shape: str, plain: bool
) -> None:
    cols = [_column("times", 300, 1), _column(shape, 300, 2), _column("walk", 300, 3)]
    blob = bytearray(codec.encode_chunk(cols, plain_noise=plain))
    blob[at % len(blob)] ^= flip
    with contextlib.suppress(StatsCorruptError):
        ((ts, values, walk),) = codec.decode_chunks([bytes(blob)], 3)
        assert ts.size == values.size == walk.size


@given(
    st.integers(min_value=0, max_value=400),
    st.integers(min_value=0, max_value=2**31),
    st.booleans(),
)
def test_a_truncated_chunk_is_reported_as_damage(cut: int, seed: int, plain: bool) -> None:
    cols = [_column("times", 300, seed), _column("walk", 300, seed)]
    blob = codec.encode_chunk(cols, plain_noise=plain)
    short = blob[: min(cut, len(blob) - 1)]
    with pytest.raises(StatsCorruptError):
        codec.decode_chunks([short], 2)


def test_chunks_needing_different_byte_planes_decode_together() -> None:
    # one layout (jittered report times), a quiet hour and a wild one: 1 plane and 4
    rng = np.random.default_rng(5)
    quiet = 1_700_000_000 + np.cumsum(10 + rng.integers(-1, 2, 360))
    wild = 1_700_000_000 + np.cumsum(10 + rng.integers(0, 10**7, 360))
    blobs = [codec.encode_chunk([(codec.Kind.TIME, t)]) for t in (quiet, wild, quiet)]
    assert blobs[0][5] < blobs[1][5]  # the plane count byte of the header
    got = codec.decode_chunks(blobs, 1)
    for (col,), want in zip(got, (quiet, wild, quiet), strict=True):
        assert np.array_equal(col, want)


@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=300),
            st.sampled_from(["walk", "counter", "constant", "sign_flips"]),
            st.integers(min_value=0, max_value=2**31),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_chunks_decoded_end_to_end_are_each_chunk_in_turn(
    chunks: list[tuple[int, str, int]],
) -> None:
    # a query's chunks as one array per column: full and partial hours, stored or zstd planes
    blobs, times, values = [], [], []
    for n, shape, seed in chunks:
        cols = [_column("times", n, seed), _column(shape, n, seed + 1)]
        blobs.append(codec.encode_chunk(cols))
        times.append(cols[0][1])
        values.append(np.asarray(cols[1][1], dtype=np.float64))
    (ts, vals), rows = codec.decode_joined(blobs, 2)
    assert rows == [n for n, _, _ in chunks]
    assert ts.dtype == np.int64 and vals.dtype == np.float64
    assert np.array_equal(ts, np.concatenate(times))
    assert np.array_equal(vals.view(np.int64), np.concatenate(values).view(np.int64))


def test_a_day_of_noisy_hours_decodes_as_one_block_bit_for_bit() -> None:
    # 24 hours of a noisy gauge: chunks of one size whose planes are kept as they are, read
    # as one array without work a chunk; one hour with an odd plane count goes the long way
    hours = [[_column("times", 360, h), _column("walk", 360, h)] for h in range(24)]
    blobs = [codec.encode_chunk(cols) for cols in hours]
    assert len({len(b) for b in blobs}) == 1 and all(b[5] & codec.STORED for b in blobs)
    (ts, vals), _ = codec.decode_joined(blobs, 2)
    assert np.array_equal(ts, np.concatenate([cols[0][1] for cols in hours]))
    want = np.concatenate([cols[1][1] for cols in hours])
    assert np.array_equal(vals.view(np.int64), want.view(np.int64))
    quiet = [_column("times", 360, 99), (codec.Kind.FLOAT, np.arange(360.0))]
    mixed = [*blobs[:3], codec.encode_chunk(quiet), *blobs[3:5]]
    (ts, vals), rows = codec.decode_joined(mixed, 2)
    assert rows == [360] * 6
    assert np.array_equal(vals[1080:1440], np.arange(360.0))
    assert np.array_equal(vals[1440:].view(np.int64), want[1080:1800].view(np.int64))


def test_a_damaged_plane_count_in_a_block_is_reported_as_damage() -> None:
    blobs = [
        codec.encode_chunk([_column("times", 300, h), _column("walk", 300, h)]) for h in (1, 2)
    ]
    damaged = bytearray(blobs[1])
    damaged[5] = (damaged[5] & codec.STORED) | 3  # claims fewer planes than the chunk holds
    with pytest.raises(StatsCorruptError):
        codec.decode_joined([blobs[0], bytes(damaged)], 2)


def test_noisy_rollup_columns_go_plain_and_lustre_counters_stay_packed() -> None:
    # a day of 5-minute rows of a noisy gauge: sum, min and max as their 8-byte bits (their
    # deltas need 6 bytes and zstd cannot shrink them), read back with one copy each
    n = 288
    labels, counts = _column("times", n, 0), _column("counts", n, 0)
    noisy = [_column("walk", n, seed) for seed in (1, 2, 3)]
    packed = codec.encode_chunk([labels, noisy[0], counts, *noisy[1:]])
    plain = codec.encode_chunk([labels, noisy[0], counts, *noisy[1:]], plain_noise=True)
    header = 6 + 5 + 2 * 16  # two straight lines
    assert len(plain) == header + 3 * 8 * n
    assert len(plain) <= 1.34 * len(packed)
    ((_, total, _, low, high),) = codec.decode_chunks([plain], 5)
    for got, (_, want) in zip((total, low, high), noisy, strict=True):
        assert np.array_equal(got.view(np.int64), np.asarray(want).view(np.int64))
    # Lustre's counters compress: nothing goes plain
    counter = [labels, _column("counter", n, 4), counts]
    assert codec.encode_chunk(counter, plain_noise=True) == codec.encode_chunk(counter)
