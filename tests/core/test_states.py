"""The state machines: the routes the scheduler will plan, and the refusals an admin will read."""

from __future__ import annotations

from collections import Counter

import pytest

from core.errors import InvalidTransitionError
from core.states import (
    FILESYSTEM_MACHINE,
    HOST_MACHINE,
    LNET_MACHINE,
    MACHINES,
    TARGET_MACHINE,
    FilesystemState,
    HostState,
    LNetState,
    OutletState,
    RunState,
    StateMachine,
    TargetState,
    Transition,
    check_run_transition,
)


def jobs(route: list[Transition[TargetState]] | list) -> list[str]:
    return [transition.job for transition in route]


def test_new_target_is_brought_up_by_format_register_configure_start():
    route = TARGET_MACHINE.route(TargetState.UNFORMATTED, TargetState.MOUNTED)
    assert jobs(route) == [
        "FormatTargetJob",
        "RegisterTargetJob",
        "ConfigureTargetJob",
        "StartTargetJob",
    ]


def test_removing_a_running_target_stops_it_first():
    route = TARGET_MACHINE.route(TargetState.MOUNTED, TargetState.REMOVED)
    assert jobs(route) == ["StopTargetJob", "RemoveConfiguredTargetJob"]


def test_lnet_is_its_own_machine_and_unloading_stops_it_first():
    route = LNET_MACHINE.route(LNetState.UP, LNetState.UNLOADED)
    assert jobs(route) == ["StopLNetJob", "UnloadLNetJob"]
    assert all("LNet" not in t.job for t in HOST_MACHINE.transitions)


def test_stopping_a_filesystem_passes_the_internal_unavailable_edge():
    route = FILESYSTEM_MACHINE.route(FilesystemState.AVAILABLE, FilesystemState.STOPPED)
    assert jobs(route) == ["MakeAvailableFilesystemUnavailableJob", "StopUnavailableFilesystemJob"]
    assert route[0].verb is None, "the internal hop is never offered as a button"


def test_already_there_needs_no_jobs():
    assert TARGET_MACHINE.route(TargetState.MOUNTED, TargetState.MOUNTED) == []


def test_impossible_request_says_what_is_possible():
    with pytest.raises(InvalidTransitionError) as raised:
        TARGET_MACHINE.route(TargetState.MOUNTED, TargetState.FORMATTED, name="fs1-OST0000")
    message = str(raised.value)
    assert message.startswith("Target fs1-OST0000 is mounted and cannot be made formatted")
    assert "unmounted (Stop)" in message


def test_removed_objects_can_no_longer_change():
    with pytest.raises(InvalidTransitionError, match="can no longer change state"):
        HOST_MACHINE.route(HostState.REMOVED, HostState.CONFIGURED, name="oss1")


def test_menu_from_unmounted_offers_start_and_remove():
    offered = {
        state: path[-1].verb
        for state, path in TARGET_MACHINE.reachable(TargetState.UNMOUNTED).items()
    }
    assert offered[TargetState.MOUNTED] == "Start"
    assert offered[TargetState.REMOVED] == "Remove"


def test_lnet_state_is_learned_not_assumed():
    assert LNET_MACHINE.initial == LNetState.UNKNOWN
    assert LNET_MACHINE.edges_from(LNetState.UNKNOWN) == [], "only an agent report leaves unknown"


# Only an agent's report takes LNet and a power outlet out of "unknown"; every other state is
# reachable by jobs from where a new object starts.
LEARNED_ONLY = {
    "LNet": {LNetState.UNLOADED, LNetState.DOWN, LNetState.UP},
    "power outlet": {OutletState.ON, OutletState.OFF},
}


@pytest.mark.parametrize("machine", MACHINES.values(), ids=list(MACHINES))
def test_states_reachable_by_jobs_from_the_initial_state(machine: StateMachine):
    reachable = set(machine.reachable(machine.initial)) | {machine.initial}
    assert set(machine.states) - reachable == LEARNED_ONLY.get(machine.subject, set())


@pytest.mark.parametrize("machine", MACHINES.values(), ids=list(MACHINES))
def test_destructive_edges_ask_for_confirmation(machine: StateMachine):
    destructive = ("Remove", "Format", "Stop", "Power off", "Unmount", "Forget", "Stop LNet")
    for transition in machine.transitions:
        if transition.verb in destructive and transition.job != "RemoveLustreClientJob":
            assert transition.confirmation, f"{transition.job} must ask before it runs"


def test_format_cannot_be_cancelled_but_the_rest_can():
    assert TARGET_MACHINE.edge(TargetState.UNFORMATTED, TargetState.FORMATTED).cancellable is False
    assert TARGET_MACHINE.edge(TargetState.UNMOUNTED, TargetState.MOUNTED).cancellable is True


def test_each_job_performs_edges_of_one_machine_only():
    owners = Counter(
        transition.job for machine in MACHINES.values() for transition in machine.transitions
    )
    assert [job for job, count in owners.items() if count > 1] == []


def test_two_jobs_for_one_edge_are_refused():
    with pytest.raises(ValueError, match="performed by both"):
        StateMachine(
            subject="thing",
            states=HostState,
            initial=HostState.UNCONFIGURED,
            transitions=(
                Transition(frozenset({HostState.UNCONFIGURED}), HostState.CONFIGURED, "AJob", "A"),
                Transition(frozenset({HostState.UNCONFIGURED}), HostState.CONFIGURED, "BJob", "B"),
            ),
        )


def test_finished_work_cannot_start_again():
    check_run_transition("Job 3", RunState.PENDING, RunState.RUNNING)
    check_run_transition("Job 3", RunState.RUNNING, RunState.CANCELLED)
    with pytest.raises(InvalidTransitionError, match="already finished"):
        check_run_transition("Job 3", RunState.FAILED, RunState.RUNNING)
    with pytest.raises(InvalidTransitionError):
        check_run_transition("Job 3", RunState.PENDING, RunState.SUCCEEDED)
