"""Lossless column codec for the stats store: int64 and float64 arrays to compact bytes and back.

Layer: stats (NumPy and zstandard only). Thread: any; the functions keep no state.

An array is turned into small unsigned integers (a delta or a delta-of-delta of its int64 values,
or of the IEEE-754 bits of its floats), zigzag-mapped so small negatives stay small, split into
eight byte planes (all the low bytes, then all the next bytes, …) and handed to zstd, which turns
the planes of zeros that slowly changing series leave into almost nothing. Floats that are all
whole numbers (Lustre's cumulative counters) are coded as integers, which is what brings those
counters under two bytes a point. Every bit pattern survives: NaN payloads, infinities, -0.0.

Blob layout: one byte of transform, a little-endian uint32 of the element count, then the zstd
frame (absent when the count is 0).
"""

from __future__ import annotations

import struct
from enum import IntEnum
from typing import Final

import numpy as np
import numpy.typing as npt
import zstandard

from stats.errors import StatsCorruptError

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

_HEADER: Final = struct.Struct("<BI")
_MAX_EXACT_INT: Final = float(2**53)
_LEVEL: Final = 3

_compressor = zstandard.ZstdCompressor(level=_LEVEL)
_decompressor = zstandard.ZstdDecompressor()


class Transform(IntEnum):
    """How the integers handed to zstd were derived from the array."""

    INT_DELTA = 0
    INT_DOD = 1
    FLOAT_BITS_DELTA = 2
    FLOAT_INT_DELTA = 3
    FLOAT_INT_DOD = 4


def _delta(x: I64) -> I64:
    out = np.empty_like(x)
    if x.size:
        out[0] = x[0]
        np.subtract(x[1:], x[:-1], out=out[1:])  # wraps modulo 2**64, undone by cumsum
    return out


def _zigzag(x: I64) -> bytes:
    u = (x << 1) ^ (x >> 63)
    return u.view(np.uint8).reshape(-1, 8).T.tobytes()


def _unzigzag(planes: bytes, n: int) -> I64:
    u = np.frombuffer(planes, dtype=np.uint8).reshape(8, n).T.copy().view(np.uint64).ravel()
    x = (u >> np.uint64(1)) ^ (np.uint64(0) - (u & np.uint64(1)))
    return x.view(np.int64)


def _pack(transform: Transform, ints: I64) -> bytes:
    head = _HEADER.pack(int(transform), ints.size)
    if not ints.size:
        return head
    return head + _compressor.compress(_zigzag(ints))


def _unpack(blob: bytes) -> tuple[Transform, I64]:
    if len(blob) < _HEADER.size:
        raise StatsCorruptError("a stored column is shorter than its header")
    code, n = _HEADER.unpack_from(blob)
    try:
        transform = Transform(code)
    except ValueError:
        raise StatsCorruptError(f"a stored column names an unknown transform {code}") from None
    if n == 0:
        return transform, np.empty(0, dtype=np.int64)
    try:
        planes = _decompressor.decompress(blob[_HEADER.size :], max_output_size=8 * n)
    except zstandard.ZstdError as exc:
        raise StatsCorruptError(f"a stored column does not decompress: {exc}") from None
    if len(planes) != 8 * n:
        raise StatsCorruptError("a stored column holds fewer values than its header says")
    return transform, _unzigzag(planes, n)


def encode_int64(values: npt.ArrayLike, *, dod: bool | None = None) -> bytes:
    """Encode int64 values; `dod` forces delta-of-delta (True) or delta (False), None tries both."""
    x = np.ascontiguousarray(values, dtype=np.int64)
    d = _delta(x)
    if dod is False:
        return _pack(Transform.INT_DELTA, d)
    dd = _pack(Transform.INT_DOD, _delta(d))
    if dod is True:
        return dd
    plain = _pack(Transform.INT_DELTA, d)
    return dd if len(dd) < len(plain) else plain


def encode_float64(values: npt.ArrayLike) -> bytes:
    """Encode float64 values bit-exactly (NaN payloads, infinities and -0.0 included)."""
    v = np.ascontiguousarray(values, dtype=np.float64)
    if _all_whole(v):
        ints = v.astype(np.int64)
        d = _delta(ints)
        plain = _pack(Transform.FLOAT_INT_DELTA, d)
        dd = _pack(Transform.FLOAT_INT_DOD, _delta(d))
        return dd if len(dd) < len(plain) else plain
    return _pack(Transform.FLOAT_BITS_DELTA, _delta(v.view(np.int64)))


def _all_whole(v: F64) -> bool:
    if not v.size:
        return False
    with np.errstate(invalid="ignore"):
        whole = np.all((np.abs(v) <= _MAX_EXACT_INT) & (np.trunc(v) == v))
    # -0.0 equals 0.0 but would come back as +0.0 through int64.
    return bool(whole) and not bool(np.any(np.signbit(v) & (v == 0.0)))


def decode_int64(blob: bytes) -> I64:
    """Decode what `encode_int64` produced."""
    transform, ints = _unpack(blob)
    if transform is Transform.INT_DELTA:
        return np.cumsum(ints, dtype=np.int64)
    if transform is Transform.INT_DOD:
        return np.cumsum(np.cumsum(ints, dtype=np.int64), dtype=np.int64)
    raise StatsCorruptError(f"expected an integer column, found {transform.name}")


def decode_float64(blob: bytes) -> F64:
    """Decode what `encode_float64` produced."""
    transform, ints = _unpack(blob)
    if transform is Transform.FLOAT_BITS_DELTA:
        return np.cumsum(ints, dtype=np.int64).view(np.float64)
    if transform is Transform.FLOAT_INT_DELTA:
        return np.cumsum(ints, dtype=np.int64).astype(np.float64)
    if transform is Transform.FLOAT_INT_DOD:
        return np.cumsum(np.cumsum(ints, dtype=np.int64), dtype=np.int64).astype(np.float64)
    raise StatsCorruptError(f"expected a float column, found {transform.name}")
