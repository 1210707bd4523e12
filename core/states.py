"""State machines as data: an enum of states per stateful class and the table of its transitions.

Layer: core. Thread: any (immutable data). Each `Transition` names the job that performs it; the
scheduler plans a request "object X should be in state S" as the shortest chain of transitions
from X's current state. LNet is its own machine, not part of the host lifecycle (IML mixed the
two, HYD-1215). An object's state changes only from real results: a job that succeeded, or what
an agent reported.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any, Generic, TypeVar

from core.errors import InvalidTransitionError

S = TypeVar("S", bound=StrEnum)


class HostState(StrEnum):
    UNCONFIGURED = "unconfigured"
    CONFIGURED = "configured"
    REMOVED = "removed"


class LNetState(StrEnum):
    UNKNOWN = "unknown"
    UNLOADED = "unloaded"
    DOWN = "down"
    UP = "up"


class TargetState(StrEnum):
    UNFORMATTED = "unformatted"
    FORMATTED = "formatted"
    REGISTERED = "registered"
    UNMOUNTED = "unmounted"
    MOUNTED = "mounted"
    REMOVED = "removed"
    FORGOTTEN = "forgotten"


class FilesystemState(StrEnum):
    UNAVAILABLE = "unavailable"
    STOPPED = "stopped"
    AVAILABLE = "available"
    REMOVED = "removed"
    FORGOTTEN = "forgotten"


class ClientMountState(StrEnum):
    UNMOUNTED = "unmounted"
    MOUNTED = "mounted"
    REMOVED = "removed"


class OutletState(StrEnum):
    UNKNOWN = "unknown"
    ON = "on"
    OFF = "off"


class RunState(StrEnum):
    """The lifecycle of a command, a job and a step: each ends exactly once, truthfully."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"
    """Chroma Desktop stopped while it ran: what happened on the server is unknown."""

    @property
    def finished(self) -> bool:
        return self in _FINISHED


_FINISHED = frozenset(
    {RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED, RunState.INTERRUPTED}
)

RUN_LIFECYCLE: Mapping[RunState, frozenset[RunState]] = {
    RunState.PENDING: frozenset({RunState.RUNNING, RunState.CANCELLED}),
    RunState.RUNNING: frozenset(
        {RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED, RunState.INTERRUPTED}
    ),
    RunState.SUCCEEDED: frozenset(),
    RunState.INTERRUPTED: frozenset(),
    RunState.FAILED: frozenset(),
    RunState.CANCELLED: frozenset(),
}


def check_run_transition(what: str, current: RunState, new: RunState) -> None:
    """Refuse a lifecycle change that would rewrite history (a finished job starting again)."""
    if new not in RUN_LIFECYCLE[current]:
        raise InvalidTransitionError(
            f"{what} is {current} and cannot become {new}."
            + (" It has already finished." if current.finished else "")
        )


@dataclass(frozen=True)
class Transition(Generic[S]):
    """One edge: from any of `sources` to `target`, performed by the job class named `job`."""

    sources: frozenset[S]
    target: S
    job: str
    verb: str | None
    """Button and menu text; None for an internal edge the planner uses but never offers."""
    confirmation: str | None = None
    """Text the admin must confirm before this edge runs; None when it is harmless."""
    cancellable: bool = True


@dataclass(frozen=True)
class StateMachine(Generic[S]):
    """The states of one class of object and the jobs that move it between them."""

    subject: str
    """What the admin calls such an object: 'server', 'target', 'filesystem'."""
    states: type[S]
    initial: S
    transitions: tuple[Transition[S], ...]
    terminal: frozenset[S] = field(default_factory=frozenset)
    """States nothing leaves (removed, forgotten)."""

    def __post_init__(self) -> None:
        seen: dict[tuple[S, S], str] = {}
        for transition in self.transitions:
            for source in transition.sources:
                edge = (source, transition.target)
                if edge in seen:
                    raise ValueError(
                        f"{self.subject}: {source}->{transition.target} is performed by both "
                        f"{seen[edge]} and {transition.job}"
                    )
                if source in self.terminal:
                    raise ValueError(f"{self.subject}: terminal state {source} has an exit")
                seen[edge] = transition.job

    def edges_from(self, state: S) -> list[Transition[S]]:
        return [t for t in self.transitions if state in t.sources]

    def edge(self, begin: S, end: S) -> Transition[S] | None:
        """The transition performing begin→end directly, if there is one."""
        for transition in self.edges_from(begin):
            if transition.target == end:
                return transition
        return None

    def route(
        self, begin: S | str, end: S | str, *, name: str | None = None
    ) -> list[Transition[S]]:
        """The shortest chain of transitions from begin to end ([] when already there). States
        may be given as their values: a StrEnum member and its value are the same key."""
        if begin == end:
            return []
        paths = self._shortest_paths(begin)
        found = paths.get(end)  # type: ignore[arg-type]
        if found is None:
            raise InvalidTransitionError(self._no_route_message(begin, end, name, paths))
        route: list[Transition[S]] = found
        return route

    def reachable(self, begin: S) -> dict[S, list[Transition[S]]]:
        """Every state reachable from begin, with the shortest chain leading there."""
        return dict(self._shortest_paths(begin))  # a copy: the cache stays as computed

    @cached_property
    def _paths_cache(self) -> dict[S | str, dict[S, list[Transition[S]]]]:
        return {}

    def _shortest_paths(self, begin: S | str) -> dict[S, list[Transition[S]]]:
        cached = self._paths_cache.get(begin)
        if cached is not None:
            return cached
        paths: dict[S, list[Transition[S]]] = {}
        start = begin if isinstance(begin, self.states) else self.states(begin)
        queue: deque[tuple[S, list[Transition[S]]]] = deque([(start, [])])
        visited = {start}
        while queue:
            state, path = queue.popleft()
            for transition in self.edges_from(state):
                if transition.target not in visited:
                    visited.add(transition.target)
                    paths[transition.target] = [*path, transition]
                    queue.append((transition.target, paths[transition.target]))
        self._paths_cache[begin] = paths
        return paths

    def _no_route_message(
        self,
        begin: S | str,
        end: S | str,
        name: str | None,
        paths: dict[S, list[Transition[S]]],
    ) -> str:
        who = f"{self.subject} {name}" if name else f"a {self.subject}"
        if end not in set(self.states):
            return f"'{end}' is not a state of a {self.subject}."
        offered = [f"{state} ({path[-1].verb})" for state, path in paths.items() if path[-1].verb]
        who = who[0].upper() + who[1:]
        if not offered:
            return f"{who} is {begin} and can no longer change state."
        return (
            f"{who} is {begin} and cannot be made {end}: no sequence of jobs leads "
            f"there. From {begin} it can go to: {', '.join(offered)}."
        )


def _edge(
    sources: Iterable[S],
    target: S,
    job: str,
    verb: str | None,
    confirmation: str | None = None,
    *,
    cancellable: bool = True,
) -> Transition[S]:
    return Transition(frozenset(sources), target, job, verb, confirmation, cancellable)


H = HostState
HOST_MACHINE = StateMachine(
    subject="server",
    states=HostState,
    initial=H.UNCONFIGURED,
    terminal=frozenset({H.REMOVED}),
    transitions=(
        _edge([H.UNCONFIGURED], H.CONFIGURED, "SetupHostJob", "Set up server"),
        _edge(
            [H.CONFIGURED],
            H.REMOVED,
            "RemoveHostJob",
            "Remove",
            "Remove this server from Chroma Desktop? Its targets are stopped and removed first, "
            "and its agent is unpaired.",
        ),
        _edge(
            [H.UNCONFIGURED],
            H.REMOVED,
            "RemoveUnconfiguredHostJob",
            "Remove",
            "Remove this server? It was never set up, so nothing on it changes.",
        ),
    ),
)

L = LNetState
LNET_MACHINE = StateMachine(
    subject="LNet",
    states=LNetState,
    initial=L.UNKNOWN,
    transitions=(
        _edge([L.UNLOADED], L.DOWN, "LoadLNetJob", "Load LNet"),
        _edge([L.DOWN], L.UP, "StartLNetJob", "Start LNet"),
        _edge(
            [L.UP],
            L.DOWN,
            "StopLNetJob",
            "Stop LNet",
            "Stop LNet? Every target running on this server is stopped first.",
        ),
        _edge([L.DOWN], L.UNLOADED, "UnloadLNetJob", "Unload LNet"),
    ),
)

T = TargetState
TARGET_MACHINE = StateMachine(
    subject="target",
    states=TargetState,
    initial=T.UNFORMATTED,
    terminal=frozenset({T.REMOVED, T.FORGOTTEN}),
    transitions=(
        _edge(
            [T.UNFORMATTED],
            T.FORMATTED,
            "FormatTargetJob",
            "Format",
            "Format this volume? Anything stored on it is destroyed.",
            cancellable=False,
        ),
        _edge([T.FORMATTED], T.REGISTERED, "RegisterTargetJob", "Register"),
        _edge([T.REGISTERED], T.UNMOUNTED, "ConfigureTargetJob", "Configure mount points"),
        _edge([T.UNMOUNTED], T.MOUNTED, "StartTargetJob", "Start"),
        _edge(
            [T.MOUNTED],
            T.UNMOUNTED,
            "StopTargetJob",
            "Stop",
            "Stop this target? Clients lose access to its data until it starts again.",
        ),
        _edge(
            [T.UNMOUNTED],
            T.REMOVED,
            "RemoveConfiguredTargetJob",
            "Remove",
            "Remove this target? Its mount points are unconfigured and the data on it becomes "
            "inaccessible to the filesystem.",
        ),
        _edge(
            [T.UNFORMATTED, T.FORMATTED, T.REGISTERED],
            T.REMOVED,
            "RemoveTargetJob",
            "Remove",
            "Remove this target from Chroma Desktop?",
        ),
        _edge(
            [T.UNMOUNTED, T.MOUNTED],
            T.FORGOTTEN,
            "ForgetTargetJob",
            "Forget",
            "Forget this monitor-only target? Nothing on the server changes.",
        ),
    ),
)

F = FilesystemState
FILESYSTEM_MACHINE = StateMachine(
    subject="filesystem",
    states=FilesystemState,
    initial=F.UNAVAILABLE,
    terminal=frozenset({F.REMOVED, F.FORGOTTEN}),
    transitions=(
        _edge([F.UNAVAILABLE], F.AVAILABLE, "StartUnavailableFilesystemJob", "Start"),
        _edge([F.STOPPED], F.AVAILABLE, "StartStoppedFilesystemJob", "Start"),
        _edge([F.AVAILABLE], F.UNAVAILABLE, "MakeAvailableFilesystemUnavailableJob", None),
        _edge(
            [F.UNAVAILABLE],
            F.STOPPED,
            "StopUnavailableFilesystemJob",
            "Stop",
            "Stop this filesystem? Every MDT and OST is stopped; the MGS keeps running.",
        ),
        _edge(
            [F.STOPPED],
            F.REMOVED,
            "RemoveFilesystemJob",
            "Remove",
            "Remove this filesystem? Its MDTs and OSTs are removed and its configuration is "
            "purged from the MGS. The data becomes inaccessible.",
        ),
        _edge(
            [F.UNAVAILABLE, F.AVAILABLE],
            F.FORGOTTEN,
            "ForgetFilesystemJob",
            "Forget",
            "Forget this monitor-only filesystem? Nothing on the servers changes.",
        ),
    ),
)

C = ClientMountState
CLIENT_MOUNT_MACHINE = StateMachine(
    subject="client mount",
    states=ClientMountState,
    initial=C.UNMOUNTED,
    terminal=frozenset({C.REMOVED}),
    transitions=(
        _edge([C.UNMOUNTED], C.MOUNTED, "MountLustreClientJob", "Mount"),
        _edge(
            [C.MOUNTED],
            C.UNMOUNTED,
            "UnmountLustreClientJob",
            "Unmount",
            "Unmount the filesystem on this client? Programs using it lose their open files.",
        ),
        _edge([C.UNMOUNTED], C.REMOVED, "RemoveLustreClientJob", "Remove"),
    ),
)

OUTLET_MACHINE = StateMachine(
    subject="power outlet",
    states=OutletState,
    initial=OutletState.UNKNOWN,
    transitions=(
        _edge([OutletState.OFF], OutletState.ON, "PowerOnOutletJob", "Power on"),
        _edge(
            [OutletState.ON],
            OutletState.OFF,
            "PowerOffOutletJob",
            "Power off",
            "Cut power to this outlet? The server on it stops at once, without shutting down.",
        ),
    ),
)

MACHINES: dict[str, StateMachine[Any]] = {
    machine.subject: machine
    for machine in (
        HOST_MACHINE,
        LNET_MACHINE,
        TARGET_MACHINE,
        FILESYSTEM_MACHINE,
        CLIENT_MOUNT_MACHINE,
        OUTLET_MACHINE,
    )
}
"""Every state machine, by the name of its subject."""
