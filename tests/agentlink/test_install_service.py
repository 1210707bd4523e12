"""`chroma-agent install-service`: the unit it writes starts this very agent with the state
directory the admin chose, systemd accepts it, and a missing unit directory is a sentence."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agentlink.daemon import cli
from agentlink.daemon.unit import UNIT_NAME, agent_command


def test_the_unit_starts_this_agent_with_the_chosen_state_dir(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state_dir = tmp_path / "agent state"

    assert (
        cli.main(["install-service", "--unit-dir", str(tmp_path), "--state-dir", str(state_dir)])
        == 0
    )

    unit = (tmp_path / UNIT_NAME).read_text()
    exec_start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    assert exec_start == (f"ExecStart={' '.join(agent_command())} serve --state-dir '{state_dir}'")
    assert "WantedBy=multi-user.target" in unit
    assert (tmp_path / UNIT_NAME).stat().st_mode & 0o777 == 0o644
    assert "systemctl enable --now chroma-agent" in capsys.readouterr().out


def test_run_as_a_module_the_unit_names_python_and_the_module(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "argv", ["/somewhere/agentlink/daemon/__main__.py"])

    assert agent_command() == [sys.executable, "-m", "agentlink.daemon"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd is not installed")
def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    assert (
        cli.main(["install-service", "--unit-dir", str(tmp_path), "--state-dir", "/var/lib/x"]) == 0
    )

    checked = subprocess.run(
        ["systemd-analyze", "verify", str(tmp_path / UNIT_NAME)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
    assert UNIT_NAME not in checked.stderr, checked.stderr


def test_a_missing_unit_dir_is_refused_with_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["install-service", "--unit-dir", str(tmp_path / "none")]) == 1

    error = capsys.readouterr().err
    assert "is not a directory" in error and "--unit-dir" in error
    assert not list(tmp_path.iterdir())
