"""How the programs end when something goes wrong: a message a person can act on, never a
traceback on the screen. Unexpected errors are logged with their traceback to the log directory.

Layer: chroma_desktop (no Qt). Thread: the main thread.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable
from datetime import UTC, datetime

from core.errors import ChromaError
from core.paths import app_paths

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INTERNAL = 3


def run_reporting_errors(program: str, body: Callable[[], int]) -> int:
    """Run `body`; a ChromaError becomes its message on stderr, anything else a short note
    pointing at the log file that holds the traceback."""
    try:
        return body()
    except ChromaError as error:
        print(f"{program}: {error}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print(f"{program}: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # the last line of defence: the user still gets a message
        where = _log_internal_error(program, error)
        print(
            f"{program}: internal error ({type(error).__name__}: {error}). "
            f"Nothing was lost; the details are in {where}. Please report it.",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


def _log_internal_error(program: str, error: Exception) -> str:
    try:
        log_dir = app_paths().ensure().log_dir
        path = log_dir / f"{program}-errors.log"
        with path.open("a", encoding="utf-8") as log:
            log.write(f"--- {datetime.now(UTC).isoformat()} {program}\n")
            log.write("".join(traceback.format_exception(error)))
        return str(path)
    except OSError:
        logging.getLogger(program).exception("internal error")
        return "the standard error log"
