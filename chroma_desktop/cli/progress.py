"""Following a command to its end: its jobs' progress on one rewritten line on a terminal, or a
line per job that ends otherwise; the outcome decides `chroma`'s exit status.

Layer: chroma_desktop.cli (no Qt). Thread: the main thread, which only waits: it asks the API
for the command again every POLL_S (the API answers from the database; IML's CLI polled the
same way), so nothing here needs a connection held open.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TextIO

from chroma_desktop.api.client import ApiClient

POLL_S = 0.25
MAX_POLL_S = 1.0
FINISHED = ("succeeded", "failed", "cancelled", "interrupted")


def follow_command(
    client: ApiClient,
    command: dict[str, Any],
    *,
    err: TextIO,
    live: bool,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Wait for `command` to finish, showing its progress on `err`; the finished command."""
    told: set[int] = set()
    delay = POLL_S
    while True:
        jobs = command.get("jobs") or []
        done = [job for job in jobs if job["state"] in FINISHED]
        if live:
            running = [job["description"] for job in jobs if job["state"] == "running"]
            line = f"{command['message']}: {len(done)}/{len(jobs)} jobs done"
            if running:
                line += f"; {running[0]}" + (f" (+{len(running) - 1})" if len(running) > 1 else "")
            print(f"\r\033[K{line}", end="", file=err, flush=True)
        else:
            for job in done:
                if job["id"] not in told:
                    told.add(job["id"])
                    print(f"  job {job['id']} {job['state']}: {job['description']}", file=err)
        if command["state"] in FINISHED:
            break
        sleep(delay)
        delay = min(delay * 1.5, MAX_POLL_S)
        command = client.get(f"command/{command['id']}/")
    if live:
        print("\r\033[K", end="", file=err, flush=True)
    return command


def describe_outcome(command: dict[str, Any], out: TextIO) -> None:
    print(f"{command['message']}: {command['state']} (command {command['id']})", file=out)
    for job in command.get("jobs") or []:
        if job["state"] in ("failed", "interrupted") or (
            job["state"] == "cancelled" and job.get("error")
        ):
            print(f"  {job['description']}: {job['state']}: {job.get('error') or ''}", file=out)
