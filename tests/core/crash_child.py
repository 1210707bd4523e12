"""Run by test_scheduler_crash.py in a child process that the test kills with SIGKILL: it
starts a 500-job command against agents that answer after a few milliseconds, on threads."""

from __future__ import annotations

import random
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

from agentlink.commands import AgentCommandRenderer
from core.database import open_database
from core.ports import ActionRequest, ActionResult, ActionStatus, OutputCallback, SystemClock
from core.scheduler import FILESYSTEM, Scheduler


class SlowAgents:
    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=8)

    def run_action(
        self, request: ActionRequest, on_output: OutputCallback | None = None
    ) -> Future[ActionResult]:
        def answer() -> ActionResult:
            time.sleep(random.uniform(0.0005, 0.004))  # the agent's own time
            return ActionResult(request.action_id, ActionStatus.SUCCEEDED, result={"ok": True})

        return self._pool.submit(answer)

    def cancel_action(self, action_id: str) -> None:
        return None


def main(url: str, filesystem_id: int) -> None:
    database = open_database(url)
    told: list[bool] = []

    def tell_once(event: object) -> None:
        if not told:  # the command is saved: the test may now kill us at any moment
            told.append(True)
            print("planned", flush=True)

    scheduler = Scheduler(
        database, SlowAgents(), AgentCommandRenderer(), SystemClock(), publish=tell_once
    )
    scheduler.start()
    wake = threading.Event()
    scheduler.on_inbox = wake.set
    scheduler.request_state(
        (FILESYSTEM, filesystem_id), "available", actor="crash-test", confirmed=True
    )
    while not scheduler.idle:
        wake.wait(0.2)
        wake.clear()
        scheduler.pump()
    print("done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
