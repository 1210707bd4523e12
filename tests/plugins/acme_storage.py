"""A sample third-party storage plugin, as a vendor would ship it in its own distribution:
installed by the tests through an entry point of `chroma.storage_plugins`."""

from __future__ import annotations

from plugins.api import (
    AgentReport,
    Controller,
    Enum,
    Gauge,
    GlobalId,
    Integer,
    LogicalDrive,
    Plugin,
    ScopedId,
    String,
)
from plugins.reports import DevicesReport


class AcmeController(Controller):
    identifier = ScopedId("index")
    class_label = "Acme controller"
    index = Integer(min_val=0, max_val=1)


class AcmeLun(LogicalDrive):
    identifier = GlobalId("serial")
    class_label = "Acme LUN"
    serial = String(max_length=64)
    raid_level = Enum("RAID6", "RAID10")
    temperature = Gauge("°C")


class AcmePlugin(Plugin):
    report_kinds = frozenset({"devices"})
    resource_classes = (AcmeController, AcmeLun)

    def scan(self, report: AgentReport) -> None:
        assert isinstance(report.body, DevicesReport)
        controller = self.update_or_create(AcmeController, index=0)
        for device in report.body.devices:
            if device.serial and device.serial.startswith("SIM") and device.filesystem != "xfs":
                lun = self.update_or_create(
                    AcmeLun,
                    serial=device.serial,
                    size=device.size_bytes,
                    raid_level="RAID6",
                    parents=[controller],
                )
                lun.temperature = 38.5


class CrashingPlugin(AcmePlugin):
    """Raises on every report, as a buggy plugin would."""

    def scan(self, report: AgentReport) -> None:
        raise RuntimeError("controller at 10.9.9.9 refused the login")


class BadIdentifierPlugin(Plugin):
    """Declares an identifier naming no attribute: refused at load."""

    report_kinds = frozenset({"devices"})

    class Thing(LogicalDrive):
        identifier = GlobalId("wwn")

    resource_classes = (Thing,)
