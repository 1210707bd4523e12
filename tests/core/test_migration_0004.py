"""Migration 0004 adds the table of reported conf params to a database that has filesystems."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect

from core.database import migrate


def test_migration_0004_adds_the_reported_conf_params_table(database_url: str):
    engine = create_engine(database_url)
    try:
        migrate(engine, "0003")
        assert "reported_conf_params" not in inspect(engine).get_table_names()
        migrate(engine, "0004")
        columns = {c["name"]: c for c in inspect(engine).get_columns("reported_conf_params")}
        assert {
            "filesystem_id",
            "target_id",
            "key",
            "lustre_key",
            "value",
            "host_id",
            "since",
        } <= set(columns)
        assert columns["value"]["nullable"], "None: a parameter we set that the server lost"
        uniques = inspect(engine).get_unique_constraints("reported_conf_params")
        assert [u["column_names"] for u in uniques] == [["filesystem_id", "lustre_key"]]
    finally:
        engine.dispose()
