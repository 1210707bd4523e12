"""Where Chroma Desktop keeps its data, settings and logs on this workstation.

Layer: core. Thread: any. `CHROMA_HOME` puts everything in one directory (tests and scripts use
it); otherwise platformdirs' per-user places are used. `CHROMA_DATABASE_URL` selects another
database (PostgreSQL) instead of the SQLite file in the data directory.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "chroma-desktop"
HOME_ENV = "CHROMA_HOME"
DATABASE_URL_ENV = "CHROMA_DATABASE_URL"
DATABASE_FILE = "chroma.db"


@dataclass(frozen=True)
class AppPaths:
    """The directories of one installation; `ensure()` creates them."""

    data_dir: Path
    config_dir: Path
    log_dir: Path

    @property
    def database_file(self) -> Path:
        return self.data_dir / DATABASE_FILE

    def ensure(self) -> AppPaths:
        for directory in (self.data_dir, self.config_dir, self.log_dir):
            directory.mkdir(parents=True, exist_ok=True)
        return self


def app_paths(environ: Mapping[str, str] | None = None) -> AppPaths:
    """The paths to use, honouring CHROMA_HOME."""
    env: Mapping[str, str] = os.environ if environ is None else environ
    home = env.get(HOME_ENV)
    if home:
        root = Path(home).expanduser()
        return AppPaths(data_dir=root / "data", config_dir=root / "config", log_dir=root / "logs")
    return AppPaths(
        data_dir=Path(platformdirs.user_data_dir(APP_NAME)),
        config_dir=Path(platformdirs.user_config_dir(APP_NAME)),
        log_dir=Path(platformdirs.user_log_dir(APP_NAME)),
    )


def database_url(environ: Mapping[str, str] | None = None) -> str:
    """CHROMA_DATABASE_URL when set, else the SQLite file in the data directory."""
    env: Mapping[str, str] = os.environ if environ is None else environ
    url = env.get(DATABASE_URL_ENV)
    if url:
        return url
    return f"sqlite:///{app_paths(env).database_file}"
