"""Alembic's environment: runs revisions on the connection core.database hands it.

Layer: core. Thread: the thread that opens the database. Batch mode on SQLite, whose ALTER TABLE
is limited, so that every revision runs unchanged on SQLite and PostgreSQL.
"""

from alembic import context
from sqlalchemy.engine import Connection

from core.models import Base

connection: Connection | None = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("core.database opens the connection; run migrations through it")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
