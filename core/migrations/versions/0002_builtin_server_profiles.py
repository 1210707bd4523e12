"""The built-in server profiles: managed storage (the default), monitored storage, client

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 14:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BUILTIN = ("managed_storage", "monitored_storage", "client")


def upgrade() -> None:
    op.bulk_insert(
        sa.table(
            "server_profiles",
            sa.column("name", sa.String),
            sa.column("ui_name", sa.String),
            sa.column("description", sa.String),
            sa.column("managed", sa.Boolean),
            sa.column("worker", sa.Boolean),
            sa.column("default", sa.Boolean),
            sa.column("packages", sa.JSON),
        ),
        [
            {
                "name": "managed_storage",
                "ui_name": "Managed storage server",
                "description": "Chroma Desktop formats, starts, stops and fails over its targets.",
                "managed": True,
                "worker": False,
                "default": True,
                "packages": [],
            },
            {
                "name": "monitored_storage",
                "ui_name": "Monitored storage server",
                "description": "Runs targets set up by other means; Chroma Desktop only watches.",
                "managed": False,
                "worker": False,
                "default": False,
                "packages": [],
            },
            {
                "name": "client",
                "ui_name": "Lustre client",
                "description": "Mounts filesystems; runs no targets.",
                "managed": True,
                "worker": True,
                "default": False,
                "packages": [],
            },
        ],
    )


def downgrade() -> None:
    profiles = sa.table(
        "server_profiles", sa.column("id", sa.Integer), sa.column("name", sa.String)
    )
    hosts = sa.table("hosts", sa.column("profile_id", sa.Integer))
    builtin_ids = sa.select(profiles.c.id).where(profiles.c.name.in_(BUILTIN))
    op.execute(hosts.update().where(hosts.c.profile_id.in_(builtin_ids)).values(profile_id=None))
    op.execute(profiles.delete().where(profiles.c.name.in_(BUILTIN)))
