"""`chroma-desktop`: the desktop program's entry point.

Layer: chroma_desktop. Thread: the main (GUI) thread. Qt is imported only when the window is
opened, so --version, --help, --status and --demo --headless start fast and work without a
display. `--demo` opens the window on the live demo (see demo.py, gui.py) in a throwaway
CHROMA_HOME; `--status` opens (and upgrades) the database and reports on it. `--headless`
runs the manager and its REST API with no Qt loaded (chroma_desktop/api/service.py).
`--open-archive FILE` opens an exported history read-only, with no agents (see offline.py).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from chroma_desktop.failures import EXIT_OK, run_reporting_errors
from core.paths import HOME_ENV, app_paths
from core.version import installed_version

# The database, Twisted and Qt are imported where they are used: the window paints before the
# rest of the program has loaded (see gui.py), and --version answers at once.

PROGRAM = "chroma-desktop"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROGRAM,
        description="Chroma Desktop: set up, run and watch Lustre filesystems from your "
        "workstation.",
        epilog=f"{HOME_ENV} puts all data, settings and logs in one directory; "
        "CHROMA_DATABASE_URL selects a PostgreSQL database instead of the built-in one.",
    )
    parser.add_argument("--version", action="version", version=f"{PROGRAM} {installed_version()}")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="open on the demo cluster: eight simulated servers, paired, creating one "
        "filesystem (in a throwaway directory; your own data is not touched)",
    )
    parser.add_argument(
        "--headless",
        action="store_true",
        help="no window: run the manager and its API (for `chroma` and scripts) until "
        "stopped; with --demo, print each step of the demo in the terminal",
    )
    parser.add_argument(
        "--open-archive",
        metavar="FILE",
        type=Path,
        help="open an exported history (File → Export history…) read-only, with no agents",
    )
    parser.add_argument(
        "--status",
        action="store_true",
        help="print where the data is and what is managed, then exit",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    options = build_parser().parse_args(argv)

    def body() -> int:
        if options.status:
            return status()
        if options.open_archive is not None:
            from chroma_desktop.offline import run_archive_gui  # Qt loads only for the window

            return run_archive_gui(options.open_archive)
        if options.demo and options.headless:
            return demo()
        if options.headless:
            from chroma_desktop.api.service import run_headless  # no Qt: the manager and API

            return run_headless()
        if options.demo:
            _use_throwaway_home()
        from chroma_desktop.gui import run_gui  # Qt loads only for the window

        return run_gui(demo=options.demo)

    return run_reporting_errors(PROGRAM, body)


def status() -> int:
    from sqlalchemy import func, select

    from core.database import open_database
    from core.models import Filesystem, Host

    paths = app_paths().ensure()
    database = open_database()
    try:
        with database.session() as session:
            hosts = session.scalar(select(func.count()).where(Host.deleted_at.is_(None)))
            filesystems = session.scalar(
                select(func.count()).where(Filesystem.deleted_at.is_(None))
            )
        print(f"Chroma Desktop {installed_version()}")
        print(f"Database: {database.url} (schema {database.revision()})")
        if database.backup_path:
            print(f"Upgraded its schema; the previous database was kept at {database.backup_path}")
        print(f"Data: {paths.data_dir}  Settings: {paths.config_dir}  Logs: {paths.log_dir}")
        print(f"Managing {hosts} server(s) and {filesystems} filesystem(s).")
    finally:
        database.close()
    return EXIT_OK


def demo_command() -> list[str]:
    """The command line that opens another window on a new demo cluster (File → New simulated
    cluster…): this program with --demo, whether installed as a bundle or run from Python."""
    if getattr(sys, "frozen", False):  # a PyInstaller bundle: the executable is the program
        return [sys.executable, "--demo"]
    return [sys.executable, "-m", "chroma_desktop", "--demo"]


def _use_throwaway_home() -> None:
    # A new cluster each time, in its own directory: never the admin's own database.
    os.environ[HOME_ENV] = tempfile.mkdtemp(prefix="chroma-demo-")


def demo() -> int:
    from agentlink.runtime import ReactorThread
    from chroma_desktop.demo import run_demo
    from core.database import open_database

    _use_throwaway_home()
    paths = app_paths().ensure()
    database = open_database()
    try:
        return run_demo(database, paths.data_dir.parent, ReactorThread())
    finally:
        database.close()
