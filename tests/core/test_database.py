"""Opening the database: migrations, the backup before an upgrade, and the databases we refuse."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, select, text

from core import inventory
from core.database import Database, alembic_config, migrate, open_database, schema_head
from core.errors import (
    DatabaseCorruptError,
    DatabaseError,
    DatabaseTooNewError,
    DatabaseUnreadableError,
    NotAChromaDatabaseError,
)
from core.models import Base, Host, ServerProfile

REVISIONS = [
    script.revision
    for script in reversed(list(ScriptDirectory.from_config(alembic_config()).walk_revisions()))
]


def fingerprint(path: Path) -> tuple[str, int]:
    """The database file's bytes and what its write-ahead log holds, to prove nothing was
    written. (A read-only look may leave SQLite's empty -wal and -shm side files.)"""
    wal = path.with_name(f"{path.name}-wal")
    return hashlib.sha256(path.read_bytes()).hexdigest(), wal.stat().st_size if wal.exists() else 0


def sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def test_a_new_database_is_created_at_the_newest_schema(database: Database):
    assert database.revision() == schema_head() == REVISIONS[-1]
    assert database.backup_path is None


def test_models_and_migrations_describe_the_same_schema(database: Database):
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_sqlite_runs_with_wal_and_foreign_keys(tmp_path: Path):
    database = open_database(f"sqlite:///{tmp_path / 'chroma.db'}")
    with database.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    database.close()


@pytest.mark.parametrize("revision", REVISIONS)
def test_each_migration_upgrades_downgrades_and_upgrades_again(database_url: str, revision: str):
    engine = create_engine(database_url)
    try:
        migrate(engine, revision)
        script = ScriptDirectory.from_config(alembic_config()).get_revision(revision)
        config = alembic_config()
        with engine.connect() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, script.down_revision or "base")
            connection.commit()
        with engine.connect() as connection:
            assert MigrationContext.configure(connection).get_current_revision() == (
                script.down_revision
            )
        migrate(engine, revision)
        with engine.connect() as connection:
            assert MigrationContext.configure(connection).get_current_revision() == revision
    finally:
        engine.dispose()


def test_migration_0002_adds_the_builtin_profiles_with_managed_storage_as_default(
    database_url: str,
):
    engine = create_engine(database_url)
    try:
        migrate(engine, "0001")
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM server_profiles")).scalar() == 0
        migrate(engine, "0002")
        with engine.connect() as connection:
            rows = connection.execute(
                select(ServerProfile.name).where(ServerProfile.default.is_(True))
            ).all()
        assert rows == [("managed_storage",)]
    finally:
        engine.dispose()


def test_upgrading_keeps_a_copy_of_the_old_database(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'chroma.db'}"
    engine = create_engine(url)
    migrate(engine, "0001")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO hosts (address, state, state_modified_at, monitor_only) "
                "VALUES ('oss1.lab', 'unconfigured', '2026-01-01 00:00:00', 0)"
            )
        )
    engine.dispose()

    database = open_database(url)
    try:
        assert database.revision() == schema_head()
        assert database.backup_path is not None
        assert database.backup_path.name.startswith("chroma.db.backup-0001-")
        with database.session() as session:
            assert [h.address for h in session.scalars(select(Host))] == ["oss1.lab"]
    finally:
        database.close()
    with sqlite3.connect(database.backup_path) as backup:
        assert backup.execute("SELECT version_num FROM alembic_version").fetchone() == ("0001",)
        assert backup.execute("SELECT address FROM hosts").fetchall() == [("oss1.lab",)]
    # The next start finds nothing to upgrade and makes no further copy.
    again = open_database(url)
    assert again.backup_path is None
    again.close()


def test_a_database_from_a_newer_version_is_refused_and_left_alone(database_url: str):
    open_database(database_url).close()
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9001'"))
    engine.dispose()
    before = fingerprint(sqlite_path(database_url)) if database_url.startswith("sqlite") else None
    with pytest.raises(DatabaseTooNewError) as raised:
        open_database(database_url)
    assert "newer version of Chroma Desktop (schema 9001" in str(raised.value)
    assert "left untouched" in str(raised.value)
    if before is not None:
        assert fingerprint(sqlite_path(database_url)) == before


def test_a_file_that_is_not_sqlite_is_refused_and_left_alone(tmp_path: Path):
    path = tmp_path / "chroma.db"
    path.write_bytes(b"this is my shopping list\n" * 100)
    before = fingerprint(path)
    with pytest.raises(DatabaseCorruptError, match="is not a SQLite database"):
        open_database(f"sqlite:///{path}")
    assert fingerprint(path) == before


def test_a_damaged_sqlite_file_is_refused_and_left_alone(tmp_path: Path):
    path = tmp_path / "chroma.db"
    database = open_database(f"sqlite:///{path}")
    with database.session() as session:
        for n in range(300):
            inventory.add_host(session, f"oss{n}.lab")
    database.close()
    data = bytearray(path.read_bytes())
    page = 4096
    for offset in range(page * 2, len(data), page):  # wreck every page after the first two
        data[offset : offset + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))
    before = fingerprint(path)
    with pytest.raises(DatabaseCorruptError, match="is damaged"):
        open_database(f"sqlite:///{path}")
    assert fingerprint(path) == before


def test_someone_elses_database_is_refused(tmp_path: Path):
    path = tmp_path / "chroma.db"
    with sqlite3.connect(path) as other:
        other.execute("CREATE TABLE recipes (name TEXT)")
    with pytest.raises(NotAChromaDatabaseError, match="not Chroma Desktop's"):
        open_database(f"sqlite:///{path}")


def test_a_directory_in_place_of_the_file_is_refused(tmp_path: Path):
    (tmp_path / "chroma.db").mkdir()
    with pytest.raises(DatabaseUnreadableError, match="is a directory"):
        open_database(f"sqlite:///{tmp_path / 'chroma.db'}")


def test_a_database_this_user_may_not_write_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    path = tmp_path / "chroma.db"
    open_database(f"sqlite:///{path}").close()
    if os.geteuid() == 0:
        # root writes every file; make the OS's refusal happen as it would for a user.
        real_open = Path.open

        def refusing_open(self: Path, mode: str = "r", *args: object, **kwargs: object):
            if self == path and "+" in mode:
                raise PermissionError(13, "Permission denied", str(self))
            return real_open(self, mode, *args, **kwargs)

        monkeypatch.setattr(Path, "open", refusing_open)
    else:
        path.chmod(0o444)
    before = fingerprint(path)
    with pytest.raises(DatabaseUnreadableError) as raised:
        open_database(f"sqlite:///{path}")
    assert str(raised.value).startswith(f"Cannot read and write the database {path}")
    assert "permissions" in str(raised.value)
    assert fingerprint(path) == before


def test_an_unreachable_postgresql_server_gives_a_clear_error():
    with pytest.raises(DatabaseError) as raised:
        open_database("postgresql+psycopg://chroma@127.0.0.1:1/chroma")
    message = str(raised.value)
    assert message.startswith("Cannot connect to the database postgresql+psycopg://chroma@")
    assert "CHROMA_DATABASE_URL" in message


@pytest.mark.parametrize("url", ["not a url", "sqlite://", "nosuchdb://x/y"])
def test_bad_database_urls_give_clear_errors(url: str):
    with pytest.raises(DatabaseError):
        open_database(url)


def test_chroma_home_and_database_url_are_honoured(
    chroma_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    open_database().close()
    assert (chroma_home / "data" / "chroma.db").exists()
    elsewhere = tmp_path / "elsewhere.db"
    monkeypatch.setenv("CHROMA_DATABASE_URL", f"sqlite:///{elsewhere}")
    open_database().close()
    assert elsewhere.exists()
