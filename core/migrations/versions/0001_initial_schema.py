"""The initial schema: every table of the domain model

Revision ID: 0001
Revises:
Create Date: 2026-11-26 13:52:28.674905
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.models.base

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


TABLES = (
    "alerts",
    "commands",
    "filesystems",
    "jobs",
    "power_control_types",
    "server_profiles",
    "volumes",
    "targets",
    "audit_records",
    "command_jobs",
    "conf_params",
    "hosts",
    "job_dependencies",
    "ost_pools",
    "power_control_devices",
    "client_mounts",
    "events",
    "lnet_configurations",
    "network_interfaces",
    "ost_pool_members",
    "power_outlets",
    "steps",
    "volume_nodes",
    "nids",
    "target_mounts",
)
"""Created in this order, so that every referenced table exists first (PostgreSQL checks)."""


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "server_offline",
                "lnet_down",
                "lnet_nids_changed",
                "target_offline",
                "target_on_secondary",
                "storage_device_missing",
                "capacity_high",
                "inodes_high",
                "recovery_in_progress",
                "job_failed",
                "agent_version_mismatch",
                "clock_skew",
                "error_log_spike",
                name="alertkind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("subject_kind", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("message", sa.String(length=1024), nullable=False),
        sa.Column("raised_at", core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("cleared_at", core.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("dismissed_at", core.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("dismissed_by", sa.String(length=128), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(
            "uq_alerts_subject_kind_active",
            ["subject_kind", "subject_id", "kind"],
            unique=True,
            sqlite_where=sa.text("cleared_at IS NULL"),
            postgresql_where=sa.text("cleared_at IS NULL"),
        )

    op.create_table(
        "commands",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message", sa.String(length=512), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "running",
                "succeeded",
                "failed",
                "cancelled",
                name="runstate",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("created_at", core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", core.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commands")),
    )
    with op.batch_alter_table("commands", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_commands_state"), ["state"], unique=False)

    op.create_table(
        "filesystems",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=8), nullable=False),
        sa.Column("mgs_id", sa.Integer(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "unavailable",
                "stopped",
                "available",
                "removed",
                "forgotten",
                name="filesystemstate",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("mdt_next_index", sa.Integer(), nullable=False),
        sa.Column("ost_next_index", sa.Integer(), nullable=False),
        sa.Column("deleted_at", core.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("state_modified_at", core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("monitor_only", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_filesystems")),
    )
    with op.batch_alter_table("filesystems", schema=None) as batch_op:
        batch_op.create_index(
            "uq_filesystems_mgs_id_name_live",
            ["mgs_id", "name"],
            unique=True,
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )

    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=512), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "running",
                "succeeded",
                "failed",
                "cancelled",
                name="runstate",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("subject_kind", sa.String(length=32), nullable=True),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("from_state", sa.String(length=32), nullable=True),
        sa.Column("to_state", sa.String(length=32), nullable=True),
        sa.Column("cancellable", sa.Boolean(), nullable=False),
        sa.Column("locks", sa.JSON(), nullable=False),
        sa.Column("created_at", core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", core.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", core.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_jobs_state"), ["state"], unique=False)

    op.create_table(
        "power_control_types",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent", sa.String(length=64), nullable=False),
        sa.Column("make", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("max_outlets", sa.Integer(), nullable=False),
        sa.Column("default_port", sa.Integer(), nullable=False),
        sa.Column("default_username", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_power_control_types")),
        sa.UniqueConstraint(
            "agent", "make", "model", name=op.f("uq_power_control_types_agent_make_model")
        ),
    )
    op.create_table(
        "server_profiles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("ui_name", sa.String(length=128), nullable=False),
        sa.Column("description", sa.String(length=1024), nullable=False),
        sa.Column("managed", sa.Boolean(), nullable=False),
        sa.Column("worker", sa.Boolean(), nullable=False),
        sa.Column("default", sa.Boolean(), nullable=False),
        sa.Column("packages", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_server_profiles")),
        sa.UniqueConstraint("name", name=op.f("uq_server_profiles_name")),
    )
    op.create_table(
        "volumes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=255), nullable=True),
        sa.Column("serial", sa.String(length=255), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("filesystem_type", sa.String(length=32), nullable=True),
        sa.Column("deleted_at", core.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_volumes")),
    )
    with op.batch_alter_table("volumes", schema=None) as batch_op:
        batch_op.create_index(
            "uq_volumes_serial_live",
            ["serial"],
            unique=True,
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )

    op.create_table(
        "targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("MGT", "MDT", "OST", name="targetkind", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("index", sa.Integer(), nullable=True),
        sa.Column("filesystem_id", sa.Integer(), nullable=True),
        sa.Column("volume_id", sa.Integer(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "unformatted",
                "formatted",
                "registered",
                "unmounted",
                "mounted",
                "removed",
                "forgotten",
                name="targetstate",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("uuid", sa.String(length=64), nullable=True),
        sa.Column("ha_label", sa.String(length=64), nullable=True),
        sa.Column("inode_size", sa.Integer(), nullable=True),
        sa.Column("bytes_per_inode", sa.Integer(), nullable=True),
        sa.Column("inode_count", sa.Integer(), nullable=True),
        sa.Column("conf_param_version", sa.Integer(), nullable=False),
        sa.Column("conf_param_version_applied", sa.Integer(), nullable=False),
        sa.Column("deleted_at", core.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("state_modified_at", core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("monitor_only", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["filesystem_id"], ["filesystems.id"], name=op.f("fk_targets_filesystem_id_filesystems")
        ),
        sa.ForeignKeyConstraint(
            ["volume_id"], ["volumes.id"], name=op.f("fk_targets_volume_id_volumes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_targets")),
    )
    with op.batch_alter_table("targets", schema=None) as batch_op:
        batch_op.create_index(
            "uq_targets_filesystem_id_kind_index_live",
            ["filesystem_id", "kind", "index"],
            unique=True,
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )
        batch_op.create_index(
            "uq_targets_volume_id_live",
            ["volume_id"],
            unique=True,
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )

    op.create_table(
        "audit_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column(
            "action",
            sa.Enum("create", "update", "delete", name="auditaction", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("object_kind", sa.String(length=64), nullable=False),
        sa.Column("object_id", sa.Integer(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("command_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["command_id"], ["commands.id"], name=op.f("fk_audit_records_command_id_commands")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_records")),
    )
    with op.batch_alter_table("audit_records", schema=None) as batch_op:
        batch_op.create_index("ix_audit_records_object", ["object_kind", "object_id"], unique=False)

    op.create_table(
        "command_jobs",
        sa.Column("command_id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["command_id"], ["commands.id"], name=op.f("fk_command_jobs_command_id_commands")
        ),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_command_jobs_job_id_jobs")),
        sa.PrimaryKeyConstraint("command_id", "job_id", name=op.f("pk_command_jobs")),
    )
    op.create_table(
        "conf_params",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mgs_id", sa.Integer(), nullable=False),
        sa.Column(
            "scope",
            sa.Enum(
                "filesystem_client",
                "filesystem_global",
                "mdt",
                "ost",
                name="confparamscope",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("filesystem_id", sa.Integer(), nullable=True),
        sa.Column("target_id", sa.Integer(), nullable=True),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("value", sa.String(length=512), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["filesystem_id"],
            ["filesystems.id"],
            name=op.f("fk_conf_params_filesystem_id_filesystems"),
        ),
        sa.ForeignKeyConstraint(
            ["mgs_id"], ["targets.id"], name=op.f("fk_conf_params_mgs_id_targets")
        ),
        sa.ForeignKeyConstraint(
            ["target_id"], ["targets.id"], name=op.f("fk_conf_params_target_id_targets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conf_params")),
    )
    with op.batch_alter_table("conf_params", schema=None) as batch_op:
        batch_op.create_index("ix_conf_params_mgs_id_version", ["mgs_id", "version"], unique=False)

    op.create_table(
        "hosts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=255), nullable=False),
        sa.Column("fqdn", sa.String(length=255), nullable=True),
        sa.Column("nodename", sa.String(length=255), nullable=True),
        sa.Column("profile_id", sa.Integer(), nullable=True),
        sa.Column(
            "state",
            sa.Enum(
                "unconfigured",
                "configured",
                "removed",
                name="hoststate",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("agent_id", sa.String(length=64), nullable=True),
        sa.Column("cert_fingerprint", sa.String(length=95), nullable=True),
        sa.Column("agent_version", sa.String(length=64), nullable=True),
        sa.Column("boot_time", core.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_contact", core.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", core.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("state_modified_at", core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("monitor_only", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["profile_id"], ["server_profiles.id"], name=op.f("fk_hosts_profile_id_server_profiles")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hosts")),
    )
    with op.batch_alter_table("hosts", schema=None) as batch_op:
        batch_op.create_index(
            "uq_hosts_address_live",
            ["address"],
            unique=True,
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )
        batch_op.create_index(
            "uq_hosts_fqdn_live",
            ["fqdn"],
            unique=True,
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )

    op.create_table(
        "job_dependencies",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("depends_on_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["depends_on_id"], ["jobs.id"], name=op.f("fk_job_dependencies_depends_on_id_jobs")
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_job_dependencies_job_id_jobs")
        ),
        sa.PrimaryKeyConstraint("job_id", "depends_on_id", name=op.f("pk_job_dependencies")),
    )
    op.create_table(
        "ost_pools",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("filesystem_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=15), nullable=False),
        sa.Column("deleted_at", core.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["filesystem_id"],
            ["filesystems.id"],
            name=op.f("fk_ost_pools_filesystem_id_filesystems"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ost_pools")),
    )
    with op.batch_alter_table("ost_pools", schema=None) as batch_op:
        batch_op.create_index(
            "uq_ost_pools_filesystem_id_name_live",
            ["filesystem_id", "name"],
            unique=True,
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )

    op.create_table(
        "power_control_devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("type_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("address", sa.String(length=255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("secret_key", sa.String(length=255), nullable=True),
        sa.Column("deleted_at", core.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["type_id"],
            ["power_control_types.id"],
            name=op.f("fk_power_control_devices_type_id_power_control_types"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_power_control_devices")),
        sa.UniqueConstraint("address", "port", name=op.f("uq_power_control_devices_address_port")),
    )
    op.create_table(
        "client_mounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("host_id", sa.Integer(), nullable=False),
        sa.Column("filesystem_id", sa.Integer(), nullable=False),
        sa.Column("mountpoint", sa.String(length=1024), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "unmounted",
                "mounted",
                "removed",
                name="clientmountstate",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("state_modified_at", core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", core.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["filesystem_id"],
            ["filesystems.id"],
            name=op.f("fk_client_mounts_filesystem_id_filesystems"),
        ),
        sa.ForeignKeyConstraint(
            ["host_id"], ["hosts.id"], name=op.f("fk_client_mounts_host_id_hosts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client_mounts")),
    )
    with op.batch_alter_table("client_mounts", schema=None) as batch_op:
        batch_op.create_index(
            "uq_client_mounts_host_id_mountpoint_live",
            ["host_id", "mountpoint"],
            unique=True,
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )

    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("host_id", sa.Integer(), nullable=True),
        sa.Column("subject_kind", sa.String(length=32), nullable=True),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_events_alert_id_alerts")
        ),
        sa.ForeignKeyConstraint(["host_id"], ["hosts.id"], name=op.f("fk_events_host_id_hosts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_created_at", ["created_at"], unique=False)

    op.create_table(
        "lnet_configurations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("host_id", sa.Integer(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "unknown", "unloaded", "down", "up", name="lnetstate", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("state_modified_at", core.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("networks", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["host_id"], ["hosts.id"], name=op.f("fk_lnet_configurations_host_id_hosts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lnet_configurations")),
        sa.UniqueConstraint("host_id", name=op.f("uq_lnet_configurations_host_id")),
    )
    op.create_table(
        "network_interfaces",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("host_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("mac_address", sa.String(length=64), nullable=True),
        sa.Column("inet4_address", sa.String(length=64), nullable=True),
        sa.Column("inet6_address", sa.String(length=64), nullable=True),
        sa.Column("network_type", sa.String(length=16), nullable=False),
        sa.Column("is_up", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["host_id"], ["hosts.id"], name=op.f("fk_network_interfaces_host_id_hosts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_network_interfaces")),
        sa.UniqueConstraint("host_id", "name", name=op.f("uq_network_interfaces_host_id_name")),
    )
    op.create_table(
        "ost_pool_members",
        sa.Column("pool_id", sa.Integer(), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["pool_id"], ["ost_pools.id"], name=op.f("fk_ost_pool_members_pool_id_ost_pools")
        ),
        sa.ForeignKeyConstraint(
            ["target_id"], ["targets.id"], name=op.f("fk_ost_pool_members_target_id_targets")
        ),
        sa.PrimaryKeyConstraint("pool_id", "target_id", name=op.f("pk_ost_pool_members")),
    )
    op.create_table(
        "power_outlets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("identifier", sa.String(length=64), nullable=False),
        sa.Column("host_id", sa.Integer(), nullable=True),
        sa.Column(
            "state",
            sa.Enum("unknown", "on", "off", name="outletstate", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("state_modified_at", core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["power_control_devices.id"],
            name=op.f("fk_power_outlets_device_id_power_control_devices"),
        ),
        sa.ForeignKeyConstraint(
            ["host_id"], ["hosts.id"], name=op.f("fk_power_outlets_host_id_hosts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_power_outlets")),
        sa.UniqueConstraint(
            "device_id", "identifier", name=op.f("uq_power_outlets_device_id_identifier")
        ),
    )
    op.create_table(
        "steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(length=512), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=True),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("host_id", sa.Integer(), nullable=True),
        sa.Column("command_lines", sa.JSON(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "running",
                "succeeded",
                "failed",
                "cancelled",
                name="runstate",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("stdout", sa.Text(), nullable=False),
        sa.Column("stderr", sa.Text(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", core.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", core.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["host_id"], ["hosts.id"], name=op.f("fk_steps_host_id_hosts")),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_steps_job_id_jobs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_steps")),
        sa.UniqueConstraint("job_id", "index", name=op.f("uq_steps_job_id_index")),
    )
    op.create_table(
        "volume_nodes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("volume_id", sa.Integer(), nullable=False),
        sa.Column("host_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("primary", sa.Boolean(), nullable=False),
        sa.Column("use", sa.Boolean(), nullable=False),
        sa.Column("deleted_at", core.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["host_id"], ["hosts.id"], name=op.f("fk_volume_nodes_host_id_hosts")
        ),
        sa.ForeignKeyConstraint(
            ["volume_id"], ["volumes.id"], name=op.f("fk_volume_nodes_volume_id_volumes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_volume_nodes")),
    )
    with op.batch_alter_table("volume_nodes", schema=None) as batch_op:
        batch_op.create_index(
            "uq_volume_nodes_host_id_path_live",
            ["host_id", "path"],
            unique=True,
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )

    op.create_table(
        "nids",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lnet_configuration_id", sa.Integer(), nullable=False),
        sa.Column("interface_id", sa.Integer(), nullable=True),
        sa.Column("nid_string", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["interface_id"],
            ["network_interfaces.id"],
            name=op.f("fk_nids_interface_id_network_interfaces"),
        ),
        sa.ForeignKeyConstraint(
            ["lnet_configuration_id"],
            ["lnet_configurations.id"],
            name=op.f("fk_nids_lnet_configuration_id_lnet_configurations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nids")),
        sa.UniqueConstraint(
            "lnet_configuration_id",
            "nid_string",
            name=op.f("uq_nids_lnet_configuration_id_nid_string"),
        ),
    )
    op.create_table(
        "target_mounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("host_id", sa.Integer(), nullable=False),
        sa.Column("volume_node_id", sa.Integer(), nullable=False),
        sa.Column("mount_point", sa.String(length=1024), nullable=False),
        sa.Column("failover_order", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["host_id"], ["hosts.id"], name=op.f("fk_target_mounts_host_id_hosts")
        ),
        sa.ForeignKeyConstraint(
            ["target_id"], ["targets.id"], name=op.f("fk_target_mounts_target_id_targets")
        ),
        sa.ForeignKeyConstraint(
            ["volume_node_id"],
            ["volume_nodes.id"],
            name=op.f("fk_target_mounts_volume_node_id_volume_nodes"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_target_mounts")),
        sa.UniqueConstraint(
            "target_id", "failover_order", name=op.f("uq_target_mounts_target_id_failover_order")
        ),
        sa.UniqueConstraint(
            "target_id", "host_id", name=op.f("uq_target_mounts_target_id_host_id")
        ),
    )
    with op.batch_alter_table("target_mounts", schema=None) as batch_op:
        batch_op.create_index(
            "uq_target_mounts_target_id_active",
            ["target_id"],
            unique=True,
            sqlite_where=sa.text("active"),
            postgresql_where=sa.text("active"),
        )

    # filesystems.mgs_id and targets.filesystem_id refer to each other: close the cycle last.
    with op.batch_alter_table("filesystems", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_filesystems_mgs_id_targets"), "targets", ["mgs_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("filesystems", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_filesystems_mgs_id_targets"), type_="foreignkey")
    for table in reversed(TABLES):
        op.drop_table(table)
