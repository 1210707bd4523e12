"""The API's history resources: syslog lines (`log`), statistics series (`stats`) and offline
archives (`archive`), read from and written by the manager's history stores (history.py), the
same calls the Logs and Charts screens make.

Layer: chroma_desktop.api (no Qt, no Twisted). Threads: query strings are checked on the
caller's (the reactor) thread; the stores answer on the "chroma-history" thread and an export
runs on its own "chroma-export" thread (see History), each through a Future.

- GET /api/log/?q=WORDS&host=H[,H…]&severity=NAME&since=T&until=T&lustre_only=true&limit=N:
  the newest matching lines, newest first; `severity` keeps lines at least that severe.
- GET /api/stats/: every subject with history and its measures; GET /api/stats/?subject=
  server:NAME|target:NAME|filesystem:NAME|all&measure=TITLE&start=T&end=T&points=N: one
  series on a grid of at most N buckets (null where nothing was reported).
- POST /api/archive/ {"path", "start", "end"}: export that time range to a new archive file.

Times T are seconds since the epoch or ISO 8601 with a zone.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chroma_desktop.api.futures import chain, mapped
from chroma_desktop.api.schema import ApiError, Field, bad_input, check_body
from chroma_desktop.history import Subject, SubjectKind
from core.observations import SyslogSeverity

if TYPE_CHECKING:
    from chroma_desktop.history import History
    from core.database import Database

LOG_LIMIT = 500
MAX_LOG_LIMIT = 5000
STATS_POINTS = 60
MAX_POINTS = 2000
DEFAULT_SPAN_S = 3600

LOG_PARAMETERS = (
    ("q", "words to find (the log store's query language)"),
    ("host", "servers, comma-separated"),
    ("severity", "the least severe kept: emerg, alert, crit, err, warning, notice, info, debug"),
    ("since", "only lines at or after this time"),
    ("until", "only lines before this time"),
    ("lustre_only", "true: only Lustre's own lines"),
    ("limit", f"at most this many (default {LOG_LIMIT}, at most {MAX_LOG_LIMIT})"),
)
STATS_PARAMETERS = (
    ("subject", "server:NAME, target:NAME, filesystem:NAME or all"),
    ("measure", "a measure of that subject, by title (GET /api/stats/ lists them)"),
    ("start", f"from this time (default: {DEFAULT_SPAN_S} s before end)"),
    ("end", "to this time (default: now)"),
    ("points", f"at most this many buckets (default {STATS_POINTS}, at most {MAX_POINTS})"),
)
ARCHIVE_BODY = (
    Field("path", "string", "where to write the archive: an absolute path", required=True),
    Field("start", "string", "the range's start (ISO 8601 or epoch seconds)", required=True),
    Field("end", "string", "the range's end (ISO 8601 or epoch seconds)", required=True),
)


def parse_time(field: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise bad_input(field, "seconds since the epoch or ISO 8601 time", text) from None
        if moment.tzinfo is None:
            raise bad_input(field, "an ISO 8601 time with its zone, e.g. +00:00", text) from None
        return moment.timestamp()
    if not math.isfinite(value) or value < 0:
        raise bad_input(field, "a time after 1970", text)
    return value


def _count(field: str, text: str | None, default: int, most: int) -> int:
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise bad_input(field, "a whole number", text) from None
    if not 1 <= value <= most:
        raise bad_input(field, f"from 1 to {most}", text)
    return value


def _known_only(query: Mapping[str, str], allowed: tuple[tuple[str, str], ...]) -> None:
    names = [name for name, _ in allowed]
    for name in query:
        if name not in names:
            raise bad_input(name, f"not a parameter here (parameters: {', '.join(names)})")


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat()


def _number(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def search_logs(history: History, query: Mapping[str, str]) -> Future[Any]:
    _known_only(query, LOG_PARAMETERS)
    severities = None
    if "severity" in query:
        names = {s.name.lower(): s for s in SyslogSeverity}
        worst = names.get(query["severity"].lower())
        if worst is None:
            raise bad_input("severity", f"one of {', '.join(names)}", query["severity"])
        severities = [s for s in SyslogSeverity if s <= worst]
    hosts = [h.strip() for h in query.get("host", "").split(",") if h.strip()] or None
    lustre_only = query.get("lustre_only", "false")
    if lustre_only not in ("true", "false"):
        raise bad_input("lustre_only", "true or false", lustre_only)
    limit = _count("limit", query.get("limit"), LOG_LIMIT, MAX_LOG_LIMIT)
    page = history.search_logs(
        query.get("q", ""),
        hosts=hosts,
        severities=severities,
        since=parse_time("since", query["since"]) if "since" in query else None,
        until=parse_time("until", query["until"]) if "until" in query else None,
        lustre_only=lustre_only == "true",
        limit=limit,
    )
    return mapped(
        page,
        lambda found: {
            "meta": {"limit": limit, "offset": 0, "total_count": len(found.lines)},
            "objects": [
                {
                    "seq": line.seq,
                    "time": _iso(line.t),
                    "host": line.host,
                    "severity": line.severity.name.lower(),
                    "facility": line.facility,
                    "source": line.source,
                    "message": line.message,
                }
                for line in found.lines
            ],
        },
    )


def _subject_key(subject: Subject) -> str:
    return "all" if subject.kind == SubjectKind.ALL else f"{subject.kind.value}:{subject.name}"


def stats(history: History, query: Mapping[str, str]) -> Future[Any]:
    _known_only(query, STATS_PARAMETERS)
    if "subject" not in query:
        if query:
            raise bad_input("subject", "required with any other parameter")
        return mapped(
            history.subjects(),
            lambda subjects: {
                "objects": [
                    {
                        "subject": _subject_key(s),
                        "label": s.label,
                        "measures": [m.title for m in s.measures],
                    }
                    for s in subjects
                ]
            },
        )
    wanted = query["subject"]
    end = parse_time("end", query["end"]) if "end" in query else time.time()
    start = parse_time("start", query["start"]) if "start" in query else end - DEFAULT_SPAN_S
    if start >= end:
        raise bad_input("start", "before end", query.get("start"))
    points = _count("points", query.get("points"), STATS_POINTS, MAX_POINTS)

    def chosen(subjects: tuple[Subject, ...]) -> Future[Any]:
        subject = next((s for s in subjects if _subject_key(s) == wanted), None)
        if subject is None:
            known = ", ".join(_subject_key(s) for s in subjects[:10])
            raise ApiError(
                404,
                f"There is no history of {wanted!r} (known: {known}).",
                field="subject",
                rule="one of the subjects GET /api/stats/ lists",
            )
        titles = {m.title: m for m in subject.measures}
        title = query.get("measure", subject.measures[0].title)
        measure = titles.get(title)
        if measure is None:
            raise bad_input("measure", f"one of {', '.join(titles)} for {wanted}", title)
        series = history.measure(subject, measure, int(start), int(end), points)
        return mapped(
            series,
            lambda found: {
                "subject": wanted,
                "measure": measure.title,
                "unit": measure.unit,
                "step": found.step,
                "points": [
                    {
                        "time": _iso(float(t)),
                        "avg": _number(float(found.avg[i])),
                        "low": None if found.low is None else _number(float(found.low[i])),
                        "high": None if found.high is None else _number(float(found.high[i])),
                    }
                    for i, t in enumerate(found.ts)
                ],
            },
        )

    return chain(history.subjects(), chosen)


def export(history: History, database: Database, body: object) -> Future[Any]:
    checked = check_body(body, ARCHIVE_BODY)
    path = Path(checked["path"])
    if not path.is_absolute():
        raise bad_input("path", "an absolute path", checked["path"])
    if path.exists():
        raise bad_input("path", "a new file: an archive never replaces an existing file", str(path))
    if not path.parent.is_dir():
        raise bad_input("path", "in a folder that exists", str(path))
    start = parse_time("start", checked["start"])
    end = parse_time("end", checked["end"])
    if start >= end:
        raise bad_input("start", "before end", checked["start"])
    return mapped(
        history.export_archive(path, database, start, end),
        lambda result: {
            "path": str(result.path),
            "size": result.size,
            "seconds": result.seconds,
            "description": result.describe(),
        },
    )
