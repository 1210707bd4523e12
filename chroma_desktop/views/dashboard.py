"""Dashboard: the site at a glance — health rolled up from the alerts, what there is (servers
connected, filesystems, targets by state), the active alerts, and live charts of throughput,
metadata operations and CPU summed over every server and target.

Layer: chroma_desktop. Thread: the GUI thread. The roll-up is read on the database worker
(`fetch`: `core.health.compute_health` and a few plain queries, redone only when the news says
an object or alert changed); the charts are fed from the history thread by `ChartFeed`s over
the stores' in-memory newest data, every `chart_interval_ms`, so a refresh stays cheap.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from html import escape

from PySide6.QtCore import QTimer
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QVBoxLayout
from sqlalchemy import select
from sqlalchemy.orm import Session

from agentlink.connector import LinkEvent, LinkState
from chroma_desktop.charts import WINDOWS, TimeSeriesPlot
from chroma_desktop.charts.feed import ChartFeed
from chroma_desktop.history import CPU, METADATA, READ, WRITE, Subject, SubjectKind
from chroma_desktop.views.base import AppContext, LiveView
from core.alerts import AlertChange
from core.health import HealthLevel, compute_health
from core.models import Alert, Severity
from core.scheduler import JobChanged, ObjectChanged
from core.scheduler.world import load_world

COLOURS = {HealthLevel.GREEN: "#1e7e34", HealthLevel.AMBER: "#b07800", HealthLevel.RED: "#b02a1a"}
REASONS_SHOWN = 5
RECENT_ALERTS = 5


@dataclass(frozen=True)
class HealthCount:
    what: str
    green: int
    amber: int
    red: int


@dataclass(frozen=True)
class DashboardData:
    level: HealthLevel
    reasons: tuple[str, ...]
    """The worst first: "sim-oss1: server offline"."""
    health: tuple[HealthCount, ...]
    servers: int
    filesystems: int
    targets_by_state: tuple[tuple[str, int], ...]
    alerts_by_severity: tuple[tuple[str, int], ...]
    recent_alerts: tuple[str, ...]


def read_dashboard(session: Session) -> DashboardData:
    """Database worker: the roll-up, as frozen values."""
    world = load_world(session)
    report = compute_health(session)
    names = (
        ("Servers", report.hosts, {i: h.label for i, h in world.hosts.items()}),
        ("Targets", report.targets, {i: t.name for i, t in world.targets.items()}),
        ("Filesystems", report.filesystems, {i: f.name for i, f in world.filesystems.items()}),
    )
    counts, reasons = [], []
    level = HealthLevel.GREEN
    for what, healths, name_of in names:
        tally = Counter(h.level for h in healths.values())
        counts.append(
            HealthCount(
                what, tally[HealthLevel.GREEN], tally[HealthLevel.AMBER], tally[HealthLevel.RED]
            )
        )
        for ident, health in healths.items():
            if health.level.rank > level.rank:
                level = health.level
            reasons += [
                (health.level.rank, f"{name_of.get(ident, ident)}: {r}") for r in health.reasons
            ]
    reasons.sort(key=lambda pair: -pair[0])
    states = Counter(t.state for t in world.targets.values())
    alerts = list(
        session.scalars(
            select(Alert).where(Alert.cleared_at.is_(None)).order_by(Alert.raised_at.desc())
        )
    )
    severities = Counter(Severity(a.severity).name.lower() for a in alerts)
    return DashboardData(
        level=level,
        reasons=tuple(dict.fromkeys(r for _, r in reasons)),
        health=tuple(counts),
        servers=len(world.hosts),
        filesystems=len(world.filesystems),
        targets_by_state=tuple(sorted(states.items())),
        alerts_by_severity=tuple(
            (name, severities[name])
            for name in (s.name.lower() for s in sorted(Severity, reverse=True))
            if severities[name]
        ),
        recent_alerts=tuple(a.message for a in alerts[:RECENT_ALERTS]),
    )


class DashboardView(LiveView):
    title = "Dashboard"

    def __init__(self, context: AppContext) -> None:
        super().__init__(context)
        self.chart_interval_ms = 10_000
        self.data: DashboardData | None = None
        self.health_label = QLabel("Reading…")
        self.health_label.setWordWrap(True)
        self.counts_label = QLabel()
        self.connected_label = QLabel()
        self.alerts_label = QLabel()
        self.alerts_label.setWordWrap(True)
        summary = QGridLayout()
        summary.addWidget(self.health_label, 0, 0, 1, 2)
        summary.addWidget(self.connected_label, 1, 0)
        summary.addWidget(self.counts_label, 1, 1)
        summary.addWidget(self.alerts_label, 2, 0, 1, 2)
        everything = Subject(SubjectKind.ALL)
        window = WINDOWS[0]
        self.throughput = TimeSeriesPlot("Read and write bandwidth", "B/s")
        self.metadata = TimeSeriesPlot("Metadata operations", "ops/s")
        self.cpu = TimeSeriesPlot("CPU (all servers)", "%")
        self.plots = (self.throughput, self.metadata, self.cpu)
        self.feeds = (
            ChartFeed(context, self.throughput, everything, (READ, WRITE), window),
            ChartFeed(context, self.metadata, everything, (METADATA,), window),
            ChartFeed(context, self.cpu, everything, (CPU,), window),
        )
        charts = QHBoxLayout()
        for plot in self.plots:
            charts.addWidget(plot)
        layout = QVBoxLayout(self)
        layout.addLayout(summary)
        layout.addLayout(charts, 1)
        self._chart_timer = QTimer(self)
        self._chart_timer.timeout.connect(self._refresh_charts)
        self._show_links()

    # --- LiveView -------------------------------------------------------------------------------

    def is_stale_after(self, event: object) -> bool:
        if isinstance(event, LinkEvent):
            self._show_links()
            return True  # a server offline is an alert
        return isinstance(event, (AlertChange, ObjectChanged)) or (
            isinstance(event, JobChanged) and event.state.finished
        )

    def fetch(self, session: Session) -> DashboardData:
        return read_dashboard(session)

    def show_data(self, data: DashboardData) -> None:
        self.data = data
        colour = COLOURS[data.level]
        reasons = "; ".join(data.reasons[:REASONS_SHOWN])
        more = len(data.reasons) - REASONS_SHOWN
        if more > 0:
            reasons += f" and {more} more"
        headline = {
            HealthLevel.GREEN: "All is well",
            HealthLevel.AMBER: "Needs attention",
            HealthLevel.RED: "Something is down",
        }[data.level]
        self.health_label.setText(
            f'<b style="color:{colour}; font-size:15pt">{headline}</b>'
            + (f"<br>{escape(reasons)}" if reasons else "")
        )
        health = ", ".join(f"{c.what.lower()}: {_tally(c)}" for c in data.health if _any(c))
        states = ", ".join(f"{n} {state}" for state, n in data.targets_by_state) or "none"
        self.counts_label.setText(
            f"{data.filesystems} filesystem{'s' if data.filesystems != 1 else ''}; "
            f"targets: {states}" + (f"<br>Health — {health}" if health else "")
        )
        if data.alerts_by_severity:
            by_severity = ", ".join(f"{n} {name}" for name, n in data.alerts_by_severity)
            recent = "".join(f"<br>• {escape(m)}" for m in data.recent_alerts)
            self.alerts_label.setText(f"<b>Active alerts:</b> {by_severity}{recent}")
        else:
            self.alerts_label.setText("No active alerts.")
        self._show_links()

    # --- inside ---------------------------------------------------------------------------------

    def connected_servers(self) -> int:
        links = self.context.bridge.links.values()
        return sum(1 for event in links if event.state == LinkState.CONNECTED)

    def _show_links(self) -> None:
        servers = self.data.servers if self.data is not None else len(self.context.bridge.links)
        self.connected_label.setText(f"{self.connected_servers()} of {servers} servers connected")

    def _refresh_charts(self) -> None:
        for feed in self.feeds:
            feed.refresh()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._refresh_charts()
        self._chart_timer.start(self.chart_interval_ms)

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        self._chart_timer.stop()


def _tally(count: HealthCount) -> str:
    parts = [(count.red, "red"), (count.amber, "amber"), (count.green, "green")]
    return " ".join(f"{n} {name}" for n, name in parts if n)


def _any(count: HealthCount) -> bool:
    return bool(count.green or count.amber or count.red)
