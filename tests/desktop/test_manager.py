"""The headless manager on the simulator: servers paired by token, links kept, an admin's
request planned by the scheduler and carried out by simulated servers over real TLS links,
and the model following what the agents report."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from agentlink.connector import LinkEvent, LinkState, PairingFailedError
from core.errors import ValidationError
from core.models import Host, LNetConfiguration, VolumeNode
from core.scheduler import LNET
from tests.desktop.conftest import TOKEN, WAIT_S, wait_for


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
