"""The Commands screen on the simulator: a command started through the scheduler shows as it ran
(its state, its jobs as a tree, each step and what it printed), and a command cancelled from the
screen shows each job ending as it really did."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import QModelIndex, Qt
from sqlalchemy import select

from chroma_desktop.bridge import Bridge
from chroma_desktop.views.base import AppContext
from chroma_desktop.views.commands import JOB_ID_ROLE, CommandsView
from core.models import Host, LNetConfiguration
from core.ports import OutputStream
from core.queries.commands import JobSummary, job_tree
from core.scheduler import LNET, StepOutputArrived
from core.states import RunState
from tests.desktop.conftest import WAIT_S, Site

WAIT_MS = int(WAIT_S * 1000)


@pytest.fixture
def view(qtbot: Any, site: Site, qt_leak_check: None) -> Iterator[CommandsView]:
    bridge = Bridge()
    site.manager.listeners.append(bridge.publish)
    shown = CommandsView(AppContext(site.manager, bridge, actor="alice"))
    qtbot.addWidget(shown)
    shown.show()
    yield shown
    site.manager.listeners.remove(bridge.publish)


def lnet_state(site: Site, host_id: int) -> str | None:
    """What the desktop believes of the server's LNet (test thread: reads the database)."""
    with site.manager.database.session() as session:
        return session.scalar(
            select(LNetConfiguration.state)
            .join(Host, Host.id == LNetConfiguration.host_id)
            .where(Host.id == host_id)
        )


def paired_with_lnet_unloaded(qtbot: Any, site: Site, server: str) -> int:
    """Pair `server` and wait for its first report (LNet unloaded); returns its host id."""
    host_id = site.pair(server).host_id
    qtbot.waitUntil(lambda: lnet_state(site, host_id) == "unloaded", timeout=WAIT_MS)
    return host_id


def request_lnet_up(site: Site, host_id: int) -> int:
    command_id: int = site.manager.run(
        lambda s: s.request_state((LNET, host_id), "up", actor="alice")
    ).result(timeout=WAIT_S)
    return command_id


def cell(view: CommandsView, title: str) -> str:
    command = view.selected()
    if command is None:
        return ""
    columns = [c.title for c in view.model.columns]
    row = view.model.row_of(command.id)
    assert row is not None
    return str(view.model.index(row, columns.index(title)).data())


def tree_rows(view: CommandsView) -> list[tuple[int, str, str]]:
    """(depth, job, state) of every row of the job tree, depth first."""
    rows: list[tuple[int, str, str]] = []

    def walk(parent: QModelIndex, depth: int) -> None:
        for row in range(view.jobs.rowCount(parent)):
            name = view.jobs.index(row, 0, parent)
            state = view.jobs.index(row, 1, parent)
            rows.append((depth, str(name.data()), str(state.data())))
            walk(name, depth + 1)

    walk(QModelIndex(), 0)
    return rows


def test_a_command_shows_its_state_job_tree_steps_and_their_output(
    qtbot: Any, view: CommandsView, site: Site
) -> None:
    qtbot.waitUntil(lambda: view.empty.isVisible(), timeout=WAIT_MS)  # nothing done yet
    host_id = paired_with_lnet_unloaded(qtbot, site, "sim-mds1")
    command_id = request_lnet_up(site, host_id)

    view.show_command(command_id)
    qtbot.waitUntil(lambda: cell(view, "State") == "succeeded", timeout=WAIT_MS)
    assert cell(view, "By") == "alice" and cell(view, "Id") == str(command_id)
    assert not view.cancel_button.isEnabled()  # nothing left to cancel
    # Unloaded → up is two jobs: start LNet on top, waiting for load LNet beneath it.
    # The first command on a server sets it up, then loads LNet, then starts it: "start" is on
    # top, beneath it what it waits for (set up, load); set up is shown once, though load waits
    # for it too.
    qtbot.waitUntil(
        lambda: (
            [(d, s) for d, _, s in tree_rows(view)] == [(0, "succeeded")] + [(1, "succeeded")] * 2
        ),
        timeout=WAIT_MS,
    )
    names = [name for _, name, _ in tree_rows(view)]
    assert names == ["Start LNet on sim-mds1", "Set up server sim-mds1", "Load LNet on sim-mds1"]
    assert "succeeded" in view.command_label.text()

    top_index = view.jobs.index(0, 0)
    view.tree.setCurrentIndex(top_index)
    qtbot.waitUntil(lambda: view.steps.rowCount() > 0, timeout=WAIT_MS)
    steps = view.steps.rows
    assert all(step.state == RunState.SUCCEEDED for step in steps)
    first = str(view.steps.index(0, 0).data())
    assert first.startswith(f"1/{len(steps)} "), first
    assert view.steps.index(0, 1).data() == "sim-mds1"
    # The step shows what it ran on the server, what it printed and what it returned.
    qtbot.waitUntil(lambda: "--- stdout ---" in view.output.toPlainText(), timeout=WAIT_MS)
    output = view.output.toPlainText()
    assert "lctl network up" in output and "State: succeeded" in output, output
    stdout = output.split("--- stdout ---")[1].split("---")[0]
    assert "LNET configured" in stdout and "@tcp" in stdout, output
    assert '"nids"' in output.split("--- result ---")[1], output
    # What a step prints is shown the moment it arrives, without waiting for a reload.
    late = StepOutputArrived(view.steps.rows[0].id, OutputStream.STDERR, "a late warning\n")
    view.context.bridge.announce(late)
    assert "a late warning" in view.output.toPlainText().split("--- stderr ---")[1]


def test_cancelling_from_the_screen_ends_each_job_as_it_really_ended(
    qtbot: Any, view: CommandsView, site: Site
) -> None:
    host_id = paired_with_lnet_unloaded(qtbot, site, "sim-mds1")
    site.manager.reactor_thread.call_and_wait(lambda: site.cluster.fault("sim-mds1", "slow"))
    command_id = request_lnet_up(site, host_id)
    view.show_command(command_id)

    # Setting the server up now takes seconds, and loading and starting LNet wait for it.
    def states() -> dict[str, str]:
        return {name.split()[0]: state for _, name, state in tree_rows(view)}

    qtbot.waitUntil(lambda: states().get("Set") == "running", timeout=WAIT_MS)
    assert states() == {"Start": "pending", "Set": "running", "Load": "pending"}
    qtbot.waitUntil(view.cancel_button.isEnabled, timeout=WAIT_MS)
    qtbot.mouseClick(view.cancel_button, Qt.MouseButton.LeftButton)
    # Each job as it really ended: the jobs waiting are cancelled at once; the running one is
    # stopped on its server (the agent stops the command it runs) and ends cancelled too.
    qtbot.waitUntil(
        lambda: states() == {"Start": "cancelled", "Set": "cancelled", "Load": "cancelled"},
        timeout=WAIT_MS,
    )
    qtbot.waitUntil(lambda: cell(view, "State") == "cancelled", timeout=WAIT_MS)
    assert not view.cancel_button.isEnabled()
    # Loading LNet never ran: its steps say so, and the job says who cancelled it.
    load = view.jobs.index(1, 0, view.jobs.index(0, 0))
    view.tree.setCurrentIndex(load)
    qtbot.waitUntil(lambda: "Cancelled by alice" in view.job_label.text(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: view.steps.rowCount() > 0, timeout=WAIT_MS)
    assert view.steps.rows[0].state == RunState.CANCELLED
    assert load.data(JOB_ID_ROLE) == view.steps.rows[0].job_id


def _job(job_id: int, *waits_for: int) -> JobSummary:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    return JobSummary(
        job_id, "Job", f"job {job_id}", RunState.PENDING, None, None, True, now, None, None,
        None, waits_for, now,
    )  # fmt: skip


def test_the_job_tree_shows_each_job_once_at_its_shallowest_depth() -> None:
    # 4 waits for 2 and 3; 2 waits for 1 and 3; 3 waits for 1. 1 is reachable at depth 2 (via 2
    # and via 3) and shown once, under 2 (first in id order); 3 is shown at depth 1, not under 2.
    tree = job_tree([_job(1), _job(2, 1, 3), _job(3, 1), _job(4, 2, 3), _job(5)])
    shown = []

    def walk(nodes: Any, depth: int) -> None:
        for node in nodes:
            shown.append((depth, node.job.id))
            walk(node.children, depth + 1)

    walk(tree, 0)
    assert shown == [(0, 4), (1, 2), (2, 1), (1, 3), (0, 5)]
