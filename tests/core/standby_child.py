"""Run by test_scheduler_standby.py: the active scheduler, killed by the test mid-command."""

from __future__ import annotations

import sys
import time

from agentlink.commands import AgentCommandRenderer
from core.database import open_database
from core.fakes import FakeAgentGateway, FakeClock, ScriptedReply
from core.scheduler import FILESYSTEM, Scheduler
from core.scheduler.service import SchedulerService


def main(url: str, filesystem_id: int) -> None:
    database = open_database(url)
    gateway = FakeAgentGateway({"format_target": ScriptedReply(hold=True)})
    service = SchedulerService(
        database, lambda: Scheduler(database, gateway, AgentCommandRenderer(), FakeClock())
    )
    assert service.tick(), "the first process takes the lease"
    assert service.scheduler is not None
    service.scheduler.request_state(
        (FILESYSTEM, filesystem_id), "available", actor="first", confirmed=True
    )
    print("running", flush=True)
    while True:  # formats never finish: the test kills this process
        time.sleep(1)
        service.tick()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
