"""Migration 0005 adds each server's journal position to a database that has servers: they
start at 0 (fetch everything the agent still keeps), and nothing else of the host changes."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect, text

from core.database import migrate


def test_migration_0005_adds_the_journal_position_of_each_server(database_url: str):
    engine = create_engine(database_url)
    try:
        migrate(engine, "0004")
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO hosts (address, state, state_modified_at, monitor_only) "
                    "VALUES ('oss1:988', 'managed', '2026-11-27 03:50:00+00:00', false)"
                )
            )
        migrate(engine, "0005")
        columns = {c["name"]: c for c in inspect(engine).get_columns("hosts")}
        assert not columns["records_delivered"]["nullable"]
        with engine.connect() as connection:
            row = connection.execute(text("SELECT address, records_delivered FROM hosts")).one()
        assert tuple(row) == ("oss1:988", 0)
    finally:
        engine.dispose()
