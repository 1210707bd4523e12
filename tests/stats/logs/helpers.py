"""Building records for log store tests, including Lustre-like lines like those of the log
benchmark's workload (the tests do not depend on the benchmark's files)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

SEVERITIES = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"]


def record(t: float, message: str, severity: str = "info", source: str = "kernel") -> Any:
    return {
        "kind": "log",
        "t": t,
        "severity": severity,
        "facility": "kern",
        "source": source,
        "message": message,
    }


LUSTRE_TEMPLATES = (
    "LustreError: {pid}:0:(ldlm_lockd.c:{n}:waiting_locks_callback()) ### lock callback timer "
    "expired after {s}s: evicting client at {ip}@o2ib  ns: filter-{fs}-OST{ost:04x}_UUID",
    "Lustre: {fs}-OST{ost:04x}: Client {uuid} (at {ip}@o2ib) reconnecting",
    "Lustre: {fs}-OST{ost:04x}: Connection restored to {uuid} (at {ip}@o2ib)",
    "LNet: {pid}:0:(o2iblnd_cb.c:{n}:kiblnd_check_txs_locked()) Timed out tx: active_txs, {s} "
    "seconds",
    "Lustre: {fs}-MDT0000: Recovery over after 0:{s:02d}, of {n} clients {n} recovered and 0 "
    "were evicted.",
    "kernel: sd 0:0:{ost}:0: [sd{dev}] Attached SCSI disk",
    "systemd[1]: Started Session {n} of user root.",
    "sshd[{pid}]: Accepted publickey for root from {ip} port {n} ssh2",
)
"""Lustre-like syslog messages: the kinds a Lustre server logs most (evictions, reconnects,
recovery, LNet timeouts) among ordinary system lines."""
HOSTS = [f"oss{i:02d}" for i in range(1, 33)] + [f"mds{i}" for i in range(1, 5)]


def lustre_lines(count: int, seed: int = 1) -> Iterator[tuple[int, str, int, str]]:
    """(time, host, syslog severity number, message) of `count` deterministic lines, 100 per
    second."""
    rng = random.Random(seed)
    start = 1_700_000_000
    for i in range(count):
        template = LUSTRE_TEMPLATES[rng.randrange(len(LUSTRE_TEMPLATES))]
        message = template.format(
            pid=rng.randrange(1, 99999),
            n=rng.randrange(1, 9999),
            s=rng.randrange(1, 60),
            ip=f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}",
            fs=rng.choice(["scratch", "home", "proj"]),
            ost=rng.randrange(64),
            uuid=f"{rng.getrandbits(64):016x}",
            dev=chr(97 + rng.randrange(26)),
        )
        yield start + i // 100, HOSTS[rng.randrange(len(HOSTS))], 3 + rng.randrange(4), message


def anchor_entries(count: int, seed: int = 1) -> Iterator[tuple[str, Any]]:
    """(host, record) pairs of Lustre-like lines."""
    for t, host, severity, message in lustre_lines(count, seed):
        yield host, record(float(t), message, SEVERITIES[severity], "syslog")
