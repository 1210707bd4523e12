"""How a client finds the running manager: a small file in the data directory saying which
process serves the API on which loopback port, with which certificate.

Layer: chroma_desktop.api (no Qt). Thread: any (small file reads and writes). The file is a
hint, never trusted alone: a reader checks that its process is alive and its port answers, and
removes a file that a dead process left behind (a crash, a kill -9), so a stale file cannot send
the CLI to nowhere or to another program that took the port. The certificate to expect comes
from the config directory, not from here (see credentials.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from agentlink.daemon.pki import write_file_atomically

FILE_NAME = "manager.json"
LOOPBACK = "127.0.0.1"
PROBE_TIMEOUT_S = 1.0


@dataclass(frozen=True)
class RunningManager:
    pid: int
    port: int
    fingerprint: str
    started_at: str
    headless: bool

    @property
    def url(self) -> str:
        return f"https://{LOOPBACK}:{self.port}/api/"


def discovery_path(data_dir: Path) -> Path:
    return data_dir / FILE_NAME


def announce(data_dir: Path, port: int, fingerprint: str, *, headless: bool) -> RunningManager:
    """Say that this process serves the API on `port`."""
    running = RunningManager(
        os.getpid(), port, fingerprint, datetime.now(UTC).isoformat(), headless
    )
    data_dir.mkdir(parents=True, exist_ok=True)
    write_file_atomically(discovery_path(data_dir), json.dumps(asdict(running)).encode(), 0o644)
    return running


def withdraw(data_dir: Path) -> None:
    """Remove the file if this process wrote it (another manager's is left alone)."""
    found = _read(discovery_path(data_dir))
    if found is not None and found.pid == os.getpid():
        with contextlib.suppress(FileNotFoundError):
            discovery_path(data_dir).unlink()


def find_running_manager(data_dir: Path) -> RunningManager | None:
    """The manager serving this CHROMA_HOME's API, or None; a stale file is removed."""
    path = discovery_path(data_dir)
    found = _read(path)
    if found is None:
        return None
    if _alive(found.pid) and _answers(found.port):
        return found
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    return None


def _read(path: Path) -> RunningManager | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return RunningManager(
            pid=int(data["pid"]),
            port=int(data["port"]),
            fingerprint=str(data["fingerprint"]),
            started_at=str(data["started_at"]),
            headless=bool(data["headless"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None  # missing, half-written by hand or garbled: as if none ran


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, but another user's
    return True


def _answers(port: int) -> bool:
    if not 0 < port < 65536:
        return False
    try:
        with socket.create_connection((LOOPBACK, port), timeout=PROBE_TIMEOUT_S):
            return True
    except OSError:
        return False
