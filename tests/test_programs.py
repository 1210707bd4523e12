"""The three programs as an admin runs them: versions, help, the demo, and clear errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from core.version import installed_version

BIN = Path(sys.executable).parent


def run(
    program: str, *args: str, home: Path, timeout_s: float = 120
) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": f"{BIN}:/usr/bin:/bin",
        "CHROMA_HOME": str(home),
        "HOME": str(home),
        "TMPDIR": str(home),
    }
    return subprocess.run(
        [str(BIN / program), *args], capture_output=True, text=True, env=env, timeout=timeout_s
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
    result = run("chroma-desktop", "--status", home=chroma_home)
    assert result.returncode == 0, result.stderr
    assert "Managing 0 server(s) and 0 filesystem(s)." in result.stdout
    assert (chroma_home / "data" / "chroma.db").exists()


def test_the_demo_creates_and_starts_a_filesystem_on_the_simulator(chroma_home: Path):
    result = run("chroma-desktop", "--demo", "--headless", home=chroma_home, timeout_s=400)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "sim-oss6   at 127.0.0.1:" in out, "all eight servers paired"
    assert "15 shared volumes on 4 HA pairs" in out
    assert "Plan 'Create filesystem demofs': 59 jobs on 6 servers" in out
    assert "$ mount -t lustre /dev/disk/by-id/scsi-" in out
    assert "command 1: succeeded" in out
    assert "Filesystem demofs is available, 10 targets:" in out
    assert "demofs-OST0007   mounted" in out
    assert "mount -t lustre 10.0.0.1@tcp0:10.0.0.2@tcp0:/demofs /mnt/demofs" in out
    assert "Traceback" not in out + result.stderr


def test_a_damaged_database_is_reported_without_a_traceback(chroma_home: Path):
    database = chroma_home / "data" / "chroma.db"
    database.parent.mkdir(parents=True)
    database.write_bytes(b"\x00garbage" * 512)
    result = run("chroma-desktop", "--status", home=chroma_home)
    assert result.returncode == 1
    assert result.stderr.startswith(f"chroma-desktop: {database} is not a SQLite database")
    assert "Traceback" not in result.stderr + result.stdout
    assert database.read_bytes() == b"\x00garbage" * 512


def test_a_damaged_archive_is_refused_without_a_traceback(chroma_home: Path):
    chroma_home.mkdir(parents=True, exist_ok=True)
    archive = chroma_home / "broken.chroma-archive"
    archive.write_bytes(b"nothing like an archive\n" * 40)
    result = run("chroma-desktop", "--open-archive", str(archive), home=chroma_home)
    assert result.returncode == 1
    assert f"Cannot open the archive {archive}" in result.stderr
    assert "not a Chroma Desktop archive" in result.stderr
    assert "Traceback" not in result.stderr
