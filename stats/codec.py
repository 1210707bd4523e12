"""Lossless column codec for the stats store: chunks of int64 and float64 columns to bytes and back.

Layer: stats (NumPy and zstandard only). Thread: any; the functions keep no state.

A chunk is a few columns of equal length (a raw chunk: times and values; a rollup chunk: labels,
sum, count, min, max). Each column is turned into small integers (a delta or a delta-of-delta of
its int64 values, or of the IEEE-754 bits of its floats), zigzag-mapped so small negatives stay
small; the columns are laid end to end, split into eight byte planes (all the low bytes, then all
the next bytes, …) and handed to zstd as one frame, which turns the planes of zeros that slowly
changing series leave into almost nothing. Floats that are all whole numbers (Lustre's cumulative
counters) are coded as integers, which is what brings those counters under two bytes a point.
Every bit pattern survives: NaN payloads, infinities, -0.0.

Reading is batched: `decode_chunks` decompresses each chunk of a query (one zstd call each) and
undoes the transforms of all of them with a handful of NumPy operations, so a chart that touches
thirty chunks pays for thirty decompressions, not for thirty rounds of array bookkeeping.

Blob layout: a byte of column count, a little-endian uint32 of the row count, one transform byte
per column, then the zstd frame (absent when the row count is 0).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from enum import IntEnum
from typing import Final

import numpy as np
import numpy.typing as npt
import zstandard

from stats.errors import StatsCorruptError

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
Column = I64 | F64

_HEADER: Final = struct.Struct("<BI")
_MAX_EXACT_INT: Final = float(2**53)
_LEVEL: Final = 3

_compressor = zstandard.ZstdCompressor(level=_LEVEL)
_decompressor = zstandard.ZstdDecompressor()


class Transform(IntEnum):
    """How the integers handed to zstd were derived from a column."""

    INT_DELTA = 0
    INT_DOD = 1
    FLOAT_BITS_DELTA = 2
    FLOAT_INT_DELTA = 3
    FLOAT_INT_DOD = 4


class Kind(IntEnum):
    """What a column holds, as the caller sees it: `TIME` is an int64 column coded as a
    delta-of-delta (regular timestamps cost almost nothing), `INT` any int64 column, `FLOAT`
    any float64 column."""

    TIME = 0
    INT = 1
    FLOAT = 2


_FLOATS: Final = frozenset(
    {Transform.FLOAT_BITS_DELTA, Transform.FLOAT_INT_DELTA, Transform.FLOAT_INT_DOD}
)
_DODS: Final = frozenset({Transform.INT_DOD, Transform.FLOAT_INT_DOD})
_INT_VALUED_FLOATS: Final = frozenset({Transform.FLOAT_INT_DELTA, Transform.FLOAT_INT_DOD})
_VALID: Final = frozenset(int(t) for t in Transform)


def _delta(x: I64) -> I64:
    out = np.empty_like(x)
    if x.size:
        out[0] = x[0]
        np.subtract(x[1:], x[:-1], out=out[1:])  # wraps modulo 2**64, undone by cumsum
    return out


def _cost(x: I64) -> float:
    """Roughly how many bits zstd will need for these integers (to pick delta or dod)."""
    return float(np.log2(np.abs(x.astype(np.float64)) + 1.0).sum())


def _smaller(plain: I64, plain_t: Transform, dod_t: Transform) -> tuple[Transform, I64]:
    dd = _delta(plain)
    return (dod_t, dd) if _cost(dd) < _cost(plain) else (plain_t, plain)


def _transform(kind: Kind, values: npt.ArrayLike) -> tuple[Transform, I64]:
    if kind is Kind.FLOAT:
        v = np.ascontiguousarray(values, dtype=np.float64)
        if _all_whole(v):
            d = _delta(v.astype(np.int64))
            return _smaller(d, Transform.FLOAT_INT_DELTA, Transform.FLOAT_INT_DOD)
        return Transform.FLOAT_BITS_DELTA, _delta(v.view(np.int64))
    d = _delta(np.ascontiguousarray(values, dtype=np.int64))
    if kind is Kind.TIME:
        return Transform.INT_DOD, _delta(d)
    return _smaller(d, Transform.INT_DELTA, Transform.INT_DOD)


def _all_whole(v: F64) -> bool:
    if not v.size:
        return False
    with np.errstate(invalid="ignore"):
        whole = np.all((np.abs(v) <= _MAX_EXACT_INT) & (np.trunc(v) == v))
    # -0.0 equals 0.0 but would come back as +0.0 through int64.
    return bool(whole) and not bool(np.any(np.signbit(v) & (v == 0.0)))


def encode_chunk(columns: Sequence[tuple[Kind, npt.ArrayLike]]) -> bytes:
    """Encode columns of equal length as one blob (one zstd frame)."""
    coded = [_transform(kind, values) for kind, values in columns]
    n = coded[0][1].size if coded else 0
    if any(ints.size != n for _, ints in coded):
        raise ValueError("the columns of a chunk must have equal lengths")
    head = _HEADER.pack(len(coded), n) + bytes(int(t) for t, _ in coded)
    if not n:
        return head
    ints = np.concatenate([ints for _, ints in coded])
    u = ((ints << 1) ^ (ints >> 63)).view(np.uint8).reshape(-1, 8)
    planes = np.empty((8, u.shape[0]), dtype=np.uint8)
    for b in range(8):  # eight strided copies beat one transposing copy
        planes[b] = u[:, b]
    return head + _compressor.compress(planes.data)


def _unplane(planes: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint64]:
    out = np.empty((planes.shape[1], 8), dtype=np.uint8)
    for b in range(8):
        out[:, b] = planes[b]
    return out.view(np.uint64).ravel()


def decode_chunks(blobs: Sequence[bytes], ncols: int) -> list[list[Column]]:
    """Decode chunks of `ncols` columns each: per chunk, its columns (int64 or float64 as they
    were stored). The arrays of one call share memory; copy one to keep it on its own."""
    lens: list[int] = []
    codes: list[bytes] = []
    planes: list[npt.NDArray[np.uint8]] = []
    for blob in blobs:
        if len(blob) < _HEADER.size + ncols:
            raise StatsCorruptError("a stored chunk is shorter than its header")
        k, n = _HEADER.unpack_from(blob)
        if k != ncols:
            raise StatsCorruptError(f"a stored chunk has {k} columns where {ncols} belong")
        lens.append(n)
        codes.append(blob[_HEADER.size : _HEADER.size + k])
        if not n:
            continue
        try:
            body = _decompressor.decompress(
                memoryview(blob)[_HEADER.size + k :], max_output_size=8 * k * n
            )
        except zstandard.ZstdError as exc:
            raise StatsCorruptError(f"a stored chunk does not decompress: {exc}") from None
        if len(body) != 8 * k * n:
            raise StatsCorruptError("a stored chunk holds fewer values than its header says")
        planes.append(np.frombuffer(body, dtype=np.uint8).reshape(8, k * n))
    seg_code = np.frombuffer(b"".join(codes), dtype=np.uint8)
    if not _VALID_CODE[seg_code].all():
        raise StatsCorruptError("a stored chunk names an unknown transform")
    seg_len = np.repeat(np.array(lens, dtype=np.int64), ncols)
    if planes:
        big = planes[0] if len(planes) == 1 else np.concatenate(planes, axis=1)
        u = _unplane(big)
        x = ((u >> np.uint64(1)) ^ (np.uint64(0) - (u & np.uint64(1)))).view(np.int64)
        ints = _segmented_cumsum(x, seg_len)
        dod = _IS_DOD[seg_code]
        if dod.any():
            twice = _segmented_cumsum(ints, seg_len)
            ints = twice if dod.all() else np.where(np.repeat(dod, seg_len), twice, ints)
    else:
        ints = np.empty(0, dtype=np.int64)
    is_float = _IS_FLOAT[seg_code]
    floats = ints.view(np.float64)
    whole = _IS_WHOLE[seg_code]
    if whole.any():
        floats = np.where(np.repeat(whole, seg_len), ints.astype(np.float64), floats)
    out: list[list[Column]] = []
    pos = 0
    seg = 0
    for n in lens:
        cols: list[Column] = []
        for _ in range(ncols):
            cols.append((floats if is_float[seg] else ints)[pos : pos + n])
            pos += n
            seg += 1
        out.append(cols)
    return out


def _segmented_cumsum(x: I64, seg_len: I64) -> I64:
    """Running sums that restart at each segment (modulo 2**64, as the deltas were taken)."""
    c = np.cumsum(x, dtype=np.int64)
    starts = np.cumsum(seg_len) - seg_len
    inner = starts > 0
    if inner.any():
        base = np.zeros(seg_len.size, dtype=np.int64)
        base[inner] = c[starts[inner] - 1]
        c -= np.repeat(base, seg_len)
    return c


def _code_table(members: frozenset[Transform] | frozenset[int]) -> npt.NDArray[np.bool_]:
    table = np.zeros(256, dtype=bool)
    table[[int(t) for t in members]] = True
    return table


_IS_FLOAT: Final = _code_table(_FLOATS)
_IS_DOD: Final = _code_table(_DODS)
_IS_WHOLE: Final = _code_table(_INT_VALUED_FLOATS)
_VALID_CODE: Final = _code_table(_VALID)


def encode_int64(values: npt.ArrayLike, *, dod: bool | None = None) -> bytes:
    """One int64 column as a chunk; `dod` forces delta-of-delta (True), else the smaller."""
    return encode_chunk([(Kind.TIME if dod else Kind.INT, values)])


def encode_float64(values: npt.ArrayLike) -> bytes:
    """One float64 column as a chunk, bit-exactly (NaN payloads, infinities and -0.0 included)."""
    return encode_chunk([(Kind.FLOAT, values)])


def decode_int64(blob: bytes) -> I64:
    """Decode what `encode_int64` produced."""
    ((col,),) = decode_chunks([blob], 1)
    if col.dtype != np.int64:
        raise StatsCorruptError("expected an integer column, found floats")
    return col  # type: ignore[return-value]


def decode_float64(blob: bytes) -> F64:
    """Decode what `encode_float64` produced."""
    ((col,),) = decode_chunks([blob], 1)
    if col.dtype != np.float64:
        raise StatsCorruptError("expected a float column, found integers")
    return col  # type: ignore[return-value]
