"""Building records for log store tests, including the anchor benchmark's Lustre lines."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

ANCHORS = Path(__file__).resolve().parents[4] / "shared/bench/log_anchors.py"
SEVERITIES = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"]


def record(t: float, message: str, severity: str = "info", source: str = "kernel") -> Any:
    return {
        "kind": "log",
        "t": t,
        "severity": severity,
        "facility": "kern",
        "source": source,
        "message": message,
    }


def anchors() -> ModuleType:
    spec = importlib.util.spec_from_file_location("log_anchors", ANCHORS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def anchor_entries(count: int, seed: int = 1) -> Iterator[tuple[str, Any]]:
    """(host, record) pairs of the anchor script's Lustre-like lines."""
    for t, host, severity, message in anchors().lines(count, seed):
        yield host, record(float(t), message, SEVERITIES[severity], "syslog")
