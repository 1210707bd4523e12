"""How the programs end when something goes wrong: a message a person can act on, never a
traceback on the screen. Unexpected errors are logged with their traceback to the log directory.

Layer: chroma_desktop (no Qt). Thread: the main thread.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from core.errors import ChromaError
from core.paths import app_paths

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INTERNAL = 3


@dataclass(frozen=True)
class Failure:
    """What to tell a person about an error: the message, what to do, and for an unexpected
    error where its traceback was written."""

    message: str
    hint: str | None = None
    internal: bool = False
    log_path: str | None = None

    def __str__(self) -> str:
        return self.message if self.hint is None else f"{self.message} {self.hint}"


def describe_failure(program: str, error: BaseException) -> Failure:
    """A ChromaError as its own words; anything else logged with its traceback and described
    as an internal error pointing at that log."""
    if isinstance(error, ChromaError):
        return Failure(error.message, error.hint)
    where = _log_internal_error(program, error)
    return Failure(
        f"Internal error ({type(error).__name__}: {error}).",
        f"Nothing was lost; the details are in {where}. Please report it.",
        internal=True,
        log_path=where,
    )


def run_reporting_errors(program: str, body: Callable[[], int]) -> int:
    """Run `body`; a ChromaError becomes its message on stderr, anything else a short note
    pointing at the log file that holds the traceback."""
    try:
        return body()
    except KeyboardInterrupt:
        print(f"{program}: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # the last line of defence: the user still gets a message
        failure = describe_failure(program, error)
        print(f"{program}: {failure}", file=sys.stderr)
        return EXIT_INTERNAL if failure.internal else EXIT_FAILED


def _log_internal_error(program: str, error: BaseException) -> str:
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
