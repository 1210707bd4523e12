"""Every parser of the agent's probes, fuzzed: for any text (random, or a real file cut short,
spliced or with bytes changed) it returns data or raises `ParseError` with a reason; no other
exception escapes. And a whole report over a tree of random files always comes out, each file
it could not read named in `problems`."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentlink.daemon.probes import parsers
from agentlink.daemon.probes.devices import dm_identity, split_dm_name
from agentlink.daemon.probes.host import parse_ip_addr
from agentlink.daemon.probes.lustre import mgs_nids_of
from agentlink.daemon.probes.report import full_report
from agentlink.daemon.probes.source import NoCommands, ParseError, Tree

from .test_probes_tree import BRW_STATS, MD_STATS, OST_JOB_STATS, OST_STATS, RECOVERING

SAMPLES: dict[str, tuple[Callable[[str], Any], str]] = {
    "integer": (parsers.parse_integer, "1979620\n"),
    "version": (parsers.parse_version, "lustre: 2.0.66\nkernel: patchless_client\nbuild: x\n"),
    "health": (parsers.parse_health, "healthy\n"),
    "key_values": (parsers.parse_key_values, RECOVERING),
    "recovery_status": (parsers.parse_recovery_status, RECOVERING),
    "modules": (parsers.parse_modules, "lnet 235104 4 ptlrpc,ksocklnd, Live 0xffffffffa05f0000\n"),
    "lustre_devices": (
        parsers.parse_lustre_devices,
        "  0 UP mgs MGS MGS 9\n  4 UP obdfilter fs1-OST0002 fs1-OST0002_UUID 5\n",
    ),
    "fsnames": (parsers.parse_fsnames, "fs1\nscratch\n"),
    "pool_members": (parsers.parse_pool_members, "fs1-OST0000_UUID\nfs1-OST000a_UUID\n"),
    "pool_list": (parsers.parse_pool_list, "Pools from fs1:\nfs1.flash\n fs1.archive\n"),
    "pool_list_members": (
        parsers.parse_pool_list_members,
        "Pool: fs1.flash\nfs1-OST0000_UUID\nfs1-OST0001_UUID\n",
    ),
    "stats": (parsers.parse_stats, OST_STATS),
    "md_stats": (parsers.parse_stats, MD_STATS),
    "brw_stats": (parsers.parse_brw_stats, BRW_STATS),
    "job_stats": (parsers.parse_job_stats, OST_JOB_STATS),
    "get_param": (parsers.parse_get_param, "obdfilter.fs1-OST0000.stats=\n" + OST_STATS),
    "lnet_stats": (
        parsers.parse_lnet_stats,
        "0 61 0 902113 874530 0 12 3871550112 41882331028 0 5120\n",
    ),
    "nis": (
        parsers.parse_nis,
        "nid status alive refs peer rtr max tx min\n10.1.0.11@tcp up -1 4 8 0 256 256 251\n",
    ),
    "proc_stat": (
        parsers.parse_proc_stat,
        "cpu  1903 12 4410 960231 812 3 40 0 0\nbtime 1358700000\n",
    ),
    "meminfo": (parsers.parse_meminfo, "MemTotal:  32877112 kB\nMemFree: 100 kB\n"),
    "loadavg": (parsers.parse_loadavg, "0.52 0.41 0.30 2/811 12345\n"),
    "uptime": (parsers.parse_uptime, "12345.67 99999.01\n"),
    "net_dev": (
        parsers.parse_net_dev,
        "Inter-| Receive | Transmit\n face |bytes | bytes\n eth0: "
        + " ".join(str(n) for n in range(16))
        + "\n",
    ),
    "mounts": (parsers.parse_mounts, "/dev/sdb /mnt/ost0 lustre ro 0 0\n"),
    "udev_data": (parsers.parse_udev_data, "S:disk/by-id/x\nE:ID_FS_TYPE=lustre\n"),
    "dmsetup_table": (
        parsers.parse_dmsetup_table,
        "mpathb: 0 524288000 multipath 1 queue_if_no_path 1 rdac 2 1 round-robin 0 2 1 8:32 6 "
        "8:48 6 round-robin 0 2 1 8:16 1 8:64 1\nvg-lv: 0 100 linear 8:1 384\n",
    ),
    "zpool_status": (
        parsers.parse_zpool_status,
        "  pool: ostpool\n state: ONLINE\nconfig:\n\n\tNAME STATE\n\tostpool ONLINE\n"
        "\t  /dev/sdb1 ONLINE\nerrors: No known data errors\n",
    ),
    "zpool_list": (parsers.parse_zpool_list, "ostpool\t1000\tONLINE\t1234\n"),
    "zfs_list": (parsers.parse_zfs_list, "ostpool/ost0\t10\t20\tfilesystem\n"),
}


def test_every_parser_reads_its_sample() -> None:
    for name, (parser, sample) in SAMPLES.items():
        assert parser(sample) is not None, name
    public = {n for n in dir(parsers) if n.startswith("parse_")}
    sampled = {parser.__name__ for parser, _ in SAMPLES.values()}
    assert public == sampled, "every parser has a sample here, and so is fuzzed"


def _outcome(parser: Callable[[str], Any], text: str) -> None:
    try:
        result = parser(text)
    except ParseError as error:
        reason = str(error)
    else:
        json.dumps(result)  # plain data, as the report is printed
        return
    assert reason, "a ParseError always says why"


@st.composite
def damaged(draw: st.DrawFn) -> tuple[str, str]:
    """A sample cut short, with a slice replaced, or with random text spliced in."""
    name = draw(st.sampled_from(sorted(SAMPLES)))
    text = SAMPLES[name][1]
    cut = draw(st.integers(0, len(text)))
    how = draw(st.sampled_from(["truncate", "replace", "splice", "double"]))
    if how == "truncate":
        text = text[:cut]
    elif how == "replace":
        end = draw(st.integers(cut, len(text)))
        text = text[:cut] + draw(st.text(max_size=12)) + text[end:]
    elif how == "splice":
        text = (
            text[:cut]
            + draw(st.sampled_from(["\n", " ", ":", "|", "{", "}", "-", "=", "x"]))
            + text[cut:]
        )
    else:
        text = text + text[cut:]
    return name, text


@settings(max_examples=400, deadline=None)
@given(damaged())
def test_a_damaged_file_gives_data_or_a_reason(case: tuple[str, str]) -> None:
    name, text = case
    _outcome(SAMPLES[name][0], text)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(sorted(SAMPLES)), st.text(max_size=200))
def test_any_text_gives_data_or_a_reason(name: str, text: str) -> None:
    _outcome(SAMPLES[name][0], text)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_ip_addr_output_never_raises(text: str) -> None:
    assert isinstance(parse_ip_addr(text), dict)


@pytest.mark.parametrize(
    ("name", "text", "reason"),
    [
        ("integer", "12 34\n", "one whole number expected, found 2 words"),
        ("integer", "-5\n", "line 1: the value -5 is negative"),
        ("version", "kernel: x\n", "no Lustre version number (lustre: '')"),
        ("lustre_devices", "  0 UP mgs MGS\n", "line 1: '0 UP mgs MGS' has 4 fields, not 6"),
        ("nis", "10.1.0.11@tcp up\n", "line 1: the `nid status alive …` header is missing"),
        ("recovery_status", "recovery_start: 1\n", "no `status:` line"),
        ("stats", "open 811 samples [reqs] 1 2\n", "line 1: open has 2 values after its unit"),
        ("brw_stats", "256: 1 2 3 | 4 5 6\n", "line 1: '256: 1 2 3 | 4 5 6' is neither a section"),
        ("job_stats", "- job_id: x\n", "line 1: expected `job_stats:` first"),
        ("dmsetup_table", "m: 0 10 multipath 0 0 2 1 round-robin 0 1 1 8:1\n", "ends early"),
        ("proc_stat", "intr 1 2 3\n", "no `cpu` line"),
        ("meminfo", "MemFree: 3 kB\n", "no MemTotal line"),
        ("fsnames", "fs1\nfs 2\n", "line 2: 'fs 2' is not a filesystem name"),
        ("pool_members", "fs1-MDT0000_UUID\n", "line 1: 'fs1-MDT0000_UUID' is not an OST UUID"),
        ("pool_list", "fs1.flash\n", "line 1: the `Pools from <fsname>:` heading is missing"),
        ("pool_list", "Pools from fs1:\nfs2.flash\n", "line 2: 'fs2.flash' is not `fs1.<pool>`"),
        ("pool_list_members", "fs1-OST0000_UUID\n", "the `Pool: <fsname>.<pool>` heading"),
    ],
)
def test_bad_input_is_named(name: str, text: str, reason: str) -> None:
    with pytest.raises(ParseError) as raised:
        SAMPLES[name][0](text)
    assert reason in str(raised.value)


FILES = [
    "proc/fs/lustre/version",
    "proc/fs/lustre/devices",
    "proc/fs/lustre/obdfilter/fs1-OST0000/stats",
    "proc/fs/lustre/obdfilter/fs1-OST0000/kbytesfree",
    "proc/fs/lustre/obdfilter/fs1-OST0000/recovery_status",
    "proc/fs/lustre/obdfilter/fs1-OST0000/brw_stats",
    "proc/fs/lustre/obdfilter/fs1-OST0000/job_stats",
    "proc/fs/lustre/mgs/MGS/filesystems",
    "proc/fs/lustre/lov/fs1-mdtlov/pools/flash",
    "proc/sys/lnet/nis",
    "proc/sys/lnet/stats",
    "proc/modules",
    "proc/mounts",
    "proc/stat",
    "proc/meminfo",
    "sys/block/sda/size",
    "sys/block/sda/dev",
]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.dictionaries(
        st.sampled_from(FILES), st.binary(max_size=64) | st.text(max_size=64), max_size=8
    )
)
def test_a_tree_of_random_files_still_gives_a_report(
    tmp_path_factory: pytest.TempPathFactory, files: dict[str, bytes | str]
) -> None:
    root = tmp_path_factory.mktemp("tree")
    (root / "proc").mkdir()
    for path, content in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
    report = full_report(Tree(root), NoCommands(), "fuzz", now=1.0)
    json.dumps(report)
    for problem in report["problems"]:
        assert problem["path"].startswith("/") and problem["reason"]
    assert isinstance(report["pushes"]["lustre"]["state"]["mounts"], list)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60), st.none() | st.text(max_size=80))
def test_names_and_options_never_raise(name: str, uuid: str | None) -> None:
    """The helpers that read names out of device-mapper, Lustre and mount options."""
    identity = dm_identity(name, uuid)
    assert identity["dm_name"] == name and identity["kind"]
    split = split_dm_name(name)
    assert split is None or all(split)
    target = parsers.target_name(name)
    assert target is None or target["kind"] in ("MGT", "MDT", "OST")
    nids = mgs_nids_of(name)
    assert nids is None or all(nids)
