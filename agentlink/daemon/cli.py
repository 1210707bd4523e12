"""`chroma-agent`: the command line of the server agent.

Layer: agentlink.daemon. Thread: the main thread, which runs the reactor for `serve` and
`simulate`. Subcommands:

- `serve`: listen on the agent's port (mutual TLS), announce the agent over zeroconf, run the
  desktop's actions and push reports, until stopped.
- `pair`: print a one-time pairing token (and this server's certificate fingerprint) for the
  admin to type on the desktop; `--again` first forgets the desktop this server is paired with.
- `collect`: print the whole report the agent would send, read from the tree under `--root`
  (its proc/ and sys/; default `/`, this server), as one JSON document with `--json`, with a
  `problems` list naming each file that was missing, binary, truncated or malformed.
- `install-service`: write the systemd unit that starts this agent at boot (see unit.py).
- `simulate` and `simulate-control`: the cluster simulator (see `agentlink.simulator`).

Every error an admin can cause (a bad state directory, unsafe permissions, a port in use) is
printed as one line saying what to do, with exit status 1; never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import socket
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentlink.daemon import DEFAULT_PORT

if TYPE_CHECKING:
    from agentlink.discovery import AgentAnnouncer

PROGRAM = "chroma-agent"
DEFAULT_STATE_DIR = Path("/var/lib/chroma-agent")


class UsageError(Exception):
    """A problem the admin can fix; printed as it is."""


DISTRIBUTIONS = ("chroma-agent", "chroma-desktop")
"""The agent is installed on servers as the chroma-agent wheel, and on the workstation (and in a
source tree) inside chroma-desktop; both are built with the version of pyproject.toml."""


def agent_version() -> str:
    # The agent ships without core, so it reads the package metadata itself (core.version).
    for distribution in DISTRIBUTIONS:
        try:
            return version(distribution)
        except PackageNotFoundError:
            continue
    return "0+unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROGRAM,
        description="The Chroma Desktop agent: runs on a Lustre server, reports its devices, "
        "Lustre state, statistics and logs, and runs the actions the desktop asks for.",
    )
    parser.add_argument("--version", action="version", version=f"{PROGRAM} {agent_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the agent (what the service unit starts)")
    _state_dir_option(serve)
    serve.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="TCP port (default %(default)s)"
    )
    serve.add_argument(
        "--listen",
        default="",
        metavar="ADDRESS",
        help="listen on this address only (default: all)",
    )
    serve.add_argument("--hostname", default=socket.gethostname(), help=argparse.SUPPRESS)
    serve.add_argument(
        "--no-announce", action="store_true", help="do not announce the agent over zeroconf"
    )
    serve.add_argument("-v", "--verbose", action="store_true", help="log every connection")
    serve.set_defaults(run=_serve)

    pair = commands.add_parser(
        "pair", help="print a one-time token to pair this server with a desktop"
    )
    _state_dir_option(pair)
    pair.add_argument(
        "--again",
        action="store_true",
        help="forget the desktop this server is paired with, then print a token",
    )
    pair.add_argument(
        "--valid-minutes",
        type=float,
        default=10.0,
        help="how long the token works (default %(default)s)",
    )
    pair.add_argument("--hostname", default=socket.gethostname(), help=argparse.SUPPRESS)
    pair.set_defaults(run=_pair)

    collect = commands.add_parser(
        "collect",
        help="print the report this agent would send (devices, Lustre, statistics)",
        description="Read the server's state as the agent does and print it. With --root, read "
        "a copy of a server's /proc and /sys (a dump, a fixture) instead; no command is run then.",
    )
    collect.add_argument(
        "--root",
        type=Path,
        default=Path("/"),
        metavar="DIR",
        help="the directory holding proc/ and sys/ (default: /, this server)",
    )
    collect.add_argument("--json", action="store_true", help="print one JSON document")
    collect.add_argument("--hostname", default=socket.gethostname(), help=argparse.SUPPRESS)
    collect.set_defaults(run=_collect)

    install = commands.add_parser(
        "install-service",
        help="write the systemd unit that starts this agent at boot",
        description="Write chroma-agent.service, which runs this installation of the agent as "
        "`chroma-agent serve`. Then pair the server (`chroma-agent pair`) and start it with "
        "`systemctl daemon-reload && systemctl enable --now chroma-agent`.",
    )
    _state_dir_option(install)
    install.add_argument(
        "--unit-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="where systemd looks for units (default /etc/systemd/system)",
    )
    install.set_defaults(run=_install_service)

    from agentlink.simulator.cli import add_simulator_commands

    add_simulator_commands(commands)
    return parser


def _state_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        help="where the agent keeps its key, certificates and journal (default %(default)s)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    arguments = parser.parse_args(argv)
    run: Callable[[argparse.Namespace], int] | None = getattr(arguments, "run", None)
    if run is None:
        parser.print_help()
        return 0
    try:
        return run(arguments)
    except UsageError as problem:
        print(f"{PROGRAM}: {problem}", file=sys.stderr)
        return 1
    except OSError as problem:
        print(f"{PROGRAM}: {_os_error(problem)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _os_error(problem: OSError) -> str:
    where = f" ({problem.filename})" if problem.filename else ""
    return f"{problem.strerror or problem}{where}"


def _pair(arguments: argparse.Namespace) -> int:
    from agentlink.daemon.pki import AgentIdentity, IdentityError, PairingTokens

    state_dir: Path = arguments.state_dir
    try:
        identity = AgentIdentity(state_dir).load_or_create(arguments.hostname)
        if identity.paired:
            if not arguments.again:
                raise UsageError(
                    "this server is already paired with a desktop. To pair it with another "
                    "(or the same one reinstalled), run `chroma-agent pair --again`."
                )
            identity.desktop_ca_path.unlink()
            identity.load_or_create(arguments.hostname)
        token = PairingTokens(state_dir).issue(ttl_s=arguments.valid_minutes * 60)
    except IdentityError as problem:
        raise UsageError(str(problem)) from problem
    minutes = f"{arguments.valid_minutes:g}"
    print(f"Pairing token:  {token}   (works once, for {minutes} minutes)")
    print(f"This server:    {arguments.hostname}")
    print(f"Its certificate: {identity.fingerprint}")
    print("On the desktop, add this server by name and type the token when asked.")
    return 0


def _install_service(arguments: argparse.Namespace) -> int:
    from agentlink.daemon.unit import DEFAULT_UNIT_DIR, install_unit

    unit_dir: Path = arguments.unit_dir or DEFAULT_UNIT_DIR
    if not unit_dir.is_dir():
        raise UsageError(
            f"{unit_dir} is not a directory: is this a systemd server? Give --unit-dir DIR."
        )
    unit_path = install_unit(unit_dir, arguments.state_dir.absolute())
    print(f"Wrote {unit_path}.")
    print("Next: `chroma-agent pair` (type its token on the desktop), then")
    print("      `systemctl daemon-reload && systemctl enable --now chroma-agent`.")
    return 0


def _collect(arguments: argparse.Namespace) -> int:
    import json
    import time

    from agentlink.daemon.probes.report import full_report, probe_tree

    root: Path = arguments.root
    if not root.is_dir():
        raise UsageError(f"--root {root} is not a directory; give the one holding proc/ and sys/")
    if not (root / "proc").is_dir() and not (root / "sys").is_dir():
        raise UsageError(f"{root} holds neither proc/ nor sys/: is it the root of a server's tree?")
    tree, commands = probe_tree(root)
    report = full_report(tree, commands, arguments.hostname, time.time())
    if arguments.json:
        print(json.dumps(report, indent=2, sort_keys=True))
        return 0
    print(_summary(report))
    return 0


def _summary(report: dict[str, Any]) -> str:
    """The report in a few lines a person reads at a glance."""
    lustre = report["lustre"]
    version = (lustre["version"] or {}).get("lustre", "not installed")
    lines = [
        f"{report['hostname']} (read from {report['root']})",
        f"Lustre {version}; LNet {lustre['lnet']['state']} {' '.join(lustre['lnet']['nids'])}",
    ]
    for target in lustre["targets"]:
        recovery = (target["recovery"] or {}).get("status", "-")
        lines.append(
            f"  {target['label']:<16} {target['kind']} on {target['device'] or '?'} "
            f"at {target['mount_point'] or '?'} recovery {recovery}"
        )
    lines.append(f"{len(report['devices']['devices'])} block devices")
    lines.append(f"{len(report['pushes']['records'])} statistics")
    for problem in report["problems"]:
        lines.append(f"problem: {problem['path']}: {problem['reason']}")
    return "\n".join(lines)


def _serve(arguments: argparse.Namespace) -> int:
    from twisted.internet import error, reactor

    from agentlink.daemon.localhost import LocalHost
    from agentlink.daemon.pki import IdentityError
    from agentlink.daemon.service import start_agent

    _log_to_stderr(arguments.verbose)
    announcer: AgentAnnouncer | None = None
    addresses: list[str] = []
    if not arguments.no_announce:
        addresses = [arguments.listen] if arguments.listen else _own_addresses(arguments.hostname)
        announcer = _announcer(addresses)
    try:
        started = start_agent(
            LocalHost(arguments.hostname),
            arguments.state_dir,
            reactor=reactor,
            software_version=agent_version(),
            port=arguments.port,
            interface=arguments.listen,
            announcer=announcer,
            announce_addresses=addresses,
        )
    except (IdentityError, error.CannotListenError) as problem:
        if announcer is not None:
            announcer.close()
        raise UsageError(str(problem)) from problem
    if announcer is not None:
        reactor.addSystemEventTrigger("before", "shutdown", announcer.close)
    paired = started.service.identity.paired
    print(
        f"{PROGRAM} {agent_version()} serving {arguments.hostname} on port {started.port} "
        f"({'paired' if paired else 'not paired yet: run `chroma-agent pair`'})",
        flush=True,
    )
    reactor.run()
    return 0


def _own_addresses(hostname: str) -> list[str]:
    """The non-loopback addresses `hostname` resolves to: where desktops can reach this agent."""
    try:
        _, _, addresses = socket.gethostbyname_ex(hostname)
    except OSError:
        return []
    return [address for address in addresses if not address.startswith("127.")]


def _announcer(addresses: list[str]) -> AgentAnnouncer | None:
    from agentlink.discovery import AgentAnnouncer, DiscoveryError

    if not addresses:
        logging.getLogger(PROGRAM).warning(
            "not announcing over zeroconf: this server's name resolves to no address a desktop "
            "could reach; use --listen ADDRESS to choose one"
        )
        return None
    try:
        return AgentAnnouncer(addresses)
    except DiscoveryError as problem:
        logging.getLogger(PROGRAM).warning("not announcing over zeroconf: %s", problem)
        return None


def _log_to_stderr(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
