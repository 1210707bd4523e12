"""The scheduler's pending database writes, applied in bulk once per round of the run loop.

Layer: core. Thread: the database worker's. Thousands of jobs change state in a few rounds; one
UPDATE statement executed with many parameter sets per table and set of columns costs a small
fraction of one statement per change, and the round's single transaction keeps what was
written consistent. Later values for the same row in a round replace earlier ones.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Column, Connection, Table, bindparam, update


class PendingWrites:
    def __init__(self) -> None:
        self._rows: dict[tuple[Table, str], dict[int, dict[str, Any]]] = defaultdict(dict)
        self._appends: dict[tuple[Table, int, str], list[str]] = defaultdict(list)

    def set(self, table: Table, key: int, *, by: str = "id", **values: Any) -> None:
        """Set columns of the row whose `by` column equals `key`; a value set replaces text
        appended to the same column earlier in the round."""
        self._rows[(table, by)].setdefault(key, {}).update(values)
        for column in values:
            self._appends.pop((table, key, column), None)

    def append(self, table: Table, key: int, column: str, text: str) -> None:
        """Append text to a text column of the row with id `key`."""
        pending = self._rows.get((table, "id"), {}).get(key)
        if pending is not None and column in pending:
            pending[column] += text
        else:
            self._appends[(table, key, column)].append(text)

    def __bool__(self) -> bool:
        return bool(self._rows) or bool(self._appends)

    def flush(self, connection: Connection) -> None:
        for (table, by), rows in self._rows.items():
            groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
            for key, values in rows.items():
                groups[tuple(sorted(values))].append(
                    {"k_": key, **{f"v_{name}": value for name, value in values.items()}}
                )
            for columns, params in groups.items():
                statement = (
                    update(table)
                    .where(table.c[by] == bindparam("k_"))
                    .values({name: bindparam(f"v_{name}") for name in columns})
                )
                connection.execute(statement, params)
        for (table, key, column), texts in self._appends.items():
            target: Column[Any] = table.c[column]
            connection.execute(
                update(table).where(table.c.id == key).values({column: target + "".join(texts)})
            )
        self._rows.clear()
        self._appends.clear()
