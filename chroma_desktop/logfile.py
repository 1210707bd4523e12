"""The programs' own log: what the desktop did and what went wrong, in `<program>.log` in the log
directory (platformdirs' place, or CHROMA_HOME/logs), bounded by rotation so it can never fill
the disk: LOG_FILE_BYTES per file, LOG_FILES_KEPT old files.

Layer: chroma_desktop (no Qt). Thread: set up once on the main thread before anything starts;
Python's logging is thread-safe, so every thread (reactor, database worker, history) writes to it.
"""

from __future__ import annotations

import logging
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Final

from core.paths import app_paths
from core.version import installed_version

LOG_FILE_BYTES: Final = 5 * 2**20
LOG_FILES_KEPT: Final = 3
FORMAT: Final = "%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"


def start_log_file(program: str, log_dir: Path | None = None) -> Path | None:
    """Send INFO and above from every module to `<program>.log`; returns its path, or None when
    the log directory cannot be written (the program runs on, logging to stderr only)."""
    directory = Path(log_dir) if log_dir is not None else app_paths().ensure().log_dir
    path = directory / f"{program}.log"
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler, RotatingFileHandler) and Path(handler.baseFilename) == path:
            return path
    try:
        directory.mkdir(parents=True, exist_ok=True)
        handler = RotatingFileHandler(
            path, maxBytes=LOG_FILE_BYTES, backupCount=LOG_FILES_KEPT, encoding="utf-8"
        )
    except OSError as error:
        logging.getLogger(program).warning("cannot write the log file %s: %s", path, error)
        return None
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.setLevel(logging.INFO)
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)
    logging.getLogger(program).info("%s %s started", program, installed_version())
    return path


def stop_log_file(path: Path) -> None:
    """Close the log file `start_log_file` opened at `path` (tests; programs leave it open)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, RotatingFileHandler) and Path(handler.baseFilename) == path:
            root.removeHandler(handler)
            handler.close()
