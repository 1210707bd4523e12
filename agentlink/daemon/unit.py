"""`chroma-agent install-service`: write the systemd unit that runs this agent at boot.

Layer: agentlink.daemon. Thread: the main thread. The unit's template ships inside the agent's
package (chroma-agent.service); its ExecStart names this very installation of the agent (the
`chroma-agent` script that is running, or this Python with `-m agentlink.daemon`), so a server
may keep the agent in any virtualenv. Nothing is enabled or started here: the admin pairs the
server first (`chroma-agent pair`), then runs `systemctl enable --now chroma-agent`.
"""

from __future__ import annotations

import shlex
import sys
from importlib.resources import files
from pathlib import Path

UNIT_NAME = "chroma-agent.service"
DEFAULT_UNIT_DIR = Path("/etc/systemd/system")


def agent_command() -> list[str]:
    """The command line that starts this installation of the agent."""
    script = Path(sys.argv[0])
    if script.name == "chroma-agent" and script.exists():
        return [str(script.absolute())]
    return [sys.executable, "-m", "agentlink.daemon"]


def render_unit(command: list[str], state_dir: Path) -> str:
    """The unit file's text for an agent started by `command`, keeping its state in
    `state_dir`."""
    template = files("agentlink.daemon").joinpath(UNIT_NAME).read_text(encoding="utf-8")
    return template.replace("@EXEC_START@", shlex.join(command)).replace(
        "@STATE_DIR@", shlex.quote(str(state_dir))
    )


def install_unit(unit_dir: Path, state_dir: Path) -> Path:
    """Write the unit into `unit_dir` (replacing an older one whole) and return its path."""
    if not unit_dir.is_dir():
        raise NotADirectoryError(f"{unit_dir} is not a directory (is systemd installed?)")
    unit_path = unit_dir / UNIT_NAME
    partial = unit_path.with_name(UNIT_NAME + ".part")
    partial.write_text(render_unit(agent_command(), state_dir), encoding="utf-8")
    partial.chmod(0o644)
    partial.replace(unit_path)
    return unit_path
