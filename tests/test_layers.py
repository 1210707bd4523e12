"""The layers hold at run time: nothing below chroma_desktop loads Qt, and the agent loads
nothing of core or the database. (import-linter checks the same statically.)"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

BLOCK_QT_AND_IMPORT = textwrap.dedent(
    """
    import importlib, json, pkgutil, sys

    class Refuse:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {BLOCKED}:
                raise ImportError(f"{{name}} is not importable in this test")
            return None

    sys.meta_path.insert(0, Refuse())
    imported = []
    for root in {ROOTS}:
        package = importlib.import_module(root)
        imported.append(root)
        for info in pkgutil.walk_packages(getattr(package, "__path__", []), root + "."):
            if ".migrations" in info.name:
                continue  # run by Alembic, not imported
            importlib.import_module(info.name)
            imported.append(info.name)
    print(json.dumps({{"imported": imported, "loaded": sorted(sys.modules)}}))
    """
)


def import_all(roots: list[str], blocked: set[str]) -> dict[str, list[str]]:
    code = BLOCK_QT_AND_IMPORT.format(BLOCKED=sorted(blocked), ROOTS=roots)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_non_ui_packages_import_with_qt_made_unimportable():
    roots = ["core", "agentlink", "stats", "plugins", "chroma_desktop.cli", "chroma_desktop.api"]
    roots += ["chroma_desktop.manager", "chroma_desktop.history", "chroma_desktop.settings"]
    outcome = import_all(roots, {"PySide6", "shiboken6", "pyqtgraph"})
    assert "core.database" in outcome["imported"]
    assert "chroma_desktop.api.server" in outcome["imported"]
    assert "agentlink.secrets" in outcome["imported"]
    assert not [m for m in outcome["loaded"] if m.startswith(("PySide6", "pyqtgraph"))]


def test_the_agent_loads_nothing_of_core_or_the_database():
    outcome = import_all(["agentlink.daemon"], {"core", "sqlalchemy", "alembic", "PySide6"})
    assert "agentlink.daemon.cli" in outcome["imported"]
    loaded = set(outcome["loaded"])
    assert not loaded & {"core", "sqlalchemy", "alembic", "PySide6", "chroma_desktop"}
