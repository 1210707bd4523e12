"""Words, templates and queries of the log store: how a line splits into tokens, how a query is
read, and whether a line template can match it.

Layer: stats (no Qt, no Twisted). Thread: any (pure functions and immutable values).

A *token* is a maximal run of ASCII letters, ASCII digits and non-ASCII characters; everything
else (ASCII punctuation, spaces, `_`) separates tokens, as SQLite FTS5's unicode61 tokenizer does
on ASCII text. Tokens compare case-folded (`str.casefold`). A token holding an ASCII digit is a
*variable* (a PID, a NID's octet, `OST0007`, a client UUID); the others are *words*. A line's
*template* is its text with every variable replaced by `PLACEHOLDER`: Lustre logs are a few
templates with changing variables, so a query made of words is decided by the template alone,
and a variable needs a look at the line only in templates that have a variable to hold it.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from functools import lru_cache

from core.errors import ValidationError

PLACEHOLDER = "\x11"
"""Stands for one variable in a template; a control character, so never in a stored message."""

_SEPARATORS = {c: " " for c in range(128) if not chr(c).isalnum()}
_TOKEN_CHARS = "0-9a-z\\x80-\\U0010ffff"  # noqa: S105 (after casefold: no ASCII capitals)
_DIGIT = re.compile("[0-9]")


def tokens(text: str) -> list[str]:
    """The case-folded tokens of `text`, in order."""
    return [word for word in text.casefold().translate(_SEPARATORS).split(" ") if word]


def is_variable(token: str) -> bool:
    return _DIGIT.search(token) is not None


class Verdict(enum.IntEnum):
    """What a template alone says about a query."""

    NONE = 0
    """No line of this template can match."""
    ALL = 1
    """Every line of this template matches."""
    MAYBE = 2
    """It depends on the line's variables: look at the line."""


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed search text: every item must occur in the line; an item is one token or a phrase
    of tokens next to each other (only separators between them, on one line)."""

    items: tuple[tuple[str, ...], ...]

    @property
    def matches_everything(self) -> bool:
        return not self.items

    @property
    def variables(self) -> tuple[str, ...]:
        """Every variable token of the query: each one must be in a line for it to match."""
        return tuple(sorted({t for item in self.items for t in item if is_variable(t)}))

    def matches(self, message: str) -> bool:
        """The reference meaning of a match, one line at a time (slow; tests and tails use it)."""
        if not self.items:
            return True
        line = tokens(message)
        return all(_contains(line, list(item)) for item in self.items)

    def patterns(self) -> list[re.Pattern[str]]:
        """One regular expression per item, finding it in case-folded text."""
        return [_item_pattern(item) for item in self.items]

    def judge(self, template: str) -> Verdict:
        """What `template` (a line with `PLACEHOLDER` for each variable) says about this query."""
        if not self.items:
            return Verdict.ALL
        seq = _template_tokens(template)
        verdict = Verdict.ALL
        for item in self.items:
            found = _judge_item(seq, item)
            if found is Verdict.NONE:
                return Verdict.NONE
            if found is Verdict.MAYBE:
                verdict = Verdict.MAYBE
        return verdict


def _contains(line: list[str], item: list[str]) -> bool:
    k = len(item)
    return any(line[i : i + k] == item for i in range(len(line) - k + 1))


def _judge_item(seq: tuple[str | None, ...], item: tuple[str, ...]) -> Verdict:
    best = Verdict.NONE
    k = len(item)
    for start in range(len(seq) - k + 1):
        window = Verdict.ALL
        for slot, token in zip(seq[start : start + k], item, strict=True):
            if slot is None:  # a variable: only a token with a digit can be there
                if not is_variable(token):
                    window = Verdict.NONE
                    break
                window = Verdict.MAYBE
            elif slot != token:
                window = Verdict.NONE
                break
        if window is Verdict.ALL:
            return Verdict.ALL
        if window is Verdict.MAYBE:
            best = Verdict.MAYBE
    return best


@lru_cache(maxsize=65536)
def _template_tokens(template: str) -> tuple[str | None, ...]:
    """The template's tokens, None for each variable."""
    seq: list[str | None] = []
    for index, piece in enumerate(template.split(PLACEHOLDER)):
        if index:
            seq.append(None)
        seq.extend(tokens(piece))
    return tuple(seq)


@lru_cache(maxsize=1024)
def _item_pattern(item: tuple[str, ...]) -> re.Pattern[str]:
    # The first token leads so that `re` looks for it as a literal (fifteen times faster than a
    # leading look-behind); the look-behind after it checks that it starts a token.
    between = f"[^{_TOKEN_CHARS}\\n]+"
    first = re.escape(item[0])
    rest = "".join(between + re.escape(t) for t in item[1:])
    return re.compile(f"{first}(?<![{_TOKEN_CHARS}].{{{len(item[0])}}}){rest}(?![{_TOKEN_CHARS}])")


_OPERATORS = {"OR", "NOT", "NEAR"}


def parse_query(text: str) -> Query:
    """Read a search text: words, numbers, NIDs and target names, and "quoted phrases"; all must
    occur (an `AND` between them is allowed and changes nothing). Case does not matter."""
    if not isinstance(text, str):
        raise ValidationError("search text", text, "it must be text")
    if text.count('"') % 2:
        raise ValidationError("search text", text, 'a quotation mark (") is not closed')
    items: list[tuple[str, ...]] = []
    for index, chunk in enumerate(text.split('"')):
        if index % 2:  # inside quotes: one phrase
            words = tokens(chunk)
            if words:
                items.append(tuple(words))
            continue
        for raw in chunk.split():
            if raw == "AND":
                continue
            if raw in _OPERATORS or raw.strip("()") in _OPERATORS:
                raise ValidationError(
                    "search text",
                    text,
                    f"{raw} is not supported: every word must occur; "
                    f'put it in quotes to search for the word "{raw.lower()}"',
                )
            words = tokens(raw)
            if words:  # "10.1.0.90@tcp" is the phrase 10 1 0 90 tcp
                items.append(tuple(words))
    return Query(tuple(dict.fromkeys(items)))
