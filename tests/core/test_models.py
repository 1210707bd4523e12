"""The domain model on SQLite and PostgreSQL: what an admin creates, and what is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from core import inventory
from core.database import Database
from core.errors import ConflictError, NotFoundError, ValidationError
from core.models import (
    Alert,
    AlertKind,
    AuditAction,
    AuditRecord,
    ClientMount,
    Command,
    Event,
    Filesystem,
    HaStatus,
    Host,
    Job,
    PowerControlDevice,
    PowerControlType,
    PowerOutlet,
    ServerProfile,
    Severity,
    Step,
    Target,
    TargetKind,
)
from core.records import filesystem_record, host_record, target_record, volume_record
from core.states import ClientMountState, HostState, OutletState, RunState, TargetState
from tests.core.cluster import SmallCluster, build_small_cluster


def make_fs(session, cluster: SmallCluster, name: str = "fs1") -> Filesystem:
    v = cluster.volumes
    return inventory.create_filesystem(
        session,
        name,
        mgt_volume=v["mgt"],
        mdt_volumes=[v["mdt"]],
        ost_volumes=[v["ost0"], v["ost1"]],
    )


def test_create_filesystem_names_targets_and_plans_failover(database: Database):
    with database.session(actor="alice") as session:
        cluster = build_small_cluster(session)
        filesystem = make_fs(session, cluster)
        record = filesystem_record(filesystem)
        targets = {t.name: target_record(t) for t in [filesystem.mgs, *filesystem.targets]}
    assert sorted(targets) == ["MGS", "fs1-MDT0000", "fs1-OST0000", "fs1-OST0001"]
    assert all(t.state == TargetState.UNFORMATTED for t in targets.values())
    ids = {name: host.id for name, host in cluster.hosts.items()}
    assert targets["fs1-OST0001"].primary_host_id == ids["oss2"]
    assert targets["fs1-OST0001"].failover_host_ids == (ids["oss1"],)
    assert targets["MGS"].filesystem_id is None and targets["MGS"].index is None
    assert record.mount_path == "10.0.0.1@tcp0:10.0.0.2@tcp0:/fs1"
    assert len(record.ost_ids) == 2 and len(record.mdt_ids) == 1


def test_adding_an_ost_takes_the_next_index_and_refuses_a_used_one(database: Database):
    with database.session() as session:
        cluster = build_small_cluster(session)
        filesystem = make_fs(session, cluster)
        ost = inventory.create_target(
            session, TargetKind.OST, cluster.volumes["ost2"], filesystem=filesystem
        )
        assert (ost.name, ost.index) == ("fs1-OST0002", 2)
        with pytest.raises(
            ConflictError, match="OST index 1 is already used in fs1 by fs1-OST0001"
        ):
            inventory.create_target(
                session, TargetKind.OST, cluster.volumes["spare"], filesystem=filesystem, index=1
            )


def test_a_volume_holds_one_target(database: Database):
    with database.session() as session:
        cluster = build_small_cluster(session)
        filesystem = make_fs(session, cluster)
        with pytest.raises(ConflictError, match="already used by fs1-OST0000"):
            inventory.create_target(
                session, TargetKind.OST, cluster.volumes["ost0"], filesystem=filesystem
            )
        assert volume_record(cluster.volumes["ost0"]).in_use_by == "fs1-OST0000"


@pytest.mark.parametrize(
    ("volume", "index", "broken_rule"),
    [("ost0", 9, "volume_id"), ("spare", 0, r"kind, (targets\.)?index")],
    ids=["volume-used-twice", "index-used-twice"],
)
def test_the_database_itself_refuses_what_validation_refuses(
    database: Database, volume: str, index: int, broken_rule: str
):
    """Even code that skips the checks cannot store two live targets on one volume, or one
    index twice in a filesystem."""
    with database.session() as session:
        cluster = build_small_cluster(session)
        filesystem = make_fs(session, cluster)
        volume_id = cluster.volumes[volume].id
    with pytest.raises(IntegrityError, match=broken_rule), database.session() as session:
        session.add(
            Target(
                kind=TargetKind.OST,
                name=f"fs1-OST{index:04x}",
                index=index,
                volume_id=volume_id,
                filesystem_id=filesystem.id,
            )
        )


def test_filesystem_requests_that_break_rules_are_refused(database: Database):
    with database.session() as session:
        cluster = build_small_cluster(session)
        v = cluster.volumes
        with pytest.raises(ValidationError, match="filesystem name 'lustre-fs'"):
            inventory.create_filesystem(
                session,
                "lustre-fs",
                mgt_volume=v["mgt"],
                mdt_volumes=[v["mdt"]],
                ost_volumes=[v["ost0"]],
            )
        with pytest.raises(ValidationError, match="pick it once"):
            inventory.create_filesystem(
                session,
                "fs1",
                mgt_volume=v["mgt"],
                mdt_volumes=[v["mdt"]],
                ost_volumes=[v["ost0"], v["ost0"]],
            )
        with pytest.raises(ConflictError, match="none is chosen as its primary"):
            inventory.create_filesystem(
                session,
                "fs1",
                mgt_volume=v["mgt"],
                mdt_volumes=[v["mdt"]],
                ost_volumes=[v["both"]],
            )
        with pytest.raises(ValidationError, match="at least one OST"):
            inventory.create_filesystem(
                session, "fs1", mgt_volume=v["mgt"], mdt_volumes=[v["mdt"]], ost_volumes=[]
            )
        assert session.scalar(select(func.count()).select_from(Target)) == 0


def test_second_filesystem_shares_the_mgs_but_not_its_name(database: Database):
    with database.session() as session:
        cluster = build_small_cluster(session)
        first = make_fs(session, cluster)
        with pytest.raises(ConflictError, match="already serves a filesystem named fs1"):
            inventory.create_filesystem(
                session,
                "fs1",
                mgs=first.mgs,
                mdt_volumes=[cluster.volumes["ost2"]],
                ost_volumes=[cluster.volumes["spare"]],
            )
        second = inventory.create_filesystem(
            session,
            "scratch",
            mgs=first.mgs,
            mdt_volumes=[cluster.volumes["ost2"]],
            ost_volumes=[cluster.volumes["spare"]],
        )
        assert second.mgs is first.mgs
        assert {fs.name for fs in first.mgs.mgs_filesystems} == {"fs1", "scratch"}


def test_a_server_runs_at_most_one_mgs(database: Database):
    with database.session() as session:
        cluster = build_small_cluster(session)
        make_fs(session, cluster)
        extra = inventory.add_volume(session, serial="SER-mgt2", size_bytes=1 << 30)
        inventory.add_volume_node(session, extra, cluster.hosts["mds1"], "/dev/sdz", primary=True)
        with pytest.raises(ConflictError, match=r"mds1\.lab already runs an MGS"):
            inventory.create_target(session, TargetKind.MGT, extra)


def test_removed_filesystem_name_can_be_used_again(database: Database):
    with database.session() as session:
        cluster = build_small_cluster(session)
        filesystem = make_fs(session, cluster)
        now = datetime.now(UTC)
        for target in filesystem.live_targets():
            target.deleted_at = now
        filesystem.deleted_at = now
        again = inventory.create_filesystem(
            session,
            "fs1",
            mgs=filesystem.mgs,
            mdt_volumes=[cluster.volumes["mdt"]],
            ost_volumes=[cluster.volumes["ost0"]],
        )
        assert again.id != filesystem.id


def test_removing_a_server_that_still_serves_targets_is_refused(database: Database):
    with database.session() as session:
        cluster = build_small_cluster(session)
        make_fs(session, cluster)
        oss1 = cluster.hosts["oss1"]
        with pytest.raises(ConflictError) as raised:
            inventory.delete_host(session, oss1)
        assert "oss1.lab still serves fs1-OST0000, fs1-OST0001" in str(raised.value)
        assert oss1.is_live


def test_removing_an_idle_server_forgets_its_volume_paths(database: Database):
    with database.session() as session:
        cluster = build_small_cluster(session)
        oss1 = cluster.hosts["oss1"]
        inventory.delete_host(session, oss1)
        assert oss1.state == HostState.REMOVED and not oss1.is_live
        assert all(not node.is_live for node in oss1.volume_nodes)
        assert volume_record(cluster.volumes["spare"]).nodes == ()
        # The address is free again.
        again = inventory.add_host(session, "oss1.lab")
        assert again.id != oss1.id
        with pytest.raises(NotFoundError, match="was removed"):
            inventory.get_live(session, Host, oss1.id)


def test_adding_a_server_twice_is_refused(database: Database):
    with database.session() as session:
        host = inventory.add_host(session, "OSS7.lab:7001")
        assert host.address == "oss7.lab:7001"
        assert host.profile is not None and host.profile.name == "managed_storage"
        with pytest.raises(ConflictError, match="already managed"):
            inventory.add_host(session, "oss7.lab:7001")
        monitored = inventory.add_host(session, "oss8.lab", profile="monitored_storage")
        assert monitored.monitor_only
        with pytest.raises(ValidationError, match="choose one of client, managed_storage"):
            inventory.add_host(session, "oss9.lab", profile="gold")
        record = host_record(host)
    assert record.state == HostState.UNCONFIGURED and not record.paired


def test_ha_status_follows_the_volume_nodes(database: Database):
    with database.session() as session:
        cluster = build_small_cluster(session)
        v = cluster.volumes
        assert v["ost0"].ha_status == HaStatus.CONFIGURED_HA
        assert v["spare"].ha_status == HaStatus.CONFIGURED_NOHA
        assert v["both"].ha_status == HaStatus.UNCONFIGURED
        with pytest.raises(ConflictError, match="already has a primary"):
            inventory.add_volume_node(
                session, v["ost0"], cluster.hosts["mds1"], "/dev/sdq", primary=True
            )


def test_conf_params_are_versioned_and_the_newest_wins(database: Database):
    with database.session() as session:
        cluster = build_small_cluster(session)
        filesystem = make_fs(session, cluster)
        ost = filesystem.live_targets(TargetKind.OST)[0]
        assert inventory.set_conf_params(session, filesystem, {"llite.max_cached_mb": "512"}) == 1
        assert inventory.set_conf_params(session, filesystem, {"sys.timeout": "100"}) == 2
        assert inventory.set_conf_params(session, filesystem, {"llite.max_cached_mb": None}) == 3
        inventory.set_conf_params(session, ost, {"ost.read_cache_enable": "0"})
        with pytest.raises(ValidationError, match=r"osc\.max_rpcs_in_flight"):
            inventory.set_conf_params(
                session, ost, {"osc.active": "1", "osc.max_rpcs_in_flight": "64"}
            )
        assert inventory.current_conf_params(session, filesystem) == {
            "llite.max_cached_mb": None,
            "sys.timeout": "100",
        }
        assert inventory.current_conf_params(session, ost) == {"ost.read_cache_enable": "0"}
        assert filesystem.mgs.conf_param_version == 4, "a refused batch saves nothing"


def test_audit_trail_records_who_changed_what(database: Database):
    with database.session(actor="alice") as session:
        host_id = inventory.add_host(session, "oss1.lab").id
    with database.session(actor="agent:oss1.lab") as session:
        session.get(Host, host_id).nodename = "oss1"
    with database.session(actor="bob") as session:
        inventory.delete_host(session, session.get(Host, host_id))
    with database.session() as session:
        records = session.scalars(
            select(AuditRecord)
            .where(AuditRecord.object_kind == "hosts", AuditRecord.object_id == host_id)
            .order_by(AuditRecord.id)
        ).all()
    assert [(r.actor, r.action) for r in records] == [
        ("alice", AuditAction.CREATE),
        ("agent:oss1.lab", AuditAction.UPDATE),
        ("bob", AuditAction.DELETE),
    ]
    assert records[0].changes["address"] == [None, "oss1.lab"]
    assert records[1].changes == {"nodename": [None, "oss1"]}
    assert records[2].changes["state"] == ["unconfigured", "removed"]


def test_one_current_alert_per_object_and_kind(database: Database):
    with database.session() as session:
        session.add(
            Alert(
                kind=AlertKind.TARGET_OFFLINE,
                subject_kind="target",
                subject_id=1,
                message="fs1-OST0000 stopped",
                severity=Severity.ERROR,
                evidence=[{"log": "LustreError: ..."}],
            )
        )
    with pytest.raises(IntegrityError), database.session() as session:
        session.add(
            Alert(
                kind=AlertKind.TARGET_OFFLINE, subject_kind="target", subject_id=1, message="again"
            )
        )
    with database.session() as session:
        alert = session.scalars(select(Alert)).one()
        alert.cleared_at = datetime.now(UTC)
        session.add(
            Alert(
                kind=AlertKind.TARGET_OFFLINE,
                subject_kind="target",
                subject_id=1,
                message="stopped again",
            )
        )
        session.add(Event(kind="alert", message="fs1-OST0000 stopped", severity=Severity.WARNING))
    with database.session() as session:
        alerts = session.scalars(select(Alert).order_by(Alert.id)).all()
        assert [a.active for a in alerts] == [False, True]
        assert alerts[0].evidence == [{"log": "LustreError: ..."}]


def test_commands_share_jobs_and_keep_step_output(database: Database):
    with database.session() as session:
        format_job = Job(
            kind="FormatTargetJob",
            description="Format fs1-OST0000",
            subject_kind="target",
            subject_id=3,
            from_state="unformatted",
            to_state="formatted",
            cancellable=False,
        )
        start_job = Job(
            kind="StartTargetJob", description="Start fs1-OST0000", depends_on=[format_job]
        )
        first = Command(
            message="Create filesystem fs1", actor="alice", jobs=[format_job, start_job]
        )
        second = Command(message="Start fs1-OST0000", actor="bob", jobs=[start_job])
        format_job.steps.append(
            Step(
                index=0,
                description="mkfs.lustre on oss1",
                action="format_target",
                args={"device": "/dev/mapper/ost0"},
                command_lines=[
                    ["mkfs.lustre", "--ost", "--fsname=fs1", "--index=0", "/dev/mapper/ost0"]
                ],
                state=RunState.SUCCEEDED,
                stdout="Permanent disk data:\n...",
                stderr="",
                result={"uuid": "abc"},
            )
        )
        session.add_all([first, second])
    with database.session() as session:
        start = session.scalars(select(Job).where(Job.kind == "StartTargetJob")).one()
        assert {c.message for c in start.commands} == {"Create filesystem fs1", "Start fs1-OST0000"}
        assert [j.kind for j in start.depends_on] == ["FormatTargetJob"]
        step = start.depends_on[0].steps[0]
        assert step.command_lines[0][0] == "mkfs.lustre"
        assert step.stdout.startswith("Permanent disk data")
        assert step.result == {"uuid": "abc"}
        assert start.depends_on[0].dependents == [start]


def test_times_come_back_in_utc_on_every_backend(database: Database):
    moment = datetime(2026, 3, 29, 1, 30, tzinfo=UTC) + timedelta(microseconds=5)
    with database.session() as session:
        host = inventory.add_host(session, "oss1.lab")
        host.boot_time = moment.astimezone(datetime.now().astimezone().tzinfo)
        host_id = host.id
    with database.session() as session:
        stored = session.get(Host, host_id).boot_time
    assert stored == moment and stored.tzinfo is not None and stored.utcoffset() == timedelta(0)


def test_power_outlets_and_client_mounts(database: Database):
    with database.session() as session:
        cluster = build_small_cluster(session)
        filesystem = make_fs(session, cluster)
        pdu_type = PowerControlType(agent="fence_apc", make="APC", model="AP7921", max_outlets=8)
        pdu = PowerControlDevice(
            device_type=pdu_type, name="pdu1", address="10.0.9.1", port=23, secret_key="power/pdu1"
        )
        session.add(PowerOutlet(device=pdu, identifier="3", host=cluster.hosts["oss1"]))
        client = inventory.add_host(session, "login1.lab", profile="client")
        session.add(ClientMount(host=client, filesystem=filesystem, mountpoint="/lustre/fs1"))
    with database.session() as session:
        outlet = session.scalars(select(PowerOutlet)).one()
        assert outlet.state == OutletState.UNKNOWN and outlet.host.label == "oss1.lab"
        mount = session.scalars(select(ClientMount)).one()
        assert mount.state == ClientMountState.UNMOUNTED
        profiles = session.scalars(select(ServerProfile.name).order_by(ServerProfile.name)).all()
        assert profiles == ["client", "managed_storage", "monitored_storage"]
