"""The storage plugin API: resource classes with typed attributes, statistics and parents, and
the `Plugin` class whose `scan` turns one agent report into resources.

Layer: plugins (imports core only). Thread: the database worker's; a plugin's `scan` runs there
and must not block on the network. A plugin declares its resource classes, the agent reports it
reads (`report_kinds`) and implements `scan(report)`, calling `update_or_create` for every
resource it sees. What a scan does not report again is marked missing by the runner, never
deleted. A third-party plugin is a `Plugin` subclass named by an entry point of the group
`chroma.storage_plugins`; see `plugins.registry`.

    class Lun(LogicalDrive):
        identifier = GlobalId("serial")
        serial = String(max_length=64)
        temperature = Gauge("°C")

    class AcmePlugin(Plugin):
        report_kinds = frozenset({"devices"})
        resource_classes = (Lun,)

        def scan(self, report: AgentReport) -> None:
            ...
            self.update_or_create(Lun, serial="X1", size=2**40)
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, overload

from core.errors import ChromaError, ValidationError
from core.validation import normalise_nid, validate_hostname

if TYPE_CHECKING:
    from plugins.reports import Report

T = TypeVar("T")
R = TypeVar("R", bound="Resource")

JsonValue = str | int | float | bool | None | list[Any] | dict[str, Any]


class PluginError(ChromaError):
    """A storage plugin could not be loaded, or did something the API refuses."""


class ResourceError(PluginError):
    """A plugin reported a resource the API refuses: an unknown class or attribute, a value of
    the wrong type, a missing mandatory attribute, a parent loop."""


# --- attributes -----------------------------------------------------------------------------


class Attribute(Generic[T]):
    """A typed, validated attribute of a resource class (a descriptor)."""

    optional: ClassVar[bool] = False

    def __init__(self, *, label: str | None = None, hidden: bool = False) -> None:
        self.name = ""
        self.label = label
        self.hidden = hidden

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        if self.label is None:
            self.label = name.replace("_", " ").capitalize()

    @overload
    def __get__(self, instance: None, owner: type) -> Attribute[T]: ...
    @overload
    def __get__(self, instance: Resource, owner: type) -> T: ...
    def __get__(self, instance: Resource | None, owner: type) -> Attribute[T] | T:
        if instance is None:
            return self
        try:
            value: T = instance._values[self.name]
        except KeyError:
            raise AttributeError(f"{type(instance).__name__}.{self.name} was never set") from None
        return value

    def __set__(self, instance: Resource, value: T) -> None:
        instance._values[self.name] = self.check(value, owner=type(instance).__name__)

    def check(self, value: object, *, owner: str) -> T:
        try:
            return self.validate(value)
        except (ValueError, TypeError, ValidationError) as error:
            raise ResourceError(f"{owner}.{self.name} = {value!r} is refused: {error}") from None

    def validate(self, value: object) -> T:
        raise NotImplementedError

    def to_json(self, value: T) -> JsonValue:
        return value  # type: ignore[return-value]


class _Optional(Attribute[T | None]):
    optional = True

    def __init__(self, inner: Attribute[T]) -> None:
        super().__init__(label=inner.label, hidden=inner.hidden)
        self.inner = inner

    def __set_name__(self, owner: type, name: str) -> None:
        super().__set_name__(owner, name)
        self.inner.__set_name__(owner, name)

    def __get__(self, instance: Resource | None, owner: type) -> Any:
        if instance is not None and self.name not in instance._values:
            return None
        return super().__get__(instance, owner)

    def validate(self, value: object) -> T | None:
        return None if value is None else self.inner.validate(value)

    def to_json(self, value: T | None) -> JsonValue:
        return None if value is None else self.inner.to_json(value)


def optional(attribute: Attribute[T]) -> Attribute[T | None]:
    """The same attribute, but it may be left unset (reads as None)."""
    return _Optional(attribute)


class String(Attribute[str]):
    def __init__(self, max_length: int = 255, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_length = max_length

    def validate(self, value: object) -> str:
        if not isinstance(value, str):
            raise TypeError("expected text")
        if len(value) > self.max_length:
            raise ValueError(f"longer than {self.max_length} characters")
        return value


class Boolean(Attribute[bool]):
    def validate(self, value: object) -> bool:
        if not isinstance(value, bool):
            raise TypeError("expected true or false")
        return value


class Integer(Attribute[int]):
    def __init__(
        self, min_val: int | None = None, max_val: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.min_val = min_val
        self.max_val = max_val

    def validate(self, value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError("expected a whole number")
        if self.min_val is not None and value < self.min_val:
            raise ValueError(f"below {self.min_val}")
        if self.max_val is not None and value > self.max_val:
            raise ValueError(f"above {self.max_val}")
        return value


class Bytes(Integer):
    """A size in bytes (shown with units)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_val=0, **kwargs)


class Enum(Attribute[str]):
    def __init__(self, *options: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.options = options

    def validate(self, value: object) -> str:
        if value not in self.options:
            raise ValueError(f"choose one of {', '.join(self.options)}")
        return str(value)


class Uuid(Attribute[str]):
    """32 hex digits; hyphens are ignored and the value is stored lower-case without them."""

    def validate(self, value: object) -> str:
        if not isinstance(value, str):
            raise TypeError("expected text")
        digits = value.replace("-", "").lower()
        if not re.fullmatch(r"[0-9a-f]{32}", digits):
            raise ValueError("a UUID is 32 hexadecimal digits")
        return digits


class PosixPath(String):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=1024, **kwargs)

    def validate(self, value: object) -> str:
        path = super().validate(value)
        if not path or "\0" in path:
            raise ValueError("expected a path")
        return path


class Hostname(String):
    def validate(self, value: object) -> str:
        text = super().validate(value)
        try:
            return str(ipaddress.ip_address(text))
        except ValueError:
            return validate_hostname(text, "host name")


class Nid(String):
    """A Lustre NID, normalised (`10.0.0.1@tcp` → `10.0.0.1@tcp0`)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=128, **kwargs)

    def validate(self, value: object) -> str:
        return normalise_nid(super().validate(value))


class ResourceReference(Attribute["Resource"]):
    """Another resource of the same plugin and scan."""

    def validate(self, value: object) -> Resource:
        if not isinstance(value, Resource):
            raise TypeError("expected a resource")
        return value

    def to_json(self, value: Resource) -> JsonValue:
        return {"class": type(value).__name__, "identifier": list(value.identity())}


# --- statistics -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    statistic: str
    value: float


class Statistic:
    """A time series of a resource: assigning a value records one sample at the report's time."""

    kind: ClassVar[str] = "gauge"

    def __init__(self, units: str = "", *, label: str | None = None) -> None:
        self.units = units
        self.label = label
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        if self.label is None:
            self.label = name.replace("_", " ").capitalize()

    @overload
    def __get__(self, instance: None, owner: type) -> Statistic: ...
    @overload
    def __get__(self, instance: Resource, owner: type) -> float | None: ...
    def __get__(self, instance: Resource | None, owner: type) -> Statistic | float | None:
        if instance is None:
            return self
        values = [s.value for s in instance._samples if s.statistic == self.name]
        return values[-1] if values else None

    def __set__(self, instance: Resource, value: float) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ResourceError(
                f"{type(instance).__name__}.{self.name} = {value!r} is refused: expected a number"
            )
        instance._samples.append(Sample(self.name, float(value)))


class Gauge(Statistic):
    kind = "gauge"


class Counter(Statistic):
    """A cumulative count (bytes sent, errors): rates are computed from successive samples."""

    kind = "counter"


# --- identifiers ----------------------------------------------------------------------------


class Identifier:
    """Which attributes identify a resource, and whether globally or within the reporting host."""

    scoped: ClassVar[bool] = False

    def __init__(self, *attributes: str) -> None:
        if not attributes:
            raise PluginError("an identifier names at least one attribute")
        self.attributes = attributes

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(map(repr, self.attributes))})"


class GlobalId(Identifier):
    """Unique everywhere: reports from several hosts merge into one resource (a LUN by serial)."""


class ScopedId(Identifier):
    """Unique within the reporting host only (a device path)."""

    scoped = True


# --- resources ------------------------------------------------------------------------------


class Resource:
    """One thing a plugin reports. Subclasses declare attributes, statistics and `identifier`."""

    identifier: ClassVar[Identifier | None] = None
    class_label: ClassVar[str | None] = None
    charts: ClassVar[tuple[dict[str, Any], ...]] = ()
    """Statistics grouped for display: {"title": str, "series": (statistic names)}; by default
    one chart each."""

    def __init__(self, **values: object) -> None:
        self._values: dict[str, Any] = {}
        self._samples: list[Sample] = []
        self.parents: list[Resource] = []
        self.assign(values)
        missing = [
            name
            for name, attribute in self.attributes().items()
            if not attribute.optional and name not in self._values
        ]
        if missing:
            raise ResourceError(
                f"{type(self).__name__} needs {', '.join(missing)}: it cannot be reported "
                "without them"
            )

    def assign(self, values: dict[str, object]) -> None:
        attributes = self.attributes()
        statistics = self.statistics()
        for name, value in values.items():
            if name in attributes or name in statistics:
                setattr(self, name, value)
            else:
                raise ResourceError(f"{type(self).__name__} has no attribute {name!r}")

    @classmethod
    def attributes(cls) -> dict[str, Attribute[Any]]:
        found: dict[str, Attribute[Any]] = {}
        for klass in reversed(cls.__mro__):
            found.update({k: v for k, v in vars(klass).items() if isinstance(v, Attribute)})
        return found

    @classmethod
    def statistics(cls) -> dict[str, Statistic]:
        found: dict[str, Statistic] = {}
        for klass in reversed(cls.__mro__):
            found.update({k: v for k, v in vars(klass).items() if isinstance(v, Statistic)})
        return found

    @classmethod
    def check_declaration(cls) -> None:
        """Refuse a class whose identifier names no attribute of it (checked at load)."""
        if cls.identifier is None:
            raise PluginError(f"resource class {cls.__name__} declares no identifier")
        names = cls.attributes()
        unknown = [a for a in cls.identifier.attributes if a not in names]
        if unknown:
            raise PluginError(
                f"the identifier of {cls.__name__} names {', '.join(unknown)}, which "
                f"{'is not an attribute' if len(unknown) == 1 else 'are not attributes'}"
            )
        clash = set(names) & set(cls.statistics())
        if clash:
            raise PluginError(f"{cls.__name__} declares {', '.join(sorted(clash))} twice")

    @classmethod
    def is_scoped(cls) -> bool:
        return cls.identifier is not None and cls.identifier.scoped

    def identity(self) -> tuple[JsonValue, ...]:
        assert self.identifier is not None
        attributes = self.attributes()
        return tuple(
            attributes[name].to_json(getattr(self, name)) for name in self.identifier.attributes
        )

    def identity_key(self) -> str:
        return json.dumps(list(self.identity()), separators=(",", ":"), sort_keys=True)

    def get_label(self) -> str:
        values = " ".join(str(v) for v in self.identity() if v is not None)
        return f"{self.class_label or type(self).__name__} {values}".strip()

    def attribute_json(self) -> dict[str, JsonValue]:
        return {
            name: attribute.to_json(self._values[name])
            for name, attribute in sorted(self.attributes().items())
            if name in self._values
        }

    def samples(self) -> list[Sample]:
        return list(self._samples)

    def ancestors(self) -> Iterator[Resource]:
        """Parents, then their parents, breadth first, each once."""
        seen: set[int] = set()
        queue = list(self.parents)
        while queue:
            resource = queue.pop(0)
            if id(resource) in seen:
                continue
            seen.add(id(resource))
            yield resource
            queue.extend(resource.parents)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.identity_key()}>"


# Base classes: what the manager makes of a resource follows from these.


class LogicalDrive(Resource):
    """Storage that could hold a Lustre target: it becomes a Volume."""

    size = optional(Bytes(label="Size"))

    def volume_serial(self) -> str | None:
        """The SCSI serial or WWID by which a volume is recognised, if it has one."""
        return None


class DeviceNode(Resource):
    """A device path on the reporting host: a leaf one becomes a VolumeNode of its nearest
    LogicalDrive ancestor's Volume."""

    path = PosixPath()
    filesystem = optional(String(max_length=32))


class LogicalDriveOccupier(Resource):
    """Something using a drive (a local filesystem): the drives above it get no Volume."""


class PathWeight(Resource):
    weight = Integer(min_val=0)


class StoragePool(Resource):
    pass


class PhysicalDisk(Resource):
    pass


class Controller(Resource):
    pass


class Enclosure(Resource):
    pass


class Fan(Resource):
    pass


class NetworkInterfaceResource(Resource):
    """A network interface of the reporting host: kept as its NetworkInterface row."""

    name = String(max_length=64)
    mac_address = optional(String(max_length=64))
    inet4_address = optional(String(max_length=64))
    inet6_address = optional(String(max_length=64))
    network_type = Enum("tcp", "o2ib", "gni", "ptl4", label="LNet network type")
    is_up = Boolean()


class LNetNidResource(Resource):
    """One NID of the reporting host: kept as a Nid row of its LNet configuration."""

    nid = Nid()


# --- plugins --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentReport:
    """One push from a host's agent, validated, as a plugin's `scan` receives it."""

    host_id: int
    host_label: str
    kind: str
    received_at: datetime
    body: Report


class Plugin:
    """A storage plugin. The registry names each instance after its entry point."""

    report_kinds: ClassVar[frozenset[str]] = frozenset()
    resource_classes: ClassVar[tuple[type[Resource], ...]] = ()

    def __init__(self, name: str) -> None:
        self.name = name
        self.incomplete = False
        """Set by a scan whose report cannot tell what is gone (LNet down, so no NIDs listed):
        then nothing of this plugin is marked missing this time."""
        self.log = logging.getLogger(f"chroma.plugins.{name}")
        self._resources: dict[tuple[str, str], Resource] = {}

    @classmethod
    def check_declaration(cls) -> None:
        if not cls.report_kinds:
            raise PluginError(f"{cls.__name__} reads no agent report (report_kinds is empty)")
        if not cls.resource_classes:
            raise PluginError(f"{cls.__name__} declares no resource classes")
        for resource_class in cls.resource_classes:
            resource_class.check_declaration()

    def scan(self, report: AgentReport) -> None:
        """Report every resource seen in `report` with `update_or_create`."""
        raise NotImplementedError

    def update_or_create(
        self, resource_class: type[R], *, parents: Sequence[Resource] = (), **values: object
    ) -> R:
        """The resource of this scan with these identifying values, created or updated; the
        parents given are added to it."""
        if resource_class not in self.resource_classes:
            raise ResourceError(
                f"{resource_class.__name__} is not one of the resource classes {self.name} declares"
            )
        fresh = resource_class(**values)
        key = (resource_class.__name__, fresh.identity_key())
        found = self._resources.get(key)
        if found is None:
            self._resources[key] = found = fresh
        else:
            found.assign(values)
        assert isinstance(found, resource_class)
        for parent in parents:
            if parent is found or found in list(parent.ancestors()):
                raise ResourceError(
                    f"{parent.get_label()} cannot be a parent of {found.get_label()}: that "
                    "would make a loop"
                )
            if parent not in self._resources.values():
                raise ResourceError(
                    f"the parent {parent.get_label()} of {found.get_label()} was not reported "
                    "by this scan"
                )
            if parent not in found.parents:
                found.parents.append(parent)
        return found

    def reported(self) -> list[Resource]:
        """Everything this scan reported, in the order first reported."""
        return list(self._resources.values())
