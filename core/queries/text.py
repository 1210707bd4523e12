"""How read models put times and durations into words, the same in the window, the CLI and the
API: moments in the admin's local time, spans in the largest units that matter.

Layer: core. Thread: any (pure functions).
"""

from __future__ import annotations

from datetime import datetime, timedelta


def when_text(moment: datetime | None) -> str:
    """`moment` in the local time zone ("2026-11-27 01:02:03"); "" if unknown."""
    return "" if moment is None else moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def duration_text(span: timedelta | None) -> str:
    """`span` as an admin reads it: "0.4 s", "12 s", "3 min 05 s", "2 h 10 min"; "" if none."""
    if span is None:
        return ""
    seconds = max(span.total_seconds(), 0.0)
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = int(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"
