"""What the history screens' tests share: an app context whose History is fed by the `site`
fixture's manager, and a way to make a simulated server log something."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agentlink.reports import parse_push
from chroma_desktop.bridge import Bridge
from chroma_desktop.history import History
from chroma_desktop.views.base import AppContext
from tests.desktop.conftest import Site


@pytest.fixture
def context(tmp_path: Path, site: Site, qt_leak_check: None) -> Iterator[AppContext]:
    bridge = Bridge()
    history = History(tmp_path / "data", on_error=bridge.report)
    history.attach(site.manager)
    site.manager.listeners.append(bridge.publish)
    yield AppContext(site.manager, bridge, actor="alice", history=history)
    site.manager.listeners.remove(bridge.publish)
    history.close()


def reboot(site: Site, server: str) -> None:
    """Crash and restore a simulated server: it boots again and logs its boot lines."""
    for fault in ("crash", "restore"):
        site.manager.reactor_thread.call_and_wait(lambda f=fault: site.cluster.fault(server, f))


class ReportFeed:
    """Stands in for the manager: hands reports to the handler `History.attach` registered."""

    def __init__(self) -> None:
        self.handlers: dict[str, Any] = {}

    def add_report_handler(self, kind: str, handler: Any) -> None:
        self.handlers[kind] = handler

    def push(self, host: str, records: list[dict[str, Any]]) -> None:
        body = {"kind": "records", "records": [[n, r] for n, r in enumerate(records, 1)]}
        self.handlers["records"](None, host, parse_push(host, body, received_at=datetime.now(UTC)))
