"""`chroma`: the command line. Its commands arrive with the CLI and REST API issue.

Layer: chroma_desktop.cli (no Qt). Thread: the main thread.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from chroma_desktop.failures import EXIT_OK, run_reporting_errors
from core.version import installed_version

PROGRAM = "chroma"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROGRAM,
        description="Administer Lustre filesystems from the command line: the same servers, "
        "filesystems, targets, commands and alerts as the Chroma Desktop window.",
        epilog="All data lives in CHROMA_HOME when it is set.",
    )
    parser.add_argument("--version", action="version", version=f"{PROGRAM} {installed_version()}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()

    def body() -> int:
        parser.parse_args(argv)
        parser.print_help()
        return EXIT_OK

    return run_reporting_errors(PROGRAM, body)
