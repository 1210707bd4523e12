"""The agent's own command lines, offered to core's planner for dry runs and runbooks.

Layer: agentlink (implements core.ports.CommandRenderer). Thread: any (pure functions). It wraps
agentlink.daemon.lustre_actions, the builders the agent itself runs, so that a dry run shows
exactly the argument lists the servers will execute.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentlink.daemon.lustre_actions import command_lines


class AgentCommandRenderer:
    def command_lines(self, action: str, args: Mapping[str, Any]) -> list[list[str]]:
        try:
            return command_lines(action, args)
        except KeyError as error:  # UnknownActionError: report it as a bad argument
            raise ValueError(str(error)) from error
