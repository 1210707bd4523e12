"""Offline archives in the window: the simulator-backed site's history exported through
File → Export history…, then opened with File → Open archive… in a read-only window showing
the same screens, with no agents and nothing that changes anything."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from chroma_desktop.history import Subject, SubjectKind
from chroma_desktop.offline import ArchiveWindow
from chroma_desktop.views import VIEW_TITLES
from chroma_desktop.views.base import AppContext, LiveView
from chroma_desktop.views.charts import ChartsView
from chroma_desktop.views.commands import CommandsView
from chroma_desktop.views.events import EventsView
from chroma_desktop.views.logs import LogsView
from chroma_desktop.views.servers import ServersView
from chroma_desktop.window import MainWindow
from core.states import RunState
from tests.desktop.conftest import WAIT_S, Site
from tests.desktop.history_support import context, reboot
from tests.desktop.test_commands import paired_with_lnet_unloaded, request_lnet_up
from tests.desktop.test_logs import STARTED, search

WAIT_MS = int(WAIT_S * 1000)
__all__ = ["context"]  # the fixture


def command_state(site: Site, command_id: int) -> RunState | None:
    from core.models import Command

    with site.manager.database.session() as session:
        command = session.get(Command, command_id)
        return None if command is None else command.state


def test_an_exported_history_opens_read_only_with_the_same_screens(
    qtbot: Any, context: AppContext, site: Site, tmp_path: Path
) -> None:
    window = MainWindow(context.bridge)
    qtbot.addWidget(window)
    window.show()
    window.attach(context)
    assert context.history is not None

    # a site with history: a server paired, a command run on it, its syslog, its statistics
    host_id = paired_with_lnet_unloaded(qtbot, site, "sim-mds1")
    command_id = request_lnet_up(site, host_id)
    qtbot.waitUntil(lambda: command_state(site, command_id) == RunState.SUCCEEDED, timeout=WAIT_MS)
    reboot(site, "sim-mds1")
    address = site.address("sim-mds1")
    server = Subject(SubjectKind.SERVER, address)
    qtbot.waitUntil(
        lambda: (
            server in context.history.subjects().result()  # type: ignore[union-attr]
            and STARTED
            in [
                line.message
                for line in context.history.search_logs(STARTED).result().lines  # type: ignore[union-attr]
            ]
        ),
        timeout=WAIT_MS,
    )
    with site.manager.database.session() as session:
        from core.models import Command

        message = session.get(Command, command_id).message  # type: ignore[union-attr]

    # File → Export history…: the range, the file, Export; the result in the message bar
    dialog = window.export_history()
    assert dialog is not None
    now = context.clock()
    dialog.set_range(now - 3600, now + 120)
    path = tmp_path / "site.chroma-archive"
    dialog.path_edit.setText(str(path))
    qtbot.mouseClick(
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton
    )
    qtbot.waitUntil(lambda: window.message_bar.label.text().startswith("Exported"), timeout=WAIT_MS)
    assert window.message_bar.isVisible()
    assert "1 command," in window.message_bar.label.text()
    assert path.is_file()

    # File → Open archive…: a window of its own, saying what it is
    window.open_archive(path)
    qtbot.waitUntil(lambda: bool(window.archive_windows), timeout=WAIT_MS)
    archive_window = window.archive_windows[0]
    assert isinstance(archive_window, ArchiveWindow)
    extracted = archive_window.session.archive.directory
    try:
        banner = archive_window.offline_banner
        assert banner.isVisible()
        assert banner.text().startswith("Offline archive site.chroma-archive, ")
        assert "read-only" in banner.text()
        assert "Offline archive site.chroma-archive" in archive_window.windowTitle()
        assert not archive_window.export_action.isEnabled()
        assert archive_window.links_label.text() == "Offline archive: no agents"

        commands = archive_window.show_view(CommandsView)
        assert isinstance(commands, CommandsView)
        qtbot.waitUntil(lambda: commands.model.row_of(command_id) is not None, timeout=WAIT_MS)
        row = commands.model.row_of(command_id)
        assert row is not None and commands.model.record(row).message == message
        assert not commands.cancel_button.isVisible()

        events = archive_window.show_view(EventsView)
        assert isinstance(events, EventsView)
        qtbot.waitUntil(lambda: events.model.rowCount() > 0, timeout=WAIT_MS)

        servers = archive_window.show_view(ServersView)
        assert isinstance(servers, ServersView)
        qtbot.waitUntil(lambda: servers.model.rowCount() == 1, timeout=WAIT_MS)
        assert not servers.add_button.isVisible()
        servers.table.selectRow(0)
        qtbot.waitUntil(
            lambda: servers.server_actions.note.text().startswith("Read-only archive"),
            timeout=WAIT_MS,
        )
        assert not servers.server_actions.buttons  # no action buttons at all

        logs = archive_window.show_view(LogsView)
        assert isinstance(logs, LogsView)
        assert not logs.tail_box.isVisible()
        search(qtbot, logs, '"chroma desktop" started')
        assert [line.message for line in logs.model.lines] == [STARTED]

        charts = archive_window.show_view(ChartsView)
        assert isinstance(charts, ChartsView)
        qtbot.waitUntil(lambda: server in charts.subjects(), timeout=WAIT_MS)
        charts.choose(server)
        memory = charts.plots[1]
        qtbot.waitUntil(lambda: memory.point_count() > 0, timeout=WAIT_MS)

        for row, title in enumerate(VIEW_TITLES):  # every screen opens on an archive
            archive_window.navigation.setCurrentRow(row)
            shown = archive_window.stack.currentWidget()
            assert isinstance(shown, LiveView) and shown.title == title
            qtbot.waitUntil(lambda v=shown: not v.loading, timeout=WAIT_MS)
        assert not archive_window.message_bar.isVisible()  # and none failed
    finally:
        archive_window.close()
    qtbot.waitUntil(lambda: not window.archive_windows, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not extracted.exists(), timeout=WAIT_MS)  # the private copy goes


def test_a_damaged_archive_is_a_message_not_a_window(
    qtbot: Any, context: AppContext, tmp_path: Path
) -> None:
    window = MainWindow(context.bridge)
    qtbot.addWidget(window)
    window.show()
    window.attach(context)
    path = tmp_path / "broken.chroma-archive"
    path.write_bytes(b"not an archive at all" * 50)
    window.open_archive(path)
    qtbot.waitUntil(
        lambda: "not a Chroma Desktop archive" in window.message_bar.label.text(),
        timeout=WAIT_MS,
    )
    assert str(path) in window.message_bar.label.text()
    assert not window.archive_windows
