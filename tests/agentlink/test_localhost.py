"""The agent's real backend running real processes: output and exit codes as the command gave
them, a command that does not exist reported rather than raised, and a cancelled command
actually stopped (its process is sent SIGTERM)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
from twisted.internet import defer

from agentlink.daemon.localhost import LocalHost
from agentlink.runtime import ReactorThread

WAIT_S = 10.0


def on_reactor(reactor_thread: ReactorThread, start: Callable[[], Any]) -> Future[Any]:
    done: Future[Any] = Future()

    def begin() -> None:
        start().addCallbacks(done.set_result, lambda failure: done.set_exception(failure.value))

    reactor_thread.call(begin)
    return done


def test_a_command_reports_its_output_and_exit_code(reactor_thread: ReactorThread) -> None:
    host = LocalHost("here", reactor=reactor_thread.reactor)
    said = on_reactor(
        reactor_thread, lambda: host.run(["sh", "-c", "echo out; echo err >&2; exit 3"])
    )
    result = said.result(WAIT_S)
    assert (result.exit_code, result.stdout, result.stderr) == (3, "out\n", "err\n")
    missing = on_reactor(reactor_thread, lambda: host.run(["no-such-command-here"])).result(WAIT_S)
    assert missing.exit_code != 0 and "no-such-command-here" in (missing.stderr + missing.stdout)


def test_cancelling_a_command_stops_its_process(
    reactor_thread: ReactorThread, tmp_path: Path
) -> None:
    host = LocalHost("here", reactor=reactor_thread.reactor)
    pid_file = tmp_path / "pid"
    running: list[defer.Deferred[Any]] = []

    def start() -> defer.Deferred[Any]:
        running.append(host.run(["sh", "-c", f"echo $$ > {pid_file}; exec sleep 30"]))
        return running[0]

    answer = on_reactor(reactor_thread, start)
    deadline = time.monotonic() + WAIT_S
    while not (pid_file.exists() and pid_file.read_text().strip()):
        assert time.monotonic() < deadline, "the command never started"
        time.sleep(0.02)
    pid = int(pid_file.read_text())
    reactor_thread.call(lambda: running[0].cancel())
    with pytest.raises(defer.CancelledError):
        answer.result(WAIT_S)
    while _alive(pid):
        assert time.monotonic() < deadline + WAIT_S, "the process outlived its cancel"
        time.sleep(0.02)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:  # reaped between the two looks
        return False
    return state != "Z"  # a zombie has ended; only its parent has not collected it yet


def test_many_short_commands_all_end_on_a_reactor_without_signal_handlers(
    reactor_thread: ReactorThread,
) -> None:
    """The desktop's reactor runs on a thread, without SIGCHLD: a child that exits just after
    closing its pipes must still be reaped, or its command would never end."""
    host = LocalHost("here", reactor=reactor_thread.reactor)
    started = time.monotonic()
    answers = [
        on_reactor(reactor_thread, lambda n=n: host.run(["sh", "-c", f"exit {n % 4}"]))
        for n in range(40)
    ]
    codes = [answer.result(WAIT_S).exit_code for answer in answers]
    assert codes == [n % 4 for n in range(40)]
    assert time.monotonic() - started < WAIT_S
