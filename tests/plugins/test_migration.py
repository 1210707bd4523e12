"""Migration 0003 adds the storage-plugin tables to a database that has hosts already."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect

from core.database import migrate


def test_migration_0003_adds_the_storage_resource_tables(database_url: str):
    engine = create_engine(database_url)
    try:
        migrate(engine, "0002")
        assert "storage_resources" not in inspect(engine).get_table_names()
        migrate(engine, "0003")
        tables = set(inspect(engine).get_table_names())
        assert {
            "storage_resources",
            "storage_resource_parents",
            "storage_resource_sightings",
        } <= tables
        indexes = {i["name"] for i in inspect(engine).get_indexes("storage_resources")}
        assert {"uq_storage_resources_global", "uq_storage_resources_scoped"} <= indexes
    finally:
        engine.dispose()
