"""The agent-link tests' one reactor thread: a reactor cannot be restarted, so it starts once
for the test session and ends with the test process."""

from __future__ import annotations

import pytest

from agentlink.runtime import ReactorThread

_REACTOR = ReactorThread()


@pytest.fixture(scope="session")
def reactor_thread() -> ReactorThread:
    _REACTOR.start()
    return _REACTOR
