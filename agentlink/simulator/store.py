"""The simulator's state directory: the cluster model in `cluster.json`, written atomically.

Layer: agentlink.simulator (standard library only). Thread: the reactor thread saves (a small
file, a few milliseconds); `load_model` is also safe from another process, which is how
`request_fault` checks server names. A write goes to a temporary file in the same directory,
is flushed to disk and then renamed over `cluster.json`, so a crash mid-write leaves the
previous state intact and a reader never sees half a file.

    <state dir>/
      cluster.json      the whole model: seed, servers, LUNs, targets, MGS registries
      requests/         fault requests from other processes, one JSON file each (control.py)
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from agentlink.simulator.model import ClusterModel, SimulatorStateError

MODEL_FILE = "cluster.json"
REQUESTS_DIR = "requests"


def atomic_write(path: Path, text: str) -> None:
    """Replace `path` with `text` so that readers see the old or the new file, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    # The rename itself is durable only once the directory is flushed too.
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def save_model(state_dir: Path, model: ClusterModel) -> None:
    atomic_write(state_dir / MODEL_FILE, json.dumps(model.to_json(), indent=1) + "\n")


def load_model(state_dir: Path) -> ClusterModel | None:
    """The cluster saved in `state_dir`, or None when there is none yet."""
    path = state_dir / MODEL_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as error:
        raise SimulatorStateError(f"cannot read {path}: {error.strerror}") from error
    try:
        data = json.loads(text)
    except ValueError as error:
        raise SimulatorStateError(
            f"{path} is not valid JSON ({error}); remove it to start a new cluster"
        ) from error
    return ClusterModel.from_json(data)
