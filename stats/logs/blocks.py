"""Blocks of the log store: lines in columns, the template of each line, and the compressed form
they take on disk.

Layer: stats (no Qt, no Twisted). Thread: whichever thread owns the store (pure functions).

Templates and the variables index are computed with numpy over a whole batch at once (one pass
per step over the UTF-8 bytes), because Python's `re` walks text at tens of nanoseconds per
character, which alone would hold ingest under 100,000 lines/s.
"""

from __future__ import annotations

import functools
import itertools
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import zstandard

from stats.logs.text import PLACEHOLDER, is_variable
from stats.logs.text import tokens as text_tokens

MAX_TEMPLATE_BYTES = 1024
"""A line whose template is longer is left unclassified (judged line by line)."""

_BYTE_CLASS = np.zeros(256, np.uint8)  # 0 separator, 1 letter (or non-ASCII), 2 ASCII digit
for _byte in range(256):
    if _byte >= 0x80 or chr(_byte).isalpha():
        _BYTE_CLASS[_byte] = 1
    elif chr(_byte).isdigit():
        _BYTE_CLASS[_byte] = 2
_CLASS_TABLE = _BYTE_CLASS.tobytes()
_ASCII_LOWER = np.arange(256, dtype=np.uint64)
_ASCII_LOWER[ord("A") : ord("Z") + 1] += 32
_HASH_BASE = np.uint64(0x100000001B3)
_HASH_MIX = (np.uint64(0xFF51AFD7ED558CCD), np.uint64(0xC4CEB9FE1A85EC53))
_PLACEHOLDER_BYTE = ord(PLACEHOLDER)
_NEWLINE = 0x0A
_HEADER = struct.Struct("<4sI")
_MAGIC = b"LGB1"
_INDEX_HEADER = struct.Struct("<4sIIII")
_INDEX_MAGIC = b"LGI2"
_FRAMES_HEADER = struct.Struct("<4sII")
_FRAMES_MAGIC = b"LGT1"
FRAME_LINES = 64
"""A block's messages are compressed in frames of this many lines, so that showing a line
decompresses about 6 kB, not the whole block (each block says its own frame size). Halving it
again would cost a third more time to compress a block, and a quarter more bytes."""

Int64s = npt.NDArray[np.int64]
UInt32s = npt.NDArray[np.uint32]
UInt16s = npt.NDArray[np.uint16]
UInt8s = npt.NDArray[np.uint8]
UInt64s = npt.NDArray[np.uint64]
Bools = npt.NDArray[np.bool_]
_NO_HASHES: UInt64s = np.zeros(0, np.uint64)
_NO_LINES: Int64s = np.zeros(0, np.int64)


_local = threading.local()


def _decompressor() -> zstandard.ZstdDecompressor:
    """This thread's decompressor: making one per frame costs more than a small frame's data."""
    found: zstandard.ZstdDecompressor | None = getattr(_local, "decompressor", None)
    if found is None:
        found = _local.decompressor = zstandard.ZstdDecompressor()
    return found


def template_keys(raw: bytes) -> tuple[list[bytes], VariableTokens]:
    """The template of each line of `raw` (lines joined by b"\\n"), variables becoming one
    placeholder byte each, and the hashed variable tokens of every line for the indexes."""
    if not raw:
        return [b""], VariableTokens(_NO_HASHES, _NO_LINES, _NO_LINES)
    data = np.frombuffer(raw, np.uint8).copy()
    kind = np.frombuffer(raw.translate(_CLASS_TABLE), np.uint8)
    in_token = kind > 0
    edges = np.flatnonzero(in_token[1:] != in_token[:-1]) + 1
    if in_token[0]:
        edges = np.concatenate(([0], edges))
    if in_token[-1]:
        edges = np.concatenate((edges, [len(data)]))
    token_starts, token_ends = edges[0::2], edges[1::2]
    has_digit: Bools = (
        np.logical_or.reduceat(kind == 2, token_starts)
        if len(token_starts)
        else np.zeros(0, np.bool_)
    )
    starts, lengths = token_starts[has_digit], (token_ends - token_starts)[has_digit]
    ends = np.cumsum(lengths)
    # every byte of every variable, token after token
    positions = np.arange(int(ends[-1]) if len(ends) else 0) + np.repeat(
        starts - ends + lengths, lengths
    )
    token_bytes = data[positions]
    newlines = np.flatnonzero(data == _NEWLINE)
    wide = token_bytes >= 0x80
    tokens = VariableTokens(
        _hash_tokens(token_bytes, ends),
        np.searchsorted(newlines, starts).astype(np.int64),
        np.unique(np.searchsorted(newlines, positions[wide])).astype(np.int64)
        if wide.any()
        else _NO_LINES,
    )
    keep: Bools = np.ones(len(data), np.bool_)
    keep[positions] = False
    keep[starts] = True
    data[starts] = _PLACEHOLDER_BYTE
    templates = data[keep].tobytes().split(b"\n")
    if len(tokens.unhashed):
        # Python's casefold may make a token ASCII ("ß1" is "ss1"): index those forms too, so
        # that the block index finds the line (the text decides, as for every such line).
        lines = raw.split(b"\n")
        extra = [
            (token_hash(t), line)
            for line in tokens.unhashed.tolist()
            for t in text_tokens(lines[line].decode("utf-8"))
            if t.isascii() and is_variable(t)
        ]
        if extra:
            tokens = VariableTokens(
                np.concatenate((tokens.hashes, np.array([h for h, _ in extra], np.uint64))),
                np.concatenate((tokens.lines, np.array([n for _, n in extra], np.int64))),
                tokens.unhashed,
            )
    return templates, tokens


@dataclass(frozen=True)
class VariableTokens:
    """Every variable token of some lines as a 64-bit hash of its ASCII-lowercased bytes, with
    the line (0-based) it is on; lines with a non-ASCII variable are listed in `unhashed`, since
    their case folding is not ASCII's and the hash cannot speak for them."""

    hashes: UInt64s
    lines: Int64s
    unhashed: Int64s

    def shifted(self, by: int) -> VariableTokens:
        return VariableTokens(self.hashes, self.lines + by, self.unhashed + by)


_POWERS_CACHED = 1 << 20
_powers: list[tuple[UInt64s, UInt64s]] = []


def _hash_powers(count: int) -> tuple[UInt64s, UInt64s]:
    """The first `count` powers of the hash base and of its inverse (mod 2**64)."""
    if _powers and len(_powers[0][0]) >= count:
        return _powers[0]
    size = max(count, 1 << 16)
    base = np.full(size, _HASH_BASE, np.uint64)
    base[0] = 1
    inverse = np.full(size, np.uint64(pow(int(_HASH_BASE), -1, 2**64)), np.uint64)
    inverse[0] = 1
    with np.errstate(over="ignore"):
        found = np.cumprod(base, dtype=np.uint64), np.cumprod(inverse, dtype=np.uint64)
    if size <= _POWERS_CACHED:
        _powers[:] = [found]
    return found


def _hash_tokens(token_bytes: UInt8s, ends: npt.NDArray[np.intp]) -> UInt64s:
    """One hash per token of `token_bytes` (tokens back to back, ending at `ends`): the sum of
    byte k of a token times B**k (mod 2**64), computed as the sum over all bytes with B raised
    to the byte's place in `token_bytes`, times the inverse power of the token's start."""
    if not len(ends):
        return _NO_HASHES
    offsets = np.zeros(len(ends), np.intp)
    offsets[1:] = ends[:-1]
    powers, inverses = _hash_powers(len(token_bytes))
    with np.errstate(over="ignore"):
        terms = _ASCII_LOWER[token_bytes] * powers[: len(token_bytes)]
        hashes = np.add.reduceat(terms, offsets, dtype=np.uint64) * inverses[offsets]
        hashes ^= (ends - offsets).astype(np.uint64) * _HASH_MIX[1]
        hashes ^= hashes >> np.uint64(33)
        hashes *= _HASH_MIX[0]
        hashes ^= hashes >> np.uint64(33)
        hashes *= _HASH_MIX[1]
        hashes ^= hashes >> np.uint64(33)
    return hashes


def token_hash(token: str) -> int:
    """The hash `template_keys` gives the (ASCII, case-folded) variable token `token`."""
    raw = np.frombuffer(token.encode("ascii"), np.uint8)
    return int(_hash_tokens(raw, np.array([len(raw)], np.intp))[0])


@dataclass(frozen=True)
class LineIndex:
    """A block's variable tokens: for each distinct hash, the lines holding it."""

    n: int
    hashes: UInt64s
    ends: npt.NDArray[np.int64]
    lines: npt.NDArray[np.uint16] | npt.NDArray[np.uint32]
    unhashed: Bools

    def lines_with(self, token: int) -> Bools:
        found: Bools = np.zeros(self.n, np.bool_)
        at = int(np.searchsorted(self.hashes, np.uint64(token)))
        if at < len(self.hashes) and int(self.hashes[at]) == token:
            found[self.lines[int(self.ends[at - 1]) if at else 0 : int(self.ends[at])]] = True
        return found


class TokenScan:
    """`LineIndex.lines_with` for lines not yet in a block, by a scan of their tokens: cheaper
    than sorting them for the few look-ups made before more lines arrive."""

    def __init__(self, n: int, tokens: VariableTokens) -> None:
        self.n = n
        self._tokens = tokens
        self.unhashed: Bools = np.zeros(n, np.bool_)
        self.unhashed[tokens.unhashed] = True

    def lines_with(self, token: int) -> Bools:
        found: Bools = np.zeros(self.n, np.bool_)
        found[self._tokens.lines[self._tokens.hashes == np.uint64(token)]] = True
        return found


def _sorted_pairs(hashes: UInt64s, lines: Int64s, n: int) -> tuple[UInt64s, Int64s]:
    """The (hash, line) pairs sorted by hash, then line."""
    if n <= 0x10000:
        # One sort of a 64-bit key (a hash's top 48 bits, then the line) is four times as fast
        # as sorting by two keys; it orders the full hashes too unless two of them share their
        # top 48 bits, which the check below catches.
        key = (hashes & np.uint64(0xFFFF_FFFF_FFFF_0000)) | lines.astype(np.uint64)
        order = np.argsort(key)
        by_key, lines_by_key = hashes[order], lines[order]
        if bool(np.all(by_key[1:] >= by_key[:-1])):
            return by_key, lines_by_key
    order = np.lexsort((lines, hashes))
    return hashes[order], lines[order]


def build_index(n: int, tokens: VariableTokens) -> LineIndex:
    hashes, lines = _sorted_pairs(tokens.hashes, tokens.lines, n)
    fresh = np.ones(len(hashes), np.bool_)
    fresh[1:] = (hashes[1:] != hashes[:-1]) | (lines[1:] != lines[:-1])
    hashes, lines = hashes[fresh], lines[fresh]
    first = np.ones(len(hashes), np.bool_)
    first[1:] = hashes[1:] != hashes[:-1]
    starts = np.flatnonzero(first)
    ends = np.append(starts[1:], len(hashes)).astype(np.int64)
    unhashed: Bools = np.zeros(n, np.bool_)
    unhashed[tokens.unhashed] = True
    narrow = n <= 0x10000
    return LineIndex(
        n,
        hashes[starts],
        ends,
        lines.astype(np.uint16) if narrow else lines.astype(np.uint32),
        unhashed,
    )


def encode_index(index: LineIndex) -> bytes:
    """The index as stored: not compressed, so that a look-up reads only the hashes and the
    lines of the tokens it looks for (`StoredIndex`), not the whole."""
    wide = index.lines.dtype == np.uint32
    unhashed = np.flatnonzero(index.unhashed).astype(np.uint32)
    parts = [
        _INDEX_HEADER.pack(_INDEX_MAGIC, index.n, len(index.hashes), int(wide), len(unhashed)),
        index.hashes.tobytes(),
        index.ends.astype(np.uint32).tobytes(),
        unhashed.tobytes(),
        index.lines.tobytes(),
    ]
    return b"".join(parts)


class StoredIndex:
    """A stored block index read in pieces through `read(offset, length)`."""

    def __init__(self, read: Callable[[int, int], bytes]) -> None:
        magic, n, distinct, wide, n_unhashed = _INDEX_HEADER.unpack(read(0, _INDEX_HEADER.size))
        if magic != _INDEX_MAGIC:
            raise ValueError("not a log block index")
        self.n = n
        at = _INDEX_HEADER.size
        self.hashes: UInt64s = np.frombuffer(read(at, 8 * distinct), np.uint64)
        self._ends_at = at + 8 * distinct
        at = self._ends_at + 4 * distinct
        self.unhashed: Bools = np.zeros(n, np.bool_)
        self.unhashed[np.frombuffer(read(at, 4 * n_unhashed), np.uint32)] = True
        self._lines_at = at + 4 * n_unhashed
        self._line_type = np.uint32 if wide else np.uint16
        self._read = read

    def lines_with(self, token: int) -> Bools:
        found: Bools = np.zeros(self.n, np.bool_)
        at = int(np.searchsorted(self.hashes, np.uint64(token)))
        if at < len(self.hashes) and int(self.hashes[at]) == token:
            if at:
                start, end = np.frombuffer(self._read(self._ends_at + 4 * (at - 1), 8), np.uint32)
            else:
                start, end = 0, np.frombuffer(self._read(self._ends_at, 4), np.uint32)[0]
            size = np.dtype(self._line_type).itemsize
            lines = self._read(self._lines_at + size * int(start), size * int(end - start))
            found[np.frombuffer(lines, self._line_type)] = True
        return found


def decode_index(blob: bytes) -> StoredIndex:
    return StoredIndex(lambda at, size: blob[at : at + size])


@dataclass
class Columns:
    """Lines column by column: the in-memory form of a block and of the unsealed tail."""

    t_us: Int64s = field(default_factory=lambda: np.zeros(0, np.int64))
    host: UInt32s = field(default_factory=lambda: np.zeros(0, np.uint32))
    facility: UInt16s = field(default_factory=lambda: np.zeros(0, np.uint16))
    severity: UInt8s = field(default_factory=lambda: np.zeros(0, np.uint8))
    template: UInt32s = field(default_factory=lambda: np.zeros(0, np.uint32))
    source: list[str] = field(default_factory=list)
    message: list[str] = field(default_factory=list)
    tokens: VariableTokens = field(
        default_factory=lambda: VariableTokens(_NO_HASHES, _NO_LINES, _NO_LINES)
    )
    """The hashed variable tokens of these lines, for the block's line index (not stored)."""

    def __len__(self) -> int:
        return len(self.t_us)

    def extend(self, other: Columns) -> None:
        self.t_us = np.concatenate((self.t_us, other.t_us))
        self.host = np.concatenate((self.host, other.host))
        self.facility = np.concatenate((self.facility, other.facility))
        self.severity = np.concatenate((self.severity, other.severity))
        self.template = np.concatenate((self.template, other.template))
        self.source.extend(other.source)
        self.message.extend(other.message)
        theirs = other.tokens.shifted(len(self.t_us) - len(other.t_us))
        self.tokens = VariableTokens(
            np.concatenate((self.tokens.hashes, theirs.hashes)),
            np.concatenate((self.tokens.lines, theirs.lines)),
            np.concatenate((self.tokens.unhashed, theirs.unhashed)),
        )

    def split(self, count: int) -> tuple[Columns, Columns]:
        """The first `count` lines and the rest."""
        head, rest = Columns(), Columns()
        for name in (
            "t_us",
            "host",
            "facility",
            "severity",
            "template",
            "source",
            "message",
        ):
            values = getattr(self, name)
            setattr(head, name, values[:count])
            setattr(rest, name, values[count:])
        tokens = self.tokens
        early = tokens.lines < count
        early_unhashed = tokens.unhashed < count
        head.tokens = VariableTokens(
            tokens.hashes[early], tokens.lines[early], tokens.unhashed[early_unhashed]
        )
        rest.tokens = VariableTokens(
            tokens.hashes[~early], tokens.lines[~early], tokens.unhashed[~early_unhashed]
        ).shifted(-count)
        return head, rest


@dataclass(frozen=True)
class DecodedColumns:
    """A block's columns as arrays (what searches and counts need), messages read on demand."""

    t_us: Int64s
    host: UInt32s
    facility: UInt16s
    severity: UInt8s
    template: UInt32s
    source_text: bytes | list[str]
    """The sources: a list, or UTF-8 joined by line feeds until `source` is first asked for."""

    @functools.cached_property
    def source(self) -> list[str]:
        if isinstance(self.source_text, list):
            return self.source_text
        return self.source_text.decode("utf-8").split("\n") if len(self.t_us) else []

    def source_at(self, index: int) -> str:
        """One line's source, without splitting them all."""
        if isinstance(self.source_text, list):
            return self.source_text[index]
        ends = self._source_ends
        start = int(ends[index - 1]) + 1 if index else 0
        end = int(ends[index]) if index < len(ends) else len(self.source_text)
        return self.source_text[start:end].decode("utf-8")

    @functools.cached_property
    def _source_ends(self) -> npt.NDArray[np.intp]:
        text = self.source_text
        assert isinstance(text, bytes)
        return np.flatnonzero(np.frombuffer(text, np.uint8) == _NEWLINE)


def encode(columns: Columns, level: int, *, framed: bool = False) -> tuple[bytes, bytes]:
    """(columns blob, text blob) compressed with zstd at `level`; `framed`: the text in frames
    of `FRAME_LINES` lines behind a table of their sizes, else in one zstd frame."""
    n = len(columns)
    deltas = np.diff(columns.t_us, prepend=np.int64(0))  # times rise slowly: deltas compress well
    parts = [
        _HEADER.pack(_MAGIC, n),
        deltas.tobytes(),
        columns.host.tobytes(),
        columns.facility.tobytes(),
        columns.severity.tobytes(),
        columns.template.tobytes(),
        "\n".join(columns.source).encode("utf-8"),
    ]
    compressor = zstandard.ZstdCompressor(level=level)
    if not framed:
        text = "\n".join(columns.message).encode("utf-8")
        return compressor.compress(b"".join(parts)), compressor.compress(text)
    text = "\n".join(columns.message).encode("utf-8")  # once: joining each frame costs more
    line_feeds = np.flatnonzero(np.frombuffer(text, np.uint8) == _NEWLINE)
    starts = [0, *(line_feeds[FRAME_LINES - 1 :: FRAME_LINES] + 1).tolist()]
    ends = [*(line_feeds[FRAME_LINES - 1 :: FRAME_LINES]).tolist(), len(text)]
    frames = [compressor.compress(text[start:end]) for start, end in zip(starts, ends, strict=True)]
    table = np.array([len(f) for f in frames], np.uint32).tobytes()
    header = _FRAMES_HEADER.pack(_FRAMES_MAGIC, FRAME_LINES, len(frames))
    return compressor.compress(b"".join(parts)), b"".join([header, table, *frames])


def decode_columns(blob: bytes) -> DecodedColumns:
    raw = _decompressor().decompress(blob)
    magic, n = _HEADER.unpack_from(raw)
    if magic != _MAGIC:
        raise ValueError("not a log block")
    at = _HEADER.size

    def take(dtype: type[np.generic], size: int) -> npt.NDArray[np.generic]:
        nonlocal at
        array = np.frombuffer(raw, dtype, n, at)
        at += size * n
        return array

    deltas = take(np.int64, 8)
    host = take(np.uint32, 4)
    facility = take(np.uint16, 2)
    severity = take(np.uint8, 1)
    template = take(np.uint32, 4)
    return DecodedColumns(
        t_us=np.cumsum(deltas, dtype=np.int64),
        host=host.astype(np.uint32, copy=False),
        facility=facility.astype(np.uint16, copy=False),
        severity=severity.astype(np.uint8, copy=False),
        template=template.astype(np.uint32, copy=False),
        source_text=raw[at:],
    )


def decode_text(blob: bytes) -> str:
    return decode_text_bytes(blob).decode("utf-8")


def decode_text_bytes(blob: bytes) -> bytes:
    """A text blob's messages (framed or not) as UTF-8 joined by line feeds."""
    decompress = _decompressor().decompress
    if blob[:4] != _FRAMES_MAGIC:
        return decompress(blob)
    return b"\n".join(decompress(blob[start:end]) for start, end in _frame_spans(blob))


FRAMES_HEADER_BYTES = _FRAMES_HEADER.size


def frame_table(head: bytes, read: Callable[[int, int], bytes]) -> tuple[int, list[int]] | None:
    """From the first `FRAMES_HEADER_BYTES` of a text blob (and `read(offset, length)` for
    more): lines per frame and the offsets of the frames and the blob's end; None if the blob
    is one unframed frame."""
    if head[:4] != _FRAMES_MAGIC:
        return None
    _, lines, count = _FRAMES_HEADER.unpack_from(head)
    sizes = np.frombuffer(read(_FRAMES_HEADER.size, 4 * count), np.uint32).astype(np.int64)
    offsets = _FRAMES_HEADER.size + 4 * count + np.concatenate(([0], np.cumsum(sizes)))
    return int(lines), offsets.tolist()


def decode_frame(frame: bytes) -> list[str]:
    """The messages of one compressed frame."""
    return _decompressor().decompress(frame).decode("utf-8").split("\n")


def _frame_spans(blob: bytes) -> list[tuple[int, int]]:
    table = frame_table(blob, lambda at, size: blob[at : at + size])
    assert table is not None
    offsets = table[1]
    return list(itertools.pairwise(offsets))


def to_columns(decoded: DecodedColumns, messages: list[str]) -> Columns:
    _, tokens = template_keys("\n".join(messages).encode("utf-8"))
    return Columns(
        t_us=decoded.t_us,
        host=decoded.host,
        facility=decoded.facility,
        severity=decoded.severity,
        template=decoded.template,
        source=list(decoded.source),
        message=messages,
        tokens=tokens,
    )
