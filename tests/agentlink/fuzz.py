"""A fuzzer of the agent link: random and mutated frames sent at a real link endpoint.

Used by tests (a few thousand frames) and by `bench/link.py` (a million or more). Each case opens
a fresh in-memory connection to the target, says hello properly (so the frames reach the
request and push handlers, not only the hello check), then sends valid frames, mutated frames
(bits flipped, bytes inserted, dropped or replaced, truncated, lengths rewritten) or noise, in
random chunks. A case passes when nothing escaped the protocol (no exception), and the
connection is either still open or closed with a reason; the driver counts both outcomes.
"""

from __future__ import annotations

import random
import struct
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from agentlink.protocol import LinkProtocol
from agentlink.wire import PROTOCOL_VERSION, Message, Op, encode

HELLO = Message(
    Op.HELLO,
    1,
    {
        "name": "fuzzer",
        "software_version": "0",
        "capabilities": ["desktop"],
        "protocol_versions": [PROTOCOL_VERSION],
    },
)

SAMPLES = [
    Message(Op.REQUEST, 2, {"action_id": "f-1", "action": "load_lnet", "args": {}}),
    Message(Op.REQUEST, 3, {"action_id": "f-2", "action": "mount_target", "args": {"x": 1}}),
    Message(Op.REQUEST, 4, {"action_id": "f-3", "action": "no_such_action"}),
    Message(Op.CANCEL, 5, {"action_id": "f-1"}),
    Message(Op.STATUS, 6, {"action_ids": ["f-1", "f-9", 7]}),
    Message(Op.FETCH, 7, {"after": 0, "limit": 10}),
    Message(Op.FETCH, 8, {"after": -1, "limit": "many"}),
    Message(Op.PAIR, 9, {"step": "prove", "proof": "00" * 32}),
    Message(Op.PUSH, 10, {"kind": "records", "records": [[1, {"kind": "stat", "value": 1.0}]]}),
    Message(Op.PUSH, 11, {"kind": "devices", "devices": [{"path": "/dev/x"}]}),
    Message(Op.RESPONSE, 12, {"result": {"state": "succeeded"}}),
    Message(Op.HEARTBEAT, 13, {}),
    Message(Op.ERROR, 14, {"reason": "fuzz"}),
]
FRAMES = [encode(message) for message in SAMPLES]


def mutate(frame: bytes, rng: random.Random) -> bytes:
    """One random damage to a frame."""
    data = bytearray(frame)
    choice = rng.randrange(8)
    if choice == 0 and data:  # flip a bit
        position = rng.randrange(len(data))
        data[position] ^= 1 << rng.randrange(8)
    elif choice == 1 and data:  # replace a byte
        data[rng.randrange(len(data))] = rng.randrange(256)
    elif choice == 2:  # insert bytes
        position = rng.randrange(len(data) + 1)
        data[position:position] = rng.randbytes(rng.randrange(1, 8))
    elif choice == 3 and len(data) > 1:  # drop bytes
        start = rng.randrange(len(data))
        del data[start : start + rng.randrange(1, 8)]
    elif choice == 4:  # truncate
        del data[rng.randrange(len(data) + 1) :]
    elif choice == 5:  # rewrite the length prefix
        data[:4] = struct.pack(">I", rng.choice([0, 1, len(data), 2**24, 2**32 - 1]))
    elif choice == 6:  # noise with a plausible length prefix
        noise = rng.randbytes(rng.randrange(0, 64))
        data = bytearray(struct.pack(">I", len(noise)) + noise)
    else:  # a payload byte set to a msgpack type marker
        if len(data) > 4:
            data[rng.randrange(4, len(data))] = rng.choice([0xC1, 0xC7, 0xD4, 0xDC, 0xDF, 0xC0])
    return bytes(data)


def chunks(data: bytes, rng: random.Random) -> list[bytes]:
    pieces, start = [], 0
    while start < len(data):
        size = rng.randrange(1, 64) if rng.random() < 0.5 else len(data)
        pieces.append(data[start : start + size])
        start += size
    return pieces


@dataclass
class FuzzReport:
    cases: int = 0
    frames: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    crashes: list[str] = field(default_factory=list)


def fuzz(
    make_link: Callable[[Clock], LinkProtocol],
    frames: int,
    seed: int,
    *,
    max_crashes_kept: int = 10,
) -> FuzzReport:
    """Send `frames` frames (valid, mutated or noise) in fresh connections to links made by
    `make_link`; deterministic for a seed."""
    rng = random.Random(seed)
    clock = Clock()
    report = FuzzReport()
    hello = encode(HELLO)
    while report.frames < frames:
        link = make_link(clock)
        transport = StringTransport()
        report.cases += 1
        try:
            link.makeConnection(transport)
            link.dataReceived(hello)
            for _ in range(rng.randrange(1, 6)):
                frame = rng.choice(FRAMES)
                if rng.random() < 0.8:
                    frame = mutate(frame, rng)
                report.frames += 1
                for piece in chunks(frame, rng):
                    link.dataReceived(piece)
                if link.closed_reason is not None:
                    break
            clock.advance(1.0)
        except Exception as escaped:  # what the fuzzer is looking for
            if len(report.crashes) < max_crashes_kept:
                report.crashes.append(f"{type(escaped).__name__}: {escaped}")
            report.outcomes["crash"] += 1
        else:
            report.outcomes["closed with a reason" if link.closed_reason else "still open"] += 1
        finally:
            if link.closed_reason is None:
                link.close("fuzz case over")
            link.connectionLost()
    return report
