"""The wire format between the desktop and its agents: length-prefixed msgpack messages.

Layer: agentlink, shared with the agent (it imports nothing of core: a contract says so).
Thread: any (pure functions and a per-connection decoder). A frame is a 4-byte big-endian
length followed by that many bytes of msgpack encoding one map {v, op, seq, body}. Anything
else (a frame over the size limit, bytes that are not msgpack, a map of the wrong shape, an
unknown operation, extension types) is a `WireError` naming what was wrong; the connection
that sent it is then closed with that reason.
"""

from __future__ import annotations

import struct
import threading
from enum import StrEnum
from typing import Any, NamedTuple

import msgpack

PROTOCOL_VERSION = 1
MAX_FRAME_BYTES = 16 * 1024 * 1024
_LENGTH = struct.Struct(">I")
MAX_SEQ = 2**63 - 1


class Op(StrEnum):
    HELLO = "hello"
    """Both sides, first: protocol version, software version, capabilities, name."""
    REQUEST = "request"
    """Desktop → agent: run an action (body: action_id, action, args)."""
    RESPONSE = "response"
    """The answer to a message with the same seq."""
    CANCEL = "cancel"
    """Desktop → agent: stop a running action (body: action_id)."""
    STATUS = "status"
    """Desktop → agent after a reconnect: what became of these action ids?"""
    PAIR = "pair"
    """Desktop → unpaired agent: the pairing exchange (body: step, and its proof or
    certificates); the only request an unpaired agent takes."""
    FETCH = "fetch"
    """Desktop → agent after a reconnect: journal records after a sequence number (backfill)."""
    PUSH = "push"
    """Agent → desktop, unasked: device reports, Lustre state, stats, log lines."""
    HEARTBEAT = "heartbeat"
    ERROR = "error"
    """A refusal of the connection, with a reason, just before closing it."""


class WireError(ValueError):
    """Bytes from a peer that are not a valid message; the connection must close."""


class Message(NamedTuple):
    """One message. A named tuple: immutable, and built ~4x faster than a frozen dataclass,
    which counts at tens of thousands of messages a second."""

    op: Op
    seq: int
    body: dict[str, Any]
    version: int = PROTOCOL_VERSION


_packers = threading.local()


def encode(message: Message) -> bytes:
    """One frame: the length, then the msgpack of {v, op, seq, body}."""
    try:
        packer = _packers.packer
    except AttributeError:  # first use on this thread: a packer is reused, never shared
        packer = _packers.packer = msgpack.Packer(use_bin_type=True)
    payload: bytes = packer.pack(
        {"v": message.version, "op": message.op.value, "seq": message.seq, "body": message.body}
    )
    if len(payload) > MAX_FRAME_BYTES:
        raise WireError(
            f"a {message.op} message of {len(payload)} bytes exceeds the "
            f"{MAX_FRAME_BYTES}-byte frame limit"
        )
    return _LENGTH.pack(len(payload)) + payload


def _refuse_extension(code: int, data: bytes) -> object:
    raise WireError(f"msgpack extension type {code} is not allowed")


def decode_payload(payload: bytes) -> Message:
    """The message in one frame's payload."""
    try:
        document = msgpack.unpackb(
            payload,
            raw=False,
            strict_map_key=True,
            ext_hook=_refuse_extension,
        )
    except WireError:
        raise
    except (ValueError, TypeError, msgpack.UnpackException) as error:
        raise WireError(f"the frame is not valid msgpack ({error})") from error
    return _message(document)


_FIELDS = frozenset(("v", "op", "seq", "body"))
_OPS: dict[str, Op] = {op.value: op for op in Op}


def _message(document: object) -> Message:
    if type(document) is not dict:
        raise WireError(f"a message is a map, not {type(document).__name__}")
    if document.keys() != _FIELDS:
        unexpected = set(document) - _FIELDS
        if unexpected:
            raise WireError(f"unexpected message fields: {', '.join(sorted(map(str, unexpected)))}")
    version, op, seq, body = (
        document.get("v"),
        document.get("op"),
        document.get("seq"),
        document.get("body"),
    )
    if type(version) is not int or version < 1:  # bool is a subclass of int, not int itself
        raise WireError(f"the protocol version must be a positive integer, not {version!r}")
    operation = _OPS.get(op) if type(op) is str else None
    if operation is None:
        raise WireError(f"unknown operation {op!r}")
    if type(seq) is not int or not 0 <= seq <= MAX_SEQ:
        raise WireError(f"the sequence number must be an integer from 0 to 2^63-1, not {seq!r}")
    if type(body) is not dict:
        raise WireError(f"a message body is a map, not {type(body).__name__}")
    for key in body:
        if type(key) is not str:
            raise WireError("the keys of a message body are strings")
    return Message(operation, seq, body, version)


class FrameDecoder:
    """Turns a byte stream into messages, whatever the chunking of the stream."""

    def __init__(self, max_frame_bytes: int = MAX_FRAME_BYTES) -> None:
        self.max_frame_bytes = max_frame_bytes
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Message]:
        """The messages completed by `data`; raises WireError on the first invalid one (the
        stream is then unusable)."""
        self._buffer += data
        messages = []
        while len(self._buffer) >= _LENGTH.size:
            (length,) = _LENGTH.unpack_from(self._buffer)
            if length > self.max_frame_bytes:
                raise WireError(
                    f"a frame of {length} bytes exceeds the {self.max_frame_bytes}-byte limit"
                )
            end = _LENGTH.size + length
            if len(self._buffer) < end:
                break
            payload = bytes(self._buffer[_LENGTH.size : end])
            del self._buffer[:end]
            messages.append(decode_payload(payload))
        return messages

    @property
    def buffered(self) -> int:
        return len(self._buffer)
