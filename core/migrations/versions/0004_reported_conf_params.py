"""Permanent parameters as the MGS servers report them, to find settings changed out of band

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 00:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.models.base

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reported_conf_params",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("filesystem_id", sa.Integer(), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=True),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("lustre_key", sa.String(length=256), nullable=False),
        sa.Column("value", sa.String(length=512), nullable=True),
        sa.Column("host_id", sa.Integer(), nullable=False),
        sa.Column("since", core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["filesystem_id"],
            ["filesystems.id"],
            name=op.f("fk_reported_conf_params_filesystem_id_filesystems"),
        ),
        sa.ForeignKeyConstraint(
            ["host_id"], ["hosts.id"], name=op.f("fk_reported_conf_params_host_id_hosts")
        ),
        sa.ForeignKeyConstraint(
            ["target_id"], ["targets.id"], name=op.f("fk_reported_conf_params_target_id_targets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reported_conf_params")),
        sa.UniqueConstraint(
            "filesystem_id",
            "lustre_key",
            name=op.f("uq_reported_conf_params_filesystem_id_lustre_key"),
        ),
    )


def downgrade() -> None:
    op.drop_table("reported_conf_params")
