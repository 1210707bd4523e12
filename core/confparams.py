"""The catalogue of Lustre conf params an admin may set, with each value's type and range.

Layer: core. Thread: any (pure data and functions). A value is checked against the catalogue
before it is saved and stored normalised as text; `None` means "clear it" (`conf_param -d`).
The key sent to `lctl conf_param` is prefixed by the filesystem name (client and global params)
or the target name (MDT and OST params).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from core.errors import ValidationError
from core.models.lustre import ConfParamScope

_SIZE = re.compile(r"(?P<number>\d+)(?P<unit>[KMGkmg]?)")
_SIZE_FACTOR = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}

Parser = Callable[[str], str]


def _integer(low: int, high: int | None = None, unit: str = "") -> Parser:
    rule = f"a whole number{unit} from {low}" + (f" to {high}" if high is not None else " up")

    def parse(text: str) -> str:
        if not text.isdigit() or int(text) < low or (high is not None and int(text) > high):
            raise ValueError(rule)
        return str(int(text))

    return parse


def _boolean(text: str) -> str:
    if text not in {"0", "1"}:
        raise ValueError("0 (off) or 1 (on)")
    return text


def _size(text: str) -> str:
    match = _SIZE.fullmatch(text)
    if match is None:
        raise ValueError("a size in bytes, optionally with a unit K, M or G (e.g. 1M)")
    return str(int(match["number"]) * _SIZE_FACTOR[match["unit"].lower()])


def _choice(*choices: str) -> Parser:
    def parse(text: str) -> str:
        if text not in choices:
            raise ValueError(f"one of {', '.join(choices)}")
        return text

    return parse


@dataclass(frozen=True)
class ConfParamSpec:
    key: str
    scope: ConfParamScope
    parse: Parser
    help: str


S = ConfParamScope
_SPECS = [
    ConfParamSpec("lov.stripesize", S.MDT, _size, "Default stripe size of new files."),
    ConfParamSpec(
        "lov.stripecount",
        S.MDT,
        _integer(0, 2000),
        "Default number of OSTs a new file is striped over (0: the default, 1 OST).",
    ),
    ConfParamSpec(
        "lov.qos_prio_free",
        S.MDT,
        _integer(0, 100),
        "How much free space weighs when OSTs are chosen (percent).",
    ),
    ConfParamSpec(
        "lov.qos_threshold_rr",
        S.MDT,
        _integer(0, 100),
        "Imbalance (percent) below which OSTs are chosen round-robin.",
    ),
    *(
        ConfParamSpec(
            f"mdt.MDS.{service}.thread_{bound}",
            S.MDT,
            _integer(2, 1024),
            f"The {bound}imum number of {service} service threads.",
        )
        for service in ("mds", "mds_readpage", "mds_setattr")
        for bound in ("min", "max")
    ),
    ConfParamSpec("osc.active", S.OST, _boolean, "Whether clients use this OST."),
    ConfParamSpec(
        "osc.max_dirty_mb",
        S.OST,
        _integer(0, 512, " of MB"),
        "Dirty data a client may cache per OST.",
    ),
    ConfParamSpec("osc.max_pages_per_rpc", S.OST, _integer(1, 256), "Largest bulk RPC in pages."),
    ConfParamSpec(
        "osc.max_rpcs_in_flight",
        S.OST,
        _integer(1, 32),
        "Concurrent RPCs a client sends to this OST.",
    ),
    ConfParamSpec("ost.read_cache_enable", S.OST, _boolean, "Cache read data on the OSS."),
    ConfParamSpec(
        "ost.writethrough_cache_enable", S.OST, _boolean, "Keep written data in the OSS cache."
    ),
    ConfParamSpec("ost.sync_journal", S.OST, _boolean, "Commit the journal synchronously."),
    ConfParamSpec(
        "ost.readcache_max_filesize",
        S.OST,
        _size,
        "Largest file whose data is kept in the read cache.",
    ),
    ConfParamSpec(
        "ost.sync_on_lock_cancel",
        S.OST,
        _choice("always", "blocking", "never"),
        "When to sync data on a lock cancel.",
    ),
    *(
        ConfParamSpec(
            f"ost.OSS.{service}.thread_{bound}",
            S.OST,
            _integer(2, 1024),
            f"The {bound}imum number of {service} service threads.",
        )
        for service in ("ost", "ost_io", "ost_create")
        for bound in ("min", "max")
    ),
    ConfParamSpec(
        "llite.max_cached_mb",
        S.FILESYSTEM_CLIENT,
        _integer(0, unit=" of MB"),
        "Data a client may cache in total.",
    ),
    ConfParamSpec(
        "llite.max_read_ahead_mb",
        S.FILESYSTEM_CLIENT,
        _integer(0, unit=" of MB"),
        "Read-ahead per client.",
    ),
    ConfParamSpec(
        "llite.max_read_ahead_whole_mb",
        S.FILESYSTEM_CLIENT,
        _integer(0, unit=" of MB"),
        "Files up to this size are read ahead whole.",
    ),
    ConfParamSpec(
        "llite.statahead_max",
        S.FILESYSTEM_CLIENT,
        _integer(0, 8192),
        "Entries a client stats ahead during a directory scan.",
    ),
    *(
        ConfParamSpec(f"sys.{name}", S.FILESYSTEM_GLOBAL, _integer(0, unit=" of seconds"), text)
        for name, text in (
            ("at_min", "Shortest adaptive timeout."),
            ("at_max", "Longest adaptive timeout (0 turns adaptive timeouts off)."),
            ("at_history", "Window over which adaptive timeouts remember the slowest reply."),
            ("at_early_margin", "How early before a deadline an early reply is sent."),
            ("at_extra", "Extra time an early reply asks for."),
            ("timeout", "RPC timeout when adaptive timeouts are off."),
            ("ldlm_timeout", "Lock callback timeout."),
        )
    ),
]
CATALOGUE: dict[str, ConfParamSpec] = {spec.key: spec for spec in _SPECS}


def keys_for(scope: ConfParamScope) -> list[str]:
    return sorted(key for key, spec in CATALOGUE.items() if spec.scope == scope)


def validate_conf_param(scope: ConfParamScope, key: str, value: str | None) -> str | None:
    """The normalised value to store, or a ValidationError naming the key and the rule."""
    spec = CATALOGUE.get(key)
    if spec is None:
        raise ValidationError(
            "conf param",
            key,
            f"it is not a known parameter; known for {scope.value}: " + ", ".join(keys_for(scope)),
        )
    if spec.scope != scope:
        raise ValidationError(
            "conf param", key, f"it applies to {spec.scope.value}, not {scope.value}"
        )
    if value is None:
        return None
    if not isinstance(value, str) or value != value.strip() or not value:
        raise ValidationError(key, value, "give the value as text without surrounding spaces")
    try:
        return spec.parse(value)
    except ValueError as error:
        raise ValidationError(key, value, str(error)) from error


def lustre_key(scope: ConfParamScope, key: str, *, fsname: str, target_name: str | None) -> str:
    """The name `lctl conf_param` takes: fs1.llite.max_cached_mb or fs1-OST0000.osc.active."""
    if scope in (ConfParamScope.MDT, ConfParamScope.OST):
        if target_name is None:
            raise ValueError(f"{key} needs a target")
        return f"{target_name}.{key}"
    return f"{fsname}.{key}"


def parse_lustre_key(text: str) -> tuple[str, str]:
    """The owner (a filesystem or target name) and the catalogue key of a name `lctl
    conf_param` takes: "fs1.sys.timeout" → ("fs1", "sys.timeout"); the inverse of
    `lustre_key`. ValueError when there is no owner or key."""
    owner, _, key = text.partition(".")
    if not owner or not key:
        raise ValueError(f"{text!r} is not <filesystem or target>.<parameter>")
    return owner, key


def normalise_reported(key: str, value: str) -> str:
    """A value as a server reports it, in the form the catalogue stores ("1M" → "1048576"),
    so that the same setting written two ways compares equal; left as it is when the
    catalogue does not know the key or the value does not parse."""
    spec = CATALOGUE.get(key)
    if spec is None:
        return value
    try:
        return spec.parse(value.strip())
    except ValueError:
        return value
