"""The desktop's own settings, kept as JSON in the configuration directory (platformdirs' place,
or CHROMA_HOME/config): today the storage budgets of the history stores, so that stats and logs
never fill the workstation's disk as IML's did.

Layer: chroma_desktop (no Qt: the headless manager reads the same file). Thread: any; a file is
read or replaced whole (written beside and renamed over), so a crash never leaves half a file.
A file that cannot be read as settings is moved aside, never overwritten, and the defaults are
used; `load_settings` says so in its `problem`, which the window shows.
"""

from __future__ import annotations

import json
import os
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from core.errors import ChromaError, ValidationError
from stats.logs import RetentionPolicy
from stats.logs.records import MIN_RETENTION_BYTES

SETTINGS_FILE: Final = "settings.json"
FORMAT: Final = 1
GIB: Final = 2**30
DAY_S: Final = 86_400


@dataclass(frozen=True)
class StorageBudgets:
    """How much history the desktop keeps. Stats: bytes on disk (the oldest coarse points go
    first; every tier also has its own age limit). Logs: the age of the oldest line and bytes
    on disk, whichever is reached first. None: no limit."""

    stats_bytes: int | None = 20 * GIB
    log_bytes: int | None = 10 * GIB
    log_days: float | None = 90

    def __post_init__(self) -> None:
        for name, value in (("stats budget", self.stats_bytes), ("log budget", self.log_bytes)):
            if value is not None and value < MIN_RETENTION_BYTES:
                raise ValidationError(
                    name, value, f"give at least {MIN_RETENTION_BYTES // 2**20} MiB, or no limit"
                )
        if self.log_days is not None and not self.log_days > 0:
            raise ValidationError("log age", self.log_days, "give days above 0, or no limit")

    @property
    def log_policy(self) -> RetentionPolicy:
        return RetentionPolicy(
            max_age_s=None if self.log_days is None else self.log_days * DAY_S,
            max_bytes=self.log_bytes,
        )


@dataclass(frozen=True)
class DesktopSettings:
    budgets: StorageBudgets = field(default_factory=StorageBudgets)


@dataclass(frozen=True)
class LoadedSettings:
    settings: DesktopSettings
    problem: ChromaError | None = None
    """Why the file was not used (it was moved aside and the defaults apply), or None."""


class SettingsError(ChromaError):
    """The settings file cannot be read or written; the message says where and why."""


def settings_path(config_dir: Path) -> Path:
    return Path(config_dir) / SETTINGS_FILE


def load_settings(config_dir: Path) -> LoadedSettings:
    """The settings in `config_dir`; the defaults when there is no file yet. A damaged file is
    renamed to `settings.json.damaged-<time>` (kept for the admin) and the defaults are used."""
    path = settings_path(config_dir)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return LoadedSettings(DesktopSettings())
    except OSError as error:
        return LoadedSettings(
            DesktopSettings(),
            SettingsError(
                f"The settings file {path} cannot be read ({error.strerror}); the defaults apply.",
                hint="Check its permissions.",
            ),
        )
    try:
        return LoadedSettings(_parse(json.loads(text)))
    except (ValueError, TypeError, ChromaError) as error:
        kept = path.with_name(f"{SETTINGS_FILE}.damaged-{datetime.now(UTC):%Y%m%dT%H%M%S}")
        os.replace(path, kept)
        reason = error.message if isinstance(error, ChromaError) else str(error)
        return LoadedSettings(
            DesktopSettings(),
            SettingsError(
                f"The settings file {path} is not valid ({reason}); the defaults apply.",
                hint=f"It was kept as {kept.name}; set the storage budgets again on the "
                "Storage screen.",
            ),
        )


def save_settings(config_dir: Path, settings: DesktopSettings) -> None:
    """Replace the settings file whole (a crash leaves the old file or the new one)."""
    path = settings_path(config_dir)
    body = {"format": FORMAT, **asdict(settings)}
    partial = path.with_name(f".{SETTINGS_FILE}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
        os.replace(partial, path)
    except OSError as error:
        with suppress(OSError):
            partial.unlink(missing_ok=True)
        raise SettingsError(
            f"The settings cannot be saved to {path} ({error.strerror}).",
            hint="Free space on that disk or fix the directory's permissions, then save again.",
        ) from error


def _parse(body: Any) -> DesktopSettings:
    if not isinstance(body, dict):
        raise TypeError("it is not a JSON object")
    if body.get("format") != FORMAT:
        raise ValueError(f"format {body.get('format')!r}, this version reads format {FORMAT}")
    budgets = body.get("budgets", {})
    if not isinstance(budgets, dict):
        raise TypeError("budgets is not a JSON object")
    names = ("stats_bytes", "log_bytes", "log_days")
    known = {name: budgets[name] for name in names if name in budgets}
    for name, value in known.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise TypeError(f"budgets.{name} is {value!r}, not a number or null")
    for name in ("stats_bytes", "log_bytes"):
        if isinstance(known.get(name), float):
            known[name] = int(known[name])
    return DesktopSettings(StorageBudgets(**known))
