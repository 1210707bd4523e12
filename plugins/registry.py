"""Finding and loading storage plugins: the builtins and every entry point of the group
`chroma.storage_plugins`, each loaded in isolation.

Layer: plugins. Thread: the database worker's (discovery imports plugin modules; do it once, at
start). An entry point's name is the plugin's name and its value a `Plugin` subclass, e.g.
`acme = acme_storage.plugin:AcmePlugin`. A plugin that cannot be imported, is not a `Plugin`, or
declares its resources wrongly is left out and recorded as a `PluginFailure` with a message an
admin can act on; the others load as usual.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache, partial
from importlib.metadata import EntryPoint, entry_points

from plugins.api import Plugin, PluginError

ENTRY_POINT_GROUP = "chroma.storage_plugins"

BUILTIN_PLUGINS: dict[str, str] = {
    "linux": "plugins.linux:LinuxPlugin",
    "linux_network": "plugins.linux_network:LinuxNetworkPlugin",
}

log = logging.getLogger(__name__)


class FailureStage(StrEnum):
    LOAD = "load"
    SCAN = "scan"


@dataclass(frozen=True)
class PluginFailure:
    """A plugin that could not be loaded, or failed on one report: shown to the admin."""

    plugin: str
    stage: FailureStage
    message: str


@dataclass(frozen=True)
class LoadedPlugin:
    name: str
    plugin_class: type[Plugin]
    origin: str
    """"builtin", or the distribution that installed it ("acme-storage 1.2")."""

    def instantiate(self) -> Plugin:
        return self.plugin_class(self.name)


class PluginRegistry:
    """The plugins that loaded, and the failures of those that did not."""

    def __init__(self, plugins: Sequence[LoadedPlugin], failures: Sequence[PluginFailure] = ()):
        self.plugins = tuple(plugins)
        self.failures = tuple(failures)

    @classmethod
    def discover(
        cls, *, builtins: bool = True, installed: Iterable[EntryPoint] | None = None
    ) -> PluginRegistry:
        """The builtins (unless `builtins` is False) and the installed entry points (by default
        those of `chroma.storage_plugins` in this environment)."""
        loaded: list[LoadedPlugin] = []
        failures: list[PluginFailure] = []
        if builtins:
            for name, target in BUILTIN_PLUGINS.items():
                _load(name, target, "builtin", partial(_import_target, target), loaded, failures)
        if installed is None:
            installed = entry_points(group=ENTRY_POINT_GROUP)
        for point in sorted(installed, key=lambda p: p.name):
            if any(p.name == point.name for p in loaded):
                failures.append(
                    PluginFailure(
                        point.name,
                        FailureStage.LOAD,
                        f"The storage plugin {point.name} from {_origin(point)} was not loaded: "
                        "another plugin already has that name. Uninstall one of them.",
                    )
                )
                continue
            _load(point.name, point.value, _origin(point), point.load, loaded, failures)
        for failure in failures:
            log.error("%s", failure.message)
        return cls(loaded, failures)

    def for_kind(self, kind: str) -> list[LoadedPlugin]:
        return [p for p in self.plugins if kind in p.plugin_class.report_kinds]

    def names(self) -> list[str]:
        return [p.name for p in self.plugins]


@cache
def default_registry() -> PluginRegistry:
    """The plugins of this process, discovered once."""
    return PluginRegistry.discover()


def _origin(point: EntryPoint) -> str:
    dist = point.dist
    return f"{dist.name} {dist.version}" if dist is not None else "an installed package"


def _import_target(target: str) -> object:
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


def _load(
    name: str,
    target: str,
    origin: str,
    load: Callable[[], object],
    loaded: list[LoadedPlugin],
    failures: list[PluginFailure],
) -> None:
    try:
        obj = load()
        if not (isinstance(obj, type) and issubclass(obj, Plugin)):
            raise PluginError(f"{target} is {obj!r}, not a subclass of plugins.api.Plugin")
        obj.check_declaration()
    except Exception as error:  # any failure of a plugin's own code is isolated
        failures.append(
            PluginFailure(
                name,
                FailureStage.LOAD,
                f"The storage plugin {name} ({target}, from {origin}) could not be loaded: "
                f"{type(error).__name__}: {error}. The other plugins work as usual; reinstall "
                "or update that package, or uninstall it to silence this message.",
            )
        )
        return
    loaded.append(LoadedPlugin(name, obj, origin))
