"""`chroma-agent`: the command line of the server agent.

Layer: agentlink.daemon. Thread: the main thread. Subcommands (serve, pair, collect) arrive with
their issues; today it answers --version and --help.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

PROGRAM = "chroma-agent"


def agent_version() -> str:
    # The agent ships without core, so it reads the same package metadata core.version reads.
    try:
        return version("chroma-desktop")
    except PackageNotFoundError:
        return "0+unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROGRAM,
        description="The Chroma Desktop agent: runs on a Lustre server, reports its devices, "
        "Lustre state, statistics and logs, and runs the actions the desktop asks for.",
    )
    parser.add_argument("--version", action="version", version=f"{PROGRAM} {agent_version()}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    parser.parse_args(argv)
    parser.print_help()
    return 0
