"""The simulated cluster: N `SimulatedServer`s over one shared model, its faults and its state
directory.

Layer: agentlink.simulator (Twisted, no core, no Qt). Thread: the reactor thread for every
method. `SimulatedCluster.open` reloads the cluster saved in a state directory (or lays out a
new one from a seed), so a demo cluster survives restarts: servers keep their LNet state,
mounts, faults and boot times, targets their data and MGS registries; only commands in flight
and recoveries in progress are lost (a reloaded target reports recovery COMPLETE). `start`
polls the control channel and saves the model once a second on the injected clock; `stop`
saves once more.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import LoopingCall

from agentlink.daemon.backend import AgentBackend
from agentlink.simulator.control import (
    Fault,
    FaultRequest,
    UnknownServerError,
    UnreadableRequest,
    parse_fault,
    take_fault_requests,
)
from agentlink.simulator.model import (
    DEFAULT_SERVER_COUNT,
    ClusterModel,
    SimulatorError,
    SimulatorStateError,
    build_layout,
)
from agentlink.simulator.server import Observer, SimulatedServer, World
from agentlink.simulator.store import load_model, save_model

log = logging.getLogger(__name__)

POLL_INTERVAL_S = 1.0


@dataclass(frozen=True)
class ControlOutcome:
    """What became of one request from the control channel."""

    request: FaultRequest | None
    """None when the request file could not be read."""
    message: str
    applied: bool


class SimulatedCluster:
    def __init__(
        self,
        model: ClusterModel,
        *,
        clock: IReactorTime,
        wall: Callable[[], float] = time.time,
        state_dir: Path | None = None,
        speed: float = 1.0,
    ) -> None:
        if not (speed > 0 and math.isfinite(speed)):
            raise SimulatorStateError(f"a speed of {speed} is not possible: give a number above 0")
        self._world = World(model, clock, wall, speed)
        for hostname in model.servers:
            self._world.servers[hostname] = SimulatedServer(self._world, hostname)
        self._state_dir = state_dir
        self._loop: LoopingCall | None = None

    @classmethod
    def create(
        cls,
        *,
        clock: IReactorTime,
        wall: Callable[[], float] = time.time,
        seed: int = 0,
        server_count: int = DEFAULT_SERVER_COUNT,
        state_dir: Path | None = None,
        speed: float = 1.0,
    ) -> SimulatedCluster:
        """A new cluster laid out from the seed (saved at once when there is a state dir);
        its commands take the real tools' time divided by `speed`."""
        model = build_layout(seed=seed, server_count=server_count, now=wall())
        cluster = cls(model, clock=clock, wall=wall, state_dir=state_dir, speed=speed)
        if state_dir is not None:
            cluster.save()
        return cluster

    @classmethod
    def open(
        cls,
        state_dir: Path | str,
        *,
        clock: IReactorTime,
        wall: Callable[[], float] = time.time,
        seed: int | None = None,
        server_count: int | None = None,
        speed: float = 1.0,
    ) -> SimulatedCluster:
        """The cluster saved in `state_dir`, or a new one (seed 0 and 8 servers unless given).

        Asking for a seed or server count other than the saved cluster's is an error rather
        than a silent choice between them."""
        state_dir = Path(state_dir)
        model = load_model(state_dir)
        if model is None:
            return cls.create(
                clock=clock,
                wall=wall,
                seed=0 if seed is None else seed,
                server_count=DEFAULT_SERVER_COUNT if server_count is None else server_count,
                state_dir=state_dir,
                speed=speed,
            )
        if seed is not None and seed != model.seed:
            raise SimulatorStateError(
                f"{state_dir} holds a cluster made with seed {model.seed}, not {seed}; use "
                "another state directory for a different cluster"
            )
        if server_count is not None and server_count != len(model.servers):
            raise SimulatorStateError(
                f"{state_dir} holds a cluster of {len(model.servers)} servers, not "
                f"{server_count}; use another state directory for a different cluster"
            )
        return cls(model, clock=clock, wall=wall, state_dir=state_dir, speed=speed)

    # --- what it holds -------------------------------------------------------------------------

    @property
    def model(self) -> ClusterModel:
        return self._world.model

    @property
    def seed(self) -> int:
        return self._world.model.seed

    @property
    def state_dir(self) -> Path | None:
        return self._state_dir

    @property
    def servers(self) -> Mapping[str, SimulatedServer]:
        """Every server by hostname, in layout order (MDS pair first)."""
        return MappingProxyType(self._world.servers)

    def server(self, hostname: str) -> SimulatedServer:
        try:
            return self._world.servers[hostname]
        except KeyError:
            raise UnknownServerError(hostname, list(self._world.servers)) from None

    def backend(self, hostname: str) -> AgentBackend:
        """The server as the agent sees it (and mypy's check that it is an AgentBackend)."""
        return self.server(hostname)

    def add_observer(self, observer: Observer) -> None:
        """Call `observer(server, event)` when any server crashes, loses power, boots or has
        its link dropped (see `ServerEvent`)."""
        self._world.observers.append(observer)

    def remove_observer(self, observer: Observer) -> None:
        self._world.observers.remove(observer)

    # --- faults --------------------------------------------------------------------------------

    def fault(self, server: str, action: Fault | str) -> str:
        """Apply a fault now; returns what happened, in words for the CLI or the log."""
        fault = parse_fault(action)
        target = self.server(server)
        apply = {
            Fault.CRASH: target.crash,
            Fault.RESTORE: target.restore,
            Fault.POWER_OFF: target.power_off,
            Fault.POWER_ON: target.power_on,
            Fault.DROP_LINK: target.drop_link,
            Fault.SLOW: target.make_slow,
            Fault.FAIL_NEXT_ACTION: target.fail_next_command,
            Fault.DISK_FULL: target.fill_disks,
            Fault.SKEW_CLOCK: target.skew_clock,
            Fault.NO_LUSTRE_TOOLS: target.remove_lustre_tools,
        }[fault]
        message = apply()
        self._world.changed()
        log.info("simulated fault %s on %s: %s", fault.value, server, message)
        if self._state_dir is not None:
            self.save()
        return message

    def poll_control(self) -> list[ControlOutcome]:
        """Apply the fault requests other processes left in the state directory, oldest first."""
        if self._state_dir is None:
            return []
        outcomes: list[ControlOutcome] = []
        for request in take_fault_requests(self._state_dir):
            if isinstance(request, UnreadableRequest):
                message = f"ignored unreadable fault request {request.path.name}: {request.reason}"
                log.warning("%s", message)
                outcomes.append(ControlOutcome(None, message, applied=False))
                continue
            try:
                message = self.fault(request.server, request.fault)
            except SimulatorError as error:
                log.warning("fault request refused: %s", error)
                outcomes.append(ControlOutcome(request, str(error), applied=False))
            else:
                outcomes.append(ControlOutcome(request, message, applied=True))
        return outcomes

    # --- persistence and running ---------------------------------------------------------------

    def save(self) -> None:
        if self._state_dir is None:
            raise SimulatorStateError("this simulated cluster has no state directory to save to")
        save_model(self._state_dir, self._world.model)
        self._world.dirty = False

    def start(self, interval_s: float = POLL_INTERVAL_S) -> None:
        """Poll the control channel and save changes every `interval_s` seconds."""
        if self._loop is not None:
            return
        self._loop = LoopingCall(self._tick)
        self._loop.clock = self._world.clock
        self._loop.start(interval_s, now=False)

    def stop(self) -> None:
        if self._loop is not None:
            if self._loop.running:
                self._loop.stop()
            self._loop = None
        if self._state_dir is not None:
            self.save()

    def _tick(self) -> None:
        self.poll_control()
        if self._world.dirty and self._state_dir is not None:
            self.save()
