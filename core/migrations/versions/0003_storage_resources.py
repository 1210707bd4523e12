"""Storage-plugin resources: what each plugin reported, who reports it, and its parents

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.models.base

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "storage_resources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plugin", sa.String(length=64), nullable=False),
        sa.Column("resource_class", sa.String(length=64), nullable=False),
        sa.Column("identifier", sa.String(length=1024), nullable=False),
        sa.Column("scope_host_id", sa.Integer(), nullable=True),
        sa.Column("report_kind", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=255), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("first_seen", core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("missing_since", core.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("volume_id", sa.Integer(), nullable=True),
        sa.Column("volume_node_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["scope_host_id"], ["hosts.id"], name=op.f("fk_storage_resources_scope_host_id_hosts")
        ),
        sa.ForeignKeyConstraint(
            ["volume_id"], ["volumes.id"], name=op.f("fk_storage_resources_volume_id_volumes")
        ),
        sa.ForeignKeyConstraint(
            ["volume_node_id"],
            ["volume_nodes.id"],
            name=op.f("fk_storage_resources_volume_node_id_volume_nodes"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_storage_resources")),
    )
    with op.batch_alter_table("storage_resources", schema=None) as batch_op:
        batch_op.create_index(
            "uq_storage_resources_global",
            ["plugin", "resource_class", "identifier"],
            unique=True,
            sqlite_where=sa.text("scope_host_id IS NULL"),
            postgresql_where=sa.text("scope_host_id IS NULL"),
        )
        batch_op.create_index(
            "uq_storage_resources_scoped",
            ["plugin", "resource_class", "scope_host_id", "identifier"],
            unique=True,
            sqlite_where=sa.text("scope_host_id IS NOT NULL"),
            postgresql_where=sa.text("scope_host_id IS NOT NULL"),
        )

    op.create_table(
        "storage_resource_parents",
        sa.Column("parent_id", sa.Integer(), nullable=False),
        sa.Column("child_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["child_id"],
            ["storage_resources.id"],
            name=op.f("fk_storage_resource_parents_child_id_storage_resources"),
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["storage_resources.id"],
            name=op.f("fk_storage_resource_parents_parent_id_storage_resources"),
        ),
        sa.PrimaryKeyConstraint("parent_id", "child_id", name=op.f("pk_storage_resource_parents")),
    )
    op.create_table(
        "storage_resource_sightings",
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("host_id", sa.Integer(), nullable=False),
        sa.Column("since", core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["host_id"], ["hosts.id"], name=op.f("fk_storage_resource_sightings_host_id_hosts")
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["storage_resources.id"],
            name=op.f("fk_storage_resource_sightings_resource_id_storage_resources"),
        ),
        sa.PrimaryKeyConstraint(
            "resource_id", "host_id", name=op.f("pk_storage_resource_sightings")
        ),
    )


def downgrade() -> None:
    op.drop_table("storage_resource_sightings")
    op.drop_table("storage_resource_parents")
    op.drop_table("storage_resources")
