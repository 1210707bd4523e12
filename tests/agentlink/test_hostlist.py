"""Hostlists: golden expansions of every form, every refusal with its message, and properties
(collapse then expand gives back the same servers; any text expands or is refused as invalid)."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentlink.hostlist import MAX_HOSTS, collapse_hostlist, expand_hostlist
from core.errors import ValidationError
from core.validation import parse_server_address

# --- golden expansions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hostlist", "expected"),
    [
        ("oss[01-16]", [f"oss{number:02}" for number in range(1, 17)]),
        ("mds[1-2]-ib0", ["mds1-ib0", "mds2-ib0"]),
        ("localhost:70[01-08]", [f"localhost:{port}" for port in range(7001, 7009)]),
        ("oss[1-3,7],mds1", ["oss1", "oss2", "oss3", "oss7", "mds1"]),
        (
            "rack[1-2]-oss[01-04]",
            [
                "rack1-oss01",
                "rack1-oss02",
                "rack1-oss03",
                "rack1-oss04",
                "rack2-oss01",
                "rack2-oss02",
                "rack2-oss03",
                "rack2-oss04",
            ],
        ),
        ("10.0.0.[1-4]", ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"]),
        ("[fe80::1]:7001", ["[fe80::1]:7001"]),
        ("[fe80::1]", ["[fe80::1]"]),
        ("[fe80::1]:70[01-02],mds1", ["[fe80::1]:7001", "[fe80::1]:7002", "mds1"]),
        ("fe80::1", ["[fe80::1]"]),
        ("oss[7]", ["oss7"]),
        ("oss[8-10]", ["oss8", "oss9", "oss10"]),
        ("oss[098-101]", ["oss098", "oss099", "oss100", "oss101"]),
        ("oss[01-100]", [f"oss{number:02}" for number in range(1, 101)]),
        ("oss[001-10]", [f"oss{number:03}" for number in range(1, 11)]),
        ("oss[0,00,000]", ["oss0", "oss00", "oss000"]),
        ("oss[3,1-2]", ["oss3", "oss1", "oss2"]),
        ("[1-2].example.com", ["1.example.com", "2.example.com"]),
        ("mds1", ["mds1"]),
    ],
)
def test_expands_every_form_in_order(hostlist: str, expected: list[str]) -> None:
    assert expand_hostlist(hostlist) == expected


def test_whitespace_around_commas_is_ignored() -> None:
    assert expand_hostlist("  oss1 ,\toss2,\n mds[1-2]  ") == ["oss1", "oss2", "mds1", "mds2"]


def test_duplicates_are_dropped_keeping_the_first() -> None:
    assert expand_hostlist("oss[1-3],oss2,mds1,oss[3-4]") == [
        "oss1",
        "oss2",
        "oss3",
        "mds1",
        "oss4",
    ]


def test_names_are_normalised_and_deduplicated_as_server_addresses() -> None:
    assert expand_hostlist("OSS1,oss1,Mds[1-2]") == ["oss1", "mds1", "mds2"]
    assert expand_hostlist("[FE80::0001]:7001,[fe80::1]:7001") == ["[fe80::1]:7001"]


def test_exactly_max_hosts_are_allowed() -> None:
    names = expand_hostlist(f"n[1-{MAX_HOSTS}]")
    assert len(names) == MAX_HOSTS
    assert names[0] == "n1"
    assert names[-1] == f"n{MAX_HOSTS}"


# --- refusals -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hostlist", "rule"),
    [
        ("", "give at least one server name, e.g. oss[01-16] or mds1,mds2"),
        ("   ", "give at least one server name, e.g. oss[01-16] or mds1,mds2"),
        ("oss1,,oss2", "it has an empty name between commas; remove the extra comma"),
        ("oss1,", "it has an empty name between commas; remove the extra comma"),
        ("oss[1-2", "the [ in 'oss[1-2' is never closed; add its ]"),
        ("oss[1-2,mds1", "the [ in 'oss[1-2,mds1' is never closed; add its ]"),
        ("oss1]", "the ] in 'oss1]' has no [ before it; remove it or add the ["),
        ("oss[]", "the brackets in 'oss[]' are empty; put numbers in them, e.g. [1-4]"),
        ("oss[5-1]", "the range [5-1] runs backwards; write [1-5]"),
        ("oss[1,05-01]", "the range [05-01] runs backwards; write [01-05]"),
        (
            "oss[a-c]",
            "the range [a-c] is not numeric; brackets hold whole numbers and ranges of them, "
            "e.g. [1-4,7]",
        ),
        (
            "oss[1-3/2]",
            "the range [1-3/2] is not numeric; brackets hold whole numbers and ranges of them, "
            "e.g. [1-4,7]",
        ),
        ("oss[1,,3]", "[1,,3] has an empty item; remove the extra comma"),
        (
            "oss[1-010]",
            "the ends of the range [1-010] are padded to different widths; "
            "write [001-010] for 3-digit numbers or [1-10] for unpadded ones",
        ),
        (
            "oss[01-009]",
            "the ends of the range [01-009] are padded to different widths; "
            "write [001-009] for 3-digit numbers or [1-9] for unpadded ones",
        ),
        (
            "rack[1-[2]]",
            "brackets cannot nest, as in 'rack[1-[2]]'; use one bracket per number, "
            "e.g. rack[1-2]-oss[01-04]",
        ),
        (
            "oss[1-999999]",
            "it names 999999 servers and one hostlist may name at most 10000; "
            "check its ranges for a typo, or add the servers in several steps",
        ),
        (
            f"n[1-{MAX_HOSTS}],extra",
            f"it names {MAX_HOSTS + 1} servers and one hostlist may name at most {MAX_HOSTS}; "
            "check its ranges for a typo, or add the servers in several steps",
        ),
        (
            "a[0-9][0-9][0-9][0-9][0-9]",
            "it names 100000 servers and one hostlist may name at most 10000; "
            "check its ranges for a typo, or add the servers in several steps",
        ),
        (
            "oss[1-" + "9" * 64 + "]",
            "a number in [1-" + "9" * 64 + "] has more than 63 digits, "
            "more than any part of a host name may have",
        ),
        ("oss 1", "'oss 1' contains a space; separate names with commas, e.g. oss1,oss2"),
        (
            "oss[1-2, 7]",
            "'oss[1-2, 7]' contains a space; separate names with commas, e.g. oss1,oss2",
        ),
        (
            "oss[fe80::1]",
            "[fe80::1] in 'oss[fe80::1]' is not a range; an IPv6 address in brackets must begin "
            "the name, e.g. [fe80::1]:7001",
        ),
        (
            "oss_[1-2]",
            "it names 'oss_1', which is not a server address: each dot-separated part of a host "
            "name has 1 to 63 letters, digits or hyphens, and does not start or end with a hyphen",
        ),
        (
            "localhost:[65535-65536]",
            "it names 'localhost:65536', which is not a server address: "
            "the port is a number from 1 to 65535",
        ),
        (
            "[fe80::[1-2]]",
            "brackets cannot nest, as in '[fe80::[1-2]]'; use one bracket per number, "
            "e.g. rack[1-2]-oss[01-04]",
        ),
        (
            "[fe80::g]:7001",
            "it names '[fe80::g]:7001', which is not a server address: "
            "'fe80::g' is not a valid IPv6 address",
        ),
        (
            "host:²",
            "it names 'host:²', which is not a server address: "
            "the port is a number from 1 to 65535",
        ),
    ],
)
def test_refusals_say_what_to_do(hostlist: str, rule: str) -> None:
    with pytest.raises(ValidationError) as raised:
        expand_hostlist(hostlist)
    assert raised.value.field == "hostlist"
    assert raised.value.value == hostlist
    assert raised.value.rule == rule
    assert str(raised.value) == f"hostlist {hostlist!r} is not valid: {rule}."


def test_a_huge_range_is_refused_without_building_it() -> None:
    # Building 10**30 names would never finish; the count is refused first.
    with pytest.raises(ValidationError, match=r"it names 1000000000000000000000000000000 servers"):
        expand_hostlist("oss[1-" + "1" + "0" * 30 + "]")


def test_a_hostlist_that_is_not_text_is_refused() -> None:
    with pytest.raises(ValidationError) as raised:
        expand_hostlist(None)  # type: ignore[arg-type]
    assert raised.value.field == "hostlist"


# --- golden collapses -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("addresses", "hostlist"),
    [
        ([f"oss{number:02}" for number in range(1, 17)], "oss[01-16]"),
        (["mds1-ib0", "mds2-ib0"], "mds[1-2]-ib0"),
        ([f"localhost:{port}" for port in range(7001, 7009)], "localhost:[7001-7008]"),
        (["oss1", "oss2", "oss3", "oss7", "mds1"], "mds1,oss[1-3,7]"),
        (
            [f"rack{rack}-oss{oss:02}" for rack in (1, 2) for oss in range(1, 5)],
            "rack[1-2]-oss[01-04]",
        ),
        (["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"], "10.0.0.[1-4]"),
        (["[fe80::1]:7001", "[fe80::1]:7002", "[fe80::1]"], "[fe80::1],[fe80::1]:[7001-7002]"),
        (["oss8", "oss9", "oss10"], "oss[8-10]"),
        (["oss08", "oss09", "oss10", "oss11"], "oss[08-11]"),
        (["oss098", "oss099", "oss100"], "oss[098-100]"),
        (["oss0", "oss00"], "oss[0,00]"),
        (["OSS1", "oss1", "oss2"], "oss[1-2]"),
        (["mgs"], "mgs"),
        ([], ""),
    ],
)
def test_collapses_to_a_short_hostlist(addresses: list[str], hostlist: str) -> None:
    assert collapse_hostlist(addresses) == hostlist


def test_collapse_refuses_an_invalid_address() -> None:
    with pytest.raises(ValidationError) as raised:
        collapse_hostlist(["oss1", "oss_2"])
    assert raised.value.value == "oss_2"


# --- properties ----------------------------------------------------------------------------------

PREFIXES = st.from_regex(r"[a-z]([a-z-]{0,5}[a-z])?(\.[a-z]{1,4})?", fullmatch=True)
SUFFIXES = st.sampled_from(["", "-ib", "-ib0", "-ib1", ".lab", "a", ":7001", ":988"])


@st.composite
def host_names(draw: st.DrawFn) -> str:
    """A prefix, a zero-padded number and an optional suffix, e.g. oss007-ib0."""
    width = draw(st.integers(min_value=1, max_value=4))
    number = draw(st.integers(min_value=0, max_value=10**width - 1))
    return f"{draw(PREFIXES)}{number:0{width}}{draw(SUFFIXES)}"


@given(st.sets(host_names(), min_size=1, max_size=60))
def test_collapse_then_expand_names_the_same_servers(names: set[str]) -> None:
    hostlist = collapse_hostlist(names)
    expanded = expand_hostlist(hostlist)
    assert set(expanded) == names
    assert len(expanded) == len(names)


@given(st.sets(host_names(), min_size=1, max_size=60), st.randoms())
def test_collapse_depends_only_on_the_set(names: set[str], shuffler: random.Random) -> None:
    ordered = sorted(names)
    shuffled = list(names)
    shuffler.shuffle(shuffled)
    assert collapse_hostlist(ordered) == collapse_hostlist(shuffled + ordered)
    assert collapse_hostlist(expand_hostlist(collapse_hostlist(ordered))) == collapse_hostlist(
        ordered
    )


def hostlist_order(name: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """The text around a name's numbers first, then the numbers by value: oss2 before oss10."""
    parts = re.split(r"([0-9]+)", name)
    return tuple(parts[0::2]), tuple(int(number) for number in parts[1::2])


@st.composite
def sorted_families(draw: st.DrawFn) -> list[str]:
    """Names sorted in hostlist order; one padding width and one fixed suffix per prefix."""
    names: set[str] = set()
    for prefix in draw(
        st.sets(st.from_regex(r"[a-z]{1,4}", fullmatch=True), min_size=1, max_size=3)
    ):
        width = draw(st.integers(min_value=1, max_value=3))
        suffix = draw(st.sampled_from(["", "-ib", ".lab"]))
        numbers = draw(st.sets(st.integers(min_value=0, max_value=10**width - 1), min_size=1))
        names.update(f"{prefix}{number:0{width}}{suffix}" for number in numbers)
    return sorted(names, key=hostlist_order)


@given(sorted_families())
def test_sorted_names_come_back_in_the_same_order(names: list[str]) -> None:
    assert expand_hostlist(collapse_hostlist(names)) == names


HOSTLIST_TEXT = st.text(alphabet="os1029-[],:. _aé²\t", max_size=30)


@settings(max_examples=500)
@given(st.one_of(HOSTLIST_TEXT, st.text(max_size=30)))
def test_any_text_expands_or_is_refused_as_invalid(text: str) -> None:
    refusal: ValidationError | None = None
    try:
        names = expand_hostlist(text)
    except ValidationError as error:
        refusal = error
    if refusal is not None:
        assert (refusal.field, refusal.value) == ("hostlist", text)
        return
    assert 1 <= len(names) <= MAX_HOSTS
    assert len(set(names)) == len(names)
    assert all(str(parse_server_address(name)) == name for name in names)


@given(st.lists(st.sampled_from(["[1-9]", "[0-99]", "[1-2]", "a", "-", ","]), max_size=12))
def test_never_more_than_max_hosts(pieces: list[str]) -> None:
    text = "n" + "".join(pieces)
    try:
        names = expand_hostlist(text)
    except ValidationError:
        return
    assert len(names) <= MAX_HOSTS
