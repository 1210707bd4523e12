"""The pre-flight checks' judgement: what an agent reported of its server, against what the
chosen profile needs, each check with the sentence an admin acts on."""

from __future__ import annotations

from dataclasses import replace

import pytest

from core.database import Database
from core.errors import ValidationError
from core.preflight import (
    CHECK_TITLES,
    CLOCK_FAIL_S,
    CLOCK_WARN_S,
    AgentFacts,
    CheckKind,
    CheckStatus,
    Contact,
    ProfileNeeds,
    evaluate,
    profile_needs,
    refused,
    unreachable,
)

NOW = 1_800_000_000.0

CONTACT = Contact(
    address="oss01:7450",
    host="oss01",
    peer_address="10.0.0.11",
    fingerprint="sha256:" + "ab" * 32,
    agent_version="1.2.0",
    desktop_version="1.2.0",
    protocol_version=1,
    asked_at=NOW - 0.1,
    answered_at=NOW + 0.1,
)
SERVER = AgentFacts(
    hostname="oss01",
    fqdn="oss01.lab.example.com",
    addresses=("10.0.0.11", "192.168.1.11"),
    time=NOW,
    kernel="4.18.0-553.el8_lustre.x86_64",
    lustre_version="2.15.5",
    lustre_proc=True,
    modules_loaded=("lnet", "lustre", "osd_ldiskfs"),
    modules_available=("lnet", "lustre", "osd_ldiskfs"),
    tools=("mkfs.lustre", "lctl", "mount.lustre"),
    lnet_state="up",
    nids=("10.0.0.11@tcp", "192.168.1.11@o2ib"),
)


def judged(kind: CheckKind, facts: AgentFacts = SERVER, **contact: object) -> tuple[str, str]:
    checked = evaluate(
        replace(CONTACT, **contact),  # type: ignore[arg-type]
        facts,
        ProfileNeeds.MANAGED_SERVER,
    ).check(kind)
    return checked.status.value, checked.message


def test_a_healthy_server_passes_every_check_and_may_be_paired() -> None:
    report = evaluate(CONTACT, SERVER, ProfileNeeds.MANAGED_SERVER)
    assert [c.kind for c in report.checks] == list(CHECK_TITLES)
    assert {c.status for c in report.checks} == {CheckStatus.PASS}
    assert not report.blocks_pairing
    assert report.summary == "all checks passed"
    assert report.server_name == "oss01" and report.fingerprint == CONTACT.fingerprint
    assert CONTACT.fingerprint in report.check(CheckKind.REACHABLE).message


@pytest.mark.parametrize(
    ("skew", "status"),
    [
        (0.0, "pass"),
        (CLOCK_WARN_S - 0.5, "pass"),
        (CLOCK_WARN_S + 2, "warn"),
        (-(CLOCK_WARN_S + 2), "warn"),
        (CLOCK_FAIL_S - 10, "warn"),
        (CLOCK_FAIL_S + 60, "fail"),
        (-(CLOCK_FAIL_S + 60), "fail"),
    ],
)
def test_clock_skew_warns_past_a_few_seconds_and_fails_past_ten_minutes(
    skew: float, status: str
) -> None:
    assert judged(CheckKind.CLOCK, replace(SERVER, time=NOW + skew))[0] == status


def test_a_skewed_clock_says_which_way_and_what_to_do() -> None:
    status, message = judged(CheckKind.CLOCK, replace(SERVER, time=NOW + 900))
    assert status == "fail"
    assert "oss01's clock is 15 min ahead of this workstation's" in message
    assert "chronyd" in message
    _, behind = judged(CheckKind.CLOCK, replace(SERVER, time=NOW - 30))
    assert "30 s behind" in behind


def test_a_slow_answer_does_not_count_against_the_clock() -> None:
    """8 s off, but the question took 10 s: the agent may have answered at any moment."""
    slow = {"asked_at": NOW - 5, "answered_at": NOW + 5}
    assert judged(CheckKind.CLOCK, replace(SERVER, time=NOW + 8), **slow)[0] == "pass"


def test_a_managed_server_needs_the_lustre_tools_and_a_server_module() -> None:
    status, message = judged(CheckKind.LUSTRE, replace(SERVER, tools=("lctl",)))
    assert status == "fail"
    assert message.startswith("mkfs.lustre and mount.lustre are not installed on oss01")
    assert "monitored storage server" in message

    no_osd = replace(SERVER, modules_loaded=("lnet",), modules_available=("lnet", "lustre"))
    status, message = judged(CheckKind.LUSTRE, no_osd)
    assert status == "fail"
    assert "osd-ldiskfs or osd-zfs" in message and SERVER.kernel in message  # type: ignore[operator]

    unknown = replace(SERVER, modules_loaded=(), modules_available=None)
    assert judged(CheckKind.LUSTRE, unknown)[0] == "warn"
    assert "mkfs.lustre, lctl, mount.lustre" in judged(CheckKind.LUSTRE)[1]


def test_a_monitored_server_needs_only_lustre_running() -> None:
    bare = replace(SERVER, tools=(), modules_available=None)
    report = evaluate(CONTACT, bare, ProfileNeeds.MONITORED_SERVER)
    assert report.check(CheckKind.LUSTRE).status == CheckStatus.PASS
    assert "/proc tree" in report.check(CheckKind.LUSTRE).message

    installed_only = replace(
        bare, lustre_proc=False, modules_loaded=(), modules_available=("lustre",)
    )
    report = evaluate(CONTACT, installed_only, ProfileNeeds.MONITORED_SERVER)
    assert report.check(CheckKind.LUSTRE).status == CheckStatus.WARN

    none = replace(installed_only, modules_available=())
    report = evaluate(CONTACT, none, ProfileNeeds.MONITORED_SERVER)
    assert report.check(CheckKind.LUSTRE).status == CheckStatus.FAIL
    assert report.blocks_pairing and report.summary == "checks failed: lustre"


def test_a_client_needs_mount_lustre_and_the_client_module() -> None:
    client = replace(SERVER, tools=("mount.lustre",), modules_available=("lnet", "lustre"))
    report = evaluate(CONTACT, client, ProfileNeeds.CLIENT)
    assert report.check(CheckKind.LUSTRE).status == CheckStatus.PASS
    report = evaluate(CONTACT, replace(client, tools=()), ProfileNeeds.CLIENT)
    assert report.check(CheckKind.LUSTRE).status == CheckStatus.FAIL


def test_lnet_lists_the_nids_and_warns_when_none_is_configured() -> None:
    status, message = judged(CheckKind.LNET)
    assert status == "pass" and "10.0.0.11@tcp, 192.168.1.11@o2ib" in message
    down = replace(SERVER, lnet_state="unloaded", nids=(), lnet_networks=("o2ib0(ib0)",))
    assert judged(CheckKind.LNET, down) == (
        "pass",
        "LNet is unloaded; configured for o2ib0(ib0) (its NIDs show once it starts)",
    )
    status, message = judged(CheckKind.LNET, replace(down, lnet_networks=()))
    assert status == "warn" and "options lnet networks=" in message


@pytest.mark.parametrize(
    ("typed", "peer", "status"),
    [
        ("oss01", "10.0.0.11", "pass"),
        ("OSS01.lab.example.com", "10.0.0.11", "pass"),
        ("10.0.0.11", "10.0.0.11", "pass"),
        ("127.0.0.1", "127.0.0.1", "pass"),
        ("oss01-ib0", "192.168.1.11", "warn"),  # another name of the same machine
        ("10.9.9.9", "10.9.9.9", "warn"),  # NAT or port forward
        ("oss02", "10.0.0.12", "fail"),  # the name leads to another machine
    ],
)
def test_the_name_typed_must_lead_to_the_server_that_answered(
    typed: str, peer: str, status: str
) -> None:
    assert judged(CheckKind.HOSTNAME, host=typed, peer_address=peer)[0] == status


def test_a_name_leading_to_the_wrong_machine_says_so() -> None:
    _, message = judged(CheckKind.HOSTNAME, host="oss02", peer_address="10.0.0.12")
    assert message.startswith(
        "You typed oss02, but the server that answered calls itself oss01 (oss01.lab.example.com)"
    )


def test_another_agent_version_is_a_warning_only() -> None:
    report = evaluate(replace(CONTACT, agent_version="1.1.0"), SERVER, ProfileNeeds.MANAGED_SERVER)
    assert report.check(CheckKind.VERSION).status == CheckStatus.WARN
    assert not report.blocks_pairing
    assert report.summary == "checks passed with warnings: agent version"


def test_an_unreachable_or_refusing_agent_fails_and_the_rest_is_not_checked() -> None:
    report = unreachable("oss01", "Could not reach an agent at oss01:7450: no answer.")
    assert report.check(CheckKind.REACHABLE).status == CheckStatus.FAIL
    assert report.check(CheckKind.CLOCK).status == CheckStatus.SKIPPED
    assert report.blocks_pairing
    token = refused(CONTACT, "oss01", "oss01 refused the token: it expired").check(CheckKind.TOKEN)
    assert token.status == CheckStatus.FAIL and "expired" in token.message
    assert report.lines()[0].startswith("fail  Agent reachable: Could not reach")


def test_each_builtin_profile_has_its_needs(sqlite_database: Database) -> None:
    with sqlite_database.session() as session:
        assert profile_needs(session, None) == ProfileNeeds.MANAGED_SERVER  # the default
        assert profile_needs(session, "monitored_storage") == ProfileNeeds.MONITORED_SERVER
        assert profile_needs(session, "client") == ProfileNeeds.CLIENT
        with pytest.raises(ValidationError, match="choose one of managed_storage"):
            profile_needs(session, "no such profile")
