"""Child Python processes for tests that kill a running scheduler: run a tests module."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def start_child(module: str, *args: str) -> subprocess.Popen[str]:
    """`python -m module args…` from the repository, with pipes for its output."""
    return subprocess.Popen(
        [sys.executable, "-m", module, *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
