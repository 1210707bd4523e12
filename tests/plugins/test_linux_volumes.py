"""Device reports of eight simulated servers become shared volumes on the right HA pairs; a
repeated report changes nothing; a vanished device is marked missing and comes back."""

from __future__ import annotations

from sqlalchemy import func, select

from core import inventory
from core.database import Database
from core.models import AuditRecord, HaStatus, TargetKind, Volume, VolumeNode
from plugins.store import ChangeKind, missing_devices, resource_records
from tests.plugins.conftest import Site, make_site

PAIRS = [("sim-mds1", "sim-mds2"), ("sim-oss1", "sim-oss2"), ("sim-oss3", "sim-oss4"),
         ("sim-oss5", "sim-oss6")]  # fmt: skip


def layout(database: Database) -> dict[str, tuple[str, str | None, tuple[str, ...]]]:
    """serial → (primary, failover, unused) by host name, for every live volume."""
    found = {}
    with database.session() as session:
        for volume in session.scalars(select(Volume).where(Volume.deleted_at.is_(None))):
            nodes = volume.live_nodes()
            primary = next(n.host.address for n in nodes if n.primary)
            failover = next((n.host.address for n in nodes if n.use and not n.primary), None)
            unused = tuple(sorted(n.host.address for n in nodes if not n.use))
            found[str(volume.serial)] = (primary, failover, unused)
    return found


def test_eight_servers_give_fifteen_shared_volumes_each_on_its_ha_pair(site: Site):
    site.push_devices()
    found = layout(site.database)
    # MGT + 2 MDTs on the MDS pair, 4 OSTs on each of the three OSS pairs; no system disk.
    assert len(found) == 15
    assert not any("SSD" in serial for serial in found)
    for serial, (primary, failover, unused) in found.items():
        assert failover is not None and unused == ()
        assert tuple(sorted((primary, failover))) in PAIRS, serial
    with site.database.session() as session:
        statuses = {v.ha_status for v in session.scalars(select(Volume))}
        nodes = session.scalar(select(func.count()).select_from(VolumeNode))
    assert statuses == {HaStatus.CONFIGURED_HA}
    assert nodes == 30
    # Primaries are spread over both servers of each pair.
    primaries = [p for p, _, _ in found.values()]
    for a, b in PAIRS[1:]:
        assert primaries.count(a) == primaries.count(b) == 2


def test_system_disks_are_known_as_resources_but_never_offered(site: Site):
    site.push_devices(["sim-oss1"])
    records = resource_records_of(site)
    mounts = [r for r in records if r.resource_class == "LocalMount"]
    assert [m.attributes["fstype"] for m in mounts] == ["xfs"]
    ssd = next(r for r in records if r.resource_class == "ScsiDevice" and "SSD" in r.label)
    assert ssd.volume_id is None
    with site.database.session() as session:
        paths = session.scalars(select(VolumeNode.path)).all()
    assert len(paths) == 4 and all("scsi-SIM" in p for p in paths)


def resource_records_of(site: Site):
    with site.database.session() as session:
        return resource_records(session, "linux")


def test_the_choice_of_primaries_does_not_depend_on_who_reported_first(database: Database):
    first = make_site(database)
    first.push_devices()
    expected = layout(database)
    with database.session() as session:
        for host_id in first.hosts.values():
            inventory.delete_host(session, inventory.get_live(session, inventory.Host, host_id))
        for volume in session.scalars(select(Volume)):
            volume.deleted_at = volume.deleted_at or inventory.utcnow()
    again = make_site(database, order=sorted(first.hosts, reverse=True))
    again.push_devices(sorted(again.hosts, reverse=True))
    assert layout(database) == expected


def test_repeating_identical_reports_changes_nothing(site: Site):
    site.push_devices()
    before = layout(site.database)
    with site.database.session() as session:
        audited = session.scalar(select(func.count()).select_from(AuditRecord))
    outcomes = site.push_devices()
    assert [o.changes for o in outcomes] == [()] * 8
    assert layout(site.database) == before
    with site.database.session() as session:
        assert session.scalar(select(func.count()).select_from(AuditRecord)) == audited


def test_a_vanished_device_is_marked_missing_not_deleted_and_comes_back(site: Site):
    site.push_devices()
    report = site.devices("sim-oss1")
    lost = report["devices"].pop(0)
    outcome = site.push("sim-oss1", "devices", report)
    # The LUN is still seen by sim-oss2, so only sim-oss1's path went missing.
    assert [(c.kind, c.subject) for c in outcome.changes] == [
        (ChangeKind.RESOURCE_MISSING, f"Device {lost['path']}")
    ]
    with site.database.session() as session:
        missing = missing_devices(session)
        assert [(m.host_id, m.path) for m in missing] == [(site.hosts["sim-oss1"], lost["path"])]
        volume = session.get(Volume, missing[0].volume_id)
        assert volume is not None and volume.is_live and len(volume.live_nodes()) == 2
    before = layout(site.database)
    back = site.push("sim-oss1", "devices", site.devices("sim-oss1"))
    assert [c.kind for c in back.changes] == [ChangeKind.RESOURCE_BACK]
    assert layout(site.database) == before
    with site.database.session() as session:
        assert missing_devices(session) == []


def test_a_lun_no_server_reports_is_missing_but_its_volume_stays(site: Site):
    site.push_devices(["sim-oss1", "sim-oss2"])
    serial = site.devices("sim-oss1")["devices"][0]["serial"]
    for name in ("sim-oss1", "sim-oss2"):
        report = site.devices(name)
        report["devices"].pop(0)
        site.push(name, "devices", report)
    records = {r.label: r for r in resource_records_of(site)}
    assert records[f"SCSI device {serial}"].missing_since is not None
    assert records[f"SCSI device {serial}"].reported_by == ()
    with site.database.session() as session:
        assert len(missing_devices(session)) == 2
        volume = session.scalar(select(Volume).where(Volume.serial == serial))
        assert volume is not None and volume.is_live


def test_a_volume_used_by_a_target_keeps_its_servers_and_is_never_dropped(site: Site):
    site.push_devices(["sim-oss1"])
    serial = site.devices("sim-oss1")["devices"][0]["serial"]
    with site.database.session() as session:
        volume = session.scalar(select(Volume).where(Volume.serial == serial))
        assert volume is not None
        inventory.create_target(session, TargetKind.MGT, volume)
    site.push_devices(["sim-oss2"])
    # The target's volume gained sim-oss2's path but keeps its single chosen server...
    with site.database.session() as session:
        volume = session.scalar(select(Volume).where(Volume.serial == serial))
        assert volume is not None
        assert {(n.host.address, n.primary) for n in volume.live_nodes()} == {
            ("sim-oss1", True),
            ("sim-oss2", False),
        }
    # ...and stays when its device is given a local filesystem by hand.
    report = site.devices("sim-oss1")
    report["devices"][0]["filesystem"] = "ext4"
    outcome = site.push("sim-oss1", "devices", report)
    assert any("MGS is on it" in w for w in outcome.warnings)
    with site.database.session() as session:
        volume = session.scalar(select(Volume).where(Volume.serial == serial))
        assert volume is not None and volume.is_live and len(volume.live_nodes()) == 2


def test_a_device_given_a_local_filesystem_is_no_longer_offered(site: Site):
    site.push_devices(["sim-oss1"])
    report = site.devices("sim-oss1")
    report["devices"][0]["filesystem"] = "ext4"
    outcome = site.push("sim-oss1", "devices", report)
    kinds = [c.kind for c in outcome.changes]
    assert ChangeKind.VOLUME_NODE_REMOVED in kinds and ChangeKind.VOLUME_REMOVED in kinds
    with site.database.session() as session:
        live = session.scalars(select(Volume).where(Volume.deleted_at.is_(None))).all()
    assert len(live) == 3
