"""The desktop's own log: every thread's messages reach one file in the log directory, and
rotation keeps it bounded however long the desktop runs."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest

from chroma_desktop import logfile
from chroma_desktop.logfile import LOG_FILES_KEPT, start_log_file, stop_log_file


def test_messages_from_any_thread_reach_the_log_file_and_it_stays_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logfile, "LOG_FILE_BYTES", 20_000)  # the real 5 MiB, scaled down
    monkeypatch.setattr(logging.getLogger(), "level", logging.getLogger().level)
    path = start_log_file("chroma-test", tmp_path / "logs")
    assert path == tmp_path / "logs" / "chroma-test.log"
    try:
        assert start_log_file("chroma-test", tmp_path / "logs") == path  # once per program
        worker = threading.Thread(
            target=lambda: logging.getLogger("agentlink.connector").warning("link to oss1 lost"),
            name="chroma-reactor",
        )
        worker.start()
        worker.join()
        text = path.read_text()
        assert "chroma-test" in text.splitlines()[0] and "started" in text.splitlines()[0]
        assert "WARNING chroma-reactor agentlink.connector: link to oss1 lost" in text

        noisy = logging.getLogger("chroma.noisy")
        line = "x" * 200
        for _ in range((LOG_FILES_KEPT + 2) * logfile.LOG_FILE_BYTES // 200):
            noisy.info(line)
    finally:
        stop_log_file(path)
    files = sorted(p.name for p in path.parent.iterdir())
    assert files == ["chroma-test.log", *(f"chroma-test.log.{n}" for n in range(1, 4))]
    assert all(p.stat().st_size <= logfile.LOG_FILE_BYTES for p in path.parent.iterdir())


def test_a_log_directory_that_cannot_be_made_leaves_the_program_running(tmp_path: Path) -> None:
    (tmp_path / "logs").write_text("a file where the log directory should be")
    assert start_log_file("chroma-test", tmp_path / "logs") is None
