"""Zeroconf discovery on loopback, inside a private network namespace, and resolving names.

Every zeroconf socket of these tests is made on a worker thread that first moved itself into a
network namespace of its own (unshare(CLONE_NEWNET) acts on the calling thread only), where
the loopback interface is the only one: nothing can leave by a real interface, and no mDNS
responder on the machine (avahi) answers or listens. Sockets keep the namespace they were made
in, so the test thread uses the announcers and browsers normally. Where the namespace cannot be
made (not Linux, no CAP_SYS_ADMIN), the network tests are skipped, saying so; without root,
`unshare -rn pytest tests/agentlink/test_discovery.py` gives them one.
"""

from __future__ import annotations

import asyncio
import ctypes
import errno
import fcntl
import logging
import os
import socket
import struct
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest
from zeroconf import ServiceInfo, Zeroconf

from agentlink.discovery import (
    SERVICE_TYPE,
    AddressInfo,
    AgentAnnouncer,
    AgentBrowser,
    DiscoveredAgent,
    DiscoveryChange,
    DiscoveryError,
    DiscoveryEvent,
    HostNotResolved,
    resolve_addresses,
)

T = TypeVar("T")

LOOPBACK = ["127.0.0.1"]
WAIT_S = 5.0  # announcing takes about 1.7 s: probing for the name, then three announcements
VERSION = "1.4.2"
_CLONE_NEWNET = 0x40000000
_SIOCGIFFLAGS = 0x8913
_SIOCSIFFLAGS = 0x8914
_IFF_UP = 0x1
_IFREQ = "16sH22x"  # struct ifreq: the interface name, then its flags


def fingerprint(n: int) -> str:
    return f"sha256:{n:064x}"


def _enter_private_network_namespace() -> None:
    """Move the calling thread into a new network namespace and bring its loopback up."""
    if not sys.platform.startswith("linux"):
        raise OSError(errno.ENOSYS, "network namespaces are a Linux feature")
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(_CLONE_NEWNET) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as control:
        request = struct.pack(_IFREQ, b"lo", 0)
        flags = struct.unpack(_IFREQ, fcntl.ioctl(control, _SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(control, _SIOCSIFFLAGS, struct.pack(_IFREQ, b"lo", flags | _IFF_UP))
    # The guard behind "nothing leaves the machine": a namespace of its own, holding lo only.
    if os.readlink("/proc/thread-self/ns/net") == os.readlink("/proc/self/ns/net"):
        raise RuntimeError("the worker thread is still in the process's network namespace")
    if [name for _, name in socket.if_nameindex()] != ["lo"]:
        raise RuntimeError(f"the private namespace holds {socket.if_nameindex()}, not lo only")


class LoopbackNamespace:
    """Makes objects on a thread living in a private network namespace, and closes them."""

    def __init__(self, worker: ThreadPoolExecutor) -> None:
        self._worker = worker
        self._to_close: list[Callable[[], None]] = []

    def make(self, factory: Callable[[], T], close: Callable[[T], None]) -> T:
        made = self._worker.submit(factory).result(WAIT_S)
        self._to_close.append(lambda: close(made))
        return made

    def announcer(self) -> AgentAnnouncer:
        return self.make(lambda: AgentAnnouncer(LOOPBACK), AgentAnnouncer.close)

    def browser(self, on_change: Callable[[DiscoveryEvent], None]) -> AgentBrowser:
        return self.make(lambda: AgentBrowser(LOOPBACK, on_change), AgentBrowser.close)

    def zeroconf(self) -> Zeroconf:
        return self.make(lambda: Zeroconf(interfaces=LOOPBACK), Zeroconf.close)

    def close_all(self) -> None:
        for close in reversed(self._to_close):
            close()


@pytest.fixture
def loopback() -> Iterator[LoopbackNamespace]:
    # One worker, so every object is made on the same thread, in the same namespace.
    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="private-netns")
    try:
        try:
            worker.submit(_enter_private_network_namespace).result(WAIT_S)
        except OSError as exc:
            pytest.skip(
                "discovery tests run zeroconf in a private network namespace so that no mDNS "
                f"leaves loopback, and one cannot be made here: {exc.strerror}. It needs Linux "
                "and CAP_SYS_ADMIN: run as root, or as `unshare -rn pytest …` where unprivileged "
                "user namespaces are allowed"
            )
        namespace = LoopbackNamespace(worker)
        try:
            yield namespace
        finally:
            namespace.close_all()
    finally:
        worker.shutdown(wait=True)


class Events:
    """What a browser reported, with a bounded wait for what a test expects."""

    def __init__(self) -> None:
        self.seen: list[DiscoveryEvent] = []
        self._changed = threading.Condition()

    def __call__(self, event: DiscoveryEvent) -> None:
        with self._changed:
            self.seen.append(event)
            self._changed.notify_all()

    def wait_for(self, count: int, change: DiscoveryChange) -> list[DiscoveredAgent]:
        def matching() -> list[DiscoveredAgent]:
            return [event.agent for event in self.seen if event.change is change]

        with self._changed:
            if not self._changed.wait_for(lambda: len(matching()) >= count, WAIT_S):
                pytest.fail(f"expected {count} {change.value} within {WAIT_S} s: {self.seen}")
            return matching()

    def wait_for_agent(self, expected: DiscoveredAgent) -> None:
        with self._changed:
            if not self._changed.wait_for(
                lambda: any(event.agent == expected for event in self.seen), WAIT_S
            ):
                pytest.fail(f"expected {expected} within {WAIT_S} s: {self.seen}")


class LogWatch(logging.Handler):
    """Collects the discovery module's warnings, with a bounded wait for a number of them."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []
        self._changed = threading.Condition()

    def emit(self, record: logging.LogRecord) -> None:
        with self._changed:
            self.messages.append(record.getMessage())
            self._changed.notify_all()

    def wait_for(self, count: int) -> list[str]:
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.messages) >= count, WAIT_S):
                pytest.fail(f"expected {count} warnings within {WAIT_S} s: {self.messages}")
            return list(self.messages)


@pytest.fixture
def discovery_warnings() -> Iterator[LogWatch]:
    watch = LogWatch()
    logger = logging.getLogger("agentlink.discovery")
    logger.addHandler(watch)
    try:
        yield watch
    finally:
        logger.removeHandler(watch)


def announce(announcer: AgentAnnouncer, n: int) -> str:
    """Announce agent oss0<n> on port 700<n>; the instance name once it is on the network."""
    handle = announcer.announce(
        f"oss0{n}", f"oss0{n}", 7000 + n, ["127.0.0.1"], fingerprint(n), VERSION
    )
    return handle.announced.result(WAIT_S)


def agent(n: int) -> DiscoveredAgent:
    """Agent oss0<n> as a browser sees it once `announce` announced it."""
    return DiscoveredAgent(
        f"oss0{n}", f"oss0{n}", ("127.0.0.1",), 7000 + n, fingerprint(n), VERSION
    )


# --- announcing and browsing on loopback ------------------------------------------------------


def test_a_browser_sees_every_agent_of_one_announcer(loopback: LoopbackNamespace) -> None:
    events = Events()
    loopback.browser(events)
    announcer = loopback.announcer()
    handles = [
        announcer.announce(f"oss0{n}", f"oss0{n}", 7000 + n, ["127.0.0.1"], fingerprint(n), VERSION)
        for n in (1, 2, 3)
    ]

    appeared = events.wait_for(3, DiscoveryChange.APPEARED)

    assert sorted(appeared, key=lambda seen: seen.instance) == [agent(1), agent(2), agent(3)]
    assert [handle.announced.result(WAIT_S) for handle in handles] == ["oss01", "oss02", "oss03"]
    assert [handle.instance for handle in handles] == ["oss01", "oss02", "oss03"]


def test_a_browser_started_later_finds_agents_already_announced(
    loopback: LoopbackNamespace,
) -> None:
    announcer = loopback.announcer()
    announce(announcer, 4)
    events = Events()

    loopback.browser(events)

    assert events.wait_for(1, DiscoveryChange.APPEARED) == [agent(4)]


def test_a_new_fingerprint_after_pairing_is_seen_as_an_update(loopback: LoopbackNamespace) -> None:
    events = Events()
    loopback.browser(events)
    announcer = loopback.announcer()
    handle = announcer.announce("oss01", "oss01", 7001, ["127.0.0.1"], fingerprint(1), VERSION)
    events.wait_for(1, DiscoveryChange.APPEARED)

    announcer.update(handle, fingerprint=fingerprint(0xBEEF)).result(WAIT_S)

    assert events.wait_for(1, DiscoveryChange.UPDATED) == [
        DiscoveredAgent("oss01", "oss01", ("127.0.0.1",), 7001, fingerprint(0xBEEF), VERSION)
    ]


def test_updates_made_in_a_row_all_take_effect(loopback: LoopbackNamespace) -> None:
    events = Events()
    loopback.browser(events)
    announcer = loopback.announcer()
    handle = announcer.announce("oss01", "oss01", 7001, ["127.0.0.1"], fingerprint(1), VERSION)

    # Before the agent is even on the network, and without waiting for one another.
    announcer.update(handle, fingerprint=fingerprint(0xBEEF))
    announcer.update(handle, version="2.0.0", port=7100).result(WAIT_S)

    events.wait_for_agent(
        DiscoveredAgent("oss01", "oss01", ("127.0.0.1",), 7100, fingerprint(0xBEEF), "2.0.0")
    )
    assert events.seen[0].change is DiscoveryChange.APPEARED
    assert {event.change for event in events.seen[1:]} == {DiscoveryChange.UPDATED}


def test_a_withdrawn_agent_vanishes_and_the_others_stay(loopback: LoopbackNamespace) -> None:
    events = Events()
    loopback.browser(events)
    announcer = loopback.announcer()
    first = announcer.announce("oss01", "oss01", 7001, ["127.0.0.1"], fingerprint(1), VERSION)
    announcer.announce("oss02", "oss02", 7002, ["127.0.0.1"], fingerprint(2), VERSION)
    events.wait_for(2, DiscoveryChange.APPEARED)

    announcer.withdraw(first).result(WAIT_S)

    assert events.wait_for(1, DiscoveryChange.VANISHED) == [agent(1)]
    assert [event.change for event in events.seen].count(DiscoveryChange.VANISHED) == 1


def test_closing_the_announcer_says_goodbye_for_its_agents(loopback: LoopbackNamespace) -> None:
    events = Events()
    loopback.browser(events)
    announcer = loopback.announcer()
    announce(announcer, 1)
    events.wait_for(1, DiscoveryChange.APPEARED)

    announcer.close()

    assert events.wait_for(1, DiscoveryChange.VANISHED) == [agent(1)]


def test_names_are_made_valid_and_unique(loopback: LoopbackNamespace) -> None:
    events = Events()
    loopback.browser(events)
    announcer = loopback.announcer()
    long_name = "é" * 40  # 80 bytes of UTF-8: more than a DNS label holds
    handles = [
        announcer.announce(name, f"oss0{n}", 7000 + n, ["127.0.0.1"], fingerprint(n), VERSION)
        for n, name in [(1, "oss.example.com"), (2, "oss.example.com"), (3, long_name)]
    ]

    instances = [handle.announced.result(WAIT_S) for handle in handles]

    assert instances[:2] == ["oss-example-com", "oss-example-com-2"]
    assert instances[2] == "é" * 28 and len(instances[2].encode()) <= 63
    appeared = events.wait_for(3, DiscoveryChange.APPEARED)
    assert {(seen.instance, seen.hostname) for seen in appeared} == {
        ("oss-example-com", "oss01"),
        ("oss-example-com-2", "oss02"),
        ("é" * 28, "oss03"),
    }


def test_garbled_entries_are_ignored_with_the_reason_logged(
    loopback: LoopbackNamespace, discovery_warnings: LogWatch
) -> None:
    good: dict[bytes, bytes | None] = {
        b"version": VERSION.encode(),
        b"fingerprint": fingerprint(9).encode(),
        b"hostname": b"x",
    }
    garbled: dict[str, tuple[int, dict[bytes, bytes | None]]] = {
        "no-fingerprint": (7001, {b"version": b"1", b"hostname": b"a"}),
        "not-utf8": (7002, {**good, b"version": b"\xff\xfe1.0"}),
        "port-zero": (0, good),
        "fingerprint-without-value": (7004, {**good, b"fingerprint": None}),
        "not-a-fingerprint": (7005, {**good, b"fingerprint": b"md5:1234"}),
    }
    events = Events()
    loopback.browser(events)
    raw = loopback.zeroconf()
    infos = [
        ServiceInfo(
            SERVICE_TYPE,
            f"{name}.{SERVICE_TYPE}",
            port=port,
            properties=properties,
            server=f"{name}.local.",
            parsed_addresses=["127.0.0.1"],
        )
        for name, (port, properties) in garbled.items()
    ]

    async def register(info: ServiceInfo) -> None:
        await (await raw.async_register_service(info))

    async def register_all() -> None:
        await asyncio.gather(*(register(info) for info in infos))

    assert raw.loop is not None
    asyncio.run_coroutine_threadsafe(register_all(), raw.loop).result(WAIT_S * 2)
    announce(loopback.announcer(), 1)

    warnings = discovery_warnings.wait_for(len(garbled))
    assert events.wait_for(1, DiscoveryChange.APPEARED) == [agent(1)]
    assert sorted(warnings) == sorted(
        [
            f"ignoring service 'no-fingerprint.{SERVICE_TYPE}': it announces no fingerprint",
            f"ignoring service 'not-utf8.{SERVICE_TYPE}': its version is not UTF-8 text: "
            "b'\\xff\\xfe1.0'",
            f"ignoring service 'port-zero.{SERVICE_TYPE}': it announces port 0, not a port number",
            f"ignoring service 'fingerprint-without-value.{SERVICE_TYPE}': its fingerprint has "
            "no value",
            f"ignoring service 'not-a-fingerprint.{SERVICE_TYPE}': 'md5:1234' is not a "
            "certificate fingerprint: expected 'sha256:' and 64 hex digits",
        ]
    )
    assert [event.change for event in events.seen] == [DiscoveryChange.APPEARED]


def test_the_announcer_refuses_what_it_cannot_announce(loopback: LoopbackNamespace) -> None:
    announcer = loopback.announcer()
    bad_arguments: list[tuple[dict[str, object], str]] = [
        ({"fingerprint": "sha1:00"}, "not a certificate fingerprint"),
        ({"port": 0}, "not a port number"),
        ({"addresses": []}, "at least one address"),
        ({"addresses": ["oss01"]}, "'oss01' is not an IP address"),
        ({"version": ""}, "version '' is empty"),
        ({"hostname": "h" * 250}, "hostname is too long for a TXT record"),
    ]
    for changes, message in bad_arguments:
        arguments: dict[str, Any] = {
            "name": "oss01",
            "hostname": "oss01",
            "port": 7001,
            "addresses": ["127.0.0.1"],
            "fingerprint": fingerprint(1),
            "version": VERSION,
            **changes,
        }
        with pytest.raises(ValueError, match=message):
            announcer.announce(**arguments)


def test_discovery_refuses_an_address_that_is_not_this_machines(
    loopback: LoopbackNamespace,
) -> None:
    with pytest.raises(DiscoveryError, match=r"192\.0\.2\.77 is not an address of this machine"):
        loopback.make(lambda: AgentAnnouncer(["192.0.2.77"]), AgentAnnouncer.close)
    with pytest.raises(DiscoveryError, match="'eth0' is not an IP address"):
        loopback.make(lambda: AgentBrowser(["eth0"], Events()), AgentBrowser.close)


# --- names typed by an admin --------------------------------------------------------------------


HOSTS = {
    "oss01": ["10.0.0.1"],
    "oss02": ["10.0.0.2", "fd00::2", "10.0.0.2"],
    "localhost": ["127.0.0.1"],
}


def fake_getaddrinfo(
    host: str, port: None, family: int = 0, type: int = 0
) -> list[tuple[socket.AddressFamily, socket.SocketKind, int, str, tuple[str, int]]]:
    if host == "slow":
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
    if host not in HOSTS:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    return [
        (socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, 0))
        for ip in HOSTS[host]
    ]


def test_resolving_names_keeps_the_known_and_explains_the_unknown() -> None:
    resolution = resolve_addresses(["oss01", "oss17", "oss02", "slow"], resolver=fake_getaddrinfo)

    assert resolution.addresses == {"oss01": ("10.0.0.1",), "oss02": ("10.0.0.2", "fd00::2")}
    assert [str(error) for error in resolution.errors] == [
        "oss17: no such host — check the name or add it to DNS or /etc/hosts",
        "slow: the name server did not answer in time — check DNS and try again",
    ]
    assert all(isinstance(error, HostNotResolved) for error in resolution.errors)
    assert [error.name for error in resolution.errors] == ["oss17", "slow"]


def test_resolving_hostlist_addresses_with_ports() -> None:
    resolution = resolve_addresses(
        ["localhost:7001", "localhost:7002", "[fd00::9]:7001"],
        resolver=lambda host, port, family, type: (
            [(0, 0, 0, "", (host, 0))] if ":" in host else fake_getaddrinfo(host, port)
        ),
    )

    assert resolution.addresses == {
        "localhost:7001": ("127.0.0.1",),
        "localhost:7002": ("127.0.0.1",),
        "[fd00::9]:7001": ("fd00::9",),
    }
    assert resolution.errors == ()


def test_a_name_the_idna_codec_refuses_is_reported_not_raised() -> None:
    def idna(host: str, port: None, family: int = 0, type: int = 0) -> list[AddressInfo]:
        host.encode("idna")  # as getaddrinfo does
        return []

    resolution = resolve_addresses(["a" * 64 + ".example"], resolver=idna)

    assert [str(error) for error in resolution.errors] == [
        "a" * 64 + ".example: not a valid host name — check the name"
    ]
