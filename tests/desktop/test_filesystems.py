"""The Filesystems screen and the create-filesystem wizard on the simulator: a filesystem made
from two paired servers' volumes, shown running with its mount command and its targets, and a
name Lustre would refuse stopped in the wizard with Lustre's rule beside the field."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from agentlink.runtime import ReactorThread
from chroma_desktop.dialogs.create_filesystem import CreateFilesystemDialog
from chroma_desktop.dialogs.plan import PlanDialog
from chroma_desktop.itemmodels.records import RecordFilterProxy
from chroma_desktop.views.filesystems import FilesystemsView
from chroma_desktop.views.targets import TargetsView
from chroma_desktop.window import MainWindow
from core.database import Database
from core.models import HaStatus
from core.queries.filesystems import VolumeChoice
from tests.desktop.conftest import WAIT_S, Site, start_site

WAIT_MS = int(WAIT_S * 1000)
CREATE_MS = 90_000
FSNAME = "scratch"
HURRY = 20.0
"""How much faster than the real tools the simulated servers run their commands here: a real
OST format takes the simulator 40 s, which would make this the slowest test of the suite."""


@pytest.fixture
def site(
    tmp_path: Path, reactor_thread: ReactorThread, sqlite_database: Database
) -> Iterator[Site]:
    """Two simulated servers (an HA pair) running their commands HURRY times faster."""
    yield from start_site(tmp_path, reactor_thread, sqlite_database, 2, speed=HURRY)


def cells(proxy: RecordFilterProxy, title: str) -> list[str]:
    """The texts of one column, top to bottom, as shown."""
    source = proxy.sourceModel()
    column = [source.headerData(c, Qt.Orientation.Horizontal) for c in range(proxy.columnCount())]
    at = column.index(title)
    return [str(proxy.index(row, at).data()) for row in range(proxy.rowCount())]


def shown_ids(proxy: RecordFilterProxy) -> set[int]:
    source = proxy.sourceModel()
    return {
        source.record(proxy.mapToSource(proxy.index(row, 0)).row()).id  # type: ignore[attr-defined]
        for row in range(proxy.rowCount())
    }


def open_wizard(qtbot: Any, window: MainWindow) -> tuple[FilesystemsView, CreateFilesystemDialog]:
    view = window.show_view(FilesystemsView)
    assert isinstance(view, FilesystemsView)
    qtbot.mouseClick(view.new_button, Qt.MouseButton.LeftButton)
    assert view.wizard is not None and view.wizard.isVisible()
    return view, view.wizard


def test_the_wizard_creates_a_filesystem_that_comes_up_with_its_targets_mounted(
    qtbot: Any, window: MainWindow, site: Site
) -> None:
    view, wizard = open_wizard(qtbot, window)
    assert not wizard.plan_button.isEnabled()
    site.pair("sim-mds1")
    site.pair("sim-mds2")

    # the storage plugins turn both servers' device reports into shared volumes
    def shared() -> list[VolumeChoice]:
        return [v for v in wizard.ost_volumes.model.rows if v.failover]

    qtbot.waitUntil(lambda: len(shared()) >= 4, timeout=WAIT_MS)
    volumes = shared()
    assert all(v.ha_status == HaStatus.CONFIGURED_HA for v in volumes)

    qtbot.keyClicks(wizard.name, FSNAME)
    assert wizard.name_error.isHidden()
    mgt, mdt, *osts = sorted(volumes, key=lambda v: (v.size_bytes or 0, v.id))
    wizard.mgt_volume.choose(mgt.id)
    # a volume chosen in one section disappears from the others
    assert mgt.id not in shown_ids(wizard.mdt_volume.proxy)
    assert mgt.id not in shown_ids(wizard.ost_volumes.proxy)
    wizard.mdt_volume.choose(mdt.id)
    assert mdt.id not in shown_ids(wizard.ost_volumes.proxy)
    assert mdt.id in shown_ids(wizard.mdt_volume.proxy)
    wizard.advanced.setChecked(True)
    assert wizard.file_limit.text() == f"{(mdt.size_bytes or 0) // 2048:,} files"
    chosen_osts = osts[:2]
    for ost in chosen_osts:
        wizard.ost_volumes.choose(ost.id)
    assert "Estimated file system capacity" in wizard.capacity.text()
    assert "2 OSTs" in wizard.capacity.text()
    assert mgt.summary in wizard.mgt_volume.picked.text()

    assert wizard.plan_button.isEnabled()
    qtbot.mouseClick(wizard.plan_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: wizard.plan_dialog is not None, timeout=WAIT_MS)
    dialog = wizard.plan_dialog
    assert isinstance(dialog, PlanDialog)
    assert FSNAME in dialog.windowTitle()
    jobs = [dialog.jobs_model.item(row, 0).text() for row in range(dialog.jobs_model.rowCount())]
    assert len(jobs) >= 4, jobs
    commands = []
    for row in range(dialog.jobs_model.rowCount()):
        dialog.jobs_view.setCurrentIndex(dialog.jobs_model.index(row, 0))
        commands.append(dialog.commands.toPlainText())
    # every server and every target's step is shown; mkfs.lustre's NIDs are learnt on the way
    text = "\n".join(commands)
    for target in (f"{FSNAME}-MDT0000", f"{FSNAME}-OST0000", f"{FSNAME}-OST0001"):
        assert f"Format {target} on sim-mds" in text, text
    assert "lctl network up" in text
    if dialog.confirm.isVisible():  # formatting asks the admin to confirm what is lost
        assert not dialog.run_button.isEnabled()
        dialog.confirm.setChecked(True)
    with qtbot.waitSignal(wizard.command_started, timeout=WAIT_MS):
        qtbot.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.wizard is None, timeout=WAIT_MS)
    assert "command" in view.status.text()

    qtbot.waitUntil(lambda: FSNAME in cells(view.proxy, "Name"), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: cells(view.proxy, "State") == ["available"], timeout=CREATE_MS)
    assert cells(view.proxy, "OSTs") == ["2"]
    assert cells(view.proxy, "MDT") == [f"{FSNAME}-MDT0000"]
    assert view.select(FSNAME)
    qtbot.waitUntil(lambda: view.copy_button.isEnabled(), timeout=WAIT_MS)
    command = view.mount_command.text()
    assert command.startswith("mount -t lustre ") and command.endswith(
        f":/{FSNAME} /mnt/{FSNAME}"
    ), command
    assert "@" in command  # the MGS servers' NIDs
    view.copy_mount_command()
    assert QApplication.clipboard().text() == command
    names = cells(view.targets_proxy, "Name")
    assert sorted(names) == sorted(
        ["MGS", f"{FSNAME}-MDT0000", f"{FSNAME}-OST0000", f"{FSNAME}-OST0001"]
    )
    qtbot.waitUntil(lambda: "Stop" in " ".join(view.object_actions.buttons), timeout=WAIT_MS)

    # a second filesystem can use the running MGS; the volumes now in use are no longer offered,
    # and a name that MGS already serves is refused beside the plan button, with no plan shown
    _view, second = open_wizard(qtbot, window)
    qtbot.waitUntil(lambda: second.use_existing_mgs.isEnabled(), timeout=WAIT_MS)
    assert second.mgs.currentText() == f"MGS on sim-mds1 (serves {FSNAME})"
    used = {mgt.id, mdt.id, *(ost.id for ost in chosen_osts)}
    assert not used & {v.id for v in second.ost_volumes.model.rows}
    second.use_existing_mgs.setChecked(True)
    free = [v for v in second.ost_volumes.model.rows if v.failover]
    second.mdt_volume.choose(free[0].id)
    second.ost_volumes.choose(free[1].id)
    qtbot.keyClicks(second.name, FSNAME)
    assert second.plan_button.isEnabled()
    qtbot.mouseClick(second.plan_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: second.error.isVisible(), timeout=WAIT_MS)
    assert f"already serves a filesystem named {FSNAME}" in second.error.text()
    assert second.plan_dialog is None and second.plan_button.isEnabled()
    second.reject()

    targets = window.show_view(TargetsView)
    assert isinstance(targets, TargetsView)
    qtbot.waitUntil(lambda: targets.proxy.rowCount() == 4, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: cells(targets.proxy, "State") == ["mounted"] * 4, timeout=CREATE_MS)
    assert all(server for server in cells(targets.proxy, "Active server"))
    targets.filter.setText("OST")
    assert sorted(cells(targets.proxy, "Name")) == [f"{FSNAME}-OST0000", f"{FSNAME}-OST0001"]
    assert targets.count.text() == "2 of 4"
    assert targets.select(f"{FSNAME}-OST0001")
    qtbot.waitUntil(lambda: "Stop" in " ".join(targets.object_actions.buttons), timeout=WAIT_MS)

    # the conf params editor: a value breaking the catalogue's rule is refused and nothing is
    # saved; a good one is saved, pending, then applied to the servers through its plan
    view = window.show_view(FilesystemsView)
    assert isinstance(view, FilesystemsView)
    assert view.select(FSNAME)
    editor = view.open_conf_params()
    assert editor is not None
    qtbot.waitUntil(lambda: editor.sheet is not None, timeout=WAIT_MS)
    assert [editor.subject_box.itemText(i) for i in range(editor.subject_box.count())] == [
        FSNAME,
        f"{FSNAME}-MDT0000",
        f"{FSNAME}-OST0000",
        f"{FSNAME}-OST0001",
    ]
    assert not editor.apply_button.isEnabled()  # nothing saved is waiting
    assert editor.select(FSNAME, "sys.timeout")
    editor.value.setText("soon")
    editor.set_value()
    editor.save()
    qtbot.waitUntil(lambda: "is not valid" in editor.status.text(), timeout=WAIT_MS)
    assert "sys.timeout 'soon'" in editor.status.text()
    assert editor.save_button.isEnabled()  # the edit is kept, to be corrected
    editor.value.setText("100")
    editor.set_value()
    assert editor.select(FSNAME, "sys.timeout")
    assert editor.selected() is not None and editor.selected().value == "100"
    assert "100 (unsaved)" in cells(editor.proxy, "Value")
    editor.save()
    qtbot.waitUntil(lambda: "saved as version" in editor.status.text(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: editor.apply_button.isEnabled(), timeout=WAIT_MS)
    assert "default (pending)" in cells(editor.proxy, "On the servers")
    qtbot.mouseClick(editor.apply_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: editor.planner.dialog is not None, timeout=WAIT_MS)
    plan = editor.planner.dialog
    assert plan is not None
    plan.jobs_view.setCurrentIndex(plan.jobs_model.index(0, 0))
    assert f"{FSNAME}.sys.timeout" in plan.commands.toPlainText()
    qtbot.mouseClick(plan.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Applying: command" in editor.status.text(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "applied the values" in editor.status.text(), timeout=CREATE_MS)
    qtbot.waitUntil(lambda: editor.sheet is not None and not editor.sheet.pending, timeout=WAIT_MS)
    assert editor.select(FSNAME, "sys.timeout")
    assert (
        cells(editor.proxy, "On the servers")[cells(editor.proxy, "Parameter").index("sys.timeout")]
        == "100"
    )
    editor.reject()


@pytest.mark.parametrize(
    ("name", "shown"),
    [("toolongname", "1 to 8"), ("bad-name", "letters, digits or underscores"), ("x y", "1 to 8")],
)
def test_a_name_lustre_refuses_shows_its_rule_and_no_plan_can_be_asked_for(
    qtbot: Any, window: MainWindow, name: str, shown: str
) -> None:
    _view, wizard = open_wizard(qtbot, window)
    qtbot.keyClicks(wizard.name, name)
    assert wizard.name_error.isVisible()
    assert shown in wizard.name_error.text()
    assert not wizard.plan_button.isEnabled()
    wizard.name.clear()
    qtbot.keyClicks(wizard.name, "ok_1")
    assert not wizard.name_error.isVisible()
    assert not wizard.plan_button.isEnabled()  # no volumes chosen yet
    wizard.reject()
