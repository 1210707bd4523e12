"""Plans exported as runbooks: readable Markdown, and a script that runs exactly the plan."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

from core.database import Database
from core.scheduler.runbook import runbook_markdown, runbook_shell
from tests.core.scheduler_harness import make_harness

FAKE_SSH = """#!/usr/bin/env python3
import json, os, shlex, sys
args = sys.argv[1:]
host = args[args.index("--") - 1]
with open(os.environ["SSH_LOG"], "a") as log:
    log.write(json.dumps([host, shlex.split(args[-1])]) + "\\n")
"""


def test_markdown_runbook_reads_like_the_plan(tmp_path: Path, sqlite_database: Database):
    h = make_harness(sqlite_database)
    text = runbook_markdown(h.scheduler.preview_state(h.fs, "available"))
    assert text.startswith("# Start fs1\n")
    assert "> **Confirm:** Format this volume?" in text
    assert "## 21. Start fs1" in text
    assert "mkfs.lustre --ost --fsname=fs1 --index=1" in text
    assert "- **oss2.lab**: Format fs1-OST0001 on oss2.lab" in text


def test_shell_runbook_runs_exactly_the_planned_commands(tmp_path: Path, sqlite_database: Database):
    h = make_harness(sqlite_database)
    plan = h.scheduler.preview_state(h.fs, "available")
    script = tmp_path / "runbook.sh"
    script.write_text(runbook_shell(plan))
    ssh = tmp_path / "bin" / "ssh"
    ssh.parent.mkdir()
    ssh.write_text(FAKE_SSH)
    ssh.chmod(ssh.stat().st_mode | stat.S_IEXEC)
    log = tmp_path / "ssh.log"
    env = {**os.environ, "PATH": f"{ssh.parent}:{os.environ['PATH']}", "SSH_LOG": str(log)}
    result = subprocess.run(
        ["bash", str(script)], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    ran = [tuple(json.loads(line)) for line in log.read_text().splitlines()]
    planned = [
        (step.host, list(argv))
        for job in plan.jobs
        for step in job.steps
        for argv in step.command_lines
    ]
    assert [(host, argv) for host, argv in ran] == planned
    assert any(argv[0] == "mkfs.lustre" for _, argv in ran)
