"""The conf params editor's read model and its save: every parameter of a filesystem and its
targets with the value saved, the value applied and what the MGS reports; a batch saved as one
unit, refused whole when one value breaks a rule."""

from __future__ import annotations

import re

import pytest

from core.database import Database
from core.errors import NotFoundError, ValidationError
from core.models import Filesystem
from core.queries.confparams import (
    ConfParamChange,
    ConfParamRow,
    conf_param_sheet,
    save_conf_params,
)
from tests.core.test_alerts import FSNAME, OST0, SimHarness


def _sheet(sim: SimHarness) -> dict[tuple[str, str], ConfParamRow]:
    with sim.database.session() as session:
        sheet = conf_param_sheet(session, sim.filesystem_id)
    assert sheet.filesystem == FSNAME
    assert sheet.subjects[0] == FSNAME
    return {(row.subject, row.key): row for row in sheet.rows}


def _save(sim: SimHarness, *changes: ConfParamChange) -> int:
    with sim.database.session(actor="alice") as session:
        return save_conf_params(session, sim.filesystem_id, changes)


def test_every_parameter_of_the_filesystem_and_its_targets_is_listed(database: Database) -> None:
    sim = SimHarness(database)
    rows = _sheet(sim)
    timeout = rows[(FSNAME, "sys.timeout")]
    assert timeout.lustre_key == f"{FSNAME}.sys.timeout"
    assert timeout.value is None and timeout.applied is None and not timeout.pending
    assert "timeout" in timeout.help.lower()
    active = rows[(OST0, "osc.active")]
    assert active.lustre_key == f"{OST0}.osc.active"
    assert (f"{FSNAME}-MDT0000", "lov.stripecount") in rows
    assert (OST0, "lov.stripecount") not in rows  # an MDT parameter, not an OST's
    assert (FSNAME, "osc.active") not in rows


def test_saved_values_are_pending_until_applied_then_not(database: Database) -> None:
    sim = SimHarness(database)
    version = _save(
        sim,
        ConfParamChange(FSNAME, "sys.timeout", "100"),
        ConfParamChange(OST0, "ost.read_cache_enable", "0"),
        ConfParamChange(FSNAME, "llite.max_cached_mb", "512"),
    )
    assert version == 2  # the filesystem's changes, then the OST's
    rows = _sheet(sim)
    assert rows[(FSNAME, "sys.timeout")].value == "100"
    assert rows[(FSNAME, "sys.timeout")].pending
    assert rows[(OST0, "ost.read_cache_enable")].pending
    with sim.database.session(actor="alice") as session:
        filesystem = session.get(Filesystem, sim.filesystem_id)
        assert filesystem is not None
        filesystem.mgs.conf_param_version_applied = version
    rows = _sheet(sim)
    assert rows[(FSNAME, "sys.timeout")].applied == "100"
    assert not any(row.pending for row in rows.values())

    _save(sim, ConfParamChange(FSNAME, "sys.timeout", None))  # back to Lustre's default
    timeout = _sheet(sim)[(FSNAME, "sys.timeout")]
    assert (timeout.value, timeout.applied, timeout.pending) == (None, "100", True)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (ConfParamChange(FSNAME, "sys.timeout", "soon"), "sys.timeout 'soon' is not valid"),
        (ConfParamChange(FSNAME, "osc.active", "1"), f"conf param of {FSNAME} 'osc.active'"),
        (ConfParamChange("otherfs", "sys.timeout", "5"), f"give {FSNAME} or one of its MDTs"),
    ],
)
def test_a_batch_with_one_bad_value_saves_nothing_and_names_it(
    database: Database, change: ConfParamChange, message: str
) -> None:
    sim = SimHarness(database)
    with pytest.raises(ValidationError, match=re.escape(message)):
        _save(sim, ConfParamChange(FSNAME, "llite.max_cached_mb", "512"), change)
    assert _sheet(sim)[(FSNAME, "llite.max_cached_mb")].value is None


def test_a_removed_filesystem_is_not_found(database: Database) -> None:
    sim = SimHarness(database)
    with sim.database.session() as session, pytest.raises(NotFoundError):
        conf_param_sheet(session, sim.filesystem_id + 100)
