"""One-time pairing tokens: printed by `chroma-agent pair`, typed by an administrator into the
desktop, accepted once before they expire, stored only as hashes. Time is passed in, never
slept."""

from __future__ import annotations

import re
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentlink.daemon.pki import (
    DEFAULT_TOKEN_TTL_S,
    TOKEN_ALPHABET,
    IdentityError,
    PairingError,
    PairingTokens,
)

T0 = 1_700_000_000.0
TOKEN = re.compile(rf"[{TOKEN_ALPHABET}]{{5}}(-[{TOKEN_ALPHABET}]{{5}}){{3}}")


@pytest.fixture
def tokens(tmp_path: Path) -> PairingTokens:
    return PairingTokens(tmp_path / "chroma-agent")


def test_a_token_is_four_groups_of_five_unambiguous_characters(tokens: PairingTokens) -> None:
    token = tokens.issue(now=T0)

    assert TOKEN.fullmatch(token)
    assert not set(token) & set("ILOU")


def test_tokens_differ(tokens: PairingTokens) -> None:
    assert len({tokens.issue(now=T0) for _ in range(20)}) == 20


def test_a_token_is_accepted_once(tokens: PairingTokens) -> None:
    token = tokens.issue(now=T0)

    tokens.redeem(token, now=T0 + 1)

    with pytest.raises(PairingError, match=r"already used.*chroma-agent pair"):
        tokens.redeem(token, now=T0 + 2)


def test_a_token_expires_after_its_lifetime(tokens: PairingTokens) -> None:
    token = tokens.issue(ttl_s=600, now=T0)

    with pytest.raises(PairingError, match=r"expired 5 min ago.*run `chroma-agent pair`"):
        tokens.redeem(token, now=T0 + 900)


def test_a_token_is_good_until_its_last_moment(tokens: PairingTokens) -> None:
    token = tokens.issue(now=T0)

    tokens.redeem(token, now=T0 + DEFAULT_TOKEN_TTL_S - 0.001)


def test_an_expired_token_stays_refused_and_unused(tokens: PairingTokens) -> None:
    token = tokens.issue(ttl_s=60, now=T0)
    with pytest.raises(PairingError, match="expired"):
        tokens.redeem(token, now=T0 + 60)

    with pytest.raises(PairingError, match="expired"):
        tokens.redeem(token, now=T0 + 61)


def test_a_wrong_token_is_refused(tokens: PairingTokens) -> None:
    token = tokens.issue(now=T0)
    wrong = ("1" if token[0] != "1" else "2") + token[1:]

    with pytest.raises(PairingError, match=r"unknown to this server"):
        tokens.redeem(wrong, now=T0 + 1)
    tokens.redeem(token, now=T0 + 2)  # the real one still works


def test_a_token_of_another_server_is_refused(tmp_path: Path) -> None:
    token = PairingTokens(tmp_path / "oss1").issue(now=T0)

    with pytest.raises(PairingError, match="unknown to this server"):
        PairingTokens(tmp_path / "oss2").redeem(token, now=T0 + 1)


def test_a_newer_token_replaces_the_older(tokens: PairingTokens) -> None:
    older = tokens.issue(now=T0)
    newer = tokens.issue(now=T0 + 10)

    with pytest.raises(PairingError, match="newer pairing token"):
        tokens.redeem(older, now=T0 + 20)
    tokens.redeem(newer, now=T0 + 30)


def test_what_is_not_a_token_says_what_a_token_looks_like(tokens: PairingTokens) -> None:
    tokens.issue(now=T0)

    with pytest.raises(PairingError, match="4 groups of 5"):
        tokens.redeem("hunter2", now=T0 + 1)


def confuse(token: str) -> str:
    return token.replace("0", "o").replace("1", "l")


@pytest.mark.parametrize(
    "retype",
    [
        str.lower,
        lambda token: token.replace("-", ""),
        lambda token: token.replace("-", " "),
        lambda token: f"  {token.lower().replace('-', ' - ')}\n",
        confuse,
    ],
    ids=["lower-case", "no-dashes", "spaces", "padded", "O-and-l-for-0-and-1"],
)
def test_typing_variations_are_tolerated(
    tokens: PairingTokens, retype: Callable[[str], str]
) -> None:
    token = tokens.issue(now=T0)

    tokens.redeem(retype(token), now=T0 + 1)


def test_the_store_is_private_and_never_holds_a_token_in_clear(tokens: PairingTokens) -> None:
    issued: list[str] = []

    def assert_no_token_in_clear() -> None:
        content = tokens.path.read_text()
        for token in issued:
            for form in (token, token.replace("-", ""), token.replace("-", "").lower()):
                assert form not in content

    for n in range(3):
        issued.append(tokens.issue(now=T0 + n))
        assert_no_token_in_clear()
    tokens.redeem(issued[-1], now=T0 + 5)
    assert_no_token_in_clear()
    assert stat.S_IMODE(tokens.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(tokens.state_dir.stat().st_mode) == 0o700


def test_a_store_readable_by_others_is_refused(tokens: PairingTokens) -> None:
    token = tokens.issue(now=T0)
    tokens.path.chmod(0o644)

    with pytest.raises(IdentityError, match="chmod 600"):
        tokens.redeem(token, now=T0 + 1)


def test_a_damaged_store_accepts_nothing_and_the_next_token_works(tokens: PairingTokens) -> None:
    token = tokens.issue(now=T0)
    tokens.path.write_text("{not json")

    with pytest.raises(PairingError, match="unknown"):
        tokens.redeem(token, now=T0 + 1)
    fresh = tokens.issue(now=T0 + 2)
    tokens.redeem(fresh, now=T0 + 3)


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        '{"tokens": [{"sha256": "\u00e9t\u00e9", "expires_at": 1e99, "state": "open"}]}',
        '{"tokens": [{"sha256": 7, "expires_at": "soon", "state": "open"}]}',
        '{"tokens": [{"sha256": "%s", "expires_at": 1e99, "state": "whatever"}]}' % ("0" * 64),
    ],
    ids=["not-json", "non-ascii-digest", "wrong-types", "unknown-state"],
)
def test_a_damaged_store_refuses_with_a_pairing_error(tokens: PairingTokens, content: str) -> None:
    token = tokens.issue(now=T0)
    tokens.path.write_text(content)

    with pytest.raises(PairingError, match="unknown"):
        tokens.redeem(token, now=T0 + 1)


def test_without_any_token_issued_every_token_is_unknown(tokens: PairingTokens) -> None:
    with pytest.raises(PairingError, match="unknown"):
        tokens.redeem("K7QPM-2HX9D-RW4TA-0JN3E", now=T0)


def test_a_lifetime_must_be_positive(tokens: PairingTokens) -> None:
    with pytest.raises(ValueError, match="positive"):
        tokens.issue(ttl_s=0, now=T0)


@pytest.fixture(scope="module")
def issued_store(tmp_path_factory: pytest.TempPathFactory) -> PairingTokens:
    store = PairingTokens(tmp_path_factory.mktemp("tokens") / "state")
    store.issue(now=T0)
    return store


@settings(max_examples=300)
@given(st.text())
def test_arbitrary_text_never_redeems_and_only_raises_pairing_error(
    issued_store: PairingTokens, text: str
) -> None:
    with pytest.raises(PairingError):
        issued_store.redeem(text, now=T0 + 1)


@settings(max_examples=300)
@given(st.text(alphabet=TOKEN_ALPHABET + TOKEN_ALPHABET.lower() + "- ", min_size=20, max_size=24))
def test_well_formed_guesses_never_redeem(issued_store: PairingTokens, text: str) -> None:
    with pytest.raises(PairingError):
        issued_store.redeem(text, now=T0 + 1)
