"""Which blocks of the log store may hold a variable token: Bloom filters of 64 blocks laid side
by side, so that one look-up answers for all of them.

Layer: stats (no Qt, no Twisted). Thread: whichever thread owns the store (values and pure
functions).

Block ids are dealt out in groups of `GROUP_BLOCKS`. A group's filter is `BLOOM_BITS` 64-bit
words: bit s of word p is set when the group's block s holds a token one of whose
`BLOOM_PROBES` positions is p. A token's candidate blocks are the bits set in all the words of
its positions (8 reads of 8 bytes per group). At the 16,384 distinct tokens of a Lustre block
this wrongly names a block about once in 1,700 (the block's own line index then says no); a
filter never misses a block that holds the token. Unlike a full-text index, adding a block costs
one pass of numpy over its tokens and no merging, and the filters take 2 bytes per line.

The filter of the group being filled lives in memory (rebuilt from the blocks' line indexes when
a store is opened); a group's filter is written once, with its last block.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import numpy.typing as npt

GROUP_BLOCKS = 64
BLOOM_BITS = 1 << 18
"""Words per group filter (a power of two): 16 bits for each of a block's ~16,384 tokens."""
BLOOM_PROBES = 8
_ALL_BLOCKS = (1 << GROUP_BLOCKS) - 1
_LOW = np.uint64(0xFFFF_FFFF)
_PROBE_STEPS = np.arange(BLOOM_PROBES, dtype=np.uint64)

UInt64s = npt.NDArray[np.uint64]
Positions = npt.NDArray[np.int64]


def group_of(block_id: int) -> tuple[int, int]:
    """The group of a block id (ids start at 1) and the block's bit in it."""
    return (block_id - 1) // GROUP_BLOCKS, (block_id - 1) % GROUP_BLOCKS


def first_block(group: int) -> int:
    return group * GROUP_BLOCKS + 1


def probe_positions(hashes: UInt64s) -> Positions:
    """The filter words of each hash (one row per hash), by double hashing of its two halves."""
    start = hashes & _LOW
    step = (hashes >> np.uint64(32)) | np.uint64(1)
    with np.errstate(over="ignore"):
        words = start[:, None] + _PROBE_STEPS[None, :] * step[:, None]
    return (words & np.uint64(BLOOM_BITS - 1)).astype(np.int64)


class GroupBloom:
    """The filter of one group, held in memory (the group being filled)."""

    def __init__(self, group: int, words: UInt64s | None = None) -> None:
        self.group = group
        self.words: UInt64s = np.zeros(BLOOM_BITS, np.uint64) if words is None else words

    @classmethod
    def of_blocks(cls, group: int, blocks: Iterable[tuple[int, UInt64s]]) -> GroupBloom:
        """The filter of `group` holding (block id, distinct token hashes) of its blocks."""
        bloom = cls(group)
        for block_id, hashes in blocks:
            bloom._add(block_id, hashes)
        return bloom

    def with_block(self, block_id: int, hashes: UInt64s) -> GroupBloom:
        """A copy of this filter holding block `block_id` too (this one is left as it was)."""
        bloom = GroupBloom(self.group, self.words.copy())
        bloom._add(block_id, hashes)
        return bloom

    def _add(self, block_id: int, hashes: UInt64s) -> None:
        group, slot = group_of(block_id)
        if group != self.group:
            raise ValueError(f"block {block_id} is not in group {self.group}")
        self.words[probe_positions(hashes).ravel()] |= np.uint64(1 << slot)

    def blocks_with(self, token_hashes: list[int]) -> list[int]:
        """The ids of the blocks that may hold every one of the tokens."""
        words = self.words
        return _blocks_of(self.group, _mask(token_hashes, lambda at: int(words[at])))

    def encode(self) -> bytes:
        return self.words.tobytes()


def stored_blocks_with(
    group: int, read: Callable[[int, int], bytes], token_hashes: list[int]
) -> list[int]:
    """`GroupBloom.blocks_with` for a stored filter read in pieces by `read(offset, length)`."""

    def word(position: int) -> int:
        return int.from_bytes(read(8 * position, 8), "little")

    return _blocks_of(group, _mask(token_hashes, word))


def _mask(token_hashes: list[int], word: Callable[[int], int]) -> int:
    mask = _ALL_BLOCKS
    positions = probe_positions(np.array(token_hashes, np.uint64))
    for position in positions.ravel().tolist():
        mask &= word(position)
        if not mask:
            break
    return mask


def _blocks_of(group: int, mask: int) -> list[int]:
    base = first_block(group)
    return [base + slot for slot in range(GROUP_BLOCKS) if mask >> slot & 1]
