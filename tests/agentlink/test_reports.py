"""Agent pushes and link events become core's observations; a garbled push is refused with a
message that names the server, the report and the bad field."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from twisted.internet.task import Clock

from agentlink.connector import LinkEvent, LinkState
from agentlink.reports import GarbledReportError, contact_from_link_event, parse_push
from agentlink.simulator import SimulatedCluster
from core.observations import (
    DevicesReported,
    LustreReported,
    RecordsMissed,
    RecordsReported,
    SyslogSeverity,
)

NOW = datetime(2027, 1, 15, 8, 0, tzinfo=UTC)
EPOCH = NOW.timestamp()


@pytest.fixture
def cluster() -> SimulatedCluster:
    return SimulatedCluster.create(clock=Clock(), wall=lambda: EPOCH, seed=2, server_count=2)


def test_what_a_simulated_server_pushes_reads_back_whole(cluster: SimulatedCluster):
    server = cluster.server("sim-mds1")
    devices = parse_push(
        "sim-mds1", {"kind": "devices", "devices": server.devices()}, received_at=NOW
    )
    assert isinstance(devices, DevicesReported)
    assert devices.paths == {record["path"] for record in server.devices()}

    lustre = parse_push(
        "sim-mds1", {"kind": "lustre", "state": server.lustre_state()}, received_at=NOW
    )
    assert isinstance(lustre, LustreReported)
    assert lustre.lnet == "unloaded" and lustre.mounts == ()
    assert lustre.boot_time < NOW
    assert lustre.report.mounted_devices == frozenset()

    records = server.collect(EPOCH)
    body = {"kind": "records", "records": [[n, r] for n, r in enumerate(records, start=5)]}
    parsed = parse_push("sim-mds1", body, received_at=NOW)
    assert isinstance(parsed, RecordsReported)
    assert len(parsed.stats) + len(parsed.logs) == len(records)
    assert parsed.stats[0].t == NOW and parsed.stats[0].subject == "node"
    assert parsed.stats[0].seq >= 5


def test_an_mgs_server_reports_its_permanent_parameters_and_targets_their_mgs_nids():
    state = {
        "lnet": "up",
        "nids": ["10.0.0.1@tcp"],
        "mounts": [
            {"label": "MGS", "device": "/dev/a", "mount_point": "/mnt/a", "recovery": "COMPLETE"},
            {
                "label": "fs1-MDT0000",
                "device": "/dev/b",
                "mount_point": "/mnt/b",
                "recovery": "COMPLETE",
                "mgs_nids": ["10.0.0.1@tcp"],
            },
        ],
        "boot_time": EPOCH,
        "conf_params": {"fs1": {"fs1.sys.timeout": "40"}},
    }
    lustre = parse_push("mds", {"kind": "lustre", "state": state}, received_at=NOW)
    assert isinstance(lustre, LustreReported)
    assert lustre.conf_params == {"fs1": {"fs1.sys.timeout": "40"}}
    assert [m.mgs_nids for m in lustre.report.mounts] == [(), ("10.0.0.1@tcp",)]
    assert lustre.pools is None and lustre.report.pools is None  # not reported
    assert lustre.report.received_at == NOW
    state["conf_params"] = {"fs1": {"fs1.sys.timeout": 40}}
    with pytest.raises(GarbledReportError, match=r"fs1\.sys\.timeout should be text"):
        parse_push("mds", {"kind": "lustre", "state": state}, received_at=NOW)


def test_the_mgs_reports_its_ost_pools():
    state = {
        "lnet": "up",
        "nids": [],
        "mounts": [],
        "boot_time": EPOCH,
        "pools": {"fs1": {"fast": ["fs1-OST0000", "fs1-OST0001"], "empty": []}},
    }
    lustre = parse_push("mds", {"kind": "lustre", "state": state}, received_at=NOW)
    assert isinstance(lustre, LustreReported)
    assert lustre.report.pools == {"fs1": {"fast": ("fs1-OST0000", "fs1-OST0001"), "empty": ()}}
    state["pools"] = {"fs1": {"fast": [7]}}
    with pytest.raises(
        GarbledReportError, match=r"state\.pools\['fs1'\]\['fast'\]\[0\] should be text"
    ):
        parse_push("mds", {"kind": "lustre", "state": state}, received_at=NOW)


def test_log_severities_are_syslog_names_and_their_aliases():
    line = {"kind": "log", "t": EPOCH, "facility": "kern", "source": "kernel", "message": "x"}
    for name, severity in (
        ("err", SyslogSeverity.ERR),
        ("error", SyslogSeverity.ERR),
        ("warn", SyslogSeverity.WARNING),
        ("CRIT", SyslogSeverity.CRIT),
    ):
        body = {"kind": "records", "records": [[1, {**line, "severity": name}]]}
        parsed = parse_push("oss1", body, received_at=NOW)
        assert isinstance(parsed, RecordsReported)
        assert parsed.logs[0].severity == severity
    assert SyslogSeverity.CRIT.error_or_worse and not SyslogSeverity.WARNING.error_or_worse


def test_a_gap_says_how_many_records_were_lost():
    gap = parse_push("oss1", {"kind": "gap", "after": 10, "missed": 90}, received_at=NOW)
    assert gap == RecordsMissed(after=10, missed=90, received_at=NOW)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ([1, 2], "a push is a mapping, not [1, 2]"),
        ({"kind": "weather"}, "no report is of kind 'weather'"),
        ({"kind": "devices", "devices": None}, "devices should be a list, not NoneType"),
        (
            {"kind": "devices", "devices": [{"path": "/dev/sda", "serial": "S", "size_bytes": -1}]},
            "devices[0].size_bytes should be a whole number, not -1",
        ),
        (
            {"kind": "lustre", "state": {"lnet": "sideways", "nids": [], "mounts": []}},
            "state.lnet should be one of unloaded, loaded, up, not 'sideways'",
        ),
        (
            {"kind": "lustre", "state": {"lnet": "up", "nids": [], "mounts": [], "boot_time": "x"}},
            "state.boot_time should be a number, not 'x'",
        ),
        ({"kind": "records", "records": [[1]]}, "records[0] should be [sequence number, record]"),
        (
            {"kind": "records", "records": [[3, {"kind": "stat", "t": True}]]},
            "record 3.t should be a number, not True",
        ),
        (
            {"kind": "records", "records": [[3, {"kind": "smoke"}]]},
            "record 3 is of kind 'smoke', not stat or log",
        ),
    ],
)
def test_a_garbled_push_is_refused_with_what_is_wrong(body: Any, problem: str):
    with pytest.raises(GarbledReportError) as refused:
        parse_push("oss7", body, received_at=NOW)
    assert refused.value.host == "oss7"
    assert problem in str(refused.value)
    assert str(refused.value).startswith("oss7 sent a garbled")


def test_link_events_carry_the_agent_version_or_the_reason():
    up = contact_from_link_event(
        LinkEvent("oss1", LinkState.CONNECTED, "oss1.lab, agent 1.2.3"), received_at=NOW
    )
    assert (up.up, up.agent_name, up.agent_version) == (True, "oss1.lab", "1.2.3")
    down = contact_from_link_event(
        LinkEvent("oss1", LinkState.DISCONNECTED, "no answer"), received_at=NOW, planned=True
    )
    assert (down.up, down.reason, down.planned, down.agent_version) == (
        False,
        "no answer",
        True,
        None,
    )
