"""The three programs as an admin runs them: versions, help, the demo, and clear errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from core.version import installed_version

BIN = Path(sys.executable).parent


def run(program: str, *args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "CHROMA_HOME": str(home), "HOME": str(home)}
    return subprocess.run(
        [str(BIN / program), *args], capture_output=True, text=True, env=env, timeout=120
    )


@pytest.mark.parametrize("program", ["chroma-desktop", "chroma", "chroma-agent"])
def test_each_program_tells_its_version_and_helps(program: str, chroma_home: Path):
    version = run(program, "--version", home=chroma_home)
    assert version.returncode == 0
    assert version.stdout.strip() == f"{program} {installed_version()}"
    assert installed_version() != "0+unknown"
    helped = run(program, "--help", home=chroma_home)
    assert helped.returncode == 0
    assert helped.stdout.startswith(f"usage: {program}")


def test_first_start_creates_the_database_in_chroma_home(chroma_home: Path):
    result = run("chroma-desktop", home=chroma_home)
    assert result.returncode == 0, result.stderr
    assert "Managing 0 server(s) and 0 filesystem(s)." in result.stdout
    assert (chroma_home / "data" / "chroma.db").exists()


def test_the_demo_shows_the_cluster_and_the_plan(chroma_home: Path):
    result = run("chroma-desktop", "--demo", home=chroma_home)
    assert result.returncode == 0, result.stderr
    assert "Servers (8):" in result.stdout
    assert "demofs-OST000b" in result.stdout
    assert "on oss6.demo.lustre -> oss5.demo.lustre" in result.stdout
    assert "mount -t lustre 10.0.0.1@tcp0:10.0.0.2@tcp0:/demofs /mnt/demofs" in result.stdout
    assert "Plan 'Start demofs': 57 jobs on 8 servers" in result.stdout
    assert (
        "$ mkfs.lustre --ost --fsname=demofs --index=0 --mgsnode=10.0.0.1@tcp0 "
        "--mgsnode=10.0.0.2@tcp0 --servicenode=10.0.0.3@tcp0 --servicenode=10.0.0.4@tcp0 "
        "/dev/disk/by-id/scsi-demo-ost00"
    ) in result.stdout
    assert "$ mount -t lustre /dev/disk/by-id/scsi-demo-ost00 /mnt/demofs-OST0000" in result.stdout
    again = run("chroma-desktop", "--demo", home=chroma_home)
    assert again.returncode == 0, "a second demo run reuses the cluster"


def test_a_damaged_database_is_reported_without_a_traceback(chroma_home: Path):
    database = chroma_home / "data" / "chroma.db"
    database.parent.mkdir(parents=True)
    database.write_bytes(b"\x00garbage" * 512)
    result = run("chroma-desktop", home=chroma_home)
    assert result.returncode == 1
    assert result.stderr.startswith(f"chroma-desktop: {database} is not a SQLite database")
    assert "Traceback" not in result.stderr + result.stdout
    assert database.read_bytes() == b"\x00garbage" * 512
