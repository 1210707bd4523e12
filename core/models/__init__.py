"""The domain model: every table Chroma Desktop keeps, on SQLAlchemy 2's typed declarative base.

Layer: core. Thread: the database worker's. ORM rows never leave `core`; other layers receive
frozen records from `core.records`.
"""

from core.models.base import Base, SoftDeleted, Stateful
from core.models.hosts import Host, LNetConfiguration, NetworkInterface, Nid, ServerProfile
from core.models.lustre import (
    ClientMount,
    ConfParam,
    ConfParamScope,
    Filesystem,
    OstPool,
    ReportedConfParam,
    Target,
    TargetKind,
    TargetMount,
    ost_pool_members,
)
from core.models.monitoring import Alert, AlertKind, AuditAction, AuditRecord, Event, Severity
from core.models.power import PowerControlDevice, PowerControlType, PowerOutlet
from core.models.resources import (
    StorageResource,
    StorageResourceSighting,
    storage_resource_parents,
)
from core.models.storage import HaStatus, Volume, VolumeNode
from core.models.work import Command, Job, Step, command_jobs, job_dependencies

__all__ = [
    "Alert",
    "AlertKind",
    "AuditAction",
    "AuditRecord",
    "Base",
    "ClientMount",
    "Command",
    "ConfParam",
    "ConfParamScope",
    "Event",
    "Filesystem",
    "HaStatus",
    "Host",
    "Job",
    "LNetConfiguration",
    "NetworkInterface",
    "Nid",
    "OstPool",
    "PowerControlDevice",
    "PowerControlType",
    "PowerOutlet",
    "ReportedConfParam",
    "ServerProfile",
    "Severity",
    "SoftDeleted",
    "Stateful",
    "Step",
    "StorageResource",
    "StorageResourceSighting",
    "Target",
    "TargetKind",
    "TargetMount",
    "Volume",
    "VolumeNode",
    "command_jobs",
    "job_dependencies",
    "ost_pool_members",
    "storage_resource_parents",
]
