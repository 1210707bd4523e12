"""The agent's dispatcher behind a real link: exact commands, at most once, cancel, status."""

from __future__ import annotations

from typing import Any

from twisted.internet.task import Clock
from twisted.test.iosim import IOPump, connectedServerAndClient

from agentlink.daemon.dispatch import ActionDispatcher, CommandResult, RecordingRunner
from agentlink.protocol import LinkProtocol, RemoteError
from agentlink.wire import Op

OST = {"device": "/dev/mapper/ost0", "mount_point": "/mnt/fs1-OST0000"}


def agent_and_desktop(runner: RecordingRunner) -> tuple[LinkProtocol, IOPump]:
    dispatcher = ActionDispatcher(runner)
    clock = Clock()

    def agent() -> LinkProtocol:
        return LinkProtocol(
            name="oss1",
            software_version="0.1.0",
            capabilities=["lustre"],
            clock=clock,
            on_request=dispatcher.handle,
        )

    def desktop() -> LinkProtocol:
        return LinkProtocol(name="desktop", software_version="0.1.0", capabilities=[], clock=clock)

    client, _server, pump = connectedServerAndClient(agent, desktop, clock=clock)
    pump.flush()
    return client, pump


def ask(desktop: LinkProtocol, pump: IOPump, op: Op, body: dict[str, Any]) -> list[Any]:
    outcome: list[Any] = []
    desktop.request(op, body).addBoth(outcome.append)
    pump.flush()
    return outcome


def test_an_action_runs_its_exact_command_lines_in_order():
    runner = RecordingRunner({"mount": CommandResult((), 0, stdout="mounted\n")})
    desktop, pump = agent_and_desktop(runner)
    (answer,) = ask(
        desktop, pump, Op.REQUEST, {"action_id": "step-1", "action": "register_target", "args": OST}
    )
    assert runner.ran == [
        ("mkdir", "-p", "/mnt/fs1-OST0000"),
        ("mount", "-t", "lustre", "/dev/mapper/ost0", "/mnt/fs1-OST0000"),
        ("umount", "/mnt/fs1-OST0000"),
        ("blkid", "-c", "/dev/null", "-o", "value", "-s", "LABEL", "/dev/mapper/ost0"),
    ]
    assert answer["state"] == "succeeded"
    assert answer["stdout"] == "mounted\n"


def test_a_failing_command_stops_the_action_with_its_stderr():
    runner = RecordingRunner(
        {"mount": CommandResult((), 5, stderr="mount.lustre: /dev/mapper/ost0 is busy\n")}
    )
    desktop, pump = agent_and_desktop(runner)
    (answer,) = ask(
        desktop, pump, Op.REQUEST, {"action_id": "step-1", "action": "register_target", "args": OST}
    )
    assert answer["state"] == "failed"
    assert answer["error"] == "mount -t exited with 5: mount.lustre: /dev/mapper/ost0 is busy"
    assert [argv[0] for argv in runner.ran] == ["mkdir", "mount"], "umount never ran"


def test_an_action_id_runs_at_most_once():
    runner = RecordingRunner()
    desktop, pump = agent_and_desktop(runner)
    request = {"action_id": "step-7", "action": "load_lnet", "args": {}}
    first = ask(desktop, pump, Op.REQUEST, request)
    again = ask(desktop, pump, Op.REQUEST, request)
    assert runner.ran == [("modprobe", "lnet")]
    assert first[0]["state"] == again[0]["state"] == "succeeded"


def test_unknown_actions_and_bad_arguments_are_refused_with_the_rule():
    runner = RecordingRunner()
    desktop, pump = agent_and_desktop(runner)
    (refused,) = ask(desktop, pump, Op.REQUEST, {"action_id": "a", "action": "rm_rf", "args": {}})
    assert refused.check(RemoteError)
    assert "rm_rf" in refused.getErrorMessage()
    (bad,) = ask(
        desktop,
        pump,
        Op.REQUEST,
        {
            "action_id": "b",
            "action": "mount_target",
            "args": {"device": "dev/sdb", "mount_point": "/mnt/x"},
        },
    )
    assert bad.check(RemoteError)
    assert "device" in bad.getErrorMessage()
    assert runner.ran == []


def test_cancel_stops_the_running_command_and_runs_nothing_after_it():
    runner = RecordingRunner()
    runner.hold_commands = {"mount"}
    desktop, pump = agent_and_desktop(runner)
    answer = ask(
        desktop, pump, Op.REQUEST, {"action_id": "step-9", "action": "register_target", "args": OST}
    )
    assert answer == [], "still running"
    (cancel,) = ask(desktop, pump, Op.CANCEL, {"action_id": "step-9"})
    assert cancel == {"state": "cancelled"}, "stopped at once, not after the command ends"
    assert answer[0]["state"] == "cancelled"
    assert answer[0]["error"] == "cancelled: mount was stopped"
    assert [argv[0] for argv in runner.stopped] == ["mount"]
    assert [argv[0] for argv in runner.ran] == ["mkdir", "mount"]


def test_after_a_reconnect_the_desktop_asks_what_became_of_its_actions():
    runner = RecordingRunner()
    runner.hold_commands = {"modprobe"}
    dispatcher = ActionDispatcher(runner)
    from agentlink.wire import Message

    dispatcher.handle(Message(Op.REQUEST, 1, {"action_id": "s1", "action": "load_lnet"}))
    dispatcher.handle(Message(Op.REQUEST, 2, {"action_id": "s2", "action": "start_lnet"}))
    status = dispatcher.handle(Message(Op.STATUS, 3, {"action_ids": ["s1", "s2", "s3"]}))
    assert isinstance(status, dict)
    states = {i: report["state"] for i, report in status["actions"].items()}
    assert states == {"s1": "running", "s2": "succeeded", "s3": "unknown"}


def test_ost_pool_actions_run_their_lctl_commands_through_the_runner():
    runner = RecordingRunner()
    desktop, pump = agent_and_desktop(runner)
    pool = {"fsname": "fs1", "pool": "fast"}
    steps = [
        ("pool_new", pool),
        ("pool_add", {**pool, "osts": ["fs1-OST0000", "fs1-OST0001"]}),
        ("pool_remove", {**pool, "osts": ["fs1-OST0000", "fs1-OST0001"]}),
        ("pool_destroy", pool),
    ]
    for number, (action, args) in enumerate(steps):
        (answer,) = ask(
            desktop, pump, Op.REQUEST, {"action_id": f"p{number}", "action": action, "args": args}
        )
        assert answer["state"] == "succeeded", answer
    assert runner.ran == [
        ("lctl", "pool_new", "fs1.fast"),
        ("lctl", "pool_add", "fs1.fast", "fs1-OST0000", "fs1-OST0001"),
        ("lctl", "pool_remove", "fs1.fast", "fs1-OST0000", "fs1-OST0001"),
        ("lctl", "pool_destroy", "fs1.fast"),
    ]


def test_a_pool_the_mgs_refuses_fails_with_what_lctl_said():
    runner = RecordingRunner(
        {
            "lctl": CommandResult(
                (), 1, stderr="Pool fs1.fast already exists\npool_new: File exists\n"
            )
        }
    )
    desktop, pump = agent_and_desktop(runner)
    request = {"action_id": "p", "action": "pool_new", "args": {"fsname": "fs1", "pool": "fast"}}
    (answer,) = ask(desktop, pump, Op.REQUEST, request)
    assert answer["state"] == "failed"
    assert "a pool of this name already exists" in answer["error"]
