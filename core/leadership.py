"""The scheduler lease: of the desktops sharing one database, only its holder runs the scheduler.

Layer: core. Thread: the thread that runs or awaits the scheduler, normally `chroma-db`, never the
GUI thread, since every call may wait on the database; a lease serialises its own calls. On
PostgreSQL the lease is a session advisory lock held by a connection of its own, on SQLite an
`flock` on a file beside the database. Either way the server or the kernel frees it when the
holder dies, so nothing has to expire and nobody cleans up after a crash; a standby calling
`try_acquire` every LEASE_RETRY_S takes over within 10 s.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import re
import socket
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from core.database import Database
from core.errors import DatabaseError

log = logging.getLogger(__name__)

LEASE_RETRY_S: float = 2.0
"""How often a standby calls `try_acquire`. With DEAD_PEER_S this keeps a takeover within 10 s
of the holder's death."""

_KEEPALIVE_IDLE_S = 2
_KEEPALIVE_INTERVAL_S = 1
_KEEPALIVE_COUNT = 3
DEAD_PEER_S = _KEEPALIVE_IDLE_S + _KEEPALIVE_INTERVAL_S * _KEEPALIVE_COUNT
"""A PostgreSQL holder whose machine stays silent this long (5 s) is taken for dead: the server
ends its session, which frees the lock. (A killed process closes its socket, which frees the lock
at once; this bound is for a machine that crashed or fell off the network.) The price: a holder
cut off from the server this long loses the lease, and its `still_held()` then says so."""

LOCK_NAME = "chroma-desktop scheduler"
ADVISORY_LOCK_KEY = int.from_bytes(
    hashlib.sha256(LOCK_NAME.encode()).digest()[:8], "big", signed=True
)
"""The PostgreSQL advisory lock key, a fixed 64-bit number derived from LOCK_NAME. pg_locks
shows it as classid (high 32 bits), objid (low 32 bits) and objsubid 1."""

LOCK_FILE_SUFFIX = ".scheduler-lock"

_TIME_FORMAT = "%Y-%m-%d %H:%M:%S UTC"
_APPLICATION_NAME = re.compile(re.escape(LOCK_NAME) + r" pid=(?P<pid>\d+) host=(?P<host>\S*)")


class SchedulerLease:
    """Held by at most one process per database at a time."""

    def __init__(self, database: Database) -> None:
        dialect = database.engine.dialect.name
        self._backend: _LeaseBackend
        if dialect == "postgresql":
            self._backend = _AdvisoryLockLease(database.engine)
        elif dialect == "sqlite":
            self._backend = _FileLockLease(_lock_file_for(database))
        else:
            raise DatabaseError(
                f"Chroma Desktop cannot elect a scheduler on a {dialect} database "
                f"({database.url}).",
                hint="Use SQLite or PostgreSQL.",
            )
        self._lock = threading.Lock()

    def try_acquire(self) -> bool:
        """Take the lease if nobody holds it, without waiting; True if this process now holds
        it. Raises DatabaseError when the database cannot be reached to ask."""
        with self._lock:
            if self._backend.held:
                return True
            return self._backend.try_acquire()

    @property
    def held(self) -> bool:
        """Whether this lease was acquired and not yet released or found lost."""
        return self._backend.held

    def still_held(self) -> bool:
        """Check that the lease is really still ours (PostgreSQL: its connection answers); a
        lost lease is marked not held. The scheduler stops when this says False."""
        with self._lock:
            return self._backend.held and self._backend.still_held()

    def release(self) -> None:
        """Give the lease up so a standby can take it; nothing happens when it is not held."""
        with self._lock:
            self._backend.release()

    def holder_description(self) -> str | None:
        """Best effort: who holds the lease, e.g. "chroma-desktop on host ws1 (pid 4242) since
        2025-01-02 03:04:05 UTC", or None when that cannot be told. On PostgreSQL "since" is
        when the holder's connection opened, which may be earlier than when it took the lease
        if the connection pool handed it an open connection."""
        return self._backend.holder_description()


class _LeaseBackend(Protocol):
    @property
    def held(self) -> bool: ...

    def try_acquire(self) -> bool: ...

    def still_held(self) -> bool: ...

    def release(self) -> None: ...

    def holder_description(self) -> str | None: ...


def _identity() -> tuple[int, str]:
    return os.getpid(), socket.gethostname()


def _describe(host: str, pid: int | str, since: datetime | None) -> str:
    described = f"chroma-desktop on host {host} (pid {pid})"
    if since is not None:
        described += f" since {since.astimezone(UTC).strftime(_TIME_FORMAT)}"
    return described


class _AdvisoryLockLease:
    """A session advisory lock on a connection of its own, kept open while the lease is held:
    the lock lives exactly as long as that session."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection: Connection | None = None
        self._backend_pid: int | None = None

    @property
    def held(self) -> bool:
        return self._connection is not None

    def try_acquire(self) -> bool:
        connection = self._connect()
        try:
            pid, host = _identity()
            # set_config is SET with bind parameters. Naming the session lets others say who
            # holds the lock; the keepalive settings make the server end the session, and so
            # free the lock, when the holder's machine goes silent.
            connection.execute(
                text(
                    "SELECT set_config('application_name', :name, false),"
                    " set_config('tcp_keepalives_idle', :idle, false),"
                    " set_config('tcp_keepalives_interval', :interval, false),"
                    " set_config('tcp_keepalives_count', :count, false),"
                    " set_config('tcp_user_timeout', :user_timeout, false)"
                ),
                {
                    "name": f"{LOCK_NAME} pid={pid} host={host}",
                    "idle": str(_KEEPALIVE_IDLE_S),
                    "interval": str(_KEEPALIVE_INTERVAL_S),
                    "count": str(_KEEPALIVE_COUNT),
                    "user_timeout": str(DEAD_PEER_S * 1000),
                },
            )
            acquired = connection.execute(
                text("SELECT pg_try_advisory_lock(CAST(:key AS bigint)), pg_backend_pid()"),
                {"key": ADVISORY_LOCK_KEY},
            ).one()
        except SQLAlchemyError as error:
            _discard(connection)
            raise _unreachable(self._engine, error) from error
        if not acquired[0]:
            # Closed, not pooled: this session carries the scheduler's name.
            _discard(connection)
            return False
        self._connection, self._backend_pid = connection, int(acquired[1])
        log.info("holding the scheduler lease (PostgreSQL backend pid %s)", self._backend_pid)
        return True

    def _connect(self) -> Connection:
        try:
            connection = self._engine.connect()
        except SQLAlchemyError as error:
            raise _unreachable(self._engine, error) from error
        # The lock belongs to the session, not to a transaction; autocommit keeps the session
        # from sitting idle in a transaction for hours.
        connection.execution_options(isolation_level="AUTOCOMMIT")
        _limit_client_waits(connection)
        return connection

    def still_held(self) -> bool:
        assert self._connection is not None
        try:
            backend_pid = self._connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        except SQLAlchemyError as error:
            log.warning("lost the scheduler lease: its database connection failed: %s", error)
            self._forget()
            return False
        if backend_pid != self._backend_pid:
            # Another session answered: the one that held the lock is gone.
            log.warning("lost the scheduler lease: its database session was replaced")
            self._forget()
            return False
        return True

    def release(self) -> None:
        if self._connection is None:
            return
        try:
            self._connection.execute(
                text("SELECT pg_advisory_unlock(CAST(:key AS bigint))"),
                {"key": ADVISORY_LOCK_KEY},
            )
        except SQLAlchemyError as error:
            log.info("could not unlock the scheduler lease; closing its connection: %s", error)
        self._forget()
        log.info("released the scheduler lease")

    def _forget(self) -> None:
        if self._connection is not None:
            _discard(self._connection)
        self._connection = self._backend_pid = None

    def holder_description(self) -> str | None:
        high, low = (ADVISORY_LOCK_KEY >> 32) & 0xFFFFFFFF, ADVISORY_LOCK_KEY & 0xFFFFFFFF
        query = text(
            "SELECT l.pid, a.application_name, host(a.client_addr), a.backend_start"
            " FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND l.granted"
            " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND l.classid = :high AND l.objid = :low AND l.objsubid = 1"
        )
        try:
            with self._engine.connect() as connection:
                row = connection.execute(query, {"high": high, "low": low}).first()
        except SQLAlchemyError as error:
            log.info("cannot tell who holds the scheduler lease: %s", error)
            return None
        if row is None:
            return None
        backend_pid, application_name, client_addr, backend_start = row
        found = _APPLICATION_NAME.fullmatch(application_name or "")
        if found:
            described = _describe(found["host"], found["pid"], backend_start)
        else:
            # Another role's sessions show no name, address or start without pg_read_all_stats.
            described = f"a PostgreSQL session (backend pid {backend_pid})"
            if application_name:
                described = f"{application_name} ({described})"
        if client_addr:
            described += f", connected from {client_addr}"
        return described


def _limit_client_waits(connection: Connection) -> None:
    """Give this end of the connection the same DEAD_PEER_S bound, so that `still_held()` on a
    machine cut off from the server fails within seconds instead of the kernel's minutes."""
    fileno = getattr(connection.connection.dbapi_connection, "fileno", None)
    if not callable(fileno):
        return
    try:
        # A duplicate descriptor: closing it leaves the driver's socket open.
        sock = socket.socket(fileno=os.dup(fileno()))
    except (OSError, ValueError):
        return
    with sock:
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return
        options = [
            (socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1),
            (socket.IPPROTO_TCP, getattr(socket, "TCP_KEEPIDLE", None), _KEEPALIVE_IDLE_S),
            (socket.IPPROTO_TCP, getattr(socket, "TCP_KEEPINTVL", None), _KEEPALIVE_INTERVAL_S),
            (socket.IPPROTO_TCP, getattr(socket, "TCP_KEEPCNT", None), _KEEPALIVE_COUNT),
            (socket.IPPROTO_TCP, getattr(socket, "TCP_USER_TIMEOUT", None), DEAD_PEER_S * 1000),
        ]
        for level, option, value in options:
            if option is not None:
                try:
                    sock.setsockopt(level, option, value)
                except OSError as error:
                    log.debug(
                        "cannot set socket option %s on the lease connection: %s", option, error
                    )


def _discard(connection: Connection) -> None:
    """Close the connection for good rather than return it to the pool, so no pooled
    connection ever carries the lock or the scheduler's name."""
    try:
        connection.invalidate()
        connection.close()
    except SQLAlchemyError as error:
        log.debug("closing the scheduler lease connection: %s", error)


def _unreachable(engine: Engine, error: SQLAlchemyError) -> DatabaseError:
    reason = getattr(error, "orig", None) or error
    return DatabaseError(
        "Cannot ask the database "
        f"{engine.url.render_as_string(hide_password=True)} which desktop runs the scheduler: "
        f"{str(reason).strip()}",
        hint="Check that the server runs and accepts one more connection (max_connections); "
        "this desktop runs no scheduler until it can ask.",
    )


def _lock_file_for(database: Database) -> Path:
    name = database.engine.url.database
    if not name or name == ":memory:":
        raise DatabaseError(
            "An in-memory database cannot be shared, so it needs no scheduler election.",
            hint="Open a database file.",
        )
    path = Path(name).expanduser()
    return path.with_name(path.name + LOCK_FILE_SUFFIX)


class _FileLockLease:
    """An exclusive flock on a file beside the SQLite database. flock belongs to the open file,
    so two leases in one process exclude each other too, and the kernel drops it when the
    holder dies. The file is never deleted: a deleted lock file lets two holders lock two
    different files of the same name."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def try_acquire(self) -> bool:
        try:
            # No O_TRUNC: the holder's pid and host stay readable for holder_description().
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as error:
            raise DatabaseError(
                f"Cannot open the scheduler lock file {self.path}: {error.strerror or error}.",
                hint="Check that this user may create and write files in the database's directory.",
            ) from error
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except OSError as error:
            os.close(fd)
            raise DatabaseError(
                f"Cannot lock the scheduler lock file {self.path}: {error.strerror or error}.",
                hint="The database's directory must support file locks (on NFS, run the lock "
                "service); keep the database on a local disk if it cannot.",
            ) from error
        if not self._names_file(fd):
            # The file was removed or replaced while we locked it: the lock guards nothing.
            os.close(fd)
            return False
        self._fd = fd
        pid, host = _identity()
        started = datetime.now(UTC).isoformat(timespec="seconds")
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{pid} {host} {started}\n".encode(), 0)
        except OSError as error:
            log.warning(
                "holding the scheduler lease, but cannot say so in %s: %s", self.path, error
            )
        log.info("holding the scheduler lease (%s)", self.path)
        return True

    def _names_file(self, fd: int) -> bool:
        try:
            on_disk, ours = os.stat(self.path), os.fstat(fd)
        except OSError:
            return False
        return (on_disk.st_dev, on_disk.st_ino) == (ours.st_dev, ours.st_ino)

    def still_held(self) -> bool:
        assert self._fd is not None
        if self._names_file(self._fd):
            return True
        log.warning("lost the scheduler lease: its lock file %s was removed", self.path)
        os.close(self._fd)
        self._fd = None
        return False

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            # Emptied while still locked, so nobody reads a holder that is gone.
            os.ftruncate(self._fd, 0)
        except OSError as error:
            log.debug("cannot empty %s: %s", self.path, error)
        os.close(self._fd)  # closing the only descriptor of the open file drops the flock
        self._fd = None
        log.info("released the scheduler lease (%s)", self.path)

    def holder_description(self) -> str | None:
        try:
            content = self.path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
        fields = content.split()
        if len(fields) != 3 or not fields[0].isdigit():
            return None
        pid, host, started = fields
        try:
            since: datetime | None = datetime.fromisoformat(started)
        except ValueError:
            since = None
        return _describe(host, pid, since)
