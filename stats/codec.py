"""Lossless column codec for the stats store: chunks of int64 and float64 columns to bytes and back.

Layer: stats (NumPy and zstandard only). Thread: any; the functions keep no state.

A chunk is a few columns of equal length (a raw chunk: times and values; a rollup chunk: labels,
sum, count, min, max). Each column is first seen as integers: int64 columns as they are, floats
that are all whole numbers (Lustre's cumulative counters) as those numbers, other floats as their
IEEE-754 bits. A column whose integers are a straight line (regular timestamps and bucket labels,
full buckets' counts, a constant gauge such as kbytestotal, a min/max a tier does not keep) is
stored as its first value and step in the header and costs nothing to decode. The others become
small integers (a delta or a delta-of-delta, its first values kept in the header), zigzag-mapped
so small negatives stay small, laid end to end and split into byte planes (all the low bytes,
then all the next bytes, …); only the planes that are not all zero are kept, and zstd packs them
as one frame, which turns the planes of zeros that slowly changing series leave into almost
nothing. Planes zstd cannot shrink by 2% (noisy floats' random low bytes) are kept as they are,
which costs no decompression to read. Rollup chunks (`plain_noise`) go one step further for
noisy floats whose deltas take 6 of 8 bytes or more and do not compress: their bits are stored
plain, 8 bytes a value, which a read copies once instead of undoing byte planes, zigzag and
running sums (a month chart of such a gauge: about a quarter faster cold, for at most a quarter
more bytes in the rollup tiers; raw samples, most of the bytes, keep their deltas). Every bit
pattern survives: NaN payloads, infinities, -0.0.

Reading is batched: `decode_joined` decompresses each chunk of a query (one zstd call each; none
for planes kept as they are) and undoes the transforms of all chunks of one layout (rows and
transforms: usually all of a query's chunks of one tier) with a handful of NumPy operations a
column, writing each column's values of all the chunks end to end straight into one array, the
array a chart reads; chunks of one size whose planes are kept as they are (a noisy gauge's hours
or days) are read as one byte array with no work a chunk. A chart that touches thirty chunks so
pays neither thirty rounds of array bookkeeping nor a join. `decode_chunks` gives the same
values chunk by chunk (views of those arrays).

Blob layout (format 4): a byte of column count k, a little-endian uint32 of the row count n, a
byte of byte-plane count p (0-8; plus 0x80 when the planes are stored as they are), one transform
byte per column, then little-endian int64 words in column order: (first value, step) for a
straight-line column, the first value (two for a delta-of-delta) for the framed ones, none for
plain ones; then each plain column's n values as little-endian int64 (a float's bits); then the
p planes of the framed columns, a zstd frame or as they are (absent when there is nothing to
store). Format 3 is format 4 without plain columns.
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
U64 = npt.NDArray[np.uint64]
Column = I64 | F64

_HEADER: Final = struct.Struct("<BIB")
_LAYOUT_HEADER: Final = struct.Struct("<BI")  # a chunk's layout: its header less the plane count
_PLANES_AT: Final = _LAYOUT_HEADER.size
STORED: Final = 0x80  # flag on the plane count: the planes follow as they are, not compressed
_WORTH_COMPRESSING: Final = 0.98  # zstd must save 2% to be used (noisy floats' planes: ~0.7%)
_MAX_EXACT_INT: Final = float(2**53)
_LEVEL: Final = 3
_PLAIN_FROM_PLANES: Final = 6  # noisy floats' deltas as wide as this (or wider) may go plain
_MAX_ROWS: Final = 1 << 22  # far above any chunk's rows (an hour at 1 s, four weeks of days)
LINEAR: Final = 0x08  # flag on a transform byte: the column's integers are first + step * i

_compressor = zstandard.ZstdCompressor(level=_LEVEL)
_decompressor = zstandard.ZstdDecompressor()


class Transform(IntEnum):
    """How the integers handed to zstd were derived from a column. A straight-line column has
    `LINEAR` added to INT_DELTA, FLOAT_BITS_DELTA or FLOAT_INT_DELTA: what its line is of."""

    INT_DELTA = 0
    INT_DOD = 1
    FLOAT_BITS_DELTA = 2
    FLOAT_INT_DELTA = 3
    FLOAT_INT_DOD = 4
    FLOAT_BITS_PLAIN = 5  # the bits as they are, 8 bytes a value, read with one copy


class Kind(IntEnum):
    """What a column holds, as the caller sees it: `TIME` is an int64 column coded as a
    delta-of-delta (regular timestamps cost almost nothing), `INT` any int64 column, `FLOAT`
    any float64 column."""

    TIME = 0
    INT = 1
    FLOAT = 2


_FLOATS: Final = frozenset(
    {
        Transform.FLOAT_BITS_DELTA,
        Transform.FLOAT_INT_DELTA,
        Transform.FLOAT_INT_DOD,
        Transform.FLOAT_BITS_PLAIN,
    }
)
_DODS: Final = frozenset({Transform.INT_DOD, Transform.FLOAT_INT_DOD})
_INT_VALUED_FLOATS: Final = frozenset({Transform.FLOAT_INT_DELTA, Transform.FLOAT_INT_DOD})
_VALID: Final = frozenset(int(t) for t in Transform) | {
    LINEAR | int(t)
    for t in (Transform.INT_DELTA, Transform.FLOAT_BITS_DELTA, Transform.FLOAT_INT_DELTA)
}


def _delta(x: I64) -> I64:
    out = np.empty_like(x)
    if x.size:
        out[0] = x[0]
        np.subtract(x[1:], x[:-1], out=out[1:])  # wraps modulo 2**64, undone by cumsum
    return out


def _cost(x: I64) -> float:
    """Roughly how many bits zstd will need for these integers (to pick delta or dod)."""
    return float(np.log2(np.abs(x.astype(np.float64)) + 1.0).sum())


def _zigzag(x: I64) -> I64:
    return (x << 1) ^ (x >> 63)


def _smaller(plain: I64, plain_t: Transform, dod_t: Transform) -> tuple[int, I64]:
    dd = _delta(plain)
    return (dod_t, dd) if _cost(dd) < _cost(plain) else (plain_t, plain)


def _line(base: I64) -> tuple[int, int] | None:
    """(first, step) when the integers are first + step * i (modulo 2**64), else None."""
    n = base.size
    if not n:
        return 0, 0
    first = int(base[0])
    if n == 1:
        return first, 0
    step = (base[1:2] - base[:1])[0]  # array arithmetic wraps silently, as the decoder's does
    if n > 2 and not bool(np.all(base[2:] - base[1:-1] == step)):
        return None
    return first, int(step)


def _transform(kind: Kind, values: npt.ArrayLike) -> tuple[int, I64, tuple[int, int] | None]:
    """(transform byte, integers for the frame, (first, step) of a straight-line column)."""
    if kind is Kind.FLOAT:
        v = np.ascontiguousarray(values, dtype=np.float64)
        if _all_whole(v):
            base = v.astype(np.int64)
            line = _line(base)
            if line is not None:
                return LINEAR | Transform.FLOAT_INT_DELTA, base[:0], line
            return (
                *_smaller(_delta(base), Transform.FLOAT_INT_DELTA, Transform.FLOAT_INT_DOD),
                None,
            )
        bits = v.view(np.int64)
        line = _line(bits)
        if line is not None:
            return LINEAR | Transform.FLOAT_BITS_DELTA, bits[:0], line
        return Transform.FLOAT_BITS_DELTA, _delta(bits), None
    ints = np.ascontiguousarray(values, dtype=np.int64)
    line = _line(ints)
    if line is not None:
        return LINEAR | Transform.INT_DELTA, ints[:0], line
    d = _delta(ints)
    if kind is Kind.TIME:
        return Transform.INT_DOD, _delta(d), None
    return (*_smaller(d, Transform.INT_DELTA, Transform.INT_DOD), None)


def _all_whole(v: F64) -> bool:
    if not v.size:
        return False
    with np.errstate(invalid="ignore"):
        whole = np.all((np.abs(v) <= _MAX_EXACT_INT) & (np.trunc(v) == v))
    # -0.0 equals 0.0 but would come back as +0.0 through int64.
    return bool(whole) and not bool(np.any(np.signbit(v) & (v == 0.0)))


def encode_chunk(
    columns: Sequence[tuple[Kind, npt.ArrayLike]], *, plain_noise: bool = False
) -> bytes:
    """Encode columns of equal length as one blob (at most one zstd frame). With
    `plain_noise`, noisy float columns are stored as their bits, 8 bytes a value, where their
    deltas take 6 bytes or more and zstd cannot shrink them: a quarter more bytes at most, and
    nothing to undo when read (rollup tiers, which charts of weeks and months read in bulk)."""
    coded = [_transform(kind, values) for kind, values in columns]
    sizes = {np.asarray(values).size for _, values in columns}
    if len(sizes) > 1:
        raise ValueError("the columns of a chunk must have equal lengths")
    n = sizes.pop() if sizes else 0
    blob, planes = _assemble(coded, n)
    noisy = [code == Transform.FLOAT_BITS_DELTA for code, _, _ in coded]
    if plain_noise and planes & STORED and planes & ~STORED >= _PLAIN_FROM_PLANES and any(noisy):
        plain = [
            (
                Transform.FLOAT_BITS_PLAIN,
                np.ascontiguousarray(values, np.float64).view(np.int64),
                None,
            )
            if is_noisy
            else column
            for column, (_, values), is_noisy in zip(coded, columns, noisy, strict=True)
        ]
        blob = _assemble(plain, n)[0]
    return blob


def _assemble(
    coded: Sequence[tuple[int, I64, tuple[int, int] | None]], n: int
) -> tuple[bytes, int]:
    """The blob of transformed columns, and its plane-count byte."""
    words: list[int] = []  # the header's int64s
    framed: list[I64] = []
    plain: list[I64] = []
    for code, ints, line in coded:
        if line is not None:
            words += line
        elif code == Transform.FLOAT_BITS_PLAIN:
            plain.append(ints)
        elif n:  # n > 2: shorter columns are straight lines
            heads = 2 if _IS_DOD[code] else 1
            words += ints[:heads].tolist()  # the large first values go in the header
            rest = ints.copy()
            rest[:heads] = 0
            framed.append(_zigzag(rest))  # small negative deltas stay small
    planes = 0
    body = b""
    if framed:
        u = (np.concatenate(framed) if len(framed) > 1 else framed[0]).view(np.uint64)
        planes = (int(u.max()).bit_length() + 7) // 8
        bytes8 = u.view(np.uint8).reshape(-1, 8)
        out = np.empty((planes, bytes8.shape[0]), dtype=np.uint8)
        for b in range(planes):  # strided copies beat one transposing copy
            out[b] = bytes8[:, b]
        body = _compressor.compress(out.data) if planes else b""
        if len(body) > _WORTH_COMPRESSING * out.size:
            # random low bytes (noisy floats) hardly compress: kept as they are, they cost
            # no zstd call to read
            body = out.tobytes()
            planes |= STORED
    head = (
        _HEADER.pack(len(coded), n, planes)
        + bytes(code for code, _, _ in coded)
        + np.array(words, dtype="<i8").tobytes()
        + b"".join(column.astype("<i8").tobytes() for column in plain)
    )
    return head + body, planes


_PLAIN: Final = int(Transform.FLOAT_BITS_PLAIN)
_LINE, _FRAMED, _PLAIN_SLOT = 0, 1, 2


class _Layout:
    """What a chunk header (column count, rows, transform bytes: not the plane count, which
    chunks decoded together may differ in) says about the chunk's layout, worked out once per
    distinct header."""

    __slots__ = (
        "codes",
        "dod",
        "framed",
        "head_words",
        "n",
        "plain",
        "slots",
        "words",
    )

    def __init__(self, header: bytes, ncols: int) -> None:
        k, n = _LAYOUT_HEADER.unpack_from(header)
        if k != ncols:
            raise StatsCorruptError(f"a stored chunk has {k} columns where {ncols} belong")
        codes = header[_LAYOUT_HEADER.size :]
        if codes.translate(None, _VALID_BYTES):
            raise StatsCorruptError("a stored chunk names an unknown transform")
        if n > _MAX_ROWS:
            raise StatsCorruptError("a stored chunk's header names too many rows")
        self.codes = codes
        self.n = n
        self.framed = bytes(c for c in codes if not c & LINEAR and c != _PLAIN) if n else b""
        if (self.framed or _PLAIN in codes) and n < 3:  # shorter columns are straight lines
            raise StatsCorruptError("a stored chunk's header does not add up")
        # the header's int64 words: (first, step) per line, the first values of framed columns
        self.head_words: list[int] = []
        self.dod: list[bool] = []
        self.plain = 0
        # per column: (_LINE, word of its line), (_FRAMED, k-th framed) or (_PLAIN_SLOT, k-th plain)
        slots: list[tuple[int, int]] = []
        w = 0
        for c in codes:
            if c & LINEAR or not n:
                slots.append((_LINE, w))
                w += 2
            elif c == _PLAIN:
                slots.append((_PLAIN_SLOT, self.plain))
                self.plain += 1
            else:
                slots.append((_FRAMED, len(self.head_words)))
                self.head_words.append(w)
                self.dod.append(bool(_IS_DOD[c]))
                w += 2 if _IS_DOD[c] else 1
        self.words = w
        self.slots = tuple(slots)


_LAYOUTS: dict[bytes, _Layout] = {}


def _layout(header: bytes, ncols: int) -> _Layout:
    found = _LAYOUTS.get(header)
    if found is None:
        found = _Layout(header, ncols)
        if len(_LAYOUTS) < 4096:
            _LAYOUTS[header] = found
    elif len(found.codes) != ncols:
        raise StatsCorruptError(
            f"a stored chunk has {len(found.codes)} columns where {ncols} belong"
        )
    return found


def decode_chunks(blobs: Sequence[bytes], ncols: int) -> list[list[Column]]:
    """Decode chunks of `ncols` columns each: per chunk, its columns (int64 or float64 as they
    were stored). The arrays of chunks of one layout are views of one array each: copy one to
    keep it on its own."""
    out: list[list[Column]] = [[]] * len(blobs)
    for members, n, cols in _decode_groups(blobs, ncols):
        for j, i in enumerate(members):
            out[i] = [c[j * n : (j + 1) * n] for c in cols]
    return out


def decode_joined(blobs: Sequence[bytes], ncols: int) -> tuple[list[Column], list[int]]:
    """Decode chunks of `ncols` columns each and lay them end to end: each column's values of
    all the chunks in the order of `blobs` (one contiguous array; a column must be of one kind,
    int64 or float64, in every chunk), and each chunk's row count. Chunks of the same layout
    (rows and transforms: most chunks of a query) are decoded together straight into those
    arrays; only a mix of layouts costs a join."""
    groups = _decode_groups(blobs, ncols)
    if len(groups) == 1:
        members, n, cols = groups[0]
        return cols, [n] * len(members)
    if not groups:
        return [np.empty(0, dtype=np.int64) for _ in range(ncols)], []
    rows = [0] * len(blobs)
    where: list[tuple[int, int]] = [(0, 0)] * len(blobs)  # each chunk's group and first row
    for g, (members, n, _) in enumerate(groups):
        for j, i in enumerate(members):
            rows[i] = n
            where[i] = (g, j * n)
    runs: list[tuple[int, int, int]] = []  # (group, first row, rows): adjacent chunks joined
    for (g, at), n in zip(where, rows, strict=True):
        if runs and runs[-1][0] == g and runs[-1][1] + runs[-1][2] == at:
            runs[-1] = (g, runs[-1][1], runs[-1][2] + n)
        else:
            runs.append((g, at, n))
    joined: list[Column] = []
    for c in range(ncols):
        parts = [groups[g][2][c][at : at + n] for g, at, n in runs]
        joined.append(np.concatenate(parts))  # type: ignore[arg-type]
    return joined, rows


def _decode_groups(blobs: Sequence[bytes], ncols: int) -> list[tuple[list[int], int, list[Column]]]:
    """The chunks grouped by layout, each group decoded: (its chunks' indices, rows a chunk,
    each column's values of those chunks end to end)."""
    start = _HEADER.size + ncols
    if blobs and len(blobs[0]) >= start and len(set(map(len, blobs))) == 1:
        # chunks of one size (a tier's full days, a series' full hours) most often share their
        # header too: compared all at once, and read as one array
        whole = np.frombuffer(b"".join(blobs), dtype=np.uint8).reshape(len(blobs), -1)
        same = whole[:, :start] == whole[0, :start]
        same[:, _PLANES_AT] = True  # chunks may differ in their byte planes
        if bool(same.all()):
            first = blobs[0]
            layout = _layout(first[:_PLANES_AT] + first[_PLANES_AT + 1 : start], ncols)
            return [(list(range(len(blobs))), layout.n, _decode_group(layout, blobs, whole))]
    groups: dict[bytes, list[int]] = {}
    for i, blob in enumerate(blobs):
        if len(blob) < start:
            raise StatsCorruptError("a stored chunk is shorter than its header")
        groups.setdefault(blob[:_PLANES_AT] + blob[_PLANES_AT + 1 : start], []).append(i)
    out = []
    for header, members in groups.items():
        layout = _layout(header, ncols)
        chunks = blobs if len(members) == len(blobs) else [blobs[i] for i in members]
        out.append((members, layout.n, _decode_group(layout, chunks)))
    return out


def _decode_group(
    layout: _Layout, blobs: Sequence[bytes], whole: npt.NDArray[np.uint8] | None = None
) -> list[Column]:
    """Chunks of one layout (G chunks, each F framed columns and some lines of n values) as
    each column's G * n values end to end. Memory written for the first time costs more than
    the arithmetic (a page fault a page), so each column is built in place in its final array
    and no temporary the size of the data is made. `whole`: the chunks already as one
    (chunks x bytes) array, when they are all of one size."""
    g, n = len(blobs), layout.n
    start = _HEADER.size + len(layout.codes)
    plain_at = start + 8 * layout.words
    at = plain_at + 8 * n * layout.plain
    f = len(layout.framed)
    fast = _same_stored_planes(blobs, at, f * n, whole)
    if fast is not None:  # the usual case: noisy values' planes, as many in every chunk
        words, plain = fast[:, start:plain_at].view("<i8"), fast[:, plain_at:at]
        big = fast[:, at:].reshape(g, -1, f, n) if f else np.zeros((g, 0, 0, n), np.uint8)
    else:
        words, plain, big = _split(blobs, start, plain_at, at, f, n)
    words = words.astype(np.int64).reshape(g, layout.words)
    framed = _unplane(big, f, n) if f else []
    for k, (column, signs) in enumerate(framed):
        _undo_deltas(column, signs, layout, words, k)
    steps = np.arange(n, dtype=np.int64)
    cols: list[Column] = []
    for code, (slot, k) in zip(layout.codes, layout.slots, strict=True):
        kind = code & 7
        if slot == _PLAIN_SLOT:  # one copy, the chunks' values end to end
            ints = plain[:, 8 * n * k : 8 * n * (k + 1)].copy().view("<i8")
        elif slot == _LINE:
            ints = np.empty((g, n), dtype=np.int64)
            step = words[:, k + 1]
            if bool((step == step[0]).all()):  # one step (labels, full buckets' counts)
                np.add(words[:, k, None], steps * step[0], out=ints)
            else:
                np.multiply(step[:, None], steps, out=ints)
                ints += words[:, k, None]
        else:
            ints = framed[k][0]
        flat = ints.reshape(g * n)
        if not _IS_FLOAT[kind]:
            cols.append(flat)
        elif _IS_WHOLE[kind]:
            cols.append(flat.astype(np.float64))
        else:
            cols.append(flat.view(np.float64))
    return cols


def _same_stored_planes(
    blobs: Sequence[bytes], at: int, width: int, whole: npt.NDArray[np.uint8] | None
) -> npt.NDArray[np.uint8] | None:
    """The chunks as one (chunks x bytes) array when each stores the same number of planes as
    they are (no zstd frame) and has the size that says: header and planes are then read as
    views of it, with no work a chunk. None otherwise."""
    size = len(blobs[0])
    if whole is None and len(set(map(len, blobs))) != 1:
        return None
    if whole is None:
        whole = np.frombuffer(b"".join(blobs), dtype=np.uint8).reshape(len(blobs), size)
    if not width:  # nothing framed (plain and straight-line columns only): no planes at all
        return whole if size == at and not whole[:, _PLANES_AT].any() else None
    flag = int(whole[0, _PLANES_AT])
    planes = flag & ~STORED
    if not flag & STORED or not 0 < planes <= 8 or size != at + planes * width:
        return None
    if not bool((whole[:, _PLANES_AT] == flag).all()):
        return None
    return whole


def _split(
    blobs: Sequence[bytes], start: int, plain_at: int, at: int, f: int, n: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """The header words (chunks x words), the plain columns' bytes (chunks x bytes) and byte
    planes (chunks x planes x F x n, the planes a chunk left out zero) of chunks of one layout,
    each checked and decompressed on its own."""
    g = len(blobs)
    flags = [blob[_PLANES_AT] for blob in blobs] if f else [0] * g
    planes = [flag & ~STORED for flag in flags]
    if max(planes, default=0) > 8:
        raise StatsCorruptError("a stored chunk names more than eight byte planes")
    bodies: list[bytes | memoryview] = []
    for blob, p, flag in zip(blobs, planes, flags, strict=True):
        size = p * f * n
        if size and flag & STORED:
            if len(blob) != at + size:
                raise StatsCorruptError("a stored chunk's size does not match its header")
            bodies.append(memoryview(blob)[at:])
        elif size:
            try:
                body = _decompressor.decompress(memoryview(blob)[at:], max_output_size=size)
            except zstandard.ZstdError as exc:
                raise StatsCorruptError(f"a stored chunk does not decompress: {exc}") from None
            if len(body) != size:
                raise StatsCorruptError("a stored chunk holds fewer values than its header says")
            bodies.append(body)
        elif len(blob) != at:
            raise StatsCorruptError("a stored chunk's size does not match its header")
    words = np.frombuffer(b"".join([memoryview(b)[start:plain_at] for b in blobs]), dtype="<i8")
    plain = np.frombuffer(b"".join([memoryview(b)[plain_at:at] for b in blobs]), dtype=np.uint8)
    if words.size * 8 != g * (plain_at - start) or plain.size != g * (at - plain_at):
        raise StatsCorruptError("a stored chunk is shorter than its header")
    plain = plain.reshape(g, at - plain_at)
    p = max(planes, default=0)
    if not p or not f or not n:
        return words, plain, np.zeros((g, 0, f, n), dtype=np.uint8)
    if min(planes) == p:
        big = np.frombuffer(b"".join(bodies), dtype=np.uint8).reshape(g, p, f, n)
        return words, plain, big
    # chunks of a busy hour and of an idle one: pad the idle one's missing planes
    big = np.zeros((g, p, f, n), dtype=np.uint8)
    full = iter(bodies)
    for i, chunk_planes in enumerate(planes):
        if chunk_planes:
            big[i, :chunk_planes] = np.frombuffer(next(full), np.uint8).reshape(-1, f, n)
    return words, plain, big


def _undo_deltas(
    column: I64, signs: npt.NDArray[np.uint8], layout: _Layout, words: I64, k: int
) -> None:
    """Zigzag and running sums (twice for a delta-of-delta) undone in place over the k-th
    framed column (chunks x rows), starting from the first values in the header `words`.
    `signs` are the column's low bytes (its lowest byte plane), overwritten."""
    # zigzag: x = (u >> 1) ^ -(u & 1), the sign taken a byte a value to keep the temporary small
    np.bitwise_and(signs, 1, out=signs)
    sign = np.negative(signs.view(np.int8), out=signs.view(np.int8))
    column.view(np.uint64).__irshift__(np.uint64(1))
    np.bitwise_xor(column, sign, out=column)
    head = layout.head_words[k]
    column[:, 0] = words[:, head]
    if layout.dod[k]:
        column[:, 1] = words[:, head + 1]
        np.add.accumulate(column, axis=1, out=column)
    np.add.accumulate(column, axis=1, out=column)


def _unplane(big: npt.NDArray[np.uint8], f: int, n: int) -> list[tuple[I64, npt.NDArray[np.uint8]]]:
    """Byte planes (chunks x planes x F x n, the low byte first, those left out zero) back to
    integers: per framed column, a (chunks x n) array of its own and a copy of its low bytes."""
    g, p = big.shape[:2]
    out = []
    for k in range(f):
        column = (np.zeros if p < 8 else np.empty)((g, n, 8), dtype=np.uint8)
        for b in range(p):  # strided copies beat one transposing copy
            column[:, :, b] = big[:, b, k]
        low = big[:, 0, k].copy() if p else np.zeros((g, n), dtype=np.uint8)
        out.append((column.view(np.int64).reshape(g, n), low))
    return out


def _code_table(members: frozenset[Transform] | frozenset[int]) -> npt.NDArray[np.bool_]:
    table = np.zeros(256, dtype=bool)
    table[[int(t) for t in members]] = True
    return table


_IS_FLOAT: Final = _code_table(_FLOATS)
_IS_DOD: Final = _code_table(_DODS)
_IS_WHOLE: Final = _code_table(_INT_VALUED_FLOATS)
_VALID_BYTES: Final = bytes(sorted(_VALID))


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
