"""How `chroma` prints: tables for people, JSON for scripts (--json), plans of dry runs, and
one-object details.

Layer: chroma_desktop.cli (no Qt). Thread: the main thread. Everything goes to the given
stream (stdout unless a test passes another); progress and notes go to stderr elsewhere.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

Row = dict[str, Any]


@dataclass(frozen=True)
class Column:
    title: str
    value: Callable[[Row], object]


def _joined(key: str) -> Callable[[Row], object]:
    return lambda row: ", ".join(str(v) for v in row.get(key) or ())


def _key(key: str) -> Callable[[Row], object]:
    return lambda row: row.get(key)


def _size(key: str) -> Callable[[Row], object]:
    def shown(row: Row) -> object:
        from core.queries.filesystems import format_bytes  # SQLAlchemy loads only when needed

        return format_bytes(row.get(key))

    return shown


COLUMNS: dict[str, tuple[Column, ...]] = {
    "host": (
        Column("id", _key("id")),
        Column("server", _key("label")),
        Column("address", _key("address")),
        Column("state", _key("state")),
        Column("lnet", _key("lnet_state")),
        Column("nids", _joined("nids")),
        Column("paired", lambda r: "yes" if r.get("paired") else "no"),
    ),
    "volume": (
        Column("id", _key("id")),
        Column("name", _key("name")),
        Column("size", _key("size")),
        Column("primary", _key("primary_server")),
        Column("failover", _joined("failover_servers")),
        Column("target", _key("target")),
        Column("ha", _key("ha_status")),
    ),
    "filesystem": (
        Column("id", _key("id")),
        Column("name", _key("name")),
        Column("state", _key("state")),
        Column("mgs", _key("mgs_server")),
        Column("mdts", _joined("mdts")),
        Column("osts", _key("ost_count")),
        Column("size", _size("size_bytes")),
        Column("mount path", _key("mount_path")),
    ),
    "target": (
        Column("id", _key("id")),
        Column("name", _key("name")),
        Column("kind", _key("kind")),
        Column("state", _key("state")),
        Column("filesystem", _key("filesystem")),
        Column("running on", _key("active")),
        Column("primary", _key("primary")),
        Column("failover", _joined("failover")),
    ),
    "command": (
        Column("id", _key("id")),
        Column("state", _key("state")),
        Column("created", _key("created_at")),
        Column("jobs", _key("job_count")),
        Column("by", _key("actor")),
        Column("message", _key("message")),
    ),
    "job": (
        Column("id", _key("id")),
        Column("state", _key("state")),
        Column("description", _key("description")),
        Column("error", _key("error")),
    ),
    "alert": (
        Column("id", _key("id")),
        Column("severity", _key("severity")),
        Column("active", lambda r: "yes" if r.get("active") else "ended"),
        Column("dismissed", lambda r: "yes" if r.get("dismissed") else ""),
        Column("subject", _key("subject")),
        Column("raised", _key("raised_at")),
        Column("message", _key("message")),
    ),
    "event": (
        Column("time", _key("created_at")),
        Column("severity", _key("severity")),
        Column("server", _key("server")),
        Column("subject", _key("subject")),
        Column("message", _key("message")),
    ),
}


def _cell(value: object) -> str:
    if value is None:
        return ""
    return str(value).replace("\n", " ")


def print_table(kind: str, rows: Sequence[Row], out: TextIO, *, noun: str) -> None:
    if not rows:
        print(f"No {noun}s.", file=out)
        return
    columns = COLUMNS[kind]
    cells = [[_cell(column.value(row)) for column in columns] for row in rows]
    widths = [
        max(len(column.title), *(len(line[i]) for line in cells))
        for i, column in enumerate(columns)
    ]
    print(
        "  ".join(c.title.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip(), file=out
    )
    for line in cells:
        print("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip(), file=out)


def print_json(value: object, out: TextIO) -> None:
    print(json.dumps(value, indent=2, sort_keys=True), file=out)


def print_details(row: Row, out: TextIO, *, skip: Sequence[str] = ()) -> None:
    keys = [key for key in row if key not in skip]
    width = max((len(key) for key in keys), default=0)
    for key in keys:
        value = row[key]
        shown = ", ".join(map(str, value)) if isinstance(value, list) else _cell(value)
        print(f"{key.replace('_', ' '):<{width}}  {shown}", file=out)


def print_plan(plan: Row, out: TextIO) -> None:
    """A dry run: what would be done, every job, where and with which exact command lines."""
    jobs = plan.get("jobs") or []
    print(f"Plan: {plan.get('message')} ({len(jobs)} jobs)", file=out)
    for text in plan.get("confirmations") or []:
        print(f"  Confirm: {text}", file=out)
    for job in jobs:
        after = job.get("after") or []
        waits = f" (after {', '.join(f'#{k}' for k in after)})" if after else ""
        print(f"  #{job.get('key')} {job.get('description')}{waits}", file=out)
        for step in job.get("steps") or []:
            where = f"on {step['host']}: " if step.get("host") else ""
            print(f"      {where}{step.get('description')}", file=out)
            for argv in step.get("command_lines") or []:
                print(f"        $ {shlex.join(argv)}", file=out)
            if step.get("unknown_until_run"):
                print(f"        ({step['unknown_until_run']})", file=out)
