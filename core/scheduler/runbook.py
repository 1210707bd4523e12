"""A plan exported as a runbook: Markdown to read and review, or a shell script to run by hand.

Layer: core. Thread: any (pure functions of a PlanPreview). The shell script runs every step's
exact argument lists on its server over ssh, in the plan's order, stopping at the first failure;
each argument is quoted so that the server receives it unchanged.
"""

from __future__ import annotations

import shlex

from core.scheduler.scheduler import PlanPreview

_SHELL_PRELUDE = """#!/usr/bin/env bash
# {message}
# Exported by Chroma Desktop. It runs each step on its server over ssh, in order, and stops at
# the first command that fails.
set -euo pipefail

run_on() {{
    local host=$1
    shift
    printf '+ [%s] %s\\n' "$host" "$*" >&2
    ssh -o BatchMode=yes "$host" -- "$(printf '%q ' "$@")"
}}
"""


def runbook_markdown(plan: PlanPreview) -> str:
    lines = [f"# {plan.message}", ""]
    for text in plan.confirmations:
        lines += [f"> **Confirm:** {text}", ""]
    if not plan.jobs:
        lines.append("Nothing to do: everything is already as asked.")
    for number, job in enumerate(plan.jobs, start=1):
        after = ", ".join(f"{key + 1}" for key in job.after)
        heading = f"## {number}. {job.description}"
        lines += [heading, ""]
        if job.from_state and job.to_state:
            lines.append(f"{job.subject}: {job.from_state} → {job.to_state}.")
        if after:
            lines.append(f"After step{'s' if len(job.after) > 1 else ''} {after}.")
        if job.after_existing:
            lines.append("Waits for running job(s) " + ", ".join(map(str, job.after_existing)))
        if not job.steps:
            lines.append("No command runs on a server: Chroma Desktop records the change.")
        lines.append("")
        for step in job.steps:
            lines.append(f"- **{step.host}**: {step.description}")
            if step.unknown_until_run:
                lines += [f"  (the exact command is known once {step.unknown_until_run})", ""]
                continue
            if step.command_lines:
                lines += ["", "  ```sh"]
                lines += [f"  {shlex.join(argv)}" for argv in step.command_lines]
                lines += ["  ```", ""]
    return "\n".join(lines).rstrip() + "\n"


def runbook_shell(plan: PlanPreview) -> str:
    out = [_SHELL_PRELUDE.format(message=plan.message.replace("\n", " "))]
    for text in plan.confirmations:
        out.append(f"# CONFIRM: {text}")
    for number, job in enumerate(plan.jobs, start=1):
        out.append(f"\n# {number}. {job.description}")
        for step in job.steps:
            out.append(f"# {step.description}")
            if step.unknown_until_run:
                reason = f"Step '{step.description}' is not known yet: {step.unknown_until_run}."
                out.append(f"echo {shlex.quote(reason)} >&2")
                out.append("exit 1")
                continue
            for argv in step.command_lines:
                out.append(f"run_on {shlex.quote(step.host or '')} {shlex.join(argv)}")
    return "\n".join(out) + "\n"
