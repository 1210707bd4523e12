"""Opening the database: checks, a backup, migrations at start, and sessions for units of work.

Layer: core. Thread: call `open_database` and use sessions off the GUI thread (see
core.dbworker). SQLite is the default (WAL, foreign keys on, synchronous=NORMAL); PostgreSQL is
used when CHROMA_DATABASE_URL names it. A database we cannot vouch for (written by a newer
version, damaged, unreadable, or someone else's) raises a DatabaseError and is never written to;
before a SQLite file is upgraded a copy of it is kept beside it.
"""

from __future__ import annotations

import getpass
import logging
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from core.audit import ACTOR_KEY, COMMAND_KEY, install_audit_trail
from core.errors import (
    DatabaseCorruptError,
    DatabaseError,
    DatabaseTooNewError,
    DatabaseUnreadableError,
    NotAChromaDatabaseError,
    ReadOnlyDatabaseError,
)
from core.paths import database_url

log = logging.getLogger(__name__)

SQLITE_HEADER = b"SQLite format 3\x00"
MIGRATIONS = "core:migrations"
VERSION_TABLE = "alembic_version"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    return config


def schema_head() -> str:
    """The newest schema revision this version of Chroma Desktop knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


@dataclass(frozen=True)
class SchemaStatus:
    revision: str | None
    """The revision stamped in the database, or None when it holds no schema yet."""
    has_tables: bool


class Database:
    """An open, migrated database and the factory of its sessions."""

    def __init__(
        self, engine: Engine, *, backup_path: Path | None = None, read_only: bool = False
    ) -> None:
        self.engine = engine
        self.backup_path = backup_path
        """The copy kept before this start's upgrade, if one was made."""
        self.read_only = read_only
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        install_audit_trail(self._sessions)
        if read_only:
            event.listen(self._sessions, "before_flush", self._refuse_changes)

    def _refuse_changes(self, session: Session, *_: object) -> None:
        if session.new or session.dirty or session.deleted:
            raise ReadOnlyDatabaseError(
                f"The database {self.url} is open read-only: nothing in it can be changed.",
                hint="It is an offline archive; open the live site to make changes.",
            )

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def session(self, actor: str | None = None, command_id: int | None = None) -> Iterator[Session]:
        """One unit of work: committed when the block ends, rolled back if it raises."""
        with self._sessions.begin() as session:
            session.info[ACTOR_KEY] = actor or default_actor()
            session.info[COMMAND_KEY] = command_id
            yield session

    @contextmanager
    def scratch_session(self, actor: str | None = None) -> Iterator[Session]:
        """A unit of work that is always rolled back: a dry run of a request that creates
        objects sees them, and nothing is kept."""
        with self._sessions() as session:
            session.info[ACTOR_KEY] = actor or default_actor()
            session.info[COMMAND_KEY] = None
            session.begin()
            try:
                yield session
            finally:
                session.rollback()

    def revision(self) -> str | None:
        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def close(self) -> None:
        self.engine.dispose()


def default_actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def open_database(url: str | None = None, *, upgrade: bool = True) -> Database:
    """Open the database at `url` (default: from the environment), checking it first and
    bringing its schema up to date."""
    url = url or database_url()
    try:
        parsed = make_url(url)
    except ArgumentError as error:
        raise DatabaseError(
            f"The database URL {url!r} is not valid.",
            hint="Use sqlite:///path/to/file.db or postgresql+psycopg://user@host/name.",
        ) from error
    sqlite_file: Path | None = None
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise DatabaseError("An in-memory database cannot hold Chroma Desktop's data.")
        sqlite_file = Path(parsed.database).expanduser()
        status = _inspect_sqlite_file(sqlite_file)
    try:
        engine = _create_engine(url)
    except (ArgumentError, NoSuchModuleError) as error:
        raise DatabaseError(f"Cannot use the database URL {url!r}: {error}") from error
    try:
        if sqlite_file is None:
            status = _inspect_engine(engine)
        _check_schema(status, where=_describe(url, sqlite_file))
        backup = None
        if upgrade and status.revision != schema_head():
            if sqlite_file is not None and status.revision is not None:
                backup = _backup_sqlite(sqlite_file, status.revision)
            migrate(engine)
        return Database(engine, backup_path=backup)
    except BaseException:
        engine.dispose()
        raise


def open_database_read_only(path: Path) -> Database:
    """Open the SQLite file `path` (an offline archive's model) so that nothing can write to
    it: the connection is read-only and a unit of work that changes anything raises
    ReadOnlyDatabaseError. Its schema must be this version's newest (migrate a copy first)."""
    try:
        with path.open("rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError as error:
        raise DatabaseUnreadableError(f"Cannot read the database {path}: {error}.") from None
    if header != SQLITE_HEADER:
        raise DatabaseCorruptError(f"{path} is not a SQLite database.")
    engine = create_engine(f"sqlite:///file:{path.resolve()}?mode=ro&uri=true")

    @event.listens_for(engine, "connect")
    def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    try:
        status = _inspect_engine(engine)
        if status.revision != schema_head():
            raise DatabaseError(
                f"The database {path} has schema {status.revision}, not {schema_head()}.",
                hint="Upgrade a copy of it with this version before opening it read-only.",
            )
    except BaseException:
        engine.dispose()
        raise
    return Database(engine, read_only=True)


def _describe(url: str, sqlite_file: Path | None) -> str:
    if sqlite_file is not None:
        return str(sqlite_file)
    return make_url(url).render_as_string(hide_password=True)


def _create_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    Path(parsed.database or "").expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine


def _inspect_sqlite_file(path: Path) -> SchemaStatus:
    """Look at a SQLite file read-only, translating every failure into an error a person can
    act on. A missing or empty file is a new database."""
    if not path.exists():
        return SchemaStatus(revision=None, has_tables=False)
    if path.is_dir():
        raise DatabaseUnreadableError(
            f"The database path {path} is a directory, not a file.",
            hint="Point CHROMA_HOME or CHROMA_DATABASE_URL at a file location.",
        )
    try:
        with path.open("rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
        if path.stat().st_size and not _writable(path):
            raise PermissionError(f"no write permission on {path}")
    except PermissionError as error:
        raise DatabaseUnreadableError(
            f"Cannot read and write the database {path}: {error.strerror or error}.",
            hint="Check the file's owner and permissions; it has not been changed.",
        ) from error
    if not header:
        return SchemaStatus(revision=None, has_tables=False)
    if header != SQLITE_HEADER:
        raise DatabaseCorruptError(
            f"{path} is not a SQLite database: it is damaged or a different kind of file.",
            hint="It was left untouched. Move it aside to start afresh, or restore a backup "
            "(chroma.db.backup-* beside it).",
        )
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as raw:
            check = raw.execute("PRAGMA quick_check").fetchone()
            if not check or check[0] != "ok":
                raise sqlite3.DatabaseError(check[0] if check else "quick_check returned nothing")
            tables = {row[0] for row in raw.execute("SELECT name FROM sqlite_master")}
            revision = None
            if VERSION_TABLE in tables:
                row = raw.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchone()  # noqa: S608
                revision = row[0] if row else None
    except sqlite3.DatabaseError as error:
        raise DatabaseCorruptError(
            f"The database {path} is damaged: {error}.",
            hint="It was left untouched. Restore a backup (chroma.db.backup-* beside it) or "
            "move it aside to start afresh.",
        ) from error
    return SchemaStatus(revision=revision, has_tables=bool(tables - {VERSION_TABLE}))


def _writable(path: Path) -> bool:
    try:
        with path.open("r+b"):
            return True
    except PermissionError:
        return False


def _inspect_engine(engine: Engine) -> SchemaStatus:
    try:
        with engine.connect() as connection:
            tables = set(inspect(connection).get_table_names())
            revision = MigrationContext.configure(connection).get_current_revision()
    except OperationalError as error:
        raise DatabaseError(
            f"Cannot connect to the database {engine.url.render_as_string(hide_password=True)}: "
            f"{str(error.orig).strip()}",
            hint="Check that the server runs and that CHROMA_DATABASE_URL is right.",
        ) from error
    return SchemaStatus(revision=revision, has_tables=bool(tables - {VERSION_TABLE}))


def _check_schema(status: SchemaStatus, *, where: str) -> None:
    if status.revision is None:
        if status.has_tables:
            raise NotAChromaDatabaseError(
                f"The database {where} holds tables that are not Chroma Desktop's.",
                hint="It was left untouched. Choose an empty database or another file.",
            )
        return
    script = ScriptDirectory.from_config(alembic_config())
    try:
        script.get_revision(status.revision)
    except CommandError as error:
        raise DatabaseTooNewError(
            f"The database {where} was written by a newer version of Chroma Desktop "
            f"(schema {status.revision}; this version knows up to {schema_head()}).",
            hint="Install that newer version, or open a copy made before it was used. "
            "The database was left untouched.",
        ) from error


def _backup_sqlite(path: Path, revision: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    backup = path.with_name(f"{path.name}.backup-{revision}-{stamp}")
    with (
        closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as source,
        closing(sqlite3.connect(backup)) as copy,
    ):
        source.backup(copy)
    log.info("kept a copy of %s at %s before upgrading its schema", path, backup)
    return backup


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` (normally head). On SQLite, foreign keys are off while
    tables are rebuilt and checked once at the end, as SQLite prescribes for schema changes."""
    config = alembic_config()
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        connection.commit()
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            if broken:
                raise DatabaseError(f"The schema upgrade left broken references: {broken[:5]}")
