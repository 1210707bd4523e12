"""`chroma-desktop --headless` and `chroma` as separate programs, as an admin runs them: the
headless manager serves the API and announces itself; `chroma` finds it, and when none runs,
runs one for the duration of its command; a manager that died cannot leave a file behind that
misleads `chroma`; no Qt is loaded by any of it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from chroma_desktop.api.discovery import announce, discovery_path, find_running_manager
from tests.children import REPO

BIN = Path(sys.executable).parent
KEYRING = "tests.cli.file_keyring.FileKeyring"
START_S = 30.0


def environment(home: Path) -> dict[str, str]:
    return {
        "PATH": f"{BIN}:/usr/bin:/bin",
        "CHROMA_HOME": str(home),
        "HOME": str(home),
        "TMPDIR": str(home),
        "PYTHONPATH": str(REPO),
        "PYTHON_KEYRING_BACKEND": KEYRING,
    }


def chroma(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "chroma"), *args],
        capture_output=True,
        text=True,
        env=environment(home),
        timeout=60,
    )


def test_the_headless_manager_serves_chroma_and_stops_cleanly(chroma_home: Path) -> None:
    headless = subprocess.Popen(
        [str(BIN / "chroma-desktop"), "--headless"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment(chroma_home),
    )
    try:
        data_dir = chroma_home / "data"
        deadline = time.monotonic() + START_S
        while (running := find_running_manager(data_dir)) is None:
            assert headless.poll() is None, headless.communicate()
            assert time.monotonic() < deadline, "the headless manager did not announce itself"
            time.sleep(0.1)
        assert running.pid == headless.pid and running.headless

        listed = chroma(chroma_home, "server-list")
        assert listed.returncode == 0, listed.stderr
        assert listed.stdout == "No servers.\n"
        assert listed.stderr == ""  # it used the running manager, not one of its own

        missing = chroma(chroma_home, "server-show", "oss9")
        assert missing.returncode == 1
        assert missing.stderr.startswith("chroma: There is no server named 'oss9'.")
        assert "Traceback" not in missing.stderr

        document = json.loads(chroma(chroma_home, "filesystem-list", "--json").stdout)
        assert document == []
    finally:
        headless.send_signal(signal.SIGTERM)
        out, err = headless.communicate(timeout=30)
    assert headless.returncode == 0, err
    assert "API: https://127.0.0.1:" in out and "Stopping" in out
    assert not discovery_path(chroma_home / "data").exists()

    # With no manager running, chroma runs one for its command and says so.
    alone = chroma(chroma_home, "server-list", "--json")
    assert alone.returncode == 0, alone.stderr
    assert json.loads(alone.stdout) == []
    assert "no Chroma Desktop is running here; running one for this command" in alone.stderr
    assert not discovery_path(chroma_home / "data").exists()


def test_no_qt_is_loaded_by_the_cli_the_api_or_the_headless_manager() -> None:
    probe = (
        "import sys, chroma_desktop.cli.main, chroma_desktop.cli.connect, "
        "chroma_desktop.api.service, chroma_desktop.history;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('PySide6', 'shiboken6', 'pyqtgraph')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, timeout=60
    )
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "[]"


def test_a_file_left_by_a_dead_manager_is_not_followed(tmp_path: Path) -> None:
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead_pid = int(finished.stdout)
    announce(tmp_path, 1, "sha256:" + "0" * 64, headless=True)
    path = discovery_path(tmp_path)
    written = json.loads(path.read_text())
    path.write_text(json.dumps({**written, "pid": dead_pid}))
    assert find_running_manager(tmp_path) is None
    assert not path.exists()

    # Alive but not listening (the port was never ours): not followed either.
    announce(tmp_path, 1, "sha256:" + "0" * 64, headless=True)
    assert json.loads(path.read_text())["pid"] == os.getpid()
    assert find_running_manager(tmp_path) is None

    path.write_text("{half a fil")
    assert find_running_manager(tmp_path) is None
