"""The headless manager on the simulator: servers paired by token, links kept, an admin's
request planned by the scheduler and carried out by simulated servers over real TLS links,
and the model following what the agents report."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from agentlink.connector import LinkEvent, LinkState, PairingFailedError
from chroma_desktop.manager import Manager, ReportNotTakenError
from core.errors import ValidationError
from core.models import Host, LNetConfiguration, VolumeNode
from core.observations import RecordsReported
from core.scheduler import LNET
from tests.desktop.conftest import TOKEN, WAIT_S, wait_for
from tests.desktop.history_support import reboot


def test_paired_servers_are_driven_by_the_scheduler_and_followed_by_their_reports(site):
    manager, cluster, network, events = site.manager, site.cluster, site.network, site.events
    address = f"127.0.0.1:{network.ports['sim-mds1']}"
    paired = manager.pair_server(address, TOKEN).result(timeout=WAIT_S)
    assert paired.name == "sim-mds1" and paired.address == address
    while not (isinstance(e := events.get(timeout=WAIT_S), LinkEvent)):
        pass
    assert e.state == LinkState.CONNECTED and e.host == address

    database = manager.database

    def lnet_state() -> str | None:
        with database.session() as session:
            return session.scalar(
                select(LNetConfiguration.state)
                .join(Host, Host.id == LNetConfiguration.host_id)
                .where(Host.address == address)
            )

    wait_for(lambda: lnet_state() == "unloaded", "the agent's first report")

    def volumes() -> list[str]:
        with database.session() as session:
            return list(
                session.scalars(
                    select(VolumeNode.path)
                    .join(Host, Host.id == VolumeNode.host_id)
                    .where(Host.address == address)
                )
            )

    shared_luns = [d["path"] for d in cluster.server("sim-mds1").devices() if not d["filesystem"]]
    wait_for(lambda: sorted(volumes()) == sorted(shared_luns), "its devices to become volumes")
    manager.run(lambda s: s.request_state((LNET, paired.host_id), "up", actor="alice")).result(
        timeout=WAIT_S
    )
    wait_for(lambda: lnet_state() == "up", "LNet to come up on the simulated server")
    assert cluster.server("sim-mds1").lustre_state()["lnet"] == "up"

    # Changed by hand on the server: the model follows the agent's next report.
    reactor = manager.reactor_thread
    reactor.call_and_wait(lambda: cluster.server("sim-mds1").run(["lctl", "network", "down"]))
    wait_for(lambda: lnet_state() == "down", "the model to follow the server")


def test_pairing_errors_are_reported_not_raised_on_the_wrong_thread(site):
    manager, network = site.manager, site.network
    with pytest.raises(ValidationError):
        manager.pair_server("not a host!", TOKEN).result(timeout=WAIT_S)
    with pytest.raises(PairingFailedError, match="unknown to this server"):
        manager.pair_server(
            f"127.0.0.1:{network.ports['sim-mds2']}", "AAAAA-BBBBB-CCCCC-DDDDD"
        ).result(timeout=WAIT_S)
    # A token that cannot be one fails at once, as a message, not as a hang or an internal error.
    with pytest.raises(PairingFailedError, match="token"):
        manager.pair_server(f"127.0.0.1:{network.ports['sim-mds2']}", "not-a-token").result(
            timeout=WAIT_S
        )


def test_a_restarted_desktop_takes_in_each_journal_record_once(site, tmp_path, reactor_thread):
    """Stats and syslog lines are numbered in the agent's journal; the desktop keeps how far it
    got, so after a restart it fetches what came later, and never stores the same line twice."""
    first = site.manager
    seen_first: list[int] = []
    first.add_report_handler(
        "records", lambda session, host, report: seen_first.extend(_seqs(report))
    )
    address = site.pair("sim-mds1").address

    def position() -> int:
        with first.database.session() as session:
            return session.scalar(select(Host.records_delivered).where(Host.address == address))

    wait_for(lambda: position() > 0 and seen_first, "records taken in")
    first.stop()
    kept = position()
    assert kept == max(seen_first)
    reboot(site, "sim-mds1")  # boot lines logged while no desktop runs

    second = Manager(first.database, site.secrets, tmp_path / "config", reactor_thread)
    seen_second: list[int] = []
    boot_lines: list[str] = []

    def taken_in(session: object, host: str, report: RecordsReported) -> None:
        seen_second.extend(_seqs(report))
        boot_lines.extend(line.message for line in report.logs if "Started" in line.message)

    second.add_report_handler("records", taken_in)
    second.start()
    try:
        wait_for(lambda: boot_lines, "the lines logged while the desktop was down")
        assert seen_second and min(seen_second) == kept + 1
        assert not set(seen_first) & set(seen_second)
    finally:
        second.stop()


def _seqs(report: RecordsReported) -> list[int]:
    return [r.seq for r in report.stats] + [r.seq for r in report.logs]


def test_a_report_consumer_that_fails_is_told_and_the_others_still_take_the_report(site):
    def broken(session: object, host: str, report: object) -> None:
        raise OSError("disk on fire")

    taken: list[int] = []
    site.manager.add_report_handler("records", broken)
    site.manager.add_report_handler("records", lambda s, h, report: taken.extend(_seqs(report)))
    site.pair("sim-mds1")
    wait_for(lambda: taken, "the records taken in by the second consumer")
    while not isinstance(event := site.events.get(timeout=WAIT_S), ReportNotTakenError):
        pass
    assert "records report from 127.0.0.1:" in event.message
    assert "OSError: disk on fire" in event.message
