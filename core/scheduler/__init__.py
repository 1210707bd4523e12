"""The job scheduler: requests become planned, persisted, cancellable graphs of jobs.

Layer: core (no Qt, no Twisted). Thread: the database worker's. See scheduler.py for the run
loop, planner.py for planning, rules.py for what each job needs and does, locks.py for ordering.
"""

from core.scheduler.observe import LustreReport, ReportedMount
from core.scheduler.scheduler import (
    CommandChanged,
    ConfirmationRequired,
    FilesystemRequest,
    JobChanged,
    JobOption,
    JobPreview,
    ObjectChanged,
    PlanPreview,
    RecheckNeeded,
    Scheduler,
    SchedulerEvent,
    StepChanged,
    StepOutputArrived,
    StepPreview,
    TransitionOption,
)
from core.scheduler.world import CLIENT_MOUNT, FILESYSTEM, HOST, LNET, TARGET, Ref

__all__ = [
    "CLIENT_MOUNT",
    "FILESYSTEM",
    "HOST",
    "LNET",
    "TARGET",
    "CommandChanged",
    "ConfirmationRequired",
    "FilesystemRequest",
    "JobChanged",
    "JobOption",
    "JobPreview",
    "LustreReport",
    "ObjectChanged",
    "PlanPreview",
    "RecheckNeeded",
    "Ref",
    "ReportedMount",
    "Scheduler",
    "SchedulerEvent",
    "StepChanged",
    "StepOutputArrived",
    "StepPreview",
    "TransitionOption",
]
