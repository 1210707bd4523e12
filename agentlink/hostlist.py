"""Hostlists in pdsh/clush syntax: `expand_hostlist` turns what an admin types when adding servers
(`oss[01-16]`, `rack[1-2]-oss[01-04]`, `localhost:70[01-08]`, `[fe80::1]:7001`) into the server
addresses it names, each checked by `core.validation.parse_server_address`, and
`collapse_hostlist` folds addresses back into the shortest-reasonable hostlist. Layer: agentlink.
Thread: any (pure functions; no network, no DNS).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from core.errors import ValidationError
from core.validation import parse_server_address

MAX_HOSTS = 10_000  # a typo like oss[1-999999] must not allocate millions of names

_FIELD = "hostlist"
_MAX_DIGITS = 63  # a host name label holds at most 63 characters, so no number in one is longer
_RANGE_ITEM = re.compile(r"([0-9]+)(?:-([0-9]+))?")  # [0-9], not \d: no other scripts' digits
_NUMBER = re.compile(r"([0-9]+)")
_MAX_PERMUTED_NUMBERS = 4  # names with more numbers than this are folded in one order only


@dataclass(frozen=True)
class _Span:
    """One item of a bracket group: `7` or `01-16`, numbers zero-padded to `width` digits."""

    low: int
    high: int
    width: int

    @property
    def count(self) -> int:  # not __len__, which cannot exceed sys.maxsize
        return self.high - self.low + 1

    def __iter__(self) -> Iterator[str]:
        return (str(number).zfill(self.width) for number in range(self.low, self.high + 1))


_Group = tuple[_Span, ...]
_Segment = str | _Group  # literal text, or a bracket group that varies


def expand_hostlist(text: str) -> list[str]:
    """Every address the hostlist names, in order, without duplicates (first occurrence kept).

    Names are separated by commas; whitespace around them is ignored, and refused anywhere else,
    as `oss1 oss2` is more likely a missing comma than a name. Each bracket group holds
    numbers and ranges (`[1-3,7]`, `[7]`); a name with several groups names their cartesian
    product, the leftmost group varying slowest. A range keeps the zero padding of its lower
    bound: `[01-16]` gives 01 to 16, `[8-10]` gives 8, 9, 10, and `[01-100]` gives 01 to 99, then
    100. An upper bound written with leading zeros must have as many digits as the lower bound:
    `[1-010]` and `[01-009]` are refused, as they could mean `[001-010]` or `[1-10]`. Brackets
    that begin a name and hold a colon are an IPv6 address, not a range (`[fe80::1]:70[01-08]`).
    At most `MAX_HOSTS` names, counted before duplicates are removed and before any is built.
    Each name comes back as `str(parse_server_address(name))`, so `OSS1` is `oss1`.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValidationError(
            _FIELD, text, "give at least one server name, e.g. oss[01-16] or mds1,mds2"
        )
    terms = [_parse_term(text, entry) for entry in _split_entries(text)]
    count = sum(_term_size(term) for term in terms)
    if count > MAX_HOSTS:
        raise ValidationError(
            _FIELD,
            text,
            f"it names {count} servers and one hostlist may name at most {MAX_HOSTS}; "
            "check its ranges for a typo, or add the servers in several steps",
        )
    addresses: dict[str, None] = {}
    for name in dict.fromkeys(itertools.chain.from_iterable(map(_expand_term, terms))):
        addresses.setdefault(_normalise(text, name), None)
    return list(addresses)


def collapse_hostlist(addresses: Iterable[str]) -> str:
    """The shortest-reasonable hostlist naming exactly these addresses (inverse of expand):
    numeric suffixes grouped into ranges, zero padding preserved (oss01..oss16 -> oss[01-16]).

    Every number in a name may become a range, so `rack1-oss01`..`rack2-oss04` gives
    `rack[1-2]-oss[01-04]` and `10.0.0.1`..`10.0.0.4` gives `10.0.0.[1-4]`; an IPv6 address is
    kept whole (`[fe80::1]:[7001-7002]`). The result depends only on the set of addresses, not on
    their order: names sharing the text around their numbers come together, groups in order of
    that text, and each group by the value of its numbers, which is the order expanding it gives
    when each group's names differ in one number and share its padding. Addresses are normalised by
    `parse_server_address` (which raises `ValidationError` for an invalid one); no addresses give
    the empty string.
    """
    families: dict[tuple[str, ...], set[tuple[str, ...]]] = {}
    for address in addresses:
        texts, numbers = _split_numbers(str(parse_server_address(address)))
        families.setdefault(texts, set()).add(numbers)
    folded = [
        (texts, term)
        for texts, numbers in families.items()
        for term in _fold_family(texts, numbers)
    ]
    folded.sort(key=lambda item: (item[0], tuple(_first(values) for values in item[1])))
    return ",".join(_render_term(texts, term) for texts, term in folded)


# --- expanding -----------------------------------------------------------------------------------


def _split_entries(text: str) -> list[str]:
    """The comma-separated names of a hostlist; commas inside brackets belong to their group."""
    entries: list[str] = []
    start, depth = 0, 0
    for index, character in enumerate(text):
        if character == "[":
            depth += 1
        elif character == "]":
            depth = max(depth - 1, 0)
        elif character == "," and depth == 0:
            entries.append(text[start:index])
            start = index + 1
    entries.append(text[start:])
    entries = [entry.strip() for entry in entries]
    if "" in entries:
        raise ValidationError(
            _FIELD, text, "it has an empty name between commas; remove the extra comma"
        )
    return entries


def _parse_term(text: str, term: str) -> list[_Segment]:
    if any(character.isspace() for character in term):
        raise ValidationError(
            _FIELD,
            text,
            f"{term!r} contains a space; separate names with commas, e.g. oss1,oss2",
        )
    segments: list[_Segment] = []
    literal_start = index = 0
    while index < len(term):
        if term[index] == "]":
            raise ValidationError(
                _FIELD, text, f"the ] in {term!r} has no [ before it; remove it or add the ["
            )
        if term[index] != "[":
            index += 1
            continue
        close = term.find("]", index + 1)
        if close < 0:
            raise ValidationError(_FIELD, text, f"the [ in {term!r} is never closed; add its ]")
        if "[" in term[index + 1 : close]:
            raise ValidationError(
                _FIELD,
                text,
                f"brackets cannot nest, as in {term!r}; use one bracket per number, "
                "e.g. rack[1-2]-oss[01-04]",
            )
        content = term[index + 1 : close]
        if index == 0 and ":" in content:  # an IPv6 address, as in [fe80::1]:7001
            index = close + 1
            continue
        if literal_start < index:
            segments.append(term[literal_start:index])
        segments.append(_parse_group(text, term, content))
        literal_start = index = close + 1
    if literal_start < len(term):
        segments.append(term[literal_start:])
    return segments


def _parse_group(text: str, term: str, content: str) -> _Group:
    if not content:
        raise ValidationError(
            _FIELD, text, f"the brackets in {term!r} are empty; put numbers in them, e.g. [1-4]"
        )
    if ":" in content:
        raise ValidationError(
            _FIELD,
            text,
            f"[{content}] in {term!r} is not a range; an IPv6 address in brackets must begin "
            "the name, e.g. [fe80::1]:7001",
        )
    return tuple(_parse_span(text, content, item) for item in content.split(","))


def _parse_span(text: str, content: str, item: str) -> _Span:
    if not item:
        raise ValidationError(
            _FIELD, text, f"[{content}] has an empty item; remove the extra comma"
        )
    match = _RANGE_ITEM.fullmatch(item)
    if match is None:
        raise ValidationError(
            _FIELD,
            text,
            f"the range [{item}] is not numeric; brackets hold whole numbers and ranges of them, "
            "e.g. [1-4,7]",
        )
    low, high = match[1], match[2] or match[1]
    if max(len(low), len(high)) > _MAX_DIGITS:
        raise ValidationError(
            _FIELD,
            text,
            f"a number in [{content}] has more than {_MAX_DIGITS} digits, "
            "more than any part of a host name may have",
        )
    if int(high) < int(low):
        raise ValidationError(
            _FIELD, text, f"the range [{item}] runs backwards; write [{high}-{low}]"
        )
    if _is_padded(high) and len(high) != len(low):
        digits = len(high)
        raise ValidationError(
            _FIELD,
            text,
            f"the ends of the range [{item}] are padded to different widths; write "
            f"[{low.zfill(digits)}-{high}] for {digits}-digit numbers or "
            f"[{int(low)}-{int(high)}] for unpadded ones",
        )
    # A bound without leading zeros has no more digits than any number after it, so padding
    # every number to its length pads only where the lower bound itself was padded.
    return _Span(int(low), int(high), len(low))


def _term_size(term: Sequence[_Segment]) -> int:
    return math.prod(
        sum(span.count for span in segment) for segment in term if not isinstance(segment, str)
    )


def _expand_term(term: Sequence[_Segment]) -> Iterator[str]:
    choices = [
        (segment,) if isinstance(segment, str) else [value for span in segment for value in span]
        for segment in term
    ]
    return ("".join(parts) for parts in itertools.product(*choices))


def _normalise(text: str, name: str) -> str:
    try:
        return str(parse_server_address(name))
    except ValidationError as error:
        raise _not_an_address(text, name, error.rule) from error


def _not_an_address(text: str, name: str, rule: str) -> ValidationError:
    return ValidationError(
        _FIELD, text, f"it names {name!r}, which is not a server address: {rule}"
    )


# --- collapsing ----------------------------------------------------------------------------------


def _split_numbers(address: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """`rack1-oss01` -> ((`rack`, `-oss`, ``), (`1`, `01`)); a bracketed IPv6 address is text."""
    opaque = ""
    if address.startswith("["):
        end = address.index("]") + 1
        opaque, address = address[:end], address[end:]
    parts = _NUMBER.split(address)
    return (opaque + parts[0], *parts[2::2]), tuple(parts[1::2])


_Term = tuple[frozenset[str], ...]  # one set of numbers per position: their cartesian product


def _fold_family(texts: tuple[str, ...], numbers: set[tuple[str, ...]]) -> list[_Term]:
    """The shortest of the foldings tried: folding positions in another order can merge more."""
    positions = range(len(texts) - 1)
    if len(positions) > _MAX_PERMUTED_NUMBERS:
        orders: Iterable[Sequence[int]] = [positions[::-1]]
    else:
        orders = itertools.permutations(positions[::-1])
    foldings = (_fold(numbers, order) for order in orders)
    return min(foldings, key=lambda terms: sum(len(_render_term(texts, t)) + 1 for t in terms))


def _fold(numbers: set[tuple[str, ...]], order: Sequence[int]) -> list[_Term]:
    # Terms alike but for one position merge there: A x B and A x C make A x (B | C).
    terms = {tuple(frozenset((number,)) for number in name) for name in numbers}
    for position in order:
        merged: dict[_Term, set[str]] = {}
        for term in terms:
            merged.setdefault(term[:position] + term[position + 1 :], set()).update(term[position])
        terms = {
            (*others[:position], frozenset(values), *others[position:])
            for others, values in merged.items()
        }
    return list(terms)


def _render_term(texts: tuple[str, ...], term: _Term) -> str:
    return texts[0] + "".join(
        _render_group(values) + text for values, text in zip(term, texts[1:], strict=True)
    )


def _render_group(values: frozenset[str]) -> str:
    if len(values) == 1:
        return next(iter(values))
    spans: list[str] = []
    remaining = set(values)
    for low in sorted(values, key=_number_order):
        if low not in remaining:
            continue
        remaining.remove(low)
        high, number = low, int(low)
        # Padded to the lower bound's length, exactly as _parse_span expands a range.
        while (following := str(number + 1).zfill(len(low))) in remaining:
            remaining.remove(following)
            high, number = following, number + 1
        spans.append(low if high == low else f"{low}-{high}")
    return f"[{','.join(spans)}]"


def _first(values: frozenset[str]) -> tuple[int, int]:
    return min(map(_number_order, values))


def _number_order(number: str) -> tuple[int, int]:
    return int(number), len(number)


def _is_padded(number: str) -> bool:
    return len(number) > 1 and number.startswith("0")
