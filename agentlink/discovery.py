"""Zeroconf discovery of agents: `AgentAnnouncer` announces agents as `_chroma-agent._tcp.local.`
services (port and addresses in SRV/A/AAAA records; agent version, certificate fingerprint and
server name in TXT), `AgentBrowser` watches for them and reports each one appearing, changing
and vanishing, and `resolve_addresses` turns the server names an admin typed into addresses.

Layer: agentlink, shared with the agent: imports nothing of core, SQLAlchemy or Qt. Threads:
zeroconf runs its own threads; each announcer and browser owns one `Zeroconf`, which runs an
asyncio event loop on its own daemon thread. Their methods may be called from any thread except
that loop's: they hand the work to the loop and return concurrent Futures (only the
constructors and `close` wait, briefly). `AgentBrowser` calls `on_change` on the zeroconf loop
thread, so it must return at once and touch neither Twisted nor Qt: the desktop hands each event
on to the reactor thread itself (`reactor.callFromThread`), and from there to the GUI thread as
a queued signal. `resolve_addresses` blocks on DNS: run it on a worker thread.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
import re
import socket
import threading
import unicodedata
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any, Final, TypeVar

import ifaddr
from zeroconf import ServiceInfo, ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo

from agentlink.daemon.pki import normalize_fingerprint

log = logging.getLogger(__name__)

SERVICE_TYPE: Final = "_chroma-agent._tcp.local."
RESOLVE_TIMEOUT_S: Final = 3.0  # zeroconf's own default for a service info request
_LOOP_CALL_TIMEOUT_S: Final = 10.0  # starting or stopping a browser on the zeroconf loop

_MAX_LABEL_BYTES: Final = 63  # a DNS label
# Names are cut shorter, leaving room for the "-2" suffix that we add to a name this announcer
# already uses, or zeroconf's probing adds to one that another responder on the network uses.
_BASE_LABEL_BYTES: Final = _MAX_LABEL_BYTES - len("-999999")
_MAX_TXT_ENTRY_BYTES: Final = 255  # one TXT string is a length byte and at most 255 bytes
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
_NOT_IN_HOST_LABEL = re.compile(r"[^a-z0-9-]+")

T = TypeVar("T")


class DiscoveryError(Exception):
    """Discovery cannot run as configured; the message says what to change."""


# --- what is announced and what is seen -------------------------------------------------------


class DiscoveryChange(Enum):
    APPEARED = "appeared"
    UPDATED = "updated"
    VANISHED = "vanished"


@dataclass(frozen=True)
class DiscoveredAgent:
    """An agent as announced on the network. `instance` is its service instance name (`oss01`),
    unique among the agents on the network; the others are what the agent announces."""

    instance: str
    hostname: str
    addresses: tuple[str, ...]
    port: int
    fingerprint: str
    version: str


@dataclass(frozen=True)
class DiscoveryEvent:
    change: DiscoveryChange
    agent: DiscoveredAgent  # for VANISHED: the agent as it was last seen


@dataclass(frozen=True)
class _Advert:
    """What one announcement says; its TXT strings are checked to fit when it is made."""

    hostname: str
    port: int
    addresses: tuple[str, ...]
    fingerprint: str
    version: str

    def properties(self) -> dict[str, str]:
        return {"version": self.version, "fingerprint": self.fingerprint, "hostname": self.hostname}


def _checked_advert(
    hostname: str, port: int, addresses: Sequence[str], fingerprint: str, version: str
) -> _Advert:
    if not 1 <= port <= 65535:
        raise ValueError(f"port {port} is not a port number (1 to 65535)")
    if not addresses:
        raise ValueError("an agent needs at least one address to announce")
    canonical_addresses: list[str] = []
    for address in addresses:
        try:
            canonical_addresses.append(str(ipaddress.ip_address(address)))
        except ValueError:
            raise ValueError(f"{address!r} is not an IP address") from None
    advert = _Advert(
        hostname=hostname.strip(),
        port=port,
        addresses=tuple(dict.fromkeys(canonical_addresses)),
        fingerprint=normalize_fingerprint(fingerprint),
        version=version.strip(),
    )
    for key, value in advert.properties().items():
        if not value or _CONTROL_CHARACTERS.search(value):
            raise ValueError(f"the agent's {key} {value!r} is empty or holds control characters")
        if len(f"{key}={value}".encode()) > _MAX_TXT_ENTRY_BYTES:
            raise ValueError(f"the agent's {key} is too long for a TXT record: {value[:40]!r}…")
    return advert


def _truncate_utf8(text: str, limit: int) -> str:
    """`text` cut to at most `limit` bytes of UTF-8, never inside a character."""
    return text.encode()[:limit].decode(errors="ignore")


def _instance_label(name: str) -> str:
    """A valid service instance label for `name`: DNS-SD allows any Net-Unicode text, but dots
    would split the label on the wire and control characters are forbidden."""
    text = unicodedata.normalize("NFC", name)
    text = " ".join(_CONTROL_CHARACTERS.sub(" ", text.replace(".", "-")).split())
    return _truncate_utf8(text, _BASE_LABEL_BYTES).strip() or "chroma-agent"


def _host_label(hostname: str) -> str:
    """A host name label for the SRV target (`oss01.example.com` → `oss01-example-com`)."""
    text = _NOT_IN_HOST_LABEL.sub("-", hostname.lower()).strip("-")
    return text[:_BASE_LABEL_BYTES].strip("-") or "chroma-agent"


def _unique(label: str, taken: set[str]) -> str:
    candidate, number = label, 2
    while candidate.lower() in taken:
        candidate = f"{label}-{number}"
        number += 1
    return candidate


def _instance_of(name: str) -> str:
    """`oss01._chroma-agent._tcp.local.` → `oss01`."""
    suffix = "." + SERVICE_TYPE
    return name[: -len(suffix)] if name.lower().endswith(suffix) else name


Browse = Callable[[Callable[["DiscoveryEvent"], None]], "AgentBrowser"]
"""Starts looking for agents, calling back with each change, until the browser is closed."""


def browse_workstation(on_change: Callable[[DiscoveryEvent], None]) -> AgentBrowser:
    """Look for agents on every network interface of this machine (loopback left out)."""
    addresses = workstation_addresses()
    if not addresses:
        raise DiscoveryError("this machine has no network interface to look for agents on")
    return AgentBrowser(addresses, on_change)


def workstation_addresses() -> list[str]:
    """The IPv4 addresses of this machine's network interfaces, loopback left out: where the
    desktop looks for agents unless told otherwise. Empty on a machine with no network."""
    found: list[str] = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if isinstance(ip.ip, str) and not ipaddress.ip_address(ip.ip).is_loopback:
                found.append(ip.ip)
    return sorted(set(found), key=_address_order)


def _checked_interfaces(interfaces: Sequence[str]) -> list[str]:
    """The interface addresses, each checked to be an address of this machine: zeroconf quietly
    skips one that is not, leaving discovery deaf and mute without a word."""
    if isinstance(interfaces, str) or not interfaces:
        raise DiscoveryError(
            "discovery needs the addresses of the network interfaces to use, e.g. ['192.168.1.5']"
        )
    checked: list[str] = []
    for interface in interfaces:
        try:
            address = ipaddress.ip_address(interface)
        except ValueError:
            raise DiscoveryError(
                f"{interface!r} is not an IP address: name each network interface for discovery "
                "by one of its addresses"
            ) from None
        family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
        try:
            # Binding to port 0 sends nothing; it only asks the kernel whether the address is ours.
            with socket.socket(family, socket.SOCK_DGRAM) as probe:
                probe.bind((interface, 0))
        except OSError as exc:
            if exc.errno != errno.EADDRNOTAVAIL:
                raise
            raise DiscoveryError(
                f"{interface} is not an address of this machine: choose one of its network "
                "interfaces' addresses for discovery"
            ) from None
        checked.append(interface)
    return checked


def _open_zeroconf(interfaces: Sequence[str]) -> Zeroconf:
    checked = _checked_interfaces(interfaces)
    try:
        # A list of interfaces: only those are joined and sent from; ip_version follows them.
        return Zeroconf(interfaces=list(checked), use_asyncio=False)
    except OSError as exc:
        raise DiscoveryError(
            f"cannot use the mDNS port 5353 on {', '.join(checked)}: {exc.strerror}. If another "
            "mDNS responder (avahi) runs here, set disallow-other-stacks=no in avahi-daemon.conf"
        ) from exc


def _loop_of(zc: Zeroconf) -> asyncio.AbstractEventLoop:
    loop = zc.loop
    if loop is None:  # Zeroconf starts its loop thread in its constructor
        raise RuntimeError("zeroconf has no event loop")
    return loop


def _log_failure(what: str) -> Callable[[Future[Any]], None]:
    def check(future: Future[Any]) -> None:
        if not future.cancelled() and (exc := future.exception()) is not None:
            log.warning("%s failed: %s", what, exc, exc_info=exc)

    return check


# --- announcing ---------------------------------------------------------------------------------


class AgentAnnouncement:
    """One announced agent, as `AgentAnnouncer.announce` hands it back. `announced` completes
    with the instance name once the agent is on the network; the name is `instance` unless
    another responder on the network already used it, in which case zeroconf picked a new one."""

    def __init__(self, instance: str, server: str, advert: _Advert) -> None:
        self.instance = instance
        self.announced: Future[str] = Future()
        # Below: owned by the zeroconf loop thread.
        self._server = server
        self._advert = advert
        self._info: ServiceInfo | None = None  # set while registered
        self._tail: asyncio.Task[Any] | None = None  # the last operation, which the next awaits

    def __repr__(self) -> str:
        return f"<AgentAnnouncement {self.instance!r}>"


class AgentAnnouncer:
    """Announces agents on the network interfaces whose addresses are given. One announcer can
    announce many agents (the cluster simulator runs one per simulated server); each is its own
    service instance. Operations on one announcement run in the order they were called."""

    def __init__(self, interfaces: Sequence[str]) -> None:
        self._zc = _open_zeroconf(interfaces)
        self._loop = _loop_of(self._zc)
        self._lock = threading.Lock()  # guards the fields below, used from callers' threads
        self._closed = False
        self._instances: set[str] = set()
        self._servers: set[str] = set()
        self._tasks: set[asyncio.Task[Any]] = set()  # owned by the loop thread

    def announce(
        self,
        name: str,
        hostname: str,
        port: int,
        addresses: Sequence[str],
        fingerprint: str,
        version: str,
    ) -> AgentAnnouncement:
        """Announce an agent listening on `port` at `addresses`, as service instance `name`
        (made valid and unique: at most 63 bytes, no dots). Returns at once; ValueError if an
        argument cannot be announced."""
        advert = _checked_advert(hostname, port, addresses, fingerprint, version)
        with self._lock:
            self._check_open()
            instance = _unique(_instance_label(name), self._instances)
            self._instances.add(instance.lower())
            server = _unique(_host_label(advert.hostname), self._servers)
            self._servers.add(server)
        handle = AgentAnnouncement(instance, f"{server}.local.", advert)

        async def register() -> None:
            info = self._service_info(handle, f"{instance}.{SERVICE_TYPE}", handle._advert)
            broadcast = await self._zc.async_register_service(info, allow_name_change=True)
            handle._info = info
            if info.name != f"{instance}.{SERVICE_TYPE}":  # renamed: the name was taken
                handle.instance = _instance_of(info.name)
                with self._lock:
                    self._instances.discard(instance.lower())
                    self._instances.add(handle.instance.lower())
            handle.announced.set_result(handle.instance)
            await broadcast  # a withdrawal must not overtake the announcements

        def fail(future: Future[None]) -> None:
            if handle.announced.done():
                return
            if future.cancelled():
                handle.announced.cancel()
            elif (exc := future.exception()) is not None:
                handle.announced.set_exception(exc)

        done = self._after_previous(handle, register)
        done.add_done_callback(fail)
        done.add_done_callback(_log_failure(f"announcing agent {instance!r}"))
        return handle

    def update(
        self,
        handle: AgentAnnouncement,
        *,
        fingerprint: str | None = None,
        version: str | None = None,
        port: int | None = None,
        addresses: Sequence[str] | None = None,
    ) -> Future[None]:
        """Announce new details of an agent (its new fingerprint after pairing, a new version
        after an upgrade). Its hostname stays: another server is another announcement."""
        given = {
            "fingerprint": fingerprint,
            "version": version,
            "port": port,
            "addresses": addresses,
        }
        current = handle._advert  # to check the arguments now: the loop applies them later
        candidate = _checked_advert(
            current.hostname,
            current.port if port is None else port,
            current.addresses if addresses is None else addresses,
            current.fingerprint if fingerprint is None else fingerprint,
            current.version if version is None else version,
        )
        changes = {
            key: getattr(candidate, key) for key, value in given.items() if value is not None
        }
        self._check_open()

        async def update() -> None:
            # Applied to the advert as it is now, after any earlier update of this agent.
            advert = handle._advert = replace(handle._advert, **changes)
            if handle._info is None:  # never announced, or withdrawn
                return
            info = self._service_info(handle, handle._info.name, advert)
            broadcast = await self._zc.async_update_service(info)
            handle._info = info
            await broadcast

        done = self._after_previous(handle, update)
        done.add_done_callback(_log_failure(f"updating agent {handle.instance!r}"))
        return done

    def withdraw(self, handle: AgentAnnouncement) -> Future[None]:
        """Say goodbye for the agent: browsers see it vanish. Its name is free again after."""
        self._check_open()

        async def withdraw() -> None:
            info, handle._info = handle._info, None
            if info is not None:
                await (await self._zc.async_unregister_service(info))
            with self._lock:
                self._instances.discard(handle.instance.lower())
                self._servers.discard(handle._server.removesuffix(".local."))

        done = self._after_previous(handle, withdraw)
        done.add_done_callback(_log_failure(f"withdrawing agent {handle.instance!r}"))
        return done

    def close(self) -> None:
        """Withdraw every agent (goodbyes go out, taking a fraction of a second) and stop."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        _run_on_loop(self._loop, _cancel_all(self._tasks))
        self._zc.close()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the announcer is closed")

    def _service_info(self, handle: AgentAnnouncement, name: str, advert: _Advert) -> ServiceInfo:
        return ServiceInfo(
            SERVICE_TYPE,
            name,
            port=advert.port,
            properties=advert.properties(),
            server=handle._server,
            parsed_addresses=list(advert.addresses),
        )

    def _after_previous(
        self, handle: AgentAnnouncement, operation: Callable[[], Awaitable[None]]
    ) -> Future[None]:
        """Run `operation` on the loop once the announcement's previous operation has ended."""

        async def run() -> None:
            # No await before taking the tail: tasks start in the order they were submitted.
            task = asyncio.current_task()
            assert task is not None
            previous, handle._tail = handle._tail, task
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            if previous is not None:
                await asyncio.wait([previous])
            await operation()

        return asyncio.run_coroutine_threadsafe(run(), self._loop)


# --- browsing -----------------------------------------------------------------------------------


class _Garbled(Exception):
    """A service entry that is not an agent's announcement; the message says why."""


def _text_property(properties: Mapping[bytes, bytes | None], key: str) -> str:
    if key.encode() not in properties:
        raise _Garbled(f"it announces no {key}")
    raw = properties[key.encode()]
    if raw is None:
        raise _Garbled(f"its {key} has no value")
    try:
        value = raw.decode()
    except UnicodeDecodeError:
        raise _Garbled(f"its {key} is not UTF-8 text: {raw[:40]!r}") from None
    if not value.strip() or _CONTROL_CHARACTERS.search(value):
        raise _Garbled(f"its {key} {value[:40]!r} is empty or holds control characters")
    return value.strip()


def _address_order(address: str) -> tuple[int, bytes]:
    parsed = ipaddress.ip_address(address)
    return parsed.version, parsed.packed


def _agent_from(info: ServiceInfo) -> DiscoveredAgent:
    port = info.port
    if port is None or not 1 <= port <= 65535:
        raise _Garbled(f"it announces port {port}, not a port number")
    # Sorted: mDNS gives addresses in no particular order, and a new order is no change.
    addresses = tuple(sorted(info.parsed_scoped_addresses(), key=_address_order))
    if not addresses:
        raise _Garbled("it announces no address")
    properties = info.properties
    try:
        fingerprint = normalize_fingerprint(_text_property(properties, "fingerprint"))
    except ValueError as exc:
        raise _Garbled(str(exc)) from None
    return DiscoveredAgent(
        instance=_instance_of(info.name),
        hostname=_text_property(properties, "hostname"),
        addresses=addresses,
        port=port,
        fingerprint=fingerprint,
        version=_text_property(properties, "version"),
    )


class AgentBrowser:
    """Watches the network interfaces whose addresses are given for agents, from construction
    until `close`, and calls `on_change` for each agent that appears, changes or vanishes (on
    the zeroconf loop thread: see the module's docstring). Entries that are not a well-formed
    agent announcement are left out, with the reason logged once per entry and reason."""

    def __init__(
        self,
        interfaces: Sequence[str],
        on_change: Callable[[DiscoveryEvent], None],
        *,
        resolve_timeout_s: float = RESOLVE_TIMEOUT_S,
    ) -> None:
        self._on_change = on_change
        self._resolve_timeout_ms = resolve_timeout_s * 1000
        self._zc = _open_zeroconf(interfaces)
        self._loop = _loop_of(self._zc)
        self._closed = False
        # Owned by the loop thread; keyed by the lower-case service name.
        self._known: dict[str, DiscoveredAgent] = {}
        self._ignored: dict[str, str] = {}
        self._resolving: dict[str, asyncio.Task[None]] = {}
        self._stale: set[str] = set()

        async def start() -> AsyncServiceBrowser:
            return AsyncServiceBrowser(self._zc, SERVICE_TYPE, handlers=[self._on_service_change])

        try:
            self._browser = _run_on_loop(self._loop, start())
        except BaseException:
            self._zc.close()
            raise

    def close(self) -> None:
        """Stop browsing; no `on_change` call starts after this returns."""
        if self._closed:
            return
        self._closed = True

        async def stop() -> None:
            await self._browser.async_cancel()
            await _cancel_all(set(self._resolving.values()))

        _run_on_loop(self._loop, stop())
        self._zc.close()

    def _on_service_change(
        self, zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange
    ) -> None:
        key = name.lower()
        if state_change is ServiceStateChange.Removed:
            task = self._resolving.pop(key, None)
            if task is not None:
                task.cancel()
            self._ignored.pop(key, None)
            if (agent := self._known.pop(key, None)) is not None:
                self._emit(DiscoveryChange.VANISHED, agent)
        elif key in self._resolving:
            self._stale.add(key)  # the running resolution starts over when it ends
        else:
            task = asyncio.ensure_future(self._resolve(key, name))
            self._resolving[key] = task

    async def _resolve(self, key: str, name: str) -> None:
        try:
            while True:
                self._stale.discard(key)
                info = AsyncServiceInfo(SERVICE_TYPE, name)
                if await info.async_request(self._zc, self._resolve_timeout_ms):
                    self._resolved(key, info)
                elif key not in self._known:
                    log.info(
                        "agent service %r did not answer within %.0f ms",
                        name,
                        self._resolve_timeout_ms,
                    )
                if key not in self._stale:
                    return
        except Exception:  # nobody awaits this task: say what went wrong here
            log.exception("resolving agent service %r failed", name)
        finally:
            if self._resolving.get(key) is asyncio.current_task():
                del self._resolving[key]
                self._stale.discard(key)

    def _resolved(self, key: str, info: ServiceInfo) -> None:
        try:
            agent = _agent_from(info)
        except _Garbled as garbled:
            reason = str(garbled)
            if self._ignored.get(key) != reason:
                self._ignored[key] = reason
                log.warning("ignoring service %r: %s", info.name, reason)
            if (gone := self._known.pop(key, None)) is not None:
                self._emit(DiscoveryChange.VANISHED, gone)
            return
        self._ignored.pop(key, None)
        previous = self._known.get(key)
        if previous == agent:
            return  # a refresh of records already seen
        self._known[key] = agent
        self._emit(DiscoveryChange.APPEARED if previous is None else DiscoveryChange.UPDATED, agent)

    def _emit(self, change: DiscoveryChange, agent: DiscoveredAgent) -> None:
        if self._closed:
            return
        try:
            self._on_change(DiscoveryEvent(change, agent))
        except Exception:  # a listener's bug must not stop discovery
            log.exception("the discovery listener failed on %s %s", agent.instance, change.value)


async def _cancel_all(tasks: set[asyncio.Task[Any]]) -> None:
    pending = list(tasks)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


def _run_on_loop(loop: asyncio.AbstractEventLoop, work: Coroutine[Any, Any, T]) -> T:
    """Run `work` on the zeroconf loop and wait for it, from any other thread."""
    try:
        running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:  # waiting would block the very loop that has to do the work
        work.close()
        raise RuntimeError("called on the zeroconf loop thread (from on_change?): call it later")
    return asyncio.run_coroutine_threadsafe(work, loop).result(_LOOP_CALL_TIMEOUT_S)


# --- names typed by an admin --------------------------------------------------------------------


class HostNotResolved(Exception):
    """A server name that gave no address; the message says what to check."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason


@dataclass(frozen=True)
class NameResolution:
    """The addresses of each name that resolved, in the order given, and an error for each
    name that did not."""

    addresses: Mapping[str, tuple[str, ...]]
    errors: tuple[HostNotResolved, ...]


AddressInfo = tuple[Any, Any, Any, Any, tuple[Any, ...]]
Resolver = Callable[[str, None, int, int], Sequence[AddressInfo]]

_NO_SUCH_HOST = "no such host — check the name or add it to DNS or /etc/hosts"
_NO_ADDRESS = "the name has no IP address — check the name or its DNS or /etc/hosts entry"
_GAI_REASONS: Final[dict[int, str]] = {
    socket.EAI_NONAME: _NO_SUCH_HOST,
    socket.EAI_AGAIN: "the name server did not answer in time — check DNS and try again",
    socket.EAI_FAIL: "the name server failed — check the DNS configuration (/etc/resolv.conf)",
    # glibc's "the name is known but has no address"; not every platform defines them
    **{
        getattr(socket, code): _NO_ADDRESS
        for code in ("EAI_NODATA", "EAI_ADDRFAMILY")
        if hasattr(socket, code)
    },
}


def _host_of(name: str) -> str:
    """The host part of a server address as hostlists give them: `oss01`, `oss01:7001`,
    `[fe80::1]:7001`, `fe80::1`."""
    if name.startswith("[") and "]" in name:
        return name[1 : name.index("]")]
    if name.count(":") == 1:
        return name.split(":")[0]
    return name


def resolve_addresses(
    names: Sequence[str], resolver: Resolver = socket.getaddrinfo
) -> NameResolution:
    """Resolve each server name (one at a time, blocking on DNS) to its IP addresses, in the
    resolver's order without repeats. A name that does not resolve gets a `HostNotResolved`
    saying what to check ("oss17: no such host — …"); the others are kept."""
    addresses: dict[str, tuple[str, ...]] = {}
    errors: list[HostNotResolved] = []
    for name in dict.fromkeys(names):
        host = _host_of(name.strip())
        try:
            found = resolver(host, None, socket.AF_UNSPEC, socket.SOCK_STREAM)
        except socket.gaierror as exc:
            reason = _GAI_REASONS.get(exc.errno or 0, f"cannot resolve it: {exc.strerror}")
            errors.append(HostNotResolved(name, reason))
            continue
        except UnicodeError:  # the IDNA codec refuses empty or over-long labels
            errors.append(HostNotResolved(name, "not a valid host name — check the name"))
            continue
        except OSError as exc:
            errors.append(HostNotResolved(name, f"cannot resolve it: {exc.strerror or exc}"))
            continue
        resolved = tuple(dict.fromkeys(str(sockaddr[0]) for *_, sockaddr in found))
        if resolved:
            addresses[name] = resolved
        else:
            errors.append(HostNotResolved(name, _NO_ADDRESS))
    return NameResolution(addresses, tuple(errors))
