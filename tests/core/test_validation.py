"""Validation rules, checked against independent statements of the rules with hypothesis."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.confparams import CATALOGUE, keys_for, lustre_key, validate_conf_param
from core.errors import ValidationError
from core.models import ConfParamScope
from core.validation import (
    normalise_nid,
    parse_server_address,
    target_name,
    validate_fsname,
    validate_inode_options,
    validate_mount_point,
    validate_pool_name,
)

FSNAME_CHARS = set(string.ascii_letters + string.digits + "_")


@given(st.text(max_size=12))
def test_fsname_accepted_exactly_when_lustre_would(name: str):
    lustre_accepts = 1 <= len(name) <= 8 and set(name) <= FSNAME_CHARS
    if lustre_accepts:
        assert validate_fsname(name) == name
    else:
        with pytest.raises(ValidationError) as raised:
            validate_fsname(name)
        assert raised.value.field == "filesystem name"
        assert "1 to 8 letters, digits or underscores" in str(raised.value)


def test_fsname_error_reads_well():
    with pytest.raises(ValidationError) as raised:
        validate_fsname("my-lustre")
    assert str(raised.value) == (
        "filesystem name 'my-lustre' is not valid: "
        "Lustre accepts 1 to 8 letters, digits or underscores."
    )


@given(st.integers(min_value=0, max_value=0xFFFE))
def test_target_names_use_four_lower_case_hex_digits(index: int):
    name = target_name("fs1", "OST", index)
    assert name == f"fs1-OST{index:04x}"
    assert int(name.removeprefix("fs1-OST"), 16) == index


def test_target_index_out_of_range_is_refused():
    with pytest.raises(ValidationError, match="0 to 65534"):
        target_name("fs1", "OST", 0xFFFF)
    assert target_name("fs1", "MGT", None) == "MGS"


@given(
    st.from_regex(r"[0-9]{1,3}(\.[0-9]{1,3}){3}", fullmatch=True),
    st.sampled_from(["tcp", "o2ib", "TCP"]),
    st.one_of(st.just(""), st.integers(0, 99).map(str)),
)
def test_nids_are_normalised_idempotently(address: str, network: str, number: str):
    nid = normalise_nid(f"{address}@{network}{number}")
    assert nid == f"{address}@{network.lower()}{number or '0'}"
    assert normalise_nid(nid) == nid


@pytest.mark.parametrize("bad", ["0@lo", "10.0.0.1", "@tcp", "10.0.0.1@", "a b@tcp"])
def test_bad_nids_are_refused(bad: str):
    with pytest.raises(ValidationError):
        normalise_nid(bad)


@given(
    st.one_of(
        st.from_regex(r"[a-z][a-z0-9-]{0,10}[a-z0-9](\.[a-z]{2,6}){0,2}", fullmatch=True),
        st.ip_addresses().map(str),
    ),
    st.one_of(st.none(), st.integers(1, 65535)),
)
def test_server_addresses_round_trip(host: str, port: int | None):
    text = host if port is None else (f"[{host}]:{port}" if ":" in host else f"{host}:{port}")
    parsed = parse_server_address(text)
    assert parsed.port == port
    assert parse_server_address(str(parsed)) == parsed


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        ("oss_1", "letters, digits or hyphens"),
        ("-oss1", "does not start or end with a hyphen"),
        ("oss1:99999", "port is a number from 1 to 65535"),
        ("[fe80::1", "needs its ]"),
        ("", "give a host name"),
        ("oss1:²", "port is a number from 1 to 65535"),
        ("10.0.0.01", "looks like an IPv4 address but is not one"),
    ],
)
def test_bad_server_addresses_say_what_is_wrong(bad: str, says: str):
    with pytest.raises(ValidationError, match=says):
        parse_server_address(bad)


@given(st.text(max_size=20))
def test_pool_names(name: str):
    allowed = set(string.ascii_letters + string.digits + "_-")
    valid = 1 <= len(name) <= 15 and set(name) <= allowed and not name.startswith("-")
    if valid:
        assert validate_pool_name(name) == name
    else:
        with pytest.raises(ValidationError):
            validate_pool_name(name)


def test_mount_points_must_be_absolute_and_plain():
    assert validate_mount_point("/mnt/fs1") == "/mnt/fs1"
    for bad in ("mnt/fs1", "/mnt/my fs", "/mnt/../etc"):
        with pytest.raises(ValidationError):
            validate_mount_point(bad)


def test_inode_options():
    validate_inode_options(inode_size=512, bytes_per_inode=4096, inode_count=None, volume_size=None)
    with pytest.raises(ValidationError, match="not both"):
        validate_inode_options(
            inode_size=None, bytes_per_inode=4096, inode_count=10, volume_size=None
        )
    with pytest.raises(ValidationError, match="larger than the inode size"):
        validate_inode_options(
            inode_size=4096, bytes_per_inode=2048, inode_count=None, volume_size=None
        )
    with pytest.raises(ValidationError, match="do not fit"):
        validate_inode_options(
            inode_size=512, bytes_per_inode=None, inode_count=10, volume_size=4096
        )
    with pytest.raises(ValidationError, match="choose one of"):
        validate_inode_options(
            inode_size=300, bytes_per_inode=None, inode_count=None, volume_size=None
        )


@given(st.integers(-5, 300))
def test_integer_conf_params_respect_their_range(value: int):
    text = str(value)
    if 1 <= value <= 256:
        assert validate_conf_param(ConfParamScope.OST, "osc.max_pages_per_rpc", text) == text
    else:
        with pytest.raises(ValidationError) as raised:
            validate_conf_param(ConfParamScope.OST, "osc.max_pages_per_rpc", text)
        assert raised.value.field == "osc.max_pages_per_rpc"


def test_conf_param_sizes_booleans_and_choices():
    assert validate_conf_param(ConfParamScope.MDT, "lov.stripesize", "4M") == str(4 << 20)
    assert validate_conf_param(ConfParamScope.OST, "ost.read_cache_enable", "1") == "1"
    assert validate_conf_param(ConfParamScope.OST, "ost.sync_on_lock_cancel", "never") == "never"
    assert validate_conf_param(ConfParamScope.OST, "osc.active", None) is None
    for key, value in (("ost.read_cache_enable", "yes"), ("ost.sync_on_lock_cancel", "sometimes")):
        with pytest.raises(ValidationError):
            validate_conf_param(ConfParamScope.OST, key, value)
    with pytest.raises(ValidationError, match="without surrounding spaces"):
        validate_conf_param(ConfParamScope.OST, "osc.active", " 1")


def test_conf_param_of_the_wrong_kind_or_unknown_is_refused():
    with pytest.raises(ValidationError, match="applies to mdt, not ost"):
        validate_conf_param(ConfParamScope.OST, "lov.stripecount", "2")
    with pytest.raises(ValidationError, match="not a known parameter") as raised:
        validate_conf_param(ConfParamScope.FILESYSTEM_CLIENT, "llite.no_such_thing", "1")
    assert "llite.max_cached_mb" in str(raised.value)


def test_every_scope_has_parameters_and_lustre_keys_are_prefixed():
    assert all(keys_for(scope) for scope in ConfParamScope)
    assert len(CATALOGUE) == sum(len(keys_for(scope)) for scope in ConfParamScope)
    key = lustre_key(ConfParamScope.OST, "osc.active", fsname="fs1", target_name="fs1-OST0001")
    assert key == "fs1-OST0001.osc.active"
    key = lustre_key(
        ConfParamScope.FILESYSTEM_GLOBAL, "sys.timeout", fsname="fs1", target_name=None
    )
    assert key == "fs1.sys.timeout"
