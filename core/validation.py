"""Rules Lustre and our model impose on names and values, checked before anything is stored.

Layer: core. Thread: any (pure functions). Every rule raises `ValidationError` naming the field,
the value and what is allowed, so that the GUI and the CLI can show it as it is.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from core.errors import ValidationError

FSNAME_MAX = 8
_FSNAME = re.compile(r"[A-Za-z0-9_]{1,8}")
FSNAME_RULE = "Lustre accepts 1 to 8 letters, digits or underscores"

MAX_TARGET_INDEX = 0xFFFE  # index ffff in a label marks an unregistered target
POOL_NAME_MAX = 15
_POOL_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,14}")
_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_NID = re.compile(r"(?P<address>[^@\s]+)@(?P<network>[a-z](?:[a-z0-9]*[a-z])?)(?P<number>\d*)")
VALID_INODE_SIZES = (128, 256, 512, 1024, 2048, 4096)


def validate_fsname(name: str) -> str:
    if not isinstance(name, str) or not _FSNAME.fullmatch(name):
        raise ValidationError("filesystem name", name, FSNAME_RULE)
    return name


def validate_target_index(index: int) -> int:
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index <= MAX_TARGET_INDEX:
        raise ValidationError(
            "target index", index, f"it must be a whole number from 0 to {MAX_TARGET_INDEX}"
        )
    return index


def target_name(fsname: str, kind: str, index: int | None) -> str:
    """The Lustre name of a target: MGS, or <fsname>-MDT0000 / <fsname>-OST000a (lower hex)."""
    if kind == "MGT":
        return "MGS"
    if index is None:
        raise ValidationError("target index", index, f"an {kind} needs an index")
    return f"{validate_fsname(fsname)}-{kind}{validate_target_index(index):04x}"


def validate_pool_name(name: str) -> str:
    if not isinstance(name, str) or not _POOL_NAME.fullmatch(name):
        raise ValidationError(
            "pool name",
            name,
            f"use 1 to {POOL_NAME_MAX} letters, digits, underscores or hyphens, "
            "not starting with a hyphen",
        )
    return name


def validate_hostname(name: str, field: str = "host name") -> str:
    if not isinstance(name, str) or not name or len(name) > 253:
        raise ValidationError(field, name, "a host name has 1 to 253 characters")
    labels = name.rstrip(".").split(".")
    if all(label.isascii() and label.isdigit() for label in labels):
        raise ValidationError(
            field,
            name,
            "it looks like an IPv4 address but is not one (no leading zeros, each part 0 to 255)",
        )
    if not all(_HOST_LABEL.fullmatch(label) for label in labels):
        raise ValidationError(
            field,
            name,
            "each dot-separated part of a host name has 1 to 63 letters, digits or hyphens, "
            "and does not start or end with a hyphen",
        )
    return name


@dataclass(frozen=True)
class ServerAddress:
    """Where to reach an agent: a host name or IP address, and a TCP port if not the default."""

    host: str
    port: int | None = None

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port is None else f"{host}:{self.port}"


def parse_server_address(text: str) -> ServerAddress:
    """Accept `host`, `host:port`, an IPv4 or IPv6 address, or `[v6]:port`."""
    if not isinstance(text, str) or not text.strip():
        raise ValidationError("server address", text, "give a host name or an IP address")
    text = text.strip()
    host, port_text = text, None
    if text.startswith("["):
        closing = text.find("]")
        if closing < 0:
            raise ValidationError("server address", text, "an IPv6 address in [] needs its ]")
        host, rest = text[1:closing], text[closing + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise ValidationError("server address", text, "write [IPv6]:port")
            port_text = rest[1:]
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    port = None
    if port_text is not None:
        if not (port_text.isascii() and port_text.isdigit()) or not 1 <= int(port_text) <= 65535:
            raise ValidationError("server address", text, "the port is a number from 1 to 65535")
        port = int(port_text)
    try:
        return ServerAddress(str(ipaddress.ip_address(host)), port)
    except ValueError:
        pass
    if ":" in host:
        raise ValidationError("server address", text, f"{host!r} is not a valid IPv6 address")
    return ServerAddress(validate_hostname(host, "server address").lower(), port)


def normalise_nid(nid: str) -> str:
    """`10.0.0.1@tcp` → `10.0.0.1@tcp0`; the loopback NID is refused, as it is never stored."""
    match = _NID.fullmatch(nid.strip().lower()) if isinstance(nid, str) else None
    if match is None:
        raise ValidationError(
            "NID", nid, "a Lustre NID looks like 10.0.0.1@tcp or 192.168.0.5@o2ib1"
        )
    network = match["network"]
    if network == "lo":
        raise ValidationError("NID", nid, "the loopback NID 0@lo does not identify a server")
    return f"{match['address']}@{network}{match['number'] or '0'}"


def validate_mount_point(path: str) -> str:
    if not isinstance(path, str) or not path.startswith("/") or any(c.isspace() for c in path):
        raise ValidationError(
            "mount point", path, "use an absolute path without spaces, e.g. /mnt/fs1"
        )
    if "\x00" in path or "/../" in f"{path}/":
        raise ValidationError("mount point", path, "it may not contain NUL or '..'")
    return path


def validate_inode_options(
    *,
    inode_size: int | None,
    bytes_per_inode: int | None,
    inode_count: int | None,
    volume_size: int | None,
) -> None:
    """mkfs inode tuning: as mkfs.lustre's ldiskfs options allow them."""
    if inode_size is not None and inode_size not in VALID_INODE_SIZES:
        raise ValidationError(
            "inode size", inode_size, f"choose one of {', '.join(map(str, VALID_INODE_SIZES))}"
        )
    if bytes_per_inode is not None and inode_count is not None:
        raise ValidationError(
            "inode count", inode_count, "give either an inode count or bytes per inode, not both"
        )
    if bytes_per_inode is not None and bytes_per_inode <= (inode_size or 0):
        raise ValidationError(
            "bytes per inode",
            bytes_per_inode,
            f"it must be larger than the inode size ({inode_size})",
        )
    if bytes_per_inode is not None and bytes_per_inode < 1024:
        raise ValidationError("bytes per inode", bytes_per_inode, "it must be at least 1024")
    if inode_count is not None:
        if inode_count < 1:
            raise ValidationError("inode count", inode_count, "it must be at least 1")
        if volume_size is not None and inode_count * (inode_size or 256) > volume_size:
            raise ValidationError(
                "inode count",
                inode_count,
                f"{inode_count} inodes of {inode_size or 256} bytes do not fit on a volume of "
                f"{volume_size} bytes",
            )
