"""The ports of core and their implementations: the fakes are pinned to the Protocols'
signatures, and fakes and real implementations pass the same behavioural contract."""

from __future__ import annotations

import inspect
import time
from datetime import UTC

import keyring.backends.fail
import pytest

from agentlink.commands import AgentCommandRenderer
from agentlink.secrets import KeyringSecretStore
from core.errors import SecretStoreUnavailableError
from core.fakes import (
    EchoCommandRenderer,
    FakeAgentGateway,
    FakeClock,
    MemorySecretStore,
    ScriptedReply,
)
from core.ports import (
    ActionOutput,
    ActionRequest,
    ActionStatus,
    AgentGateway,
    Clock,
    CommandRenderer,
    OfflineGateway,
    OutputStream,
    SecretStore,
    SystemClock,
)

PAIRS = [
    (Clock, FakeClock),
    (Clock, SystemClock),
    (SecretStore, MemorySecretStore),
    (SecretStore, KeyringSecretStore),
    (AgentGateway, FakeAgentGateway),
    (AgentGateway, OfflineGateway),
    (CommandRenderer, EchoCommandRenderer),
    (CommandRenderer, AgentCommandRenderer),
]


def protocol_members(protocol: type) -> list[str]:
    return [
        name
        for name, member in vars(protocol).items()
        if callable(member) and not name.startswith("_")
    ]


@pytest.mark.parametrize(("protocol", "implementation"), PAIRS, ids=lambda p: p.__name__)
def test_implementation_has_the_protocols_exact_signatures(protocol: type, implementation: type):
    members = protocol_members(protocol)
    assert members, f"{protocol.__name__} declares no methods?"
    for name in members:
        expected = inspect.signature(getattr(protocol, name))
        actual = inspect.signature(getattr(implementation, name))
        assert actual == expected, f"{implementation.__name__}.{name}{actual} != {expected}"


# --- Clock -------------------------------------------------------------------------------


@pytest.fixture(params=["fake", "system"])
def clock(request: pytest.FixtureRequest) -> Clock:
    return FakeClock() if request.param == "fake" else SystemClock()


def test_clock_contract(clock: Clock):
    assert isinstance(clock, Clock)
    assert clock.now().tzinfo is not None
    assert clock.now().utcoffset() == UTC.utcoffset(None)
    first = clock.monotonic()
    if isinstance(clock, FakeClock):
        clock.advance(1.5)
        assert clock.monotonic() == first + 1.5
    else:
        time.sleep(0.001)
        assert clock.monotonic() > first


def test_fake_clock_does_not_go_back():
    with pytest.raises(ValueError, match="does not go back"):
        FakeClock().advance(-1)


# --- SecretStore -------------------------------------------------------------------------


@pytest.fixture(params=["memory", "keyring"])
def secret_store(request: pytest.FixtureRequest) -> SecretStore:
    # The keyring variant uses the in-memory keyring backend conftest installs.
    return MemorySecretStore() if request.param == "memory" else KeyringSecretStore()


def test_secret_store_contract(secret_store: SecretStore):
    assert isinstance(secret_store, SecretStore)
    assert secret_store.get_secret("ca/key") is None
    secret_store.set_secret("ca/key", "first")
    secret_store.set_secret("ca/key", "second")
    assert secret_store.get_secret("ca/key") == "second"
    secret_store.delete_secret("ca/key")
    assert secret_store.get_secret("ca/key") is None
    secret_store.delete_secret("ca/key")  # deleting what is not there is not an error


def test_without_a_keyring_the_store_says_how_to_get_one():
    store = KeyringSecretStore(backend=keyring.backends.fail.Keyring())
    with pytest.raises(SecretStoreUnavailableError) as raised:
        store.get_secret("ca/key")
    assert "No keyring is available" in str(raised.value)
    assert "SecretService" in str(raised.value)


# --- AgentGateway ------------------------------------------------------------------------


def request(action_id: str, action: str = "start_target") -> ActionRequest:
    return ActionRequest(
        action_id=action_id, host="oss1.lab", action=action, args={"ha_label": "fs1-OST0000_a1b2c3"}
    )


def test_gateway_runs_an_action_and_streams_its_output():
    gateway = FakeAgentGateway()
    gateway.script("start_target", ScriptedReply(result={"location": "oss1"}, stdout="mounted\n"))
    assert isinstance(gateway, AgentGateway)
    seen: list[ActionOutput] = []
    result = gateway.run_action(request("a1"), seen.append).result(timeout=5)
    assert result.status == ActionStatus.SUCCEEDED
    assert result.result == {"location": "oss1"}
    assert seen == [ActionOutput("a1", OutputStream.STDOUT, "mounted\n")]


def test_gateway_reports_failure_with_the_agents_words():
    gateway = FakeAgentGateway({"format_target": ScriptedReply(error="device /dev/sdb is busy")})
    result = gateway.run_action(request("a1", "format_target")).result(timeout=5)
    assert result.status == ActionStatus.FAILED
    assert result.error == "device /dev/sdb is busy"


def test_gateway_cancels_a_running_action_once():
    gateway = FakeAgentGateway({"format_target": ScriptedReply(hold=True)})
    future = gateway.run_action(request("a1", "format_target"))
    assert not future.done()
    gateway.cancel_action("a1")
    gateway.cancel_action("a1")  # a second cancel, or one for an unknown id, is ignored
    gateway.cancel_action("nope")
    assert future.result(timeout=5).status == ActionStatus.CANCELLED
    assert gateway.cancelled == ["a1"]


def test_gateway_runs_an_action_id_at_most_once():
    gateway = FakeAgentGateway()
    gateway.run_action(request("a1")).result(timeout=5)
    with pytest.raises(ValueError, match="already used"):
        gateway.run_action(request("a1"))
    assert len(gateway.requests) == 1


def test_offline_gateway_refuses_every_action_with_its_reason():
    gateway = OfflineGateway("the archive is opened read-only")
    result = gateway.run_action(request("a1")).result(timeout=5)
    assert result.status == ActionStatus.FAILED
    assert result.error == "Not sent: the archive is opened read-only."


def test_command_renderers_refuse_bad_arguments_with_value_error():
    with pytest.raises(ValueError, match="mount_point"):
        AgentCommandRenderer().command_lines("mount_target", {"device": "/dev/sdb"})
    with pytest.raises(ValueError, match="no_such_action"):
        AgentCommandRenderer().command_lines("no_such_action", {})
