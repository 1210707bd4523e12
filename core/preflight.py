"""Pre-flight checks of a server before it is paired: what its agent reported of itself, judged
against what this desktop needs of it, as one row of checks with a sentence a person can act on.

Layer: core (no Twisted, no Qt). Thread: any (pure functions over frozen data). The agent link
(`agentlink.preflight`) gathers the facts over the very TLS connection pairing uses and hands
them here; the dialog, the REST API and the `chroma server-add` command all show the
`PreflightReport` this module makes, and pairing refuses a server whose report has a failing
check unless the admin forces it. Warnings never block.

Thresholds, and why:

- Clock skew (`CLOCK_WARN_S`, `CLOCK_FAIL_S`): above 5 s the charts and logs of different
  servers stop lining up with each other and with the desktop's events (a report interval is
  10 s), so warn; above 600 s the statistics store refuses a server's samples as "from the
  future" (`stats.store.StoreConfig.max_future`) or builds its rollups without them, so fail.
  Certificates start an hour before they are issued (`agentlink.daemon.pki.CLOCK_SKEW`), so TLS
  itself tolerates more than the statistics do. The skew is judged net of half the round trip
  the question took, the most the measurement can be off by.
- The protocol version is the hard line (the link's hello refuses a peer with none in common);
  a different software version with a common protocol is only a warning.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import ValidationError
from core.models import ServerProfile

CLOCK_WARN_S = 5.0
"""Skew above which charts and logs of different servers no longer line up: a warning."""
CLOCK_FAIL_S = 600.0
"""Skew above which the statistics store refuses or loses the server's samples: a failure."""
MANAGED_TOOLS = ("mkfs.lustre", "lctl", "mount.lustre")
"""What a managed storage server needs to be formatted, started and stopped from the desktop."""
CLIENT_TOOLS = ("mount.lustre",)
SERVER_MODULES = ("osd_ldiskfs", "osd_zfs")
"""One of these (the object storage device for ldiskfs or ZFS) is what makes a Lustre server."""
CLIENT_MODULES = ("lustre",)


class CheckStatus(StrEnum):
    PASS = "pass"  # noqa: S105 (a check's outcome, not a password)
    WARN = "warn"
    FAIL = "fail"
    SKIPPED = "not checked"


class CheckKind(StrEnum):
    REACHABLE = "reachable"
    TOKEN = "token"  # noqa: S105 (the name of a check, not a secret)
    VERSION = "version"
    CLOCK = "clock"
    LUSTRE = "lustre"
    LNET = "lnet"
    HOSTNAME = "hostname"


CHECK_TITLES: dict[CheckKind, str] = {
    CheckKind.REACHABLE: "Agent reachable",
    CheckKind.TOKEN: "Pairing token",
    CheckKind.VERSION: "Agent version",
    CheckKind.CLOCK: "Clock",
    CheckKind.LUSTRE: "Lustre",
    CheckKind.LNET: "LNet",
    CheckKind.HOSTNAME: "Hostname",
}
"""Every check, in the order they are shown."""


class ProfileNeeds(StrEnum):
    """What a server profile asks of a server's Lustre installation."""

    MANAGED_SERVER = "managed storage server"
    """The Lustre server tools and an OSD module: the desktop formats and starts targets."""
    MONITORED_SERVER = "monitored storage server"
    """Only a running Lustre whose /proc (or /sys) tree can be read: the desktop only watches."""
    CLIENT = "client"
    """mount.lustre and the client module."""


def needs_of(*, managed: bool, worker: bool) -> ProfileNeeds:
    if worker:
        return ProfileNeeds.CLIENT
    return ProfileNeeds.MANAGED_SERVER if managed else ProfileNeeds.MONITORED_SERVER


def profile_needs(session: Session, profile: str | None) -> ProfileNeeds:
    """What the profile called `profile` (the default one when None) needs. ValidationError
    for a name no profile has, before any server is contacted."""
    query = select(ServerProfile).where(
        ServerProfile.default.is_(True) if profile is None else ServerProfile.name == profile
    )
    found = session.scalars(query).first()
    if found is None and profile is not None:
        known = session.scalars(select(ServerProfile.name).order_by(ServerProfile.id)).all()
        raise ValidationError("server profile", profile, f"choose one of {', '.join(known)}")
    if found is None:
        return ProfileNeeds.MANAGED_SERVER
    return needs_of(managed=found.managed, worker=found.worker)


@dataclass(frozen=True)
class CheckResult:
    kind: CheckKind
    status: CheckStatus
    message: str
    """What was found and, when it is not a pass, what to do about it."""

    @property
    def title(self) -> str:
        return CHECK_TITLES[self.kind]


@dataclass(frozen=True)
class PreflightReport:
    address: str
    """The server as the admin typed it (host[:port])."""
    checks: tuple[CheckResult, ...]
    """One per `CheckKind`, in `CHECK_TITLES` order."""
    server_name: str | None = None
    """The name the server gives itself, once its agent answered."""
    fingerprint: str | None = None
    """The certificate the agent presented (before pairing: its self-signed one)."""

    def check(self, kind: CheckKind) -> CheckResult:
        return next(c for c in self.checks if c.kind == kind)

    @property
    def failed(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if c.status == CheckStatus.FAIL)

    @property
    def warnings(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if c.status == CheckStatus.WARN)

    @property
    def blocks_pairing(self) -> bool:
        """A failing check refuses the server unless the admin pairs it anyway."""
        return bool(self.failed)

    @property
    def summary(self) -> str:
        if self.failed:
            names = ", ".join(c.title.lower() for c in self.failed)
            return f"checks failed: {names}"
        if self.warnings:
            names = ", ".join(c.title.lower() for c in self.warnings)
            return f"checks passed with warnings: {names}"
        return "all checks passed"

    def lines(self) -> list[str]:
        """One line per check: "fail  Clock: …", for the CLI and the log."""
        return [f"{c.status.value:<5} {c.title}: {c.message}" for c in self.checks]


@dataclass(frozen=True)
class AgentFacts:
    """What an agent reports of its server before it is paired (see `agentlink.preflight`)."""

    hostname: str
    """`uname -n`."""
    fqdn: str = ""
    addresses: tuple[str, ...] = ()
    """The server's own IP addresses (empty: it could not tell)."""
    time: float = 0.0
    """Its wall clock, in seconds since the epoch, when it answered."""
    kernel: str | None = None
    lustre_version: str | None = None
    lustre_proc: bool = False
    """A Lustre /proc/fs/lustre or /sys/fs/lustre tree exists: Lustre is loaded."""
    modules_loaded: tuple[str, ...] = ()
    modules_available: tuple[str, ...] | None = None
    """Lustre modules installed for the running kernel (None: could not tell)."""
    tools: tuple[str, ...] = ()
    """Which of the Lustre tools are installed."""
    lnet_state: str = "unloaded"
    nids: tuple[str, ...] = ()
    lnet_networks: tuple[str, ...] = ()
    """The networks LNet is configured for (`options lnet networks=`), when it is down."""


@dataclass(frozen=True)
class Contact:
    """What the desktop saw of the agent while asking: where, whom, and when."""

    address: str
    """host[:port] as typed."""
    host: str
    """The host part as typed (a name or an IP address)."""
    peer_address: str | None
    """The IP address the connection really reached."""
    fingerprint: str
    agent_version: str
    desktop_version: str
    protocol_version: int
    asked_at: float
    answered_at: float
    """Desktop wall-clock times around the question the agent's `time` answers."""


def _complete(
    address: str,
    known: Iterable[CheckResult],
    why_not: str,
    *,
    server_name: str | None = None,
    fingerprint: str | None = None,
) -> PreflightReport:
    by_kind = {c.kind: c for c in known}
    checks = tuple(
        by_kind.get(kind, CheckResult(kind, CheckStatus.SKIPPED, why_not)) for kind in CHECK_TITLES
    )
    return PreflightReport(address, checks, server_name, fingerprint)


def unreachable(address: str, why: str) -> PreflightReport:
    """No agent could be talked to at `address`: `why` says what happened and what to do."""
    return _complete(
        address,
        [CheckResult(CheckKind.REACHABLE, CheckStatus.FAIL, why)],
        "not checked: no agent answered",
    )


def incompatible(address: str, why: str, fingerprint: str | None = None) -> PreflightReport:
    """An agent answered but speaks no protocol version this desktop speaks."""
    return _complete(
        address,
        [
            CheckResult(CheckKind.REACHABLE, CheckStatus.PASS, "an agent answered"),
            CheckResult(CheckKind.VERSION, CheckStatus.FAIL, why),
        ],
        "not checked: the agent and this desktop have no protocol in common",
        fingerprint=fingerprint,
    )


def refused(contact: Contact, name: str, why: str) -> PreflightReport:
    """The agent answered but would not tell its facts: the token was refused, or it is paired
    already. `why` is its reason, in words to act on."""
    return _complete(
        contact.address,
        [
            _reachable(contact, name),
            CheckResult(CheckKind.TOKEN, CheckStatus.FAIL, why),
            _version(contact),
        ],
        "not checked: the agent tells its facts only to a desktop holding its pairing token",
        server_name=name,
        fingerprint=contact.fingerprint,
    )


def too_old(contact: Contact, name: str) -> PreflightReport:
    """The agent proved the token but does not know the pre-flight question (an older agent)."""
    return _complete(
        contact.address,
        [
            _reachable(contact, name),
            CheckResult(CheckKind.TOKEN, CheckStatus.PASS, "the agent accepted the token"),
            CheckResult(
                CheckKind.VERSION,
                CheckStatus.WARN,
                f"Agent {contact.agent_version} is too old to answer pre-flight checks; update "
                f"it to {contact.desktop_version} to have its server checked before pairing.",
            ),
        ],
        "not checked: the agent is too old to answer",
        server_name=name,
        fingerprint=contact.fingerprint,
    )


def evaluate(contact: Contact, facts: AgentFacts, needs: ProfileNeeds) -> PreflightReport:
    """Judge what the agent told of its server against what `needs` asks."""
    name = facts.hostname or "the server"
    checks = [
        _reachable(contact, name),
        CheckResult(
            CheckKind.TOKEN,
            CheckStatus.PASS,
            "the agent accepted the token (it is kept for pairing: nothing is paired yet)",
        ),
        _version(contact),
        _clock(contact, facts, name),
        _lustre(facts, needs, name),
        _lnet(facts, name),
        _hostname(contact, facts),
    ]
    return PreflightReport(contact.address, tuple(checks), facts.hostname, contact.fingerprint)


# --- the checks ---------------------------------------------------------------------------------


def _reachable(contact: Contact, name: str) -> CheckResult:
    where = contact.address
    if contact.peer_address and contact.peer_address != contact.host:
        where = f"{contact.address} ({contact.peer_address})"
    return CheckResult(
        CheckKind.REACHABLE,
        CheckStatus.PASS,
        f"{name}'s agent answers at {where}; its certificate is {contact.fingerprint}",
    )


def _version(contact: Contact) -> CheckResult:
    agent, desktop = contact.agent_version, contact.desktop_version
    if agent == desktop:
        return CheckResult(
            CheckKind.VERSION,
            CheckStatus.PASS,
            f"agent {agent}, the same as this desktop (protocol {contact.protocol_version})",
        )
    return CheckResult(
        CheckKind.VERSION,
        CheckStatus.WARN,
        f"Agent {agent} and desktop {desktop} differ but speak the same protocol "
        f"({contact.protocol_version}); update the agent to {desktop} when you can.",
    )


def _clock(contact: Contact, facts: AgentFacts, name: str) -> CheckResult:
    midpoint = (contact.asked_at + contact.answered_at) / 2
    skew = facts.time - midpoint
    uncertainty = max(0.0, contact.answered_at - contact.asked_at) / 2
    judged = max(0.0, abs(skew) - uncertainty)
    way = "ahead of" if skew > 0 else "behind"
    said = f"{name}'s clock is {_duration(abs(skew))} {way} this workstation's"
    if judged > CLOCK_FAIL_S:
        return CheckResult(
            CheckKind.CLOCK,
            CheckStatus.FAIL,
            f"{said}: more than {_duration(CLOCK_FAIL_S)} off, its statistics would be refused "
            "or lost. Set its clock and run chronyd (or ntpd) on it and on this workstation, "
            "then check again.",
        )
    if judged > CLOCK_WARN_S:
        return CheckResult(
            CheckKind.CLOCK,
            CheckStatus.WARN,
            f"{said}: its charts and logs will not line up with the other servers'. Run "
            "chronyd (or ntpd) on it and on this workstation.",
        )
    return CheckResult(
        CheckKind.CLOCK,
        CheckStatus.PASS,
        f"the clocks agree (off by {abs(skew):.1f} s, ±{uncertainty:.1f} s)",
    )


_INSTALLS: Final = {
    ProfileNeeds.CLIENT: (CLIENT_TOOLS, "lustre-client", CLIENT_MODULES, "client"),
    ProfileNeeds.MANAGED_SERVER: (
        MANAGED_TOOLS,
        "lustre (server)",
        SERVER_MODULES,
        "server (osd-ldiskfs or osd-zfs)",
    ),
}
"""What a client and a managed server need installed: their tools, the packages that bring
them, their kernel modules and the modules' name in a message."""


def _lustre(facts: AgentFacts, needs: ProfileNeeds, name: str) -> CheckResult:
    version = f"Lustre {facts.lustre_version}" if facts.lustre_version else "Lustre"
    kernel = f"kernel {facts.kernel}" if facts.kernel else "the running kernel"
    modules = set(facts.modules_loaded) | set(facts.modules_available or ())
    if needs == ProfileNeeds.MONITORED_SERVER:
        if facts.lustre_proc:
            return CheckResult(
                CheckKind.LUSTRE,
                CheckStatus.PASS,
                f"{version} is loaded: its /proc tree can be read, which is all a monitored "
                "server needs",
            )
        if modules:
            return CheckResult(
                CheckKind.LUSTRE,
                CheckStatus.WARN,
                f"{version} is installed on {name} but not loaded: there is nothing to watch "
                "until its targets are started there.",
            )
        return CheckResult(
            CheckKind.LUSTRE,
            CheckStatus.FAIL,
            f"Lustre is neither loaded nor installed on {name} (no /proc/fs/lustre or "
            "/sys/fs/lustre): a monitored server must run Lustre already. Install and start "
            "Lustre there, or add it with another profile.",
        )
    wanted_tools, packages, wanted_modules, kind = _INSTALLS[needs]
    missing = [tool for tool in wanted_tools if tool not in facts.tools]
    if missing:
        return CheckResult(
            CheckKind.LUSTRE,
            CheckStatus.FAIL,
            f"{_listed(missing)} {'is' if len(missing) == 1 else 'are'} not installed on "
            f"{name}: a {needs.value} needs {_listed(wanted_tools)}. Install the {packages} "
            "packages, or add it as a monitored storage server.",
        )
    present = [m for m in wanted_modules if m in modules]
    if not present and facts.modules_available is None:
        return CheckResult(
            CheckKind.LUSTRE,
            CheckStatus.WARN,
            f"the Lustre tools are installed, but which Lustre modules {kernel} has could not "
            f"be read on {name}; check that the kmod-lustre packages match {kernel}.",
        )
    if not present:
        return CheckResult(
            CheckKind.LUSTRE,
            CheckStatus.FAIL,
            f"{name} has the Lustre tools but no Lustre {kind} module for {kernel}: install "
            f"the kmod-lustre packages built for {kernel}, or boot the kernel they were built "
            "for.",
        )
    return CheckResult(
        CheckKind.LUSTRE,
        CheckStatus.PASS,
        f"{version} for {kernel}: {', '.join(wanted_tools)}"
        + (f" and the {', '.join(present)} module" if present else ""),
    )


def _lnet(facts: AgentFacts, name: str) -> CheckResult:
    if facts.nids:
        nids = ", ".join(facts.nids)
        said = (
            f"LNet is up with NIDs {nids}"
            if facts.lnet_state == "up"
            else f"LNet is {facts.lnet_state}; its NIDs will be {nids}"
        )
        return CheckResult(CheckKind.LNET, CheckStatus.PASS, said)
    if facts.lnet_networks:
        return CheckResult(
            CheckKind.LNET,
            CheckStatus.PASS,
            f"LNet is {facts.lnet_state}; configured for {', '.join(facts.lnet_networks)} (its "
            "NIDs show once it starts)",
        )
    return CheckResult(
        CheckKind.LNET,
        CheckStatus.WARN,
        f"No LNet network is configured on {name}: LNet would take tcp0 on its first "
        "interface. Set `options lnet networks=…` in /etc/modprobe.d/lustre.conf, or a `net:` "
        "in /etc/lnet.conf, for the network clients use.",
    )


def _hostname(contact: Contact, facts: AgentFacts) -> CheckResult:
    typed = contact.host.strip("[]").lower()
    hostname, fqdn = facts.hostname.lower(), facts.fqdn.lower()
    calls_itself = facts.hostname + (f" ({facts.fqdn})" if facts.fqdn and fqdn != hostname else "")
    own = {a.lower() for a in facts.addresses}
    try:
        literal = ipaddress.ip_address(typed)
    except ValueError:
        literal = None
    if literal is not None:
        if typed in own:
            return CheckResult(
                CheckKind.HOSTNAME, CheckStatus.PASS, f"{typed} is an address of {calls_itself}"
            )
        if literal.is_loopback:
            return CheckResult(
                CheckKind.HOSTNAME,
                CheckStatus.PASS,
                f"{typed} is this workstation; the agent there calls itself {calls_itself}",
            )
        return CheckResult(
            CheckKind.HOSTNAME,
            CheckStatus.WARN,
            f"{typed} is not among the addresses {calls_itself} gives itself: a NAT or port "
            f"forward is in between, or this is another machine. Check that {facts.hostname} "
            "is the server you meant.",
        )
    names = {hostname, fqdn, _short(hostname), _short(fqdn)} - {""}
    if typed in names:
        return CheckResult(
            CheckKind.HOSTNAME, CheckStatus.PASS, f"{contact.host} calls itself {calls_itself}"
        )
    reached = (contact.peer_address or "").lower()
    if reached and reached in own:
        return CheckResult(
            CheckKind.HOSTNAME,
            CheckStatus.WARN,
            f"{contact.host} reaches {calls_itself} at {reached}, one of its addresses, but the "
            f"names differ; the server will be listed as {contact.host}.",
        )
    return CheckResult(
        CheckKind.HOSTNAME,
        CheckStatus.FAIL,
        f"You typed {contact.host}, but the server that answered calls itself {calls_itself}: "
        f"{contact.host} may resolve to the wrong machine. Check DNS or /etc/hosts, or type "
        f"{facts.hostname}.",
    )


def _short(name: str) -> str:
    return name.split(".", 1)[0]


def _listed(items: Iterable[str]) -> str:
    words = list(items)
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
