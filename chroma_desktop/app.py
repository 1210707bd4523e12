"""`chroma-desktop`: the desktop program's entry point.

Layer: chroma_desktop. Thread: the main (GUI) thread. Qt is imported only when the window is
shown, so that --version, --help and --demo start fast and work without a display. Until the
desktop application issue lands, the program opens (and upgrades) its database and reports on
it; `--demo` builds the demo cluster's model in a throwaway CHROMA_HOME and prints it.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Sequence

from sqlalchemy import func, select

from agentlink.commands import AgentCommandRenderer
from chroma_desktop.demo import DemoCluster, build_demo_model, describe_demo, describe_plan
from chroma_desktop.failures import EXIT_OK, run_reporting_errors
from core.database import open_database
from core.models import Filesystem, Host
from core.paths import HOME_ENV, app_paths
from core.ports import OfflineGateway, SystemClock
from core.scheduler import FILESYSTEM, Scheduler
from core.version import installed_version

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
        help="show the demo cluster: eight simulated servers with one filesystem",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    options = build_parser().parse_args(argv)
    return run_reporting_errors(PROGRAM, lambda: demo() if options.demo else status())


def status() -> int:
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
        print("The window arrives with the desktop application; `make demo` shows the model.")
    finally:
        database.close()
    return EXIT_OK


def demo() -> int:
    if not os.environ.get(HOME_ENV):
        os.environ[HOME_ENV] = tempfile.mkdtemp(prefix="chroma-demo-")
    cluster = DemoCluster()
    database = open_database()
    try:
        with database.session(actor="demo") as session:
            exists = session.scalar(select(Filesystem).where(Filesystem.name == cluster.fsname))
            if exists is None:
                build_demo_model(session, cluster)
        with database.session(actor="demo") as session:
            lines = describe_demo(session, cluster.fsname)
            filesystem_id = session.scalars(
                select(Filesystem.id).where(Filesystem.name == cluster.fsname)
            ).one()
        scheduler = Scheduler(
            database,
            OfflineGateway("the demo shows the plan only; simulated agents arrive next"),
            AgentCommandRenderer(),
            SystemClock(),
        )
        scheduler.start()
        plan = scheduler.preview_state((FILESYSTEM, filesystem_id), "available")
        print(f"Chroma Desktop {installed_version()} - demo cluster")
        print(f"Database: {database.url} (schema {database.revision()})")
        print()
        print("\n".join(lines))
        print()
        print("\n".join(describe_plan(plan, f"{cluster.fsname}-OST0000")))
        print()
        print(
            "Coming next: simulated agents run this plan, and this command opens the window "
            "on the live cluster."
        )
    finally:
        database.close()
    return EXIT_OK
