"""The one entry the manager calls per agent push: every plugin that reads that report scans
it in isolation, and what the others found is applied to the database in the caller's session.

Layer: plugins. Thread: the database worker's (call it inside one unit of work; the session's
commit or rollback is the caller's). A garbled report raises ReportError before any plugin runs,
so it changes nothing; an unknown or removed host raises NotFoundError. A plugin that raises is
left out of this report, its resources kept as they were, and named in the outcome.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from core.inventory import get_live
from core.models import Host
from core.models.base import utcnow
from plugins.api import AgentReport, Plugin, Resource
from plugins.registry import FailureStage, PluginFailure, PluginRegistry, default_registry
from plugins.reports import parse_report
from plugins.store import (
    Change,
    Recorder,
    Rows,
    apply_network,
    derive_volumes,
    persist_resources,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ResourceSample:
    """One statistic sample a plugin reported, for the stats store."""

    plugin: str
    resource_class: str
    resource: str
    statistic: str
    kind: str
    units: str
    t: datetime
    value: float


@dataclass(frozen=True)
class PluginOutcome:
    """What one report changed, and which plugins failed (at load or on this report)."""

    host_id: int
    kind: str
    plugins_run: tuple[str, ...]
    changes: tuple[Change, ...]
    failures: tuple[PluginFailure, ...]
    warnings: tuple[str, ...]
    samples: tuple[ResourceSample, ...]

    @property
    def changed(self) -> bool:
        return bool(self.changes)


def apply_agent_report(
    session: Session,
    host_id: int,
    kind: str,
    body: object,
    *,
    registry: PluginRegistry | None = None,
    now: datetime | None = None,
) -> PluginOutcome:
    """Apply one push of `kind` ("devices", "lustre" or "network") from host `host_id`. `body`
    is the push as the agent sent it (see plugins.reports for the shapes)."""
    host = get_live(session, Host, host_id)
    parsed = parse_report(kind, body, host.label)
    registry = registry if registry is not None else default_registry()
    now = now if now is not None else utcnow()
    report = AgentReport(host.id, host.label, kind, now, parsed)

    failures = list(registry.failures)
    scanned: list[Plugin] = []
    for loaded in registry.for_kind(kind):
        try:
            plugin = loaded.instantiate()
            plugin.scan(report)
        except Exception as error:  # a plugin's own failure must not stop the others
            log.exception(
                "storage plugin %s failed on %s's %s report", loaded.name, host.label, kind
            )
            failures.append(
                PluginFailure(
                    loaded.name,
                    FailureStage.SCAN,
                    f"The storage plugin {loaded.name} failed on the {kind} report from "
                    f"{host.label}: {type(error).__name__}: {error}. What it reported before "
                    "is kept unchanged; the other plugins' results were applied.",
                )
            )
            continue
        scanned.append(plugin)

    recorder = Recorder()
    rows: Rows = {}
    resources: list[Resource] = []
    samples: list[ResourceSample] = []
    for plugin in scanned:
        reported = plugin.reported()
        rows.update(
            persist_resources(
                session,
                host,
                plugin.name,
                kind,
                reported,
                cull=not plugin.incomplete,
                now=now,
                recorder=recorder,
            )
        )
        resources.extend(reported)
        samples.extend(_samples(plugin, reported, now))
    if kind == "devices":
        derive_volumes(session, host, resources, rows, now=now, recorder=recorder)
    if kind in ("lustre", "network"):
        complete = [p for p in scanned if not p.incomplete]
        apply_network(
            session,
            host,
            [r for p in complete for r in p.reported()],
            nids_reported=kind == "lustre" and bool(complete),
            interfaces_reported=kind == "network" and bool(complete),
            recorder=recorder,
        )
    return PluginOutcome(
        host_id=host.id,
        kind=kind,
        plugins_run=tuple(p.name for p in scanned),
        changes=tuple(recorder.changes),
        failures=tuple(failures),
        warnings=tuple(recorder.warnings),
        samples=tuple(samples),
    )


def _samples(plugin: Plugin, resources: list[Resource], now: datetime) -> list[ResourceSample]:
    found = []
    for resource in resources:
        statistics = resource.statistics()
        for sample in resource.samples():
            statistic = statistics[sample.statistic]
            found.append(
                ResourceSample(
                    plugin=plugin.name,
                    resource_class=type(resource).__name__,
                    resource=resource.get_label(),
                    statistic=sample.statistic,
                    kind=statistic.kind,
                    units=statistic.units,
                    t=now,
                    value=sample.value,
                )
            )
    return found
