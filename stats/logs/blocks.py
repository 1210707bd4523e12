"""Blocks of the log store: lines in columns, the template of each line, and the compressed form
they take on disk.

Layer: stats (no Qt, no Twisted). Thread: whichever thread owns the store (pure functions).

Templates and the variables index are computed with numpy over a whole batch at once (one pass
per step over the UTF-8 bytes), because Python's `re` walks text at tens of nanoseconds per
character, which alone would hold ingest under 100,000 lines/s.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import zstandard

from stats.logs.text import PLACEHOLDER

MAX_TEMPLATE_BYTES = 1024
"""A line whose template is longer is left unclassified (judged line by line)."""

_BYTE_CLASS = np.zeros(256, np.uint8)  # 0 separator, 1 letter (or non-ASCII), 2 ASCII digit
for _byte in range(256):
    if _byte >= 0x80 or chr(_byte).isalpha():
        _BYTE_CLASS[_byte] = 1
    elif chr(_byte).isdigit():
        _BYTE_CLASS[_byte] = 2
_PLACEHOLDER_BYTE = ord(PLACEHOLDER)
_SPACE = 0x20
_NEWLINE = 0x0A
_HEADER = struct.Struct("<4sI")
_MAGIC = b"LGB1"

Int64s = npt.NDArray[np.int64]
UInt32s = npt.NDArray[np.uint32]
UInt16s = npt.NDArray[np.uint16]
UInt8s = npt.NDArray[np.uint8]
Bools = npt.NDArray[np.bool_]


def _variable_mask(raw: bytes) -> tuple[UInt8s, Bools, Bools]:
    """The bytes, which of them belong to a variable, and which start one."""
    data = np.frombuffer(raw, np.uint8)
    kind = _BYTE_CLASS[data]
    in_token = kind > 0
    starts = in_token.copy()
    starts[1:] &= ~in_token[:-1]
    token_number = np.cumsum(starts.view(np.uint8), dtype=np.int32)
    has_digit = np.zeros(int(token_number[-1]) + 1 if len(token_number) else 1, np.bool_)
    has_digit[token_number[kind == 2]] = True
    in_variable = in_token & has_digit[token_number]
    return data, in_variable, starts & in_variable


def template_keys(raw: bytes) -> tuple[list[bytes], list[bytes]]:
    """The template of each line of `raw` (lines joined by b"\\n"), variables becoming one
    placeholder byte each, and each line's variables (the rest blanked) for the index."""
    if not raw:
        return [b""], [b""]
    data, in_variable, variable_starts = _variable_mask(raw)
    out = data.copy()
    out[variable_starts] = _PLACEHOLDER_BYTE
    templates = out[~in_variable | variable_starts].tobytes().split(b"\n")
    out = data.copy()
    out[~in_variable & (data != _NEWLINE)] = _SPACE
    return templates, out.tobytes().split(b"\n")


def variables_document(raw: bytes) -> str:
    """The variables of a block as one text for the full-text index (everything else blanked)."""
    return b"\n".join(template_keys(raw)[1]).decode("utf-8")


@dataclass
class Columns:
    """Lines column by column: the in-memory form of a block and of the unsealed tail."""

    t_us: list[int] = field(default_factory=list)
    host: list[int] = field(default_factory=list)
    facility: list[int] = field(default_factory=list)
    severity: list[int] = field(default_factory=list)
    template: list[int] = field(default_factory=list)
    source: list[str] = field(default_factory=list)
    message: list[str] = field(default_factory=list)
    variables: list[bytes] = field(default_factory=list)
    """Each line's variables, for the block's index (not stored: derived from the message)."""

    def __len__(self) -> int:
        return len(self.t_us)

    def extend(self, other: Columns) -> None:
        self.t_us.extend(other.t_us)
        self.host.extend(other.host)
        self.facility.extend(other.facility)
        self.severity.extend(other.severity)
        self.template.extend(other.template)
        self.source.extend(other.source)
        self.message.extend(other.message)
        self.variables.extend(other.variables)

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
            "variables",
        ):
            values = getattr(self, name)
            setattr(head, name, values[:count])
            setattr(rest, name, values[count:])
        return head, rest


@dataclass(frozen=True)
class DecodedColumns:
    """A block's columns as arrays (what searches and counts need), messages read on demand."""

    t_us: Int64s
    host: UInt32s
    facility: UInt16s
    severity: UInt8s
    template: UInt32s
    source: list[str]


def encode(columns: Columns, level: int) -> tuple[bytes, bytes]:
    """(columns blob, text blob) compressed with zstd at `level`."""
    n = len(columns)
    t = np.array(columns.t_us, np.int64)
    deltas = np.diff(t, prepend=np.int64(0))  # times rise slowly: deltas compress well
    parts = [
        _HEADER.pack(_MAGIC, n),
        deltas.tobytes(),
        np.array(columns.host, np.uint32).tobytes(),
        np.array(columns.facility, np.uint16).tobytes(),
        np.array(columns.severity, np.uint8).tobytes(),
        np.array(columns.template, np.uint32).tobytes(),
        "\n".join(columns.source).encode("utf-8"),
    ]
    compressor = zstandard.ZstdCompressor(level=level)
    text = "\n".join(columns.message).encode("utf-8")
    return compressor.compress(b"".join(parts)), compressor.compress(text)


def decode_columns(blob: bytes) -> DecodedColumns:
    raw = zstandard.ZstdDecompressor().decompress(blob)
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
    sources = raw[at:].decode("utf-8").split("\n") if n else []
    return DecodedColumns(
        t_us=np.cumsum(deltas, dtype=np.int64),
        host=host.astype(np.uint32),
        facility=facility.astype(np.uint16),
        severity=severity.astype(np.uint8),
        template=template.astype(np.uint32),
        source=sources,
    )


def decode_text(blob: bytes) -> str:
    return zstandard.ZstdDecompressor().decompress(blob).decode("utf-8")


def to_columns(decoded: DecodedColumns, messages: list[str]) -> Columns:
    _, variables = template_keys("\n".join(messages).encode("utf-8"))
    return Columns(
        t_us=decoded.t_us.tolist(),
        host=decoded.host.tolist(),
        facility=decoded.facility.tolist(),
        severity=decoded.severity.tolist(),
        template=decoded.template.tolist(),
        source=list(decoded.source),
        message=messages,
        variables=variables,
    )
