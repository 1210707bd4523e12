"""The wire codec: what one side encodes the other decodes, however TCP chunks it; anything
else is refused with a reason, never a crash."""

from __future__ import annotations

import struct

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentlink.wire import (
    MAX_FRAME_BYTES,
    MAX_SEQ,
    FrameDecoder,
    Message,
    Op,
    WireError,
    decode_payload,
    encode,
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=False),
    st.text(max_size=50),
    st.binary(max_size=50),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=30,
)
messages = st.builds(
    Message,
    op=st.sampled_from(Op),
    seq=st.integers(min_value=0, max_value=MAX_SEQ),
    body=st.dictionaries(st.text(max_size=20), values, max_size=8),
    version=st.integers(min_value=1, max_value=MAX_SEQ),
)


@given(st.lists(messages, min_size=1, max_size=6), st.data())
def test_messages_survive_any_chunking(sent: list[Message], data: st.DataObject):
    stream = b"".join(encode(message) for message in sent)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    decoder = FrameDecoder()
    received: list[Message] = []
    start = 0
    for cut in [*cuts, len(stream)]:
        received += decoder.feed(stream[start:cut])
        start = cut
    assert received == sent
    assert decoder.buffered == 0


@settings(max_examples=300)
@given(st.binary(max_size=200))
def test_random_bytes_are_refused_or_decoded_never_a_crash(noise: bytes):
    assert outcome(noise)


@settings(max_examples=300)
@given(messages, st.data())
def test_mutated_frames_are_refused_or_decoded_never_a_crash(message: Message, data):
    frame = bytearray(encode(message))
    for _ in range(data.draw(st.integers(1, 4))):
        frame[data.draw(st.integers(0, len(frame) - 1))] = data.draw(st.integers(0, 255))
    assert outcome(bytes(frame))


def outcome(data: bytes) -> list[Message] | str:
    """The messages decoded, or the reason they were refused (any other exception fails)."""
    try:
        decoded = FrameDecoder().feed(data)
    except WireError as error:
        return str(error)
    assert all(isinstance(message, Message) for message in decoded)
    return decoded or "incomplete"


def frame_of(document: object) -> bytes:
    payload = msgpack.packb(document, use_bin_type=True)
    return struct.pack(">I", len(payload)) + payload


@pytest.mark.parametrize(
    ("document", "says"),
    [
        ([1, 2, 3], "a message is a map, not list"),
        ({"v": 1, "op": "reboot", "seq": 1, "body": {}}, "unknown operation 'reboot'"),
        ({"v": 0, "op": "hello", "seq": 1, "body": {}}, "protocol version must be a positive"),
        ({"v": 1, "op": "hello", "seq": -1, "body": {}}, "sequence number must be an integer"),
        ({"v": 1, "op": "hello", "seq": True, "body": {}}, "sequence number must be an integer"),
        ({"v": 1, "op": "hello", "seq": 1, "body": []}, "a message body is a map, not list"),
        ({"v": 1, "op": "hello", "seq": 1, "body": {}, "x": 1}, "unexpected message fields: x"),
        ({"v": 1, "op": "hello", "seq": 1, "body": {b"k": 1}}, "keys of a message body"),
    ],
)
def test_malformed_messages_say_what_is_wrong(document: object, says: str):
    with pytest.raises(WireError, match=says):
        FrameDecoder().feed(frame_of(document))


def test_extension_types_are_refused():
    payload = msgpack.packb(
        {"v": 1, "op": "push", "seq": 1, "body": {"x": msgpack.ExtType(5, b"boom")}}
    )
    with pytest.raises(WireError, match="extension type 5"):
        decode_payload(payload)


def test_an_oversized_frame_is_refused_from_its_length_alone():
    decoder = FrameDecoder(max_frame_bytes=1024)
    with pytest.raises(WireError, match="a frame of 1025 bytes exceeds the 1024-byte limit"):
        decoder.feed(struct.pack(">I", 1025) + b"\x00" * 10)
    with pytest.raises(WireError, match="exceeds the"):
        encode(Message(Op.PUSH, 1, {"blob": b"\x00" * (MAX_FRAME_BYTES + 1)}))


def test_a_frame_arriving_byte_by_byte_is_decoded_once_complete():
    frame = encode(Message(Op.REQUEST, 7, {"action_id": "step-1", "action": "load_lnet"}))
    decoder = FrameDecoder()
    assert [decoder.feed(frame[i : i + 1]) for i in range(len(frame) - 1)] == [[]] * (
        len(frame) - 1
    )
    (message,) = decoder.feed(frame[-1:])
    assert message == Message(Op.REQUEST, 7, {"action_id": "step-1", "action": "load_lnet"})
