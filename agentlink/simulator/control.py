"""Faults on demand and the file-based channel that lets another process ask for them.

Layer: agentlink.simulator (standard library only). Thread: `request_fault` runs in any process
(the `chroma-agent simulate-control` command); `take_fault_requests` runs on the simulator's
reactor thread from `SimulatedCluster.poll_control`. Each request is one small JSON file in
`<state dir>/requests/`, written under a temporary name and renamed into place, so the
simulator never reads half a request and no two writers contend for one file; the simulator
applies the requests in the order they were made and deletes each file once read.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from agentlink.simulator.model import SimulatorError, SimulatorStateError
from agentlink.simulator.store import MODEL_FILE, REQUESTS_DIR, atomic_write, load_model


class Fault(StrEnum):
    CRASH = "crash"
    """The server stops answering; its targets go away; its devices stay as they were."""
    RESTORE = "restore"
    """Clear every fault: a crashed or powered-off server boots again (new boot time, LNet
    unloaded, nothing mounted); a running server keeps running."""
    POWER_OFF = "power-off"
    POWER_ON = "power-on"
    """Boot a powered-off server (new boot time), clearing its faults as restore does."""
    DROP_LINK = "drop-link"
    """The network layer cuts this server's connections; the server itself carries on."""
    SLOW = "slow"
    """Every command takes ten times as long."""
    FAIL_NEXT_ACTION = "fail-next-action"
    """The next command fails, as the real tool does on an I/O error."""
    DISK_FULL = "disk-full"
    """The OSTs on this server report no free space and refuse writes."""
    SKEW_CLOCK = "skew-clock"
    """Its clock runs 15 minutes ahead: the desktop's pre-flight clock check fails."""
    NO_LUSTRE_TOOLS = "no-lustre-tools"
    """mkfs.lustre, lctl and mount.lustre are gone: the pre-flight Lustre check of a managed
    server fails (the simulated commands still run; only the pre-flight answer changes)."""


class UnknownFaultError(SimulatorError, ValueError):
    def __init__(self, action: object) -> None:
        super().__init__(
            f"unknown fault {action!r}; the simulator knows: {', '.join(f.value for f in Fault)}"
        )


class UnknownServerError(SimulatorError, KeyError):
    def __init__(self, server: object, known: list[str]) -> None:
        self.message = (
            f"no simulated server {server!r}; the cluster has: {', '.join(known) or 'none'}"
        )
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


def parse_fault(action: object) -> Fault:
    if isinstance(action, str):
        try:
            return Fault(action)
        except ValueError:
            pass
    raise UnknownFaultError(action)


@dataclass(frozen=True)
class FaultRequest:
    server: str
    fault: Fault
    requested_at: float
    """Seconds since the epoch, in the requesting process."""


_sequence = itertools.count()


def request_fault(state_dir: Path | str, server: str, action: str) -> FaultRequest:
    """Ask the simulator running on `state_dir` to apply a fault at its next control poll.

    Checks the action and the server name against the saved cluster first, so a typo fails
    here with the valid names rather than later in the simulator's log."""
    state_dir = Path(state_dir)
    fault = parse_fault(action)
    model = load_model(state_dir)
    if model is None:
        raise SimulatorStateError(
            f"there is no simulated cluster in {state_dir} (no {MODEL_FILE}); start the "
            "simulator with this state directory first"
        )
    if server not in model.servers:
        raise UnknownServerError(server, list(model.servers))
    request = FaultRequest(server, fault, time.time())
    # Names sort in the order requests were made: time, then this process's own sequence.
    name = f"{time.time_ns():020d}-{os.getpid()}-{next(_sequence):06d}.json"
    body = {"server": server, "action": fault.value, "requested_at": request.requested_at}
    atomic_write(state_dir / REQUESTS_DIR / name, json.dumps(body) + "\n")
    return request


@dataclass(frozen=True)
class UnreadableRequest:
    """A request file that could not be understood; it is removed all the same."""

    path: Path
    reason: str


def take_fault_requests(state_dir: Path) -> list[FaultRequest | UnreadableRequest]:
    """The pending requests, oldest first; each file is deleted once read."""
    directory = state_dir / REQUESTS_DIR
    try:
        # Requests being written have a temporary name that does not end in .json.
        names = sorted(p.name for p in directory.iterdir() if p.name.endswith(".json"))
    except FileNotFoundError:
        return []
    taken: list[FaultRequest | UnreadableRequest] = []
    for name in names:
        path = directory / name
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            taken.append(
                FaultRequest(
                    server=str(data["server"]),
                    fault=parse_fault(data["action"]),
                    requested_at=float(data["requested_at"]),
                )
            )
        except (OSError, ValueError, KeyError, TypeError) as error:
            taken.append(UnreadableRequest(path, str(error)))
        path.unlink(missing_ok=True)
    return taken
