"""The codec gives back every value bit for bit and packs Lustre-like series tightly."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from stats import codec

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
