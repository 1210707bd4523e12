"""Lustre fields read from real-looking lines, including every template of the anchor bench."""

from __future__ import annotations

import pytest

from stats.logs import MessageClass, parse_lustre
from tests.stats.logs.helpers import LUSTRE_TEMPLATES


def test_eviction_names_target_nid_client_and_class() -> None:
    fields = parse_lustre(
        "LustreError: 3012:0:(ldlm_lockd.c:256:expired_lock_main()) ### lock callback timer "
        "expired after 101s: evicting client at 10.1.0.90@o2ib  ns: filter-scratch-OST0007_UUID"
    )
    assert fields.message_class is MessageClass.LUSTRE_ERROR
    assert fields.target == "scratch-OST0007"
    assert fields.nid == "10.1.0.90@o2ib"
    assert fields.client == "10.1.0.90@o2ib"


def test_connection_line_names_the_client_uuid() -> None:
    fields = parse_lustre(
        "Lustre: 3012:0:(ldlm_lib.c:900:target_handle_connect()) fs1-OST0001: connection from "
        "5b1c5d3e-aa01-7b7c-2c5f-18b0a0cdd0fe@10.1.0.90@tcp t0 exp 0000 cur 1 last 0"
    )
    assert fields.message_class is MessageClass.LUSTRE
    assert fields.target == "fs1-OST0001"
    assert fields.client == "5b1c5d3e-aa01-7b7c-2c5f-18b0a0cdd0fe"
    assert fields.nid == "10.1.0.90@tcp"


def test_error_code_and_message_number() -> None:
    fields = parse_lustre(
        "LustreError: 11-0: fs1-OST0003: operation ost_connect to fs1-MDT0000 on node "
        "10.1.0.2@tcp failed: rc = -114"
    )
    assert fields.error_code == -114
    assert fields.message_id == "11-0"
    assert fields.targets == ("fs1-OST0003", "fs1-MDT0000")
    plain = parse_lustre("systemd[1]: Started Session 4 of user root.")
    assert plain.message_class is MessageClass.NORMAL
    assert (plain.target, plain.nid, plain.client, plain.error_code) == (None, None, None, None)


@pytest.mark.parametrize("index", range(8))
def test_every_template(index: int) -> None:
    template = LUSTRE_TEMPLATES[index]
    message = template.format(
        pid=4242, n=17, s=9, ip="10.2.3.4", fs="home", ost=0x1F, uuid="00c0ffee12345678", dev="b"
    )
    fields = parse_lustre(message)
    expected = {
        0: ("home-OST001f", "10.2.3.4@o2ib", "10.2.3.4@o2ib", MessageClass.LUSTRE_ERROR),
        1: ("home-OST001f", "10.2.3.4@o2ib", "00c0ffee12345678", MessageClass.LUSTRE),
        2: ("home-OST001f", "10.2.3.4@o2ib", "00c0ffee12345678", MessageClass.LUSTRE),
        3: (None, None, None, MessageClass.NORMAL),
        4: ("home-MDT0000", None, None, MessageClass.LUSTRE),
        5: (None, None, None, MessageClass.NORMAL),
        6: (None, None, None, MessageClass.NORMAL),
        7: (None, None, None, MessageClass.NORMAL),
    }[index]
    assert (fields.target, fields.nid, fields.client, fields.message_class) == expected
