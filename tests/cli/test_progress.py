"""Following a command: live progress rewritten on one terminal line, a line per finished job
elsewhere, and the outcome with the reasons of the jobs that failed."""

from __future__ import annotations

import io
from typing import Any

from chroma_desktop.cli.progress import describe_outcome, follow_command


def command(state: str, *jobs: tuple[str, str, str | None]) -> dict[str, Any]:
    return {
        "id": 7,
        "message": "Start fs1",
        "state": state,
        "jobs": [
            {"id": i, "description": d, "state": s, "error": e}
            for i, (d, s, e) in enumerate(jobs, start=1)
        ],
    }


class Answers:
    """The API's answers to GET command/7/, in order."""

    def __init__(self, *answers: dict[str, Any]) -> None:
        self.answers = list(answers)
        self.asked: list[str] = []

    def get(self, path: str) -> dict[str, Any]:
        self.asked.append(path)
        return self.answers.pop(0)


FIRST = command("running", ("Start MGS", "running", None), ("Start OST0", "pending", None))
SECOND = command("running", ("Start MGS", "succeeded", None), ("Start OST0", "running", None))
LAST = command(
    "failed", ("Start MGS", "succeeded", None), ("Start OST0", "failed", "mount: no such device")
)


def test_on_a_terminal_progress_is_one_line_rewritten() -> None:
    client, err, slept = Answers(SECOND, LAST), io.StringIO(), []
    finished = follow_command(client, FIRST, err=err, live=True, sleep=slept.append)
    assert finished is LAST
    assert client.asked == ["command/7/", "command/7/"]
    frames = err.getvalue().split("\r\033[K")
    assert frames[1:4] == [
        "Start fs1: 0/2 jobs done; Start MGS",
        "Start fs1: 1/2 jobs done; Start OST0",
        "Start fs1: 2/2 jobs done",
    ]
    assert slept == [0.25, 0.375]  # it asks again sooner at first, then less often


def test_elsewhere_each_finished_job_is_one_line_and_the_failure_is_explained() -> None:
    err, out = io.StringIO(), io.StringIO()
    finished = follow_command(
        Answers(SECOND, LAST), FIRST, err=err, live=False, sleep=lambda s: None
    )
    assert err.getvalue() == ("  job 1 succeeded: Start MGS\n  job 2 failed: Start OST0\n")
    describe_outcome(finished, out)
    assert out.getvalue() == (
        "Start fs1: failed (command 7)\n  Start OST0: failed: mount: no such device\n"
    )
