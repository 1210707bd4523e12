"""The backend of `chroma-agent serve` on a real server: runs commands as processes and reads the
machine's state through the probes (`agentlink.daemon.probes`): block devices with serials,
device-mapper, multipath, LVM, md and ZFS; the Lustre targets, LNet and their statistics, and
where an MGS runs, the OST pools of its filesystems; the host's CPU, memory and load.

Layer: agentlink.daemon (imports nothing of core). Thread: the agent's reactor thread; commands
run as child processes whose output the reactor collects. The observers read small files from
/sys and /proc and, where device-mapper, ZFS or a Lustre without its /proc files is in use, run
a few read-only commands (`dmsetup table`, `zpool list`, `lctl get_param`, `lctl pool_list`)
with a timeout, which blocks the reactor for as long as they take (milliseconds on a healthy
server). A file the probes cannot read or understand is logged once and costs only its own
values. Syslog forwarding is not done yet: `collect` reports statistics only.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from twisted.internet import defer, error, protocol, task
from twisted.python.failure import Failure

from agentlink.daemon.backend import DeviceRecord, LustreState, Record
from agentlink.daemon.dispatch import CommandResult
from agentlink.daemon.probes.devices import DeviceProbe
from agentlink.daemon.probes.host import HostProbe
from agentlink.daemon.probes.lustre import LustreProbe
from agentlink.daemon.probes.preflight import preflight_facts
from agentlink.daemon.probes.report import (
    boot_time_of,
    device_records,
    lustre_state,
    probe_tree,
    stat_records,
    statistics,
    zpool_records,
)
from agentlink.daemon.probes.source import SAFE_PATH, Commands, Tree

log = logging.getLogger(__name__)
REAP_POLL_S = 0.05


class _Collector(protocol.ProcessProtocol):
    """Collects one command's output and how it ended (its exit code, or 128 + the signal)."""

    def __init__(self, command: tuple[str, ...]) -> None:
        self.command = command
        self.out: list[bytes] = []
        self.err: list[bytes] = []
        self.running = True
        self.answer: defer.Deferred[CommandResult] | None = None

    def outReceived(self, data: bytes) -> None:
        self.out.append(data)

    def errReceived(self, data: bytes) -> None:
        self.err.append(data)

    def processEnded(self, reason: Failure) -> None:
        self.running = False
        ended = reason.value
        signal = getattr(ended, "signal", None)
        code = getattr(ended, "exitCode", None)
        err = _text(b"".join(self.err))
        if signal is not None:
            code, err = 128 + int(signal), err + f"\nkilled by signal {signal}"
        result = CommandResult(self.command, int(code or 0), _text(b"".join(self.out)), err)
        if self.answer is not None and not self.answer.called:  # not already cancelled
            self.answer.callback(result)


class LocalHost:
    def __init__(
        self,
        hostname: str,
        root: Path = Path("/"),
        reactor: Any = None,
        commands: Commands | None = None,
    ) -> None:
        self._hostname = hostname
        self.root = root
        """Where /sys and /proc are found (a directory of fixtures in tests)."""
        self.reactor = reactor
        self._commands = commands
        """What runs the probes' read-only commands; by default real ones for the root `/`
        and none for any other root."""
        self._logged: set[tuple[str, str]] = set()
        self._zpools: list[dict[str, Any]] = []

    @property
    def hostname(self) -> str:
        return self._hostname

    def run(self, argv: Sequence[str]) -> defer.Deferred[CommandResult]:
        """Run `argv` as a child process; cancelling the answer sends it SIGTERM."""
        command = tuple(argv)
        collector = _Collector(command)
        try:
            process = self._reactor().spawnProcess(
                collector,
                command[0],
                list(command),
                env={"PATH": SAFE_PATH, "LANG": "C"},
            )
        except OSError as failed:
            return defer.succeed(CommandResult(command, 127, "", f"{command[0]}: {failed}"))

        def stop(_: object) -> None:
            if collector.running:
                # It may end as it is cancelled; its answer is cancelled all the same.
                with contextlib.suppress(error.ProcessExitedAlready):
                    process.signalProcess("TERM")

        collector.answer = defer.Deferred(stop)
        self._reap_until_ended(process, collector)
        return collector.answer

    def _reap_until_ended(self, process: Any, collector: _Collector) -> None:
        """Twisted reaps a child on SIGCHLD, or once when its pipes close; a reactor run
        without signal handlers (on a thread: the desktop, the tests) misses a child that
        exits just after closing its pipes, and the command would never end. So poll for it
        while it runs (a WNOHANG waitpid; nothing when it has not exited)."""

        def reap() -> None:
            if not collector.running:
                poller.stop()
            elif getattr(process, "pid", None) is not None:  # None once reaped
                getattr(process, "reapProcess", lambda: None)()

        poller = task.LoopingCall(reap)
        poller.clock = self._reactor()
        poller.start(REAP_POLL_S, now=False)

    def _reactor(self) -> Any:
        if self.reactor is not None:
            return self.reactor
        from twisted.internet import reactor

        return reactor

    def _tree(self) -> tuple[Tree, Commands]:
        if self._commands is not None:  # given: they describe this tree (tests)
            return Tree(self.root, live=True), self._commands
        return probe_tree(self.root)

    def _log_problems(self, tree: Tree) -> None:
        """Each problem once, when it first appears, so a server with an odd file does not
        fill the log every round."""
        for problem in tree.problems:
            key = (problem["path"], problem["reason"])
            if key not in self._logged:
                self._logged.add(key)
                log.warning("%s: %s", problem["path"], problem["reason"])

    def devices(self) -> list[DeviceRecord]:
        tree, commands = self._tree()
        inventory = DeviceProbe(tree, commands).inventory()
        self._log_problems(tree)
        self._zpools = zpool_records(inventory)
        return device_records(inventory)

    def zpools(self) -> list[dict[str, Any]]:
        """The ZFS pools the last `devices()` found (the service asks right after it)."""
        return list(self._zpools)

    def lustre_state(self) -> LustreState:
        tree, commands = self._tree()
        lustre = LustreProbe(tree, commands)
        audit = lustre.audit()
        node = HostProbe(tree, commands).node()
        state = lustre_state(
            audit, boot_time_of(node, time.time()), tree, pools=lustre.pools(audit["targets"])
        )
        self._log_problems(tree)
        return state

    def preflight_facts(self, now: float) -> dict[str, Any]:
        """What the desktop's pre-flight checks judge (see `probes.preflight`)."""
        tree, commands = self._tree()
        facts = preflight_facts(tree, commands, self._hostname)
        self._log_problems(tree)
        return facts

    def collect(self, now: float) -> list[Record]:
        tree, commands = self._tree()
        lustre = LustreProbe(tree, commands)
        audit = lustre.audit()
        records: list[Record] = list(stat_records(audit, statistics(lustre, audit), now))
        self._log_problems(tree)
        return records


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")
