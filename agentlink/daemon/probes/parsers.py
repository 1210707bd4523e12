"""Parsers of the text formats the agent reads: Lustre's /proc and /sys files (devices, version,
stats, brw_stats, job_stats, recovery_status, single values, `lctl get_param` output, the MGS's
filesystems, OST pool files and `lctl pool_list` output), LNet's
nis and stats, the host's /proc files (stat, meminfo, loadavg, net/dev, mounts, modules), udev's
device database, and the output of `dmsetup table` and `zpool status -P`.

Layer: agentlink.daemon.probes (standard library only). Thread: any; pure functions of a string.
Each returns plain data (str, int, float, lists and dicts) or raises `ParseError` saying what is
wrong and on which line; no other exception escapes (the tests fuzz every parser). Formats are
read as Lustre 1.8, 2.0 and the current 2.x series write them; fields a later version adds are
kept where they fit and ignored where they do not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from agentlink.daemon.probes.source import ParseError

LNET_STATS_FIELDS = (
    "msgs_alloc",
    "msgs_max",
    "errors",
    "send_count",
    "recv_count",
    "route_count",
    "drop_count",
    "send_length",
    "recv_length",
    "route_length",
    "drop_length",
)
NIS_FIELDS = ("nid", "status", "alive", "refs", "peer", "rtr", "max", "tx", "min")
BRW_SECTIONS = {
    "pages per bulk r/w": "pages",
    "discontiguous pages": "discont_pages",
    "discontiguous blocks": "discont_blocks",
    "disk fragmented I/Os": "dio_frags",
    "disk I/Os in flight": "rpc_hist",
    "I/O time (1/1000s)": "io_time",
    "disk I/O size": "disk_iosize",
    "block maps msec": "block_maps_msec",
}
"""brw_stats section headings → the keys IML gave them (later sections get a slug)."""
CPU_FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")

_WORD = re.compile(r"\S+")
_HEX_INDEX = re.compile(r"(?P<fsname>[A-Za-z0-9_]{1,8})-(?P<kind>MDT|OST)(?P<index>[0-9a-fA-F]{4})")


def _lines(text: str) -> Iterator[tuple[int, str]]:
    """Numbered (from 1), right-stripped, non-blank lines."""
    for number, line in enumerate(text.splitlines(), 1):
        line = line.rstrip()
        if line.strip():
            yield number, line


def _int(word: str, what: str, number: int) -> int:
    try:
        return int(word)
    except ValueError:
        raise ParseError(f"line {number}: {what} {_shown(word)} is not a whole number") from None


def _float(word: str, what: str, number: int) -> float:
    try:
        value = float(word)
    except ValueError:
        raise ParseError(f"line {number}: {what} {_shown(word)} is not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ParseError(f"line {number}: {what} {_shown(word)} is not a finite number")
    return value


def _shown(word: str) -> str:
    return repr(word if len(word) <= 40 else word[:39] + "…")


def _nonempty(text: str, what: str) -> None:
    if not text.strip():
        raise ParseError(f"empty: {what} expected (the file may be truncated)")


# --- single values and small files --------------------------------------------------------------


def parse_integer(text: str) -> int:
    """A file holding one whole number (kbytesfree, num_exports …)."""
    _nonempty(text, "a whole number")
    words = text.split()
    if len(words) != 1:
        raise ParseError(f"one whole number expected, found {len(words)} words")
    value = _int(words[0], "the value", 1)
    if value < 0:
        raise ParseError(f"line 1: the value {value} is negative")
    return value


def parse_version(text: str) -> dict[str, str]:
    """`lustre: 2.0.66` / `kernel: …` / `build: …` (1.8, 2.x /proc), or `2.15.4` alone
    (/sys/fs/lustre/version), or `version=2.15.4` (lctl get_param)."""
    _nonempty(text, "the Lustre version")
    found: dict[str, str] = {}
    for number, line in _lines(text):
        key, colon, value = line.partition(":")
        if not colon:
            key, equals, value = line.partition("=")
            if not equals:
                key, value = "lustre", line
        key, value = key.strip(), value.strip()
        if key == "version":
            key = "lustre"
        if not value:
            raise ParseError(f"line {number}: {_shown(key)} has no value")
        found[key] = value
    lustre = found.get("lustre")
    if lustre is None or not re.fullmatch(r"\d+(?:\.\d+)+(?:[-_.][\w.-]+)?", lustre):
        raise ParseError(f"no Lustre version number (lustre: {_shown(lustre or '')})")
    return found


def parse_health(text: str) -> dict[str, Any]:
    """`healthy`, or `NOT HEALTHY` with the device names, or `LBUG`."""
    _nonempty(text, "the health")
    first = text.strip().splitlines()[0].strip()
    return {"healthy": first == "healthy", "detail": text.strip()}


def parse_key_values(text: str) -> dict[str, str]:
    """`key: value` lines (recovery_status); a line without a colon is an error."""
    _nonempty(text, "key: value lines")
    found: dict[str, str] = {}
    for number, line in _lines(text):
        key, colon, value = line.partition(":")
        if not colon or not key.strip():
            raise ParseError(f"line {number}: {_shown(line)} is not `key: value`")
        found[key.strip()] = value.strip()
    return found


def parse_recovery_status(text: str) -> dict[str, Any]:
    """recovery_status: `status:` COMPLETE, RECOVERING, INACTIVE (or WAITING…) and details;
    `time_remaining`, `recovery_duration` and `*_clients` as numbers where they are."""
    fields = parse_key_values(text)
    status = fields.get("status")
    if not status:
        raise ParseError("no `status:` line")
    found: dict[str, Any] = {"status": status.split()[0].upper()}
    for key, value in fields.items():
        if key == "status":
            continue
        if re.fullmatch(r"\d+/\d+", value):
            done, total = value.split("/")
            found[key] = {"count": int(done), "total": int(total)}
        elif re.fullmatch(r"-?\d+", value):
            found[key] = int(value)
        else:
            found[key] = value
    return found


def parse_modules(text: str) -> list[str]:
    """/proc/modules: `lnet 235104 4 ptlrpc,ksocklnd, Live 0xffff…`: the module names."""
    names = []
    for number, line in _lines(text):
        words = line.split()
        if len(words) < 3 or not words[1].isdigit():
            raise ParseError(f"line {number}: {_shown(line)} is not a /proc/modules line")
        names.append(words[0])
    return names


# --- Lustre -------------------------------------------------------------------------------------


def parse_lustre_devices(text: str) -> list[dict[str, Any]]:
    """/proc/fs/lustre/devices or `lctl dl`: `  4 UP obdfilter fs1-OST0002 fs1-OST0002_UUID 5`."""
    devices = []
    for number, line in _lines(text):
        words = line.split()
        if len(words) < 6:
            raise ParseError(
                f"line {number}: {_shown(line.strip())} has {len(words)} fields, not 6 "
                "(index, status, type, name, UUID, refcount)"
            )
        devices.append(
            {
                "index": _int(words[0], "the index", number),
                "status": words[1],
                "type": words[2],
                "name": words[3],
                "uuid": words[4],
                "refcount": _int(words[5], "the refcount", number),
            }
        )
    return devices


def target_name(name: str) -> dict[str, Any] | None:
    """`fs1-OST000a` → fsname, kind and index; `MGS` → kind MGT; None for other devices."""
    if name == "MGS":
        return {"label": "MGS", "kind": "MGT", "fsname": None, "index": None}
    match = _HEX_INDEX.fullmatch(name)
    if match is None:
        return None
    return {
        "label": name,
        "kind": match["kind"],
        "fsname": match["fsname"],
        "index": int(match["index"], 16),
    }


def parse_fsnames(text: str) -> list[str]:
    """The filesystems an MGS serves (mgs.MGS.filesystems): one name per line; none yet is
    an empty file."""
    names = []
    for number, line in _lines(text):
        words = line.split()
        if len(words) != 1 or "." in words[0] or "/" in words[0]:
            raise ParseError(f"line {number}: {_shown(line.strip())} is not a filesystem name")
        names.append(words[0])
    return names


def parse_pool_members(text: str) -> list[str]:
    """A pool file (lod.fs1-MDT0000-mdtlov.pools.flash): one member OST UUID a line,
    `fs1-OST0000_UUID` → "fs1-OST0000". An empty pool is an empty file."""
    return _pool_members(_lines(text))


def _pool_members(lines: Iterable[tuple[int, str]]) -> list[str]:
    members = []
    for number, line in lines:
        name = line.strip().removesuffix("_UUID")
        found = target_name(name)
        if found is None or found["kind"] != "OST":
            raise ParseError(
                f"line {number}: {_shown(line.strip())} is not an OST UUID (fs1-OST0000_UUID)"
            )
        members.append(name)
    return members


def _heading(lines: list[tuple[int, str]], prefix: str, suffix: str, shown: str) -> str:
    """What the first line holds between `prefix` and `suffix` (lctl's headings)."""
    number, line = lines[0] if lines else (1, "")
    line = line.strip()
    value = line.removeprefix(prefix).removesuffix(suffix).strip()
    if not line.startswith(prefix) or not line.endswith(suffix) or len(value.split()) != 1:
        raise ParseError(f"line {number}: the `{shown}` heading is missing")
    return value


def parse_pool_list(text: str) -> dict[str, Any]:
    """`lctl pool_list fs1`: `Pools from fs1:`, then one `fs1.flash` line a pool (Lustre 1.8
    and 2.0 indent them by a space) → {"fsname": "fs1", "pools": ["flash", …]}."""
    lines = list(_lines(text))
    fsname = _heading(lines, "Pools from ", ":", "Pools from <fsname>:")
    pools = []
    for number, line in lines[1:]:
        owner, dot, pool = line.strip().partition(".")
        if owner != fsname or not dot or not pool or len(line.split()) != 1:
            raise ParseError(f"line {number}: {_shown(line.strip())} is not `{fsname}.<pool>`")
        pools.append(pool)
    return {"fsname": fsname, "pools": pools}


def parse_pool_list_members(text: str) -> dict[str, Any]:
    """`lctl pool_list fs1.flash`: `Pool: fs1.flash`, then its members as its pool file holds
    them → {"pool": "fs1.flash", "members": ["fs1-OST0000", …]}."""
    lines = list(_lines(text))
    pool = _heading(lines, "Pool:", "", "Pool: <fsname>.<pool>")
    if "." not in pool:
        raise ParseError(f"line {lines[0][0]}: {_shown(pool)} is not `<fsname>.<pool>`")
    return {"pool": pool, "members": _pool_members(lines[1:])}


def parse_stats(text: str) -> dict[str, Any]:
    """A stats or md_stats file: `snapshot_time 1314641981.949889 secs.usecs`, then
    `name count samples [unit] [min max sum [sumsq]]` lines; later Lustre adds `start_time`
    and `elapsed_time` lines, kept as times."""
    _nonempty(text, "a stats file")
    counters: dict[str, dict[str, Any]] = {}
    found: dict[str, Any] = {"counters": counters}
    for number, line in _lines(text):
        words = line.split()
        if words[0] in ("snapshot_time", "start_time", "elapsed_time"):
            if len(words) < 2:
                raise ParseError(f"line {number}: {words[0]} has no value")
            found[words[0]] = _float(words[1], words[0], number)
            continue
        if len(words) < 3 or words[2] != "samples":
            raise ParseError(
                f"line {number}: {_shown(line.strip())} is not `name count samples [unit] …`"
            )
        counter: dict[str, Any] = {"count": _int(words[1], "the count", number)}
        rest = words[3:]
        if rest and rest[0].startswith("[") and rest[0].endswith("]"):
            counter["unit"] = rest[0][1:-1]
            rest = rest[1:]
        if rest and len(rest) not in (3, 4):
            raise ParseError(
                f"line {number}: {words[0]} has {len(rest)} values after its unit, not 3 "
                "(min max sum) or 4 (with sumsq): the line may be truncated"
            )
        for key, word in zip(("min", "max", "sum", "sumsq"), rest, strict=False):
            counter[key] = _int(word, key, number)
        counters[words[0]] = counter
    return found


def parse_brw_stats(text: str) -> dict[str, Any]:
    """brw_stats: sections headed `pages per bulk r/w  rpcs % cum % | rpcs % cum %` with rows
    `256:  97 45 100 | 14398 94 100` → {section: {"read": {bucket: count}, "write": …}}."""
    _nonempty(text, "a brw_stats file")
    found: dict[str, Any] = {}
    section: dict[str, dict[str, int]] | None = None
    for number, line in _lines(text):
        stripped = line.strip()
        if stripped.startswith("snapshot_time") or stripped.startswith(("start_time", "elapsed")):
            words = stripped.replace(":", " ").split()
            if len(words) >= 2:
                found[words[0]] = _float(words[1], words[0], number)
            continue
        if re.fullmatch(r"read\s*\|\s*write", stripped):
            continue
        if "|" in stripped and not re.match(r"^[\w.]+:", stripped):
            heading = re.split(r"\s{2,}|\s+(?:rpcs|ios)\s", stripped.split("|")[0])[0].strip()
            key = BRW_SECTIONS.get(heading) or re.sub(r"\W+", "_", heading).strip("_").lower()
            if not key:
                raise ParseError(f"line {number}: a section heading without a name")
            section = {"read": {}, "write": {}}
            found[key] = section
            continue
        bucket, colon, rest = stripped.partition(":")
        if not colon or section is None:
            raise ParseError(
                f"line {number}: {_shown(stripped)} is neither a section heading nor a "
                "`bucket: read … | write …` row under one"
            )
        read, bar, write = rest.partition("|")
        read_words, write_words = read.split(), write.split()
        if not bar or len(read_words) != 3 or len(write_words) != 3:
            raise ParseError(
                f"line {number}: bucket {_shown(bucket)} needs 3 read and 3 write columns "
                "(count % cum%): the line may be truncated"
            )
        section["read"][bucket.strip()] = _int(read_words[0], "the read count", number)
        section["write"][bucket.strip()] = _int(write_words[0], "the write count", number)
    return found


def parse_job_stats(text: str) -> list[dict[str, Any]]:
    """job_stats (YAML as Lustre ≥ 2.4 writes it): `job_stats:` then per job `- job_id: dd.0`,
    `snapshot_time: 1390001000` and `read_bytes: { samples: 1, unit: bytes, min: 4096, max:
    4096, sum: 4096 }` lines. An empty `job_stats:` is no jobs."""
    _nonempty(text, "a job_stats file")
    jobs: list[dict[str, Any]] = []
    job: dict[str, Any] | None = None
    started = False
    for number, line in _lines(text):
        stripped = line.strip()
        if stripped.startswith("job_stats:"):
            started = True
            continue
        if not started:
            raise ParseError(f"line {number}: expected `job_stats:` first")
        if stripped.startswith("- job_id:"):
            job_id = stripped[len("- job_id:") :].strip().strip("\"'")
            if not job_id:
                raise ParseError(f"line {number}: a job without a job_id")
            job = {"job_id": job_id, "metrics": {}}
            jobs.append(job)
            continue
        if job is None:
            raise ParseError(f"line {number}: {_shown(stripped)} comes before any `- job_id:`")
        key, colon, value = stripped.partition(":")
        value = value.strip()
        if not colon:
            raise ParseError(f"line {number}: {_shown(stripped)} is not `name: value`")
        if value.startswith("{"):
            if not value.endswith("}"):
                raise ParseError(f"line {number}: {key}'s {{ … }} is not closed (truncated?)")
            metric: dict[str, Any] = {}
            for item in value[1:-1].split(","):
                name, colon, word = item.partition(":")
                name, word = name.strip(), word.strip()
                if not colon or not name:
                    raise ParseError(f"line {number}: {key} has {_shown(item.strip())}")
                metric[name] = word if name == "unit" else _int(word, f"{key}.{name}", number)
            if "samples" not in metric:
                raise ParseError(f"line {number}: {key} has no samples")
            job["metrics"][key.strip()] = metric
        else:
            job[key.strip()] = _float(value, key.strip(), number) if value else None
    return jobs


def parse_get_param(text: str) -> dict[str, str]:
    """`lctl get_param` output: `name=value` for one-line values, `name=` then lines for the
    others → {param name: text}. Lines before the first `name=` are an error."""
    found: dict[str, str] = {}
    name: str | None = None
    lines: list[str] = []
    start = re.compile(r"^([A-Za-z_][\w-]*(?:\.[\w@:*.-]+)+)=(.*)$")
    for number, line in enumerate(text.splitlines(), 1):
        match = start.match(line)
        if match:
            if name is not None:
                found[name] = "\n".join(lines)
            name, lines = match[1], ([match[2]] if match[2] else [])
        elif name is None:
            if line.strip():
                raise ParseError(f"line {number}: {_shown(line)} comes before any `param=`")
        else:
            lines.append(line)
    if name is not None:
        found[name] = "\n".join(lines)
    return found


# --- LNet ---------------------------------------------------------------------------------------


def parse_lnet_stats(text: str) -> dict[str, int]:
    """/proc/sys/lnet/stats: 11 numbers (later versions append more, which are ignored)."""
    _nonempty(text, "LNet's counters")
    words = text.split()
    if len(words) < len(LNET_STATS_FIELDS):
        raise ParseError(
            f"{len(words)} numbers, not {len(LNET_STATS_FIELDS)}: the file may be truncated"
        )
    return {name: _int(word, name, 1) for name, word in zip(LNET_STATS_FIELDS, words, strict=False)}


def parse_nis(text: str) -> list[dict[str, Any]]:
    """/proc/sys/lnet/nis: a header, then `10.1.0.11@tcp  up  -1  4  8  0  256  256  251`."""
    lines = list(_lines(text))
    if not lines or not lines[0][1].split() or lines[0][1].split()[0] != "nid":
        raise ParseError("line 1: the `nid status alive …` header is missing")
    interfaces = []
    for number, line in lines[1:]:
        words = line.split()
        if len(words) < len(NIS_FIELDS) or "@" not in words[0]:
            raise ParseError(f"line {number}: {_shown(line.strip())} is not an NI line")
        entry: dict[str, Any] = {"nid": words[0], "status": words[1]}
        for key, word in zip(NIS_FIELDS[2:], words[2:], strict=False):
            entry[key] = _int(word, key, number)
        interfaces.append(entry)
    return interfaces


# --- the host -----------------------------------------------------------------------------------


def parse_proc_stat(text: str) -> dict[str, Any]:
    """/proc/stat: the `cpu` line (jiffies since boot) and `btime`. IML's totals: system =
    system + irq, total = user … softirq."""
    cpu: dict[str, int] | None = None
    boot_time: int | None = None
    for number, line in _lines(text):
        words = line.split()
        if words[0] == "cpu":
            values = [_int(word, "a cpu counter", number) for word in words[1:]]
            if len(values) < 4:
                raise ParseError(f"line {number}: the cpu line has {len(values)} counters, not 4+")
            cpu = dict(zip(CPU_FIELDS, values, strict=False))
        elif words[0] == "btime" and len(words) == 2:
            boot_time = _int(words[1], "btime", number)
    if cpu is None:
        raise ParseError("no `cpu` line")
    total = sum(cpu.get(name, 0) for name in CPU_FIELDS[:7])
    return {
        "cpu": cpu,
        "cpu_user": cpu["user"] + cpu.get("nice", 0),
        "cpu_system": cpu["system"] + cpu.get("irq", 0) + cpu.get("softirq", 0),
        "cpu_idle": cpu["idle"],
        "cpu_iowait": cpu.get("iowait", 0),
        "cpu_total": total,
        "boot_time": boot_time,
    }


def parse_meminfo(text: str) -> dict[str, int]:
    """/proc/meminfo: `MemTotal:  32877112 kB` → {"MemTotal": 32877112} (kB)."""
    found: dict[str, int] = {}
    for number, line in _lines(text):
        key, colon, value = line.partition(":")
        words = value.split()
        if not colon or not words or len(words) > 2:
            raise ParseError(f"line {number}: {_shown(line)} is not `Name: value [kB]`")
        found[key.strip()] = _int(words[0], key.strip(), number)
    if "MemTotal" not in found:
        raise ParseError("no MemTotal line")
    return found


def parse_loadavg(text: str) -> dict[str, Any]:
    """/proc/loadavg: `0.52 0.41 0.30 2/811 12345`."""
    words = text.split()
    if len(words) < 4 or "/" not in words[3]:
        raise ParseError("not `load1 load5 load15 running/total last-pid`")
    running, _, total = words[3].partition("/")
    return {
        "load_1": _float(words[0], "load1", 1),
        "load_5": _float(words[1], "load5", 1),
        "load_15": _float(words[2], "load15", 1),
        "procs_running": _int(running, "running", 1),
        "procs_total": _int(total, "total", 1),
    }


def parse_uptime(text: str) -> float:
    words = text.split()
    if not words:
        raise ParseError("empty: the uptime expected")
    return _float(words[0], "the uptime", 1)


def parse_net_dev(text: str) -> list[dict[str, Any]]:
    """/proc/net/dev: two header lines, then `eth0: rx_bytes rx_packets … (8 rx, 8 tx)`."""
    interfaces = []
    for number, line in _lines(text):
        if number <= 2 and "|" in line:
            continue
        name, colon, rest = line.partition(":")
        words = rest.split()
        if not colon or len(words) != 16:
            raise ParseError(f"line {number}: {_shown(line.strip())} is not `name: 16 counters`")
        values = [_int(word, "a counter", number) for word in words]
        interfaces.append(
            {
                "name": name.strip(),
                "rx_bytes": values[0],
                "rx_packets": values[1],
                "rx_errors": values[2],
                "tx_bytes": values[8],
                "tx_packets": values[9],
                "tx_errors": values[10],
            }
        )
    return interfaces


def _unescape(field: str) -> str:
    """/proc/mounts writes a space as \\040 (and tab, newline, backslash likewise)."""
    return re.sub(r"\\([0-7]{3})", lambda match: chr(int(match[1], 8)), field)


def parse_mounts(text: str) -> list[dict[str, str]]:
    """/proc/mounts or /etc/fstab: `device mount-point type options …` (comments skipped)."""
    mounts = []
    for number, line in _lines(text):
        if line.lstrip().startswith("#"):
            continue
        words = line.split()
        if len(words) < 3:
            raise ParseError(f"line {number}: {_shown(line.strip())} has fewer than 3 fields")
        mounts.append(
            {
                "device": _unescape(words[0]),
                "mount_point": _unescape(words[1]),
                "fstype": words[2],
                "options": words[3] if len(words) > 3 else "",
            }
        )
    return mounts


def parse_udev_data(text: str) -> dict[str, str]:
    """udev's database entry of a device (/run/udev/data/b8:16): the `E:KEY=value` lines."""
    found: dict[str, str] = {}
    for number, line in _lines(text):
        kind, colon, rest = line.partition(":")
        if not colon or len(kind) != 1:
            raise ParseError(f"line {number}: {_shown(line)} is not a udev `X:…` line")
        if kind == "E":
            key, equals, value = rest.partition("=")
            if not equals or not key:
                raise ParseError(f"line {number}: {_shown(line)} is not `E:KEY=value`")
            found[key] = value
    return found


# --- device-mapper and ZFS ----------------------------------------------------------------------


def parse_dmsetup_table(text: str) -> list[dict[str, Any]]:
    """`dmsetup table`: `name: start length target args…` per segment → one entry per map with
    its segments' targets and the major:minors it uses; a multipath map also gets its path
    groups (`… round-robin 0 2 1 8:32 6 8:48 6 …`) as lists of major:minors. "No devices
    found" is no maps."""
    maps: dict[str, dict[str, Any]] = {}
    for number, line in _lines(text):
        if line.strip() == "No devices found":
            continue
        name, colon, rest = line.partition(": ")
        words = rest.split()
        if not colon or len(words) < 3:
            raise ParseError(f"line {number}: {_shown(line)} is not `name: start length target …`")
        _int(words[0], "the start", number)
        length = _int(words[1], "the length", number)
        entry = maps.setdefault(
            name.strip(), {"name": name.strip(), "sectors": 0, "targets": [], "devices": []}
        )
        entry["sectors"] += length
        target = words[2]
        if target not in entry["targets"]:
            entry["targets"].append(target)
        used = [word for word in words[3:] if re.fullmatch(r"\d+:\d+", word)]
        for device in used:
            if device not in entry["devices"]:
                entry["devices"].append(device)
        if target == "multipath":
            entry["path_groups"] = _path_groups(words[3:], number)
    return list(maps.values())


def _path_groups(args: list[str], number: int) -> list[list[str]]:
    """A multipath table's arguments: feature count and features, handler count and args,
    group count, first group, then per group: selector, its arg count and args, path count,
    per-path arg count, then each path with its args."""
    position = 0

    def take() -> str:
        nonlocal position
        if position >= len(args):
            raise ParseError(f"line {number}: the multipath table ends early (truncated?)")
        position += 1
        return args[position - 1]

    def count(what: str) -> int:
        return _int(take(), what, number)

    for _ in range(count("the feature count")):
        take()
    for _ in range(count("the handler argument count")):
        take()
    groups_wanted = count("the path group count")
    count("the first path group")
    groups = []
    for _ in range(groups_wanted):
        take()  # the path selector
        for _ in range(count("the selector argument count")):
            take()
        paths, path_args = count("the path count"), count("the per-path argument count")
        group = []
        for _ in range(paths):
            device = take()
            if not re.fullmatch(r"\d+:\d+", device):
                raise ParseError(f"line {number}: {_shown(device)} is not a path's major:minor")
            group.append(device)
            for _ in range(path_args):
                take()
        groups.append(group)
    return groups


def parse_zpool_status(text: str) -> list[dict[str, Any]]:
    """`zpool status -P`: per pool its `pool:` and `state:` and, under `config:`, the member
    devices by full path (lines starting with /)."""
    pools: list[dict[str, Any]] = []
    pool: dict[str, Any] | None = None
    in_config = False
    for number, line in _lines(text):
        stripped = line.strip()
        key, colon, value = stripped.partition(":")
        if colon and key == "pool":
            pool = {"name": value.strip(), "state": None, "devices": []}
            pools.append(pool)
            in_config = False
            continue
        if pool is None:
            if stripped == "no pools available":
                continue
            raise ParseError(f"line {number}: {_shown(stripped)} comes before any `pool:`")
        if colon and key == "state" and not in_config:
            pool["state"] = value.strip()
        elif colon and key == "config":
            in_config = True
        elif colon and key == "errors":
            in_config = False
        elif in_config and stripped.startswith("/"):
            pool["devices"].append(stripped.split()[0])
    for entry in pools:
        if not entry["name"]:
            raise ParseError("a `pool:` line without a name")
    return pools


def parse_zpool_list(text: str) -> list[dict[str, Any]]:
    """`zpool list -H -p -o name,size,health,guid`: tab-separated, sizes in bytes."""
    pools = []
    for number, line in _lines(text):
        words = line.split("\t")
        if len(words) != 4:
            raise ParseError(f"line {number}: {len(words)} tab-separated fields, not 4")
        pools.append(
            {
                "name": words[0],
                "size_bytes": _int(words[1], "the size", number),
                "health": words[2],
                "guid": words[3],
            }
        )
    return pools


def parse_zfs_list(text: str) -> list[dict[str, Any]]:
    """`zfs list -H -p -o name,used,avail,type`: datasets and volumes, sizes in bytes."""
    datasets = []
    for number, line in _lines(text):
        words = line.split("\t")
        if len(words) != 4:
            raise ParseError(f"line {number}: {len(words)} tab-separated fields, not 4")
        datasets.append(
            {
                "name": words[0],
                "used_bytes": _int(words[1], "used", number),
                "avail_bytes": _int(words[2], "avail", number),
                "type": words[3],
            }
        )
    return datasets
