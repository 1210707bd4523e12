"""Pre-flight checks over the real link: an unpaired agent tells its server's facts only to a
desktop proving the pairing token, without using the token up; pairing stops at a failing check
unless forced; the real agent's probes and the simulator both answer."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from agentlink.connector import PreflightFailedError, check_agent, pair_agent
from agentlink.daemon.pki import AgentIdentity
from agentlink.daemon.probes.preflight import lnet_networks, preflight_facts
from agentlink.daemon.probes.source import NoCommands, Tree
from agentlink.preflight import Preflight, facts_from_wire
from agentlink.simulator.cluster import SimulatedCluster
from agentlink.simulator.model import ServerState
from core.preflight import CheckKind, CheckStatus, PreflightReport, ProfileNeeds
from tests.agentlink.test_agent_service import ScriptedHost, Site, site

__all__ = ["site"]  # the fixture

WRONG_TOKEN = "AAAAA-BBBBB-CCCCC-DDDDD"


@dataclass
class FactsHost(ScriptedHost):
    """A scripted machine that also answers pre-flight questions, its clock `skew_s` off."""

    skew_s: float = 0.0
    asked: int = 0

    def preflight_facts(self, now: float) -> dict[str, Any]:
        self.asked += 1
        return {
            "hostname": self.name,
            "fqdn": self.name,
            "time": now + self.skew_s,
            "kernel": "4.18.0-lustre",
            "lustre_version": "2.15.5",
            "lustre_proc": True,
            "modules_loaded": ["lnet", "lustre", "osd_ldiskfs"],
            "modules_available": ["lnet", "lustre", "osd_ldiskfs"],
            "tools": ["mkfs.lustre", "lctl", "mount.lustre"],
            "lnet_state": "up",
            "nids": ["10.0.0.1@tcp"],
        }


def preflight(force: bool = False) -> Preflight:
    return Preflight("127.0.0.1", "127.0.0.1", ProfileNeeds.MANAGED_SERVER, "9.9", force)


def check(site: Site, token: str) -> PreflightReport:
    assert site.agent is not None
    port = site.agent.port
    report: Any = site.on_reactor(  # the Deferred's result: call_and_wait waits for it
        lambda: check_agent(
            site.reactor,
            site.authority,
            "127.0.0.1",
            port,
            token,
            preflight(),
            software_version="9.9",
        )
    )
    assert isinstance(report, PreflightReport)
    return report


def statuses(report: PreflightReport) -> dict[str, str]:
    return {c.kind.value: c.status.value for c in report.checks}


def test_the_checks_tell_the_token_holder_everything_and_leave_the_token_good(
    site: Site,
) -> None:
    site.host = FactsHost("oss1.lab")
    site.start_agent()
    token = site.token()
    report = check(site, token)
    assert set(statuses(report).values()) == {"pass"}, report.lines()
    assert report.server_name == "oss1.lab"
    assert (
        report.fingerprint == AgentIdentity(site.state_dir).load_or_create("oss1.lab").fingerprint
    )
    assert "10.0.0.1@tcp" in report.check(CheckKind.LNET).message
    assert not AgentIdentity(site.state_dir).load_or_create("oss1.lab").paired

    paired = site.pair(token)  # the same token still pairs
    assert paired.name == "oss1.lab"


def test_a_desktop_without_the_token_learns_nothing(site: Site) -> None:
    host = FactsHost("oss1.lab")
    site.host = host
    site.start_agent()
    site.token()
    report = check(site, WRONG_TOKEN)
    assert report.check(CheckKind.REACHABLE).status == CheckStatus.PASS
    assert report.check(CheckKind.TOKEN).status == CheckStatus.FAIL
    assert "unknown to this server" in report.check(CheckKind.TOKEN).message
    assert report.check(CheckKind.CLOCK).status == CheckStatus.SKIPPED
    assert report.check(CheckKind.LNET).status == CheckStatus.SKIPPED
    assert host.asked == 0  # the agent never gathered its facts for a stranger


def test_pairing_stops_at_a_failing_check_until_forced(site: Site) -> None:
    site.host = FactsHost("oss1.lab", skew_s=900.0)
    site.start_agent()
    token = site.token()
    with pytest.raises(
        PreflightFailedError, match=re.escape("Clock: oss1.lab's clock is 15 min ahead")
    ):
        site.pair(token, preflight())
    assert not AgentIdentity(site.state_dir).load_or_create("oss1.lab").paired

    paired = site.pair(token, preflight(force=True))  # the token was not used up
    assert paired.preflight.check(CheckKind.CLOCK).status == CheckStatus.FAIL
    assert AgentIdentity(site.state_dir).load_or_create("oss1.lab").paired


def test_an_unreachable_agent_is_a_failed_check_not_an_error(site: Site) -> None:
    site.start_agent()
    assert site.agent is not None
    port = site.agent.port
    site.stop_agent()
    report: Any = site.on_reactor(
        lambda: check_agent(
            site.reactor,
            site.authority,
            "127.0.0.1",
            port,
            WRONG_TOKEN,
            preflight(),
            software_version="9.9",
        )
    )
    assert report.check(CheckKind.REACHABLE).status == CheckStatus.FAIL
    assert "nothing listens" in report.check(CheckKind.REACHABLE).message
    with pytest.raises(PreflightFailedError, match="nothing listens"):
        site.on_reactor(
            lambda: pair_agent(
                site.reactor,
                site.authority,
                "127.0.0.1",
                port,
                WRONG_TOKEN,
                agent_id="x",
                software_version="9.9",
                preflight=preflight(force=True),  # forcing cannot reach a silent server
            )
        )


def test_garbled_facts_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="time is not a number"):
        facts_from_wire({"hostname": "oss1", "time": "noon"})
    with pytest.raises(ValueError, match="nids is not a list"):
        facts_from_wire({"hostname": "oss1", "time": 1.0, "nids": "10.0.0.1@tcp"})
    assert facts_from_wire({"hostname": "oss1", "time": 1}).modules_available is None


def test_the_real_agents_probes_read_tools_modules_and_lnet_networks(tmp_path: Path) -> None:
    kernel = "4.18.0-553.el8_lustre.x86_64"
    files = {
        "proc/sys/kernel/osrelease": kernel + "\n",
        "proc/sys/kernel/hostname": "oss01\n",
        f"lib/modules/{kernel}/modules.dep": (
            "extra/lustre/fs/lustre.ko.xz: extra/lustre/net/lnet.ko.xz\n"
            "extra/lustre/fs/osd_ldiskfs.ko.xz: extra/lustre/fs/ldiskfs.ko.xz\n"
            "extra/lustre/fs/ldiskfs.ko.xz:\n"
            "weak-updates/lustre/net/lnet.ko:\n"
            "kernel/fs/ext4/ext4.ko.xz: kernel/fs/jbd2/jbd2.ko.xz\n"
        ),
        "usr/sbin/mkfs.lustre": "",
        "sbin/mount.lustre": "",
        "etc/modprobe.d/lustre.conf": 'options lnet networks="o2ib0(ib0),tcp0(eth0)"\n',
        "etc/modprobe.d/other.conf": "options ext4 something=1\n",
    }
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    facts = preflight_facts(Tree(tmp_path, live=False), NoCommands(), "fallback")
    assert facts["hostname"] == "oss01" and facts["kernel"] == kernel
    assert facts["tools"] == ["mkfs.lustre", "mount.lustre"]  # no lctl
    assert facts["modules_available"] == ["ldiskfs", "lnet", "lustre", "osd_ldiskfs"]
    assert facts["lnet_networks"] == ["o2ib0(ib0)", "tcp0(eth0)"]
    assert facts["lustre_proc"] is False and facts["nids"] == []
    parsed = facts_from_wire({**facts, "time": time.time()})
    assert parsed.tools == ("mkfs.lustre", "mount.lustre")


def test_the_simulator_can_skew_a_clock_and_remove_the_lustre_tools(tmp_path: Path) -> None:
    from twisted.internet.task import Clock

    cluster = SimulatedCluster.open(tmp_path / "sim", clock=Clock(), server_count=2, seed=3)
    server = cluster.server("sim-mds1")
    healthy = server.preflight_facts(0.0)
    assert healthy["tools"] == ["mkfs.lustre", "lctl", "mount.lustre"]
    assert "osd_ldiskfs" in healthy["modules_available"]
    assert healthy["nids"] == server.nids

    cluster.fault("sim-mds1", "skew-clock")
    cluster.fault("sim-mds1", "no-lustre-tools")
    broken = server.preflight_facts(0.0)
    assert broken["time"] - time.time() == pytest.approx(900.0, abs=5)
    assert broken["tools"] == []
    again = ServerState.from_json(server.state.to_json())  # kept across simulator restarts
    assert again.clock_skew_s == 900.0 and not again.lustre_tools

    cluster.fault("sim-mds1", "restore")
    assert server.preflight_facts(0.0)["tools"] == healthy["tools"]
    assert abs(server.preflight_facts(0.0)["time"] - time.time()) < 5


LNETCTL_EXPORT = """\
net:
    - net type: lo
      local NI(s):
        - nid: 0@lo
          status: up
    - net type: o2ib1
      local NI(s):
        - nid: 10.10.0.5@o2ib1
          status: up
          interfaces:
              0: ib0
              1: ib1
          tunables:
              peer_timeout: 180
    - net type: tcp
      local NI(s):
        - nid: 192.168.0.5@tcp
          status: up
          interfaces:
              0: eth0
route:
    - net: tcp9
      gateway: 192.168.0.1@tcp
      hop: 1
"""


@pytest.mark.parametrize(
    ("lnet_conf", "networks"),
    [
        (LNETCTL_EXPORT, ["o2ib1(ib0,ib1)", "tcp(eth0)"]),
        # written by hand, its list at the key's indent and without interfaces
        (
            "# site LNet\nnet:\n- net type: tcp2\n  local NI(s):\n  - interfaces:\n      0: bond0\n"
            "- net type: o2ib\n",
            ["tcp2(bond0)", "o2ib"],
        ),
        ("peer:\n    - primary nid: 10.0.0.2@tcp\n", []),
    ],
)
def test_lnet_networks_are_read_from_lnet_conf_too(
    tmp_path: Path, lnet_conf: str, networks: list[str]
) -> None:
    # Lustre 2.10 and later are often set up by lnet.service importing /etc/lnet.conf: such a
    # server must not be told that no LNet network is configured
    (tmp_path / "etc/modprobe.d").mkdir(parents=True)
    (tmp_path / "etc/modprobe.d/lustre.conf").write_text("options lnet networks=tcp0(eth1)\n")
    (tmp_path / "etc/lnet.conf").write_text(lnet_conf)
    assert lnet_networks(Tree(tmp_path, live=False)) == ["tcp0(eth1)", *networks]
