"""The running service behind the window, `--headless`, the CLI and the API: core, the agent
link and the history stores wired together, with no Qt.

Layer: chroma_desktop (imports no Qt: a contract keeps `chroma_desktop.cli` free of it, and this
module is what the CLI runs). Threads: the caller's thread only hands work over. Database work,
the scheduler included, runs on the "chroma-db" worker; the agent links run on the reactor
thread. What happens is published to `listeners` from those threads; the window's bridge turns
it into queued signals, the CLI prints it.

- Pairing: `pair_server(address, token)` checks the agent at `address` (host[:port]) with the
  pre-flight checks of `core.preflight` over the pairing connection, refuses it on a failing
  check unless forced, pairs it with this desktop's CA, records the pinned certificate on the
  server's Host (adding the Host if it is new), and keeps a link to it from then on;
  `check_server` runs only the checks.
- Links to every paired server are opened at start, and reopened with backoff when they drop.
- Agents' reports, in the order each server sent them: the alert engine sees each first (it
  tells a planned change from an unplanned one by the model as it was), then the Lustre state
  corrects the model through `Scheduler.observe`, then the storage plugins turn device and
  network reports into volumes and NIDs, then handlers registered with `add_report_handler`
  (the history stores) take what they want. A garbled report is published as an error and
  changes nothing.
- The scheduler runs under `SchedulerService`: on PostgreSQL shared by several desktops, only
  the one holding the lease runs it; `tick` is called every LEASE_RETRY_S.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from twisted.internet import task

from agentlink.authority import DesktopAuthority
from agentlink.commands import AgentCommandRenderer
from agentlink.connector import (
    AgentEndpoint,
    AgentLinks,
    LinkEvent,
    LinkState,
    check_agent,
    pair_agent,
)
from agentlink.daemon import DEFAULT_PORT
from agentlink.gateway import LinkGateway
from agentlink.preflight import Preflight
from agentlink.reports import GarbledReportError, contact_from_link_event, parse_push
from agentlink.runtime import ReactorThread
from core import inventory
from core.alerts import AlertEngine
from core.database import Database
from core.dbworker import DatabaseWorker
from core.errors import ChromaError
from core.models import Host
from core.observations import LustreReported, Observation, RecordsMissed, RecordsReported
from core.ports import ActionResult, Clock, SecretStore, SystemClock
from core.preflight import PreflightReport, ProfileNeeds, profile_needs
from core.scheduler import HOST, JobChanged, ObjectChanged, Scheduler
from core.scheduler.service import LEASE_RETRY_S, SchedulerService
from core.validation import ServerAddress, parse_server_address
from core.version import installed_version
from plugins.runner import apply_agent_report

T = TypeVar("T")
log = logging.getLogger(__name__)
Listener = Callable[[object], None]
ReportHandler = Callable[[Session, str, Observation], None]
"""(session, the server's address, the report as parsed once by `parse_push`), on the database
worker."""


@dataclass(frozen=True)
class PairedServer:
    host_id: int
    address: str
    name: str
    fingerprint: str
    preflight: PreflightReport | None = None
    """The checks it passed (or was paired despite) just before pairing."""


@dataclass(frozen=True)
class LateOutcome:
    """What really became of an action that ended "outcome unknown", learnt after a reconnect."""

    host: str
    result: ActionResult


class SchedulerNotRunningError(RuntimeError):
    """Another desktop runs the scheduler of this database (or none has started yet)."""


class ReportNotTakenError(ChromaError):
    """A consumer of agents' reports (the history stores, a plugin) failed on one; the others
    still took it."""

    def __init__(self, host: str, kind: str, error: Exception) -> None:
        super().__init__(
            f"A {kind} report from {host} was not taken in everywhere ({type(error).__name__}: "
            f"{error}).",
            hint="The rest of the desktop took it; the details are in the desktop's log.",
        )


class Manager:
    def __init__(
        self,
        database: Database,
        secrets: SecretStore,
        config_dir: Path,
        reactor_thread: ReactorThread,
        *,
        clock: Clock | None = None,
        link_retry: Callable[[int], float] | None = None,
    ) -> None:
        self.database = database
        self.clock = clock or SystemClock()
        self.reactor_thread = reactor_thread
        self.worker = DatabaseWorker(database)
        self.authority = DesktopAuthority(secrets, config_dir)
        self.listeners: list[Listener] = []
        self._report_handlers: dict[str, list[ReportHandler]] = {}
        self.gateway = LinkGateway(reactor_thread.call, on_late_outcome=self._late_outcome)
        self.links: AgentLinks | None = None
        self._link_retry = link_retry
        self.service = SchedulerService(database, self._make_scheduler)
        self.alerts = AlertEngine(database, self.clock)
        self._ticking: task.LoopingCall | None = None
        self._closing_links: set[str] = set()
        self._link_states: dict[str, LinkState] = {}
        """Each server's link as its last LinkEvent said (reactor thread only)."""
        self._stopped = False
        self._journal_positions: dict[str, int] = {}
        """Each paired server's `Host.records_delivered` when its link was set up."""

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the reactor thread, the scheduler (if this desktop gets the lease) and the
        links to every paired server. Raises AuthorityError when the keyring is unusable."""
        self.authority.load_or_create(self.clock.now())
        self.reactor_thread.start()
        self.reactor_thread.call_and_wait(self._start_links)
        self.worker.submit(lambda session: self.service.tick()).result()
        self.worker.submit(self._paired_endpoints).add_done_callback(
            lambda done: self.reactor_thread.call(lambda: self._connect_all(done.result()))
        )

    def stop(self) -> None:
        """Close the links, give up the scheduler's lease and end the database worker; a
        second call does nothing."""
        if self._stopped:
            return
        self._stopped = True

        def stop_links() -> Any:
            if self.links is not None:
                self._closing_links.update(self.links.connected)  # no "server offline" for us
            if self._ticking is not None and self._ticking.running:
                self._ticking.stop()
            return self.links.stop() if self.links is not None else None

        self.reactor_thread.call_and_wait(stop_links)
        self.worker.submit(lambda session: self.service.close()).result()
        self.worker.close()

    def _start_links(self) -> None:
        reactor = self.reactor_thread.reactor
        self.links = AgentLinks(
            reactor,
            self.authority,
            self.gateway,
            software_version=installed_version(),
            on_event=self._link_event,
            on_push=self._pushed,
            retry=self._link_retry,
            last_record=lambda host: self._journal_positions.get(host, 0),
        )
        self._ticking = task.LoopingCall(lambda: self.worker.submit(self._tick))
        self._ticking.clock = reactor
        self._ticking.start(LEASE_RETRY_S, now=False)

    def _tick(self, session: Session) -> None:
        """Every LEASE_RETRY_S on the database worker: the scheduler's lease, and the alerts
        that fire on time passing (a server silent for too long)."""
        self.service.tick()
        self._publish_all(self.alerts.tick())

    def _make_scheduler(self) -> Scheduler:
        scheduler = Scheduler(
            self.database,
            self.gateway,
            AgentCommandRenderer(),
            self.clock,
            publish=self._scheduler_event,
        )

        def pump_soon() -> None:
            self.worker.submit(lambda session: scheduler.pump())

        scheduler.on_inbox = pump_soon
        return scheduler

    # --- what others call -----------------------------------------------------------------------

    def run(self, work: Callable[[Scheduler], T]) -> Future[T]:
        """Run `work(scheduler)` on the database worker; fails with SchedulerNotRunningError when
        this desktop does not run the scheduler."""

        def on_worker(session: Session) -> T:
            scheduler = self.service.scheduler
            if scheduler is None:
                holder = self.service.who_runs_it()
                raise SchedulerNotRunningError(
                    f"The scheduler runs in another desktop ({holder})."
                    if holder
                    else "The scheduler has not started yet."
                )
            return work(scheduler)

        return self.worker.submit(on_worker)

    def pair_server(
        self, address: str, token: str, *, profile: str | None = None, force: bool = False
    ) -> Future[PairedServer]:
        """Check the agent at `address` (the pre-flight checks, on the pairing connection),
        then pair it using the token it printed, and keep a link to it. A failing check stops
        it with PreflightFailedError, its token still good, unless `force`. A new server gets
        `profile` (by name; the default profile when None); a server paired again keeps its
        own unless one is given."""
        done: Future[PairedServer] = Future()
        where = _agent_address(address, done)
        if where is None:
            return done
        parsed, key, port = where

        def on_reactor(needs: ProfileNeeds) -> None:
            pairing = pair_agent(
                self.reactor_thread.reactor,
                self.authority,
                parsed.host,
                port,
                token,
                agent_id=key,
                software_version=installed_version(),
                preflight=Preflight(key, parsed.host, needs, installed_version(), force),
            )
            pairing.addCallbacks(record, lambda failure: done.set_exception(failure.value))

        def record(paired: Any) -> None:
            recorded = self.worker.submit(
                lambda session: self._record_pairing(session, key, paired.name, paired, profile),
                actor="pairing",
            )
            recorded.add_done_callback(connect)

        def connect(recorded: Future[PairedServer]) -> None:
            error = recorded.exception()
            if error is not None:
                done.set_exception(error)
                return
            server = recorded.result()
            endpoint = AgentEndpoint(key, parsed.host, port, server.fingerprint)
            self.reactor_thread.call(lambda: self._connect_all([endpoint]))
            done.set_result(server)

        self._with_needs(profile, done, on_reactor)
        return done

    def check_server(
        self, address: str, token: str, *, profile: str | None = None
    ) -> Future[PreflightReport]:
        """Only the pre-flight checks of the agent at `address` for `profile`, pairing nothing
        and leaving its token good: a report of every check (an agent that cannot be reached
        is a failed check in it, not an error)."""
        done: Future[PreflightReport] = Future()
        where = _agent_address(address, done)
        if where is None:
            return done
        parsed, key, port = where

        def on_reactor(needs: ProfileNeeds) -> None:
            checking = check_agent(
                self.reactor_thread.reactor,
                self.authority,
                parsed.host,
                port,
                token,
                Preflight(key, parsed.host, needs, installed_version()),
                software_version=installed_version(),
            )
            checking.addCallbacks(
                done.set_result, lambda failure: done.set_exception(failure.value)
            )

        self._with_needs(profile, done, on_reactor)
        return done

    def _with_needs(
        self, profile: str | None, done: Future[Any], then: Callable[[ProfileNeeds], None]
    ) -> None:
        """What `profile` asks of a server, read on the worker, handed to `then` on the
        reactor thread."""
        needs = self.worker.submit(lambda session: profile_needs(session, profile))

        def read(future: Future[ProfileNeeds]) -> None:
            error = future.exception()
            if error is not None:
                done.set_exception(error)
            else:
                self.reactor_thread.call(lambda: then(future.result()))

        needs.add_done_callback(read)

    def wait_for_links(self, timeout_s: float) -> tuple[str, ...]:
        """Wait up to `timeout_s` until the link to every paired server is up; the servers whose
        link is still down (for a short-lived manager, such as the one `chroma` runs for one
        command, before it acts)."""
        came_up = threading.Event()

        def listener(event: object) -> None:
            if isinstance(event, LinkEvent):
                came_up.set()

        self.listeners.append(listener)
        try:
            expected = {e.host for e in self.worker.submit(self._paired_endpoints).result()}
            deadline = time.monotonic() + timeout_s
            while True:
                down = expected - self.reactor_thread.call_and_wait(self._connected_now)
                left = deadline - time.monotonic()
                if not down or left <= 0:
                    return tuple(sorted(down))
                came_up.wait(left)
                came_up.clear()
        finally:
            self.listeners.remove(listener)

    def _connected_now(self) -> set[str]:
        return {host for host, state in self._link_states.items() if state == LinkState.CONNECTED}

    def add_report_handler(self, kind: str, handler: ReportHandler) -> None:
        self._report_handlers.setdefault(kind, []).append(handler)

    # --- inside ---------------------------------------------------------------------------------

    def _record_pairing(
        self, session: Session, key: str, name: str, paired: Any, profile: str | None
    ) -> PairedServer:
        host = session.scalar(select(Host).where(Host.address == key, Host.deleted_at.is_(None)))
        if host is None:
            host = inventory.add_host(session, key, profile)
        elif profile is not None:
            inventory.set_host_profile(session, host, profile)
        host.agent_id = key
        host.cert_fingerprint = paired.fingerprint
        host.nodename = name
        host.fqdn = host.fqdn or name
        host.agent_version = paired.software_version
        session.flush()
        return PairedServer(host.id, key, name, paired.fingerprint, paired.preflight)

    def _paired_endpoints(self, session: Session) -> list[AgentEndpoint]:
        endpoints = []
        for host in session.scalars(
            select(Host).where(Host.deleted_at.is_(None), Host.cert_fingerprint.is_not(None))
        ):
            self._journal_positions[host.address] = host.records_delivered
            address = parse_server_address(host.address)
            endpoints.append(
                AgentEndpoint(
                    host.address,
                    address.host,
                    address.port or DEFAULT_PORT,
                    str(host.cert_fingerprint),
                )
            )
        return endpoints

    def _connect_all(self, endpoints: list[AgentEndpoint]) -> None:
        assert self.links is not None
        for endpoint in endpoints:
            self.links.connect(endpoint)

    def _link_event(self, event: LinkEvent) -> None:
        """Reactor thread: a link came up or went down."""
        self._link_states[event.host] = event.state
        planned = event.host in self._closing_links
        contact = contact_from_link_event(event, received_at=self.clock.now(), planned=planned)
        self.worker.submit(
            lambda session: self._publish_all(self.alerts.observe(event.host, contact))
        )
        self._publish(event)

    def _pushed(self, host: str, body: dict[str, Any]) -> None:
        """Reactor thread: an agent's report; handled on the database worker, in order."""
        received_at = self.clock.now()
        self.worker.submit(lambda session: self._handle_report(session, host, body, received_at))

    def _handle_report(
        self, session: Session, host: str, body: dict[str, Any], received_at: Any
    ) -> None:
        try:
            observation = parse_push(host, body, received_at=received_at)
        except GarbledReportError as garbled:
            self._publish(garbled)
            return
        self._publish_all(self.alerts.observe(host, observation))
        scheduler = self.service.scheduler
        if isinstance(observation, LustreReported) and scheduler is not None:
            scheduler.observe(host, observation.report)
        kind = str(body.get("kind"))
        if kind in ("devices", "lustre"):
            host_id = session.scalar(
                select(Host.id).where(Host.address == host, Host.deleted_at.is_(None))
            )
            if host_id is not None:
                self._publish(apply_agent_report(session, host_id, kind, body))
        for handler in self._report_handlers.get(kind, ()):
            try:
                handler(session, host, observation)
            except Exception as error:  # the next handlers and the journal position go on
                log.exception("a %s report handler failed on %s's report", kind, host)
                self._publish(ReportNotTakenError(host, kind, error))
        self._record_journal_position(session, host, observation)

    @staticmethod
    def _record_journal_position(session: Session, host: str, observation: Observation) -> None:
        """Remember the newest journal record taken in, in the same unit of work as the report:
        a restarted desktop asks the agent for what came after it (at most the records handed
        to the history stores in their last second before a crash are lost, never doubled)."""
        if isinstance(observation, RecordsReported):
            seqs = [r.seq for r in observation.stats] + [r.seq for r in observation.logs]
            if not seqs:
                return
            newest = max(seqs)
        elif isinstance(observation, RecordsMissed):
            newest = observation.after + observation.missed
        else:
            return
        session.execute(
            update(Host)
            .where(Host.address == host, Host.deleted_at.is_(None))
            .values(records_delivered=newest)
        )

    def _late_outcome(self, host: str, result: ActionResult) -> None:
        self._publish(LateOutcome(host, result))

    def _scheduler_event(self, event: object) -> None:
        """Database worker: the scheduler's news; a job that ended is the alerts' news too."""
        self._publish(event)
        if isinstance(event, JobChanged) and event.state.finished:
            self._publish_all(self.alerts.job_finished(event.job_id))
        if (
            isinstance(event, ObjectChanged)
            and event.ref[0] == HOST
            and event.state in ("removed", "forgotten")
        ):
            self._let_go(event.ref[1])

    def _let_go(self, host_id: int) -> None:
        """Database worker: a server was removed: close its link for good (a planned close, so
        no "server offline" alert) and never reopen it; its agent was told to unpair if it was
        set up (RemoveHostJob)."""
        with self.database.session() as session:
            address = session.scalar(select(Host.address).where(Host.id == host_id))
        if address is None:
            return

        def close() -> None:
            self._closing_links.add(address)
            if self.links is not None:
                self.links.disconnect(address)

        self.reactor_thread.call(close)

    def _publish_all(self, events: list[Any]) -> None:
        for event in events:
            self._publish(event)

    def _publish(self, event: object) -> None:
        for listener in list(self.listeners):
            listener(event)


def _agent_address(address: str, done: Future[Any]) -> tuple[ServerAddress, str, int] | None:
    """The agent's parsed address, its key (the address as the links name it) and port; or
    None with the mistake set on `done`."""
    try:
        parsed = parse_server_address(address)
    except Exception as error:
        done.set_exception(error)
        return None
    return parsed, str(parsed), parsed.port or DEFAULT_PORT
