"""`chroma`: the command line, a peer of the window. Every command talks to the running manager
through the local REST API (chroma_desktop/api), and when none runs, runs one in this process
for the duration (connect.py).

Layer: chroma_desktop.cli (no Qt, by contract). Thread: the main thread.

Conventions: listings and shows take --json; every change takes --dry-run (prints the plan and
the exact command lines, changes nothing) and --yes (answers its confirmations); a change that
starts a command follows it to the end with live progress on a terminal (--nowait returns at
once). Servers, filesystems, targets and volumes are named by name or id. Exit status: 0 only
when everything asked succeeded; 1 when something was refused or failed (the message says
why); 2 for a mistyped command line; 3 for an internal error (logged, see failures.py).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from chroma_desktop.api.client import ApiClient, ApiRefused
from chroma_desktop.cli.output import (
    print_details,
    print_json,
    print_plan,
    print_table,
)
from chroma_desktop.cli.progress import FINISHED, describe_outcome, follow_command
from chroma_desktop.failures import EXIT_FAILED, EXIT_OK, run_reporting_errors
from core.errors import ChromaError
from core.version import installed_version

PROGRAM = "chroma"
Row = dict[str, Any]


class CliError(ChromaError):
    """A command that cannot go on, with what to do."""


@dataclass
class Context:
    client: ApiClient
    options: argparse.Namespace
    out: TextIO
    err: TextIO
    interactive: bool
    """stdin and stderr are terminals: confirmations may be asked, progress drawn live."""


Handler = Callable[[Context], int]


@dataclass(frozen=True)
class Subcommand:
    name: str
    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    run: Handler


COMMANDS: list[Subcommand] = []


def command(
    name: str, help: str, arguments: Callable[[argparse.ArgumentParser], None]
) -> Callable[[Handler], Handler]:
    def register(run: Handler) -> Handler:
        COMMANDS.append(Subcommand(name, help, arguments, run))
        return run

    return register


# --- argument groups ----------------------------------------------------------------------------


def _json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")


def _change_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dry-run", action="store_true", help="print the plan and its commands; change nothing"
    )
    parser.add_argument("--yes", "-y", action="store_true", help="answer yes to confirmations")
    parser.add_argument(
        "--nowait", action="store_true", help="print the command's id and return at once"
    )
    _json_flag(parser)


def _listing(*filters: str, default_limit: int = 0) -> Callable[[argparse.ArgumentParser], None]:
    def arguments(parser: argparse.ArgumentParser) -> None:
        for name in filters:
            parser.add_argument(f"--{name.replace('_', '-')}", dest=name, help=f"only this {name}")
        parser.add_argument("--order-by", help="a field to order by; -field for descending")
        parser.add_argument(
            "--limit", type=int, default=default_limit, help="at most this many (0: all)"
        )
        parser.add_argument("--offset", type=int, default=0, help="skip this many")
        _json_flag(parser)

    return arguments


def _subject(
    noun: str, *more: Callable[[argparse.ArgumentParser], None]
) -> Callable[[argparse.ArgumentParser], None]:
    def arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(noun, help=f"the {noun}'s name or id")
        for add in more:
            add(parser)

    return arguments


# --- shared steps -------------------------------------------------------------------------------

NAMES = {
    "host": ("label", "address", "nodename", "fqdn"),
    "filesystem": ("name",),
    "target": ("name",),
    "volume": ("name", "serial"),
}
NOUNS = {"host": "server"}


def resolve(context: Context, resource: str, text: str) -> Row:
    """The object named `text` (its id, or one of its names)."""
    rows: list[Row] = context.client.get(f"{resource}/", limit=0)["objects"]
    noun = NOUNS.get(resource, resource)
    if text.isdigit():
        found = [row for row in rows if row["id"] == int(text)]
    else:
        found = [row for row in rows if any(row.get(k) == text for k in NAMES[resource])]
    if len(found) == 1:
        return found[0]
    if not found:
        known = ", ".join(str(row.get(NAMES[resource][0])) for row in rows[:12]) or "none yet"
        raise CliError(f"There is no {noun} named {text!r}.", hint=f"Known: {known}.")
    raise CliError(f"{text!r} names {len(found)} {noun}s.", hint="Use the id instead.")


def list_resource(context: Context, resource: str, **filters: object) -> int:
    options = context.options
    query = {name: value for name, value in filters.items() if value is not None}
    if options.order_by:
        query["order_by"] = options.order_by
    page = context.client.get(f"{resource}/", limit=options.limit, offset=options.offset, **query)
    if options.json:
        print_json(page["objects"], context.out)
    else:
        print_table(resource, page["objects"], context.out, noun=NOUNS.get(resource, resource))
        total, shown = page["meta"]["total_count"], len(page["objects"])
        if shown < total:
            print(f"({shown} of {total} shown)", file=context.err)
    return EXIT_OK


def show(context: Context, row: Row, *, skip: Sequence[str] = ()) -> int:
    if context.options.json:
        print_json(row, context.out)
    else:
        print_details(row, context.out, skip=skip)
    return EXIT_OK


def change(context: Context, method: str, path: str, body: Row) -> int:
    """Send a change: with --dry-run only its plan; otherwise confirm what it asks (--yes or a
    question on a terminal), then follow the command it starts to its end."""
    options = context.options
    client = context.client
    if options.dry_run:
        answer = client.request(method, path, body={**body, "dry_run": True})
        if options.json:
            print_json(answer["plan"], context.out)
        else:
            print_plan(answer["plan"], context.out)
        return EXIT_OK
    try:
        answer = client.request(method, path, body=body)
    except ApiRefused as refused:
        texts = refused.body.get("confirmations")
        if refused.status != 409 or not texts:
            raise
        if not _confirmed(context, texts):
            raise CliError(
                "Not done: it needs confirming.", hint="Add --yes to confirm without a question."
            ) from None
        answer = client.request(method, path, body={**body, "confirmed": True})
    return finish(context, answer["command"])


def _confirmed(context: Context, texts: Sequence[str]) -> bool:
    if context.options.yes:
        return True
    for text in texts:
        print(text, file=context.err)
    if not context.interactive:
        return False
    reply = input("Go ahead? [y/N] ")
    return reply.strip().lower() in ("y", "yes")


def finish(context: Context, command: Row) -> int:
    if context.options.nowait:
        if context.options.json:
            print_json(command, context.out)
        else:
            print(f"Started command {command['id']}: {command['message']}", file=context.out)
        return EXIT_OK
    finished = follow_command(context.client, command, err=context.err, live=context.interactive)
    if context.options.json:
        print_json(finished, context.out)
    else:
        describe_outcome(finished, context.out)
    return EXIT_OK if finished["state"] == "succeeded" else EXIT_FAILED


def set_state(context: Context, resource: str, text: str, state: str) -> int:
    row = resolve(context, resource, text)
    return change(context, "PUT", f"{resource}/{row['id']}/", {"state": state})


# --- servers ------------------------------------------------------------------------------------


def _server_add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("hostlist", help="servers to pair, e.g. oss[01-16] or mds1,mds2:7450")
    parser.add_argument("--token", required=True, help="the token `chroma-agent pair` printed")
    parser.add_argument("--profile", help="the server profile by name (default: the default one)")
    parser.add_argument(
        "--check", action="store_true", help="only run the pre-flight checks; pair nothing"
    )
    parser.add_argument(
        "--force", action="store_true", help="pair servers even when a pre-flight check fails"
    )
    parser.add_argument("--dry-run", action="store_true", help="only check names and token")
    _json_flag(parser)


@command(
    "server-add",
    "check servers (pre-flight checks) and pair them with the token their agents printed",
    _server_add_arguments,
)
def server_add(context: Context) -> int:
    from agentlink.hostlist import expand_hostlist

    options = context.options
    addresses = expand_hostlist(options.hostlist)
    paired: list[Row] = []
    failed = 0
    for address in addresses:
        body: dict[str, Any] = {"address": address, "token": options.token}
        if options.profile:
            body["profile"] = options.profile
        if options.dry_run:
            answer = context.client.post("host/", {**body, "dry_run": True})
            print(answer["plan"]["message"], file=context.out)
            continue
        if options.check:
            report = context.client.post("host/", {**body, "check_only": True})["preflight"]
            failed += not report["passed"]
            paired.append(report)
            if not options.json:
                _print_preflight(report, context.out, every=True)
            continue
        try:
            host = context.client.post("host/", {**body, "force": options.force})
        except ApiRefused as refused:
            failed += 1
            report = refused.body.get("preflight")
            if report is None:
                print(f"{address}: not paired: {refused}", file=context.err)
                continue
            _print_preflight(report, context.err)
            hint = "; --force pairs it anyway" if refused.hint else ""
            print(f"{address}: not paired: {report['summary']}{hint}", file=context.err)
            continue
        paired.append(host)
        if not options.json:
            _print_preflight(host.get("preflight"), context.out)
            print(
                f"{address}: paired {host['label']} ({host['cert_fingerprint']})", file=context.out
            )
    if options.json and not options.dry_run:
        print_json(paired, context.out)
    if failed:
        outcome = "failed a pre-flight check" if options.check else "were not paired"
        print(f"{failed} of {len(addresses)} servers {outcome}.", file=context.err)
    return EXIT_FAILED if failed else EXIT_OK


def _print_preflight(report: dict[str, Any] | None, out: TextIO, *, every: bool = False) -> None:
    """A server's pre-flight checks: a line for the whole, then one per check that did not
    pass (`every`: one per check), so pairing sixteen good servers stays readable."""
    if not report:
        return
    name = f" ({report['server_name']})" if report.get("server_name") else ""
    print(f"{report['address']}{name}: {report['summary']}", file=out)
    for check in report["checks"]:
        if every or check["status"] != "pass":
            print(f"  {check['status']:<5} {check['title']}: {check['message']}", file=out)


@command("server-list", "list the managed servers", _listing("state", "role"))
def server_list(context: Context) -> int:
    return list_resource(context, "host", state=context.options.state, role=context.options.role)


@command("server-show", "show one server", _subject("server", _json_flag))
def server_show(context: Context) -> int:
    return show(context, resolve(context, "host", context.options.server))


@command(
    "server-remove", "remove a server (stops what runs on it)", _subject("server", _change_flags)
)
def server_remove(context: Context) -> int:
    return set_state(context, "host", context.options.server, "removed")


@command("lnet-start", "start LNet on a server", _subject("server", _change_flags))
def lnet_start(context: Context) -> int:
    host = resolve(context, "host", context.options.server)
    return change(context, "PUT", f"lnet_configuration/{host['id']}/", {"state": "up"})


@command("lnet-stop", "stop LNet on a server", _subject("server", _change_flags))
def lnet_stop(context: Context) -> int:
    host = resolve(context, "host", context.options.server)
    return change(context, "PUT", f"lnet_configuration/{host['id']}/", {"state": "down"})


# --- volumes and filesystems --------------------------------------------------------------------


@command("volume-list", "list the volumes the servers see", _listing("host", "in_use"))
def volume_list(context: Context) -> int:
    return list_resource(
        context, "volume", host=context.options.host, in_use=context.options.in_use
    )


def _create_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="the filesystem's name (1-8 characters)")
    mgs = parser.add_mutually_exclusive_group(required=True)
    mgs.add_argument("--mgt", help="the volume of a new MGT (name or id)")
    mgs.add_argument("--mgs", help="an existing MGT to register with instead (name or id)")
    parser.add_argument("--mdt", required=True, help="volumes of its MDTs: VOL[,VOL...]")
    parser.add_argument("--ost", required=True, help="volumes of its OSTs: VOL[,VOL...]")
    _change_flags(parser)


def _volume_ids(context: Context, option: str, text: str) -> list[int]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise CliError(f"--{option} names no volume.", hint="Give VOL[,VOL...]; see volume-list.")
    return [resolve(context, "volume", name)["id"] for name in names]


@command("filesystem-create", "create a filesystem from volumes and start it", _create_arguments)
def filesystem_create(context: Context) -> int:
    options = context.options
    body: Row = {
        "name": options.name,
        "mdt_volume_ids": _volume_ids(context, "mdt", options.mdt),
        "ost_volume_ids": _volume_ids(context, "ost", options.ost),
    }
    if options.mgs is not None:
        mgs = resolve(context, "target", options.mgs)
        if mgs["kind"] != "MGT":
            raise CliError(f"{mgs['name']} is not an MGT.", hint="See target-list --kind MGT.")
        body["mgs_id"] = mgs["id"]
    else:
        mgt = _volume_ids(context, "mgt", options.mgt)
        if len(mgt) != 1:
            raise CliError("--mgt names more than one volume.", hint="An MGT is on one volume.")
        body["mgt_volume_id"] = mgt[0]
    return change(context, "POST", "filesystem/", body)


@command("filesystem-list", "list the filesystems", _listing("state"))
def filesystem_list(context: Context) -> int:
    return list_resource(context, "filesystem", state=context.options.state)


@command("filesystem-show", "show a filesystem and its targets", _subject("filesystem", _json_flag))
def filesystem_show(context: Context) -> int:
    row = resolve(context, "filesystem", context.options.filesystem)
    targets = context.client.get("target/", filesystem=row["id"], limit=0)["objects"]
    if context.options.json:
        print_json({**row, "targets": targets}, context.out)
        return EXIT_OK
    print_details(row, context.out)
    print("", file=context.out)
    print_table("target", targets, context.out, noun="target")
    return EXIT_OK


def _fs_state(state: str) -> Handler:
    def run(context: Context) -> int:
        return set_state(context, "filesystem", context.options.filesystem, state)

    return run


for _name, _state, _help in (
    ("filesystem-start", "available", "start a filesystem"),
    ("filesystem-stop", "stopped", "stop a filesystem"),
    ("filesystem-remove", "removed", "remove a filesystem (its data is lost)"),
):
    command(_name, _help, _subject("filesystem", _change_flags))(_fs_state(_state))


# --- targets ------------------------------------------------------------------------------------


@command("target-list", "list the targets", _listing("state", "filesystem", "host", "kind"))
def target_list(context: Context) -> int:
    options = context.options
    return list_resource(
        context,
        "target",
        state=options.state,
        filesystem=options.filesystem,
        host=options.host,
        kind=options.kind,
    )


@command("target-show", "show a target", _subject("target", _json_flag))
def target_show(context: Context) -> int:
    return show(context, resolve(context, "target", context.options.target))


def _target_state(state: str) -> Handler:
    def run(context: Context) -> int:
        return set_state(context, "target", context.options.target, state)

    return run


def _target_job(kind: str) -> Handler:
    def run(context: Context) -> int:
        target = resolve(context, "target", context.options.target)
        return change(context, "POST", "command/", {"class_name": kind, "target_id": target["id"]})

    return run


command("target-start", "start (mount) a target", _subject("target", _change_flags))(
    _target_state("mounted")
)
command("target-stop", "stop (unmount) a target", _subject("target", _change_flags))(
    _target_state("unmounted")
)
command(
    "target-failover", "move a target to its failover server", _subject("target", _change_flags)
)(_target_job("FailoverTargetJob"))
command(
    "target-failback", "move a target back to its primary server", _subject("target", _change_flags)
)(_target_job("FailbackTargetJob"))


# --- commands, alerts, events -------------------------------------------------------------------


@command("command-list", "list the commands, newest first", _listing("state", default_limit=20))
def command_list(context: Context) -> int:
    return list_resource(context, "command", state=context.options.state)


def _command_id(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("id", type=int, help="the command's id")
    _json_flag(parser)


@command("command-show", "show a command and its jobs", _command_id)
def command_show(context: Context) -> int:
    row = context.client.get(f"command/{context.options.id}/")
    if context.options.json:
        print_json(row, context.out)
        return EXIT_OK
    print_details(row, context.out, skip=("jobs",))
    print("", file=context.out)
    print_table("job", row["jobs"], context.out, noun="job")
    return EXIT_OK


def _cancel_arguments(parser: argparse.ArgumentParser) -> None:
    _command_id(parser)
    parser.add_argument(
        "--nowait", action="store_true", help="return once asked, before running steps stop"
    )


@command(
    "command-cancel",
    "cancel a running command: its jobs not yet started at once, running ones between steps "
    "(exit 0 once it ended cancelled)",
    _cancel_arguments,
)
def command_cancel(context: Context) -> int:
    command_id = context.options.id
    before = context.client.get(f"command/{command_id}/")
    if before["state"] in FINISHED:
        raise CliError(
            f"Command {command_id} has already finished ({before['state']}): nothing to cancel.",
            hint=f"See `chroma command-show {command_id}`.",
        )
    row = context.client.put(f"command/{command_id}/", {"cancelled": True})
    if context.options.nowait:
        if context.options.json:
            print_json(row, context.out)
        else:
            print(
                f"Cancelling command {row['id']} ({row['message']}): {row['state']}",
                file=context.out,
            )
        return EXIT_OK
    # Running steps that cannot be interrupted (a format) finish first: wait for the end.
    finished = follow_command(context.client, row, err=context.err, live=context.interactive)
    if context.options.json:
        print_json(finished, context.out)
    else:
        describe_outcome(finished, context.out)
    if finished["state"] != "cancelled":
        print(
            f"Command {command_id} ended {finished['state']} before it could be cancelled.",
            file=context.err,
        )
        return EXIT_FAILED
    return EXIT_OK


def _alert_arguments(parser: argparse.ArgumentParser) -> None:
    _listing("severity")(parser)
    parser.add_argument("--all", action="store_true", help="ended alerts too")


@command("alert-list", "list the active alerts (--all: ended ones too)", _alert_arguments)
def alert_list(context: Context) -> int:
    active = None if context.options.all else True
    return list_resource(context, "alert", active=active, severity=context.options.severity)


def _alert_id(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("id", type=int, help="the alert's id")
    _json_flag(parser)


@command("alert-dismiss", "dismiss an alert (it stays listed until it ends)", _alert_id)
def alert_dismiss(context: Context) -> int:
    row = context.client.put(f"alert/{context.options.id}/", {"dismissed": True})
    if context.options.json:
        print_json(row, context.out)
    else:
        print(f"Dismissed alert {row['id']}: {row['message']}", file=context.out)
    return EXIT_OK


@command(
    "event-list",
    "list events, newest first",
    _listing("host", "severity", "kind", default_limit=50),
)
def event_list(context: Context) -> int:
    options = context.options
    return list_resource(
        context, "event", host=options.host, severity=options.severity, kind=options.kind
    )


# --- Lustre settings: conf params and OST pools ---------------------------------------------------


def _conf_param_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("get", "set"), help="get or set")
    parser.add_argument("subject", help="a filesystem, or one of its MDTs or OSTs (name or id)")
    parser.add_argument(
        "params",
        nargs="*",
        help="get: keys to show (all when none); set: KEY=VALUE or KEY= to clear",
    )
    _change_flags(parser)


def _conf_param_subject(context: Context) -> tuple[Row, Row | None]:
    text = context.options.subject
    filesystems = context.client.get("filesystem/", limit=0)["objects"]
    found = [fs for fs in filesystems if fs["name"] == text or str(fs["id"]) == text]
    if found:
        return found[0], None
    target = resolve(context, "target", text)
    if target["kind"] == "MGT" or not target["filesystem_ids"]:
        raise CliError(f"{target['name']} has no conf params.", hint="Name an MDT or OST.")
    filesystem = context.client.get(f"filesystem/{target['filesystem_ids'][0]}/")
    return filesystem, target


@command(
    "conf-param", "get or set Lustre settings of a filesystem or target", _conf_param_arguments
)
def conf_param(context: Context) -> int:
    options = context.options
    filesystem, target = _conf_param_subject(context)
    subject = (target or filesystem)["name"]
    if options.action == "get":
        rows = context.client.get(
            "conf_param/", filesystem=filesystem["id"], subject=subject, limit=0
        )["objects"]
        if options.params:
            unknown = sorted(set(options.params) - {row["key"] for row in rows})
            if unknown:
                raise CliError(
                    f"{subject} has no parameter {', '.join(unknown)}.",
                    hint="`chroma conf-param get SUBJECT` lists those that are set; --json all.",
                )
            rows = [row for row in rows if row["key"] in options.params]
        elif not options.json:
            rows = [row for row in rows if row["value"] is not None or row["reported"]]
        if options.json:
            print_json(rows, context.out)
            return EXIT_OK
        if not rows:
            print(f"No conf params set on {subject}: Lustre's defaults apply.", file=context.out)
        for row in rows:
            shown = "(default)" if row["value"] is None else row["value"]
            notes = [" (pending: not yet applied)"] if row["pending"] else []
            if row["reported"] is not None:
                notes.append(f" (the MGS reports {row['reported']})")
            print(f"{row['key']}={shown}{''.join(notes)}", file=context.out)
        return EXIT_OK
    params: dict[str, str | None] = {}
    for text in options.params:
        key, equals, value = text.partition("=")
        if not equals or not key:
            raise CliError(f"{text!r} is not KEY=VALUE.", hint="Write KEY= to clear a key.")
        params[key] = value or None
    if not params:
        raise CliError("conf-param set needs KEY=VALUE.")
    body: Row = {"filesystem_id": filesystem["id"], "subject": subject, "params": params}
    if options.dry_run:
        return change(context, "POST", "conf_param/", body)
    answer = context.client.post("conf_param/", body)
    if answer["command"] is None:
        print(
            f"Saved as version {answer['version']}; applied when the MGS of "
            f"{filesystem['name']} next runs.",
            file=context.out,
        )
        return EXIT_OK
    return finish(context, answer["command"])


def _pool_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("filesystem", help="the filesystem's name or id")
    parser.add_argument("pool", help="the pool's name (1-15 letters, digits, _ or -)")
    parser.add_argument("osts", nargs="*", help="OSTs (names or ids)")
    _change_flags(parser)


def _pool_name_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("filesystem", help="the filesystem's name or id")
    parser.add_argument("pool", help="the pool's name")
    _change_flags(parser)


def _ost_ids(context: Context, names: Sequence[str]) -> list[int]:
    return [resolve(context, "target", name)["id"] for name in names]


def _pool(context: Context) -> tuple[Row, Row]:
    filesystem = resolve(context, "filesystem", context.options.filesystem)
    pools = context.client.get(
        "ost_pool/", filesystem=filesystem["id"], name=context.options.pool, limit=0
    )["objects"]
    if not pools:
        raise CliError(
            f"{filesystem['name']} has no pool named {context.options.pool!r}.",
            hint=f"See `chroma pool-list --filesystem {filesystem['name']}`.",
        )
    return filesystem, pools[0]


def _pool_changed(context: Context, filesystem: Row, method: str, path: str, body: Row) -> int:
    """Run a pool change as a command (see `change`), then say what the pool holds now."""
    status = change(context, method, path, body)
    options = context.options
    if status != EXIT_OK or options.dry_run or options.nowait or options.json:
        return status
    pools = context.client.get(
        "ost_pool/", filesystem=filesystem["id"], name=options.pool, limit=0
    )["objects"]
    if pools:
        members = ", ".join(pools[0]["osts"]) or "no OSTs"
        print(f"Pool {filesystem['name']}.{options.pool}: {members}", file=context.out)
    else:
        print(f"Pool {filesystem['name']}.{options.pool} is gone.", file=context.out)
    return status


@command(
    "pool-create",
    "create an OST pool on the filesystem's MGS (lctl pool_new), with OSTs if named",
    _pool_arguments,
)
def pool_create(context: Context) -> int:
    filesystem = resolve(context, "filesystem", context.options.filesystem)
    body = {
        "filesystem_id": filesystem["id"],
        "name": context.options.pool,
        "ost_ids": _ost_ids(context, context.options.osts),
    }
    return _pool_changed(context, filesystem, "POST", "ost_pool/", body)


def _pool_change(key: str) -> Handler:
    def run(context: Context) -> int:
        if not context.options.osts:
            raise CliError("Name the OSTs.", hint="e.g. fs1-OST0000 fs1-OST0001")
        filesystem, pool = _pool(context)
        body = {key: _ost_ids(context, context.options.osts)}
        return _pool_changed(context, filesystem, "PUT", f"ost_pool/{pool['id']}/", body)

    return run


command("pool-add", "add OSTs to a pool (lctl pool_add on the MGS)", _pool_arguments)(
    _pool_change("add")
)
command("pool-remove", "take OSTs out of a pool (lctl pool_remove on the MGS)", _pool_arguments)(
    _pool_change("remove")
)


@command(
    "pool-destroy",
    "empty and destroy an OST pool (lctl pool_remove, pool_destroy on the MGS)",
    _pool_name_arguments,
)
def pool_destroy(context: Context) -> int:
    filesystem, pool = _pool(context)
    return _pool_changed(context, filesystem, "DELETE", f"ost_pool/{pool['id']}/", {})


@command("pool-list", "list the OST pools", _listing("filesystem"))
def pool_list(context: Context) -> int:
    return list_resource(context, "ost_pool", filesystem=context.options.filesystem)


# --- history: logs, statistics, archives ------------------------------------------------------


def _log_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("words", nargs="*", help="words to find (the Logs screen's query language)")
    parser.add_argument("--host", help="only these servers, comma-separated")
    parser.add_argument("--severity", help="at least this severe: err, warning, info, ...")
    parser.add_argument("--since", help="only after this time (ISO 8601 or epoch seconds)")
    parser.add_argument("--until", help="only before this time")
    parser.add_argument("--lustre", action="store_true", help="only Lustre's own lines")
    parser.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    _json_flag(parser)


@command("log-search", "search the servers' syslog, newest first", _log_arguments)
def log_search(context: Context) -> int:
    options = context.options
    page = context.client.get(
        "log/",
        q=" ".join(options.words) or None,
        host=options.host,
        severity=options.severity,
        since=options.since,
        until=options.until,
        lustre_only=True if options.lustre else None,
        limit=options.limit,
    )
    if options.json:
        print_json(page["objects"], context.out)
        return EXIT_OK
    if not page["objects"]:
        print("No log lines found.", file=context.out)
    for line in page["objects"]:
        print(
            f"{line['time']} {line['host']} {line['severity']:<7} {line['source']}: "
            f"{line['message']}",
            file=context.out,
        )
    return EXIT_OK


def _stats_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "subject", nargs="?", help="server:NAME, target:NAME, filesystem:NAME or all (none: list)"
    )
    parser.add_argument("--measure", help="the measure's title (default: the subject's first)")
    parser.add_argument("--minutes", type=int, default=60, help="how far back (default 60)")
    parser.add_argument("--points", type=int, default=20, help="at most this many points")
    _json_flag(parser)


@command(
    "stats", "statistics: the subjects with history, or one measure over time", _stats_arguments
)
def stats(context: Context) -> int:
    import time

    options = context.options
    if options.subject is None:
        listed = context.client.get("stats/")["objects"]
        if options.json:
            print_json(listed, context.out)
        for row in listed if not options.json else ():
            print(f"{row['subject']:<32} {', '.join(row['measures'])}", file=context.out)
        return EXIT_OK
    end = time.time()
    series = context.client.get(
        "stats/",
        subject=options.subject,
        measure=options.measure,
        start=end - options.minutes * 60,
        end=end,
        points=options.points,
    )
    if options.json:
        print_json(series, context.out)
        return EXIT_OK
    print(
        f"{series['measure']} of {series['subject']} ({series['unit'] or 'count'})",
        file=context.out,
    )
    for point in series["points"]:
        shown = "-" if point["avg"] is None else f"{point['avg']:.2f}"
        print(f"  {point['time']}  {shown}", file=context.out)
    return EXIT_OK


def _export_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="the new archive file")
    parser.add_argument("--since", required=True, help="from this time (ISO 8601 or epoch s)")
    parser.add_argument("--until", help="to this time (default: now)")
    _json_flag(parser)


@command("archive-export", "export a time range of the whole history to a file", _export_arguments)
def archive_export(context: Context) -> int:
    import time
    from pathlib import Path

    options = context.options
    body = {
        "path": str(Path(options.path).expanduser().resolve()),
        "start": options.since,
        "end": options.until or str(time.time()),
    }
    result = context.client.post("archive/", body)
    if options.json:
        print_json(result, context.out)
    else:
        print(result["description"], file=context.out)
    return EXIT_OK


def _open_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="an archive file")
    _json_flag(parser)


def archive_open(options: argparse.Namespace, out: TextIO) -> int:
    """Check an archive and say what it holds; needs no manager (runs in this process)."""
    from stats.archive import open_archive

    opened = open_archive(options.path)
    try:
        manifest = opened.manifest
        facts = {
            "file": str(opened.path),
            "range": manifest.describe_range(),
            "source": manifest.source,
            "written_by": manifest.app_version,
            "created_at": manifest.created_at.isoformat(),
            "holds": dict(manifest.counts),
        }
    finally:
        opened.close()
    if options.json:
        print_json(facts, out)
    else:
        print_details(facts, out)
        print(
            f"Browse it with: chroma-desktop --open-archive {shlex.quote(str(opened.path))}",
            file=out,
        )
    return EXIT_OK


LOCAL_COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None]]] = {
    "archive-open": ("check an archive file and say what it holds", _open_arguments),
}
"""Commands that need no manager: they run in this process only."""


# --- the program --------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROGRAM,
        description="Administer Lustre filesystems from the command line: the same servers, "
        "filesystems, targets, commands and alerts as the Chroma Desktop window.",
        epilog="It talks to the running Chroma Desktop (or `chroma-desktop --headless`) of "
        "CHROMA_HOME, and runs one for the command when none is running.",
    )
    parser.add_argument("--version", action="version", version=f"{PROGRAM} {installed_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for sub in COMMANDS:
        sub.arguments(commands.add_parser(sub.name, help=sub.help, description=sub.help))
    for name, (text, arguments) in LOCAL_COMMANDS.items():
        arguments(commands.add_parser(name, help=text, description=text))
    return parser


def main(
    argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    parser = build_parser()
    options = parser.parse_args(argv)
    stdout, stderr = out or sys.stdout, err or sys.stderr
    if options.command is None:
        parser.print_help(stdout)
        return EXIT_OK
    if options.command == "archive-open":
        return run_reporting_errors(PROGRAM, lambda: archive_open(options, stdout))
    handler = next(sub.run for sub in COMMANDS if sub.name == options.command)

    def body() -> int:
        from chroma_desktop.cli.connect import connect

        interactive = err is None and sys.stdin.isatty() and sys.stderr.isatty()
        changes = hasattr(options, "yes") and not options.dry_run
        with connect(needs_links=changes) as client:
            return handler(Context(client, options, stdout, stderr, interactive))

    return run_reporting_errors(PROGRAM, body)
