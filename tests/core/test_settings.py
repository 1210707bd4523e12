"""Settings changed out of band, on simulated servers: a conf param changed by hand on the MGS
(`lctl conf_param`, `lctl set_param -P`) shows as a difference against what we set, with an
alert and its evidence, and both go when it is put back; what we saved but did not apply yet is
pending, not a difference."""

from __future__ import annotations

from sqlalchemy import select

from core import inventory
from core.database import Database
from core.models import AlertKind, Filesystem, Job, ReportedConfParam, Target
from core.queries.settings import SettingDifference, settings_differences
from core.states import RunState
from tests.core.test_alerts import FSNAME, HOSTS, OST0, SimHarness


def _set_and_apply(sim: SimHarness, params: dict[str, str | None]) -> None:
    """What an admin's ApplyConfParamsJob leaves behind: saved, pushed and recorded applied."""
    with sim.database.session(actor="test") as session:
        filesystem = session.get(Filesystem, sim.filesystem_id)
        assert filesystem is not None
        inventory.set_conf_params(session, filesystem, params)
        filesystem.mgs.conf_param_version_applied = filesystem.mgs.conf_param_version
    for key, value in params.items():
        sim.act(_mgs_server(sim), "set_conf_param", key=f"{FSNAME}.{key}", value=value)


def _mgs_server(sim: SimHarness) -> str:
    return next(h for h in HOSTS if "conf_params" in sim.server(h).lustre_state())


def _differences(sim: SimHarness) -> list[SettingDifference]:
    with sim.database.session() as session:
        filesystem = session.get(Filesystem, sim.filesystem_id)
        assert filesystem is not None
        return settings_differences(session, filesystem)


def _rows(sim: SimHarness) -> list[tuple[str, str | None, str | None]]:
    return [(d.lustre_key, d.ours, d.reported) for d in _differences(sim)]


def test_a_conf_param_changed_by_hand_is_a_difference_and_an_alert_until_put_back(
    database: Database,
):
    sim = SimHarness(database)
    subject = ("filesystem", sim.filesystem_id)
    _set_and_apply(sim, {"sys.timeout": "40", "llite.max_cached_mb": "64"})
    sim.report_all()
    assert _differences(sim) == []
    assert sim.alert(AlertKind.SETTINGS_CHANGED_OUT_OF_BAND, subject) is None

    mgs = _mgs_server(sim)
    assert sim.run(mgs, ["lctl", "conf_param", f"{FSNAME}.sys.timeout=100"]) == 0
    assert sim.run(mgs, ["lctl", "set_param", "-P", f"osc.{OST0}-*.max_rpcs_in_flight=16"]) == 0
    sim.report_all()
    assert _rows(sim) == [
        (f"{FSNAME}-OST0000.osc.max_rpcs_in_flight", None, "16"),
        (f"{FSNAME}.sys.timeout", "40", "100"),
    ]
    first = _differences(sim)
    alert = sim.alert(AlertKind.SETTINGS_CHANGED_OUT_OF_BAND, subject)
    assert alert is not None
    assert alert.message == (
        f"Settings of {FSNAME} were changed outside Chroma Desktop: "
        f"{OST0}.osc.max_rpcs_in_flight, {FSNAME}.sys.timeout"
    )
    assert [(e["parameter"], e["set"], e["reported"]) for e in alert.evidence] == _rows(sim)
    assert any(m.startswith(f"Settings of {FSNAME} were changed") for m in sim.events())

    # The same report again: the same differences, since the same time, one alert.
    sim.advance(30)
    sim.report_all()
    assert _differences(sim) == first
    assert len(sim.history(AlertKind.SETTINGS_CHANGED_OUT_OF_BAND)) == 1

    # Put back by hand (a value written another way counts as the same).
    assert sim.run(mgs, ["lctl", "conf_param", f"{FSNAME}.sys.timeout=40"]) == 0
    assert sim.run(mgs, ["lctl", "set_param", "-P", "-d", f"osc.{OST0}-*.max_rpcs_in_flight"]) == 0
    sim.report_all()
    assert _differences(sim) == []
    assert sim.alert(AlertKind.SETTINGS_CHANGED_OUT_OF_BAND, subject) is None
    cleared = sim.history(AlertKind.SETTINGS_CHANGED_OUT_OF_BAND)
    assert len(cleared) == 1 and cleared[0].cleared_at is not None


def test_a_parameter_we_set_that_the_server_lost_is_a_difference(database: Database):
    sim = SimHarness(database)
    _set_and_apply(sim, {"sys.at_max": "600"})
    assert sim.run(_mgs_server(sim), ["lctl", "conf_param", "-d", f"{FSNAME}.sys.at_max"]) == 0
    sim.report_all()
    assert _rows(sim) == [(f"{FSNAME}.sys.at_max", "600", None)]


def test_what_is_saved_but_not_applied_is_pending_not_a_difference(database: Database):
    sim = SimHarness(database)
    _set_and_apply(sim, {"sys.timeout": "40"})
    with database.session(actor="test") as session:
        filesystem = session.get(Filesystem, sim.filesystem_id)
        assert filesystem is not None
        inventory.set_conf_params(session, filesystem, {"sys.timeout": "80"})
    sim.report_all()
    assert _differences(sim) == []
    assert (
        sim.alert(AlertKind.SETTINGS_CHANGED_OUT_OF_BAND, ("filesystem", sim.filesystem_id)) is None
    )


def test_values_are_compared_as_the_catalogue_normalises_them(database: Database):
    sim = SimHarness(database)
    mdt = f"{FSNAME}-MDT0000"
    with sim.database.session(actor="test") as session:
        filesystem = session.get(Filesystem, sim.filesystem_id)
        assert filesystem is not None
        target = next(t for t in filesystem.targets if t.name == mdt)
        inventory.set_conf_params(session, target, {"lov.stripesize": "1M"})
        filesystem.mgs.conf_param_version_applied = filesystem.mgs.conf_param_version
    assert sim.run(_mgs_server(sim), ["lctl", "conf_param", f"{mdt}.lov.stripesize=1M"]) == 0
    sim.report_all()
    assert _differences(sim) == []
    with database.session() as session:
        kept = session.scalars(
            select(ReportedConfParam.value).where(ReportedConfParam.key == "lov.stripesize")
        ).all()
    assert kept == ["1048576"]


def test_an_admin_adopting_a_hand_made_setting_clears_the_alert_when_the_job_ends(
    database: Database,
):
    sim = SimHarness(database)
    subject = ("filesystem", sim.filesystem_id)
    assert sim.run(_mgs_server(sim), ["lctl", "conf_param", f"{FSNAME}.sys.timeout=100"]) == 0
    sim.report_all()
    assert sim.alert(AlertKind.SETTINGS_CHANGED_OUT_OF_BAND, subject) is not None
    # The admin makes it ours: saved, and an ApplyConfParamsJob is running.
    with database.session(actor="test") as session:
        filesystem = session.get(Filesystem, sim.filesystem_id)
        assert filesystem is not None
        inventory.set_conf_params(session, filesystem, {"sys.timeout": "100"})
        job = Job(
            kind="ApplyConfParamsJob",
            description="Apply conf params",
            state=RunState.RUNNING,
            subject_kind="target",
            subject_id=filesystem.mgs_id,
        )
        session.add(job)
        session.flush()
        job_id, mgs_id = job.id, filesystem.mgs_id
    sim.report_all()
    assert sim.alert(AlertKind.SETTINGS_CHANGED_OUT_OF_BAND, subject) is not None, "not yet applied"
    with database.session(actor="test") as session:
        row = session.get(Job, job_id)
        mgs = session.get(Target, mgs_id)
        assert row is not None and mgs is not None
        row.state = RunState.SUCCEEDED
        mgs.conf_param_version_applied = mgs.conf_param_version
    sim.engine.job_finished(job_id)
    assert _differences(sim) == []
    assert sim.alert(AlertKind.SETTINGS_CHANGED_OUT_OF_BAND, subject) is None, "no report needed"


def test_a_target_mounted_by_hand_from_another_directory_is_a_difference(database: Database):
    sim = SimHarness(database)
    subject = ("filesystem", sim.filesystem_id)
    host = next(
        h for h in HOSTS if any(m["label"] == OST0 for m in sim.server(h).lustre_state()["mounts"])
    )
    device = sim.devices[OST0]
    ours = f"/mnt/{OST0}"
    assert sim.run(host, ["umount", ours]) == 0
    assert sim.run(host, ["mkdir", "-p", "/lustre/ost0"]) == 0
    assert sim.run(host, ["mount", "-t", "lustre", device, "/lustre/ost0"]) == 0
    sim.report_all()
    assert _rows(sim) == [(f"{OST0}.mount_point", ours, "/lustre/ost0")]
    alert = sim.alert(AlertKind.SETTINGS_CHANGED_OUT_OF_BAND, subject)
    assert alert is not None and f"{OST0}.mount_point" in alert.message

    assert sim.run(host, ["umount", "/lustre/ost0"]) == 0
    sim.report_all()
    assert _differences(sim) == [], "not running: nothing reported to differ"
    assert sim.run(host, ["mount", "-t", "lustre", device, ours]) == 0
    sim.report_all()
    assert _differences(sim) == []
    assert sim.alert(AlertKind.SETTINGS_CHANGED_OUT_OF_BAND, subject) is None
