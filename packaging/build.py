"""`make dist`: build what admins install, into dist/.

Layer: packaging (a build tool beside the packages; run with the project's venv). Thread: the
main thread. Builds, each from the version in pyproject.toml:

- `chroma-desktop-VERSION-linux-ARCH.tar.gz`: the desktop program as a PyInstaller one-folder
  bundle (the executable is both `chroma-desktop` and, through a link, `chroma`; keyring
  backends, plugins, screens and database migrations included), its menu entry and icons from
  resources/, and install.sh, which puts them under the user's or the system's directories.
- `chroma_agent-VERSION-py3-none-any.whl`: the agent for servers (agentlink's daemon and
  simulator with the wire and protocol modules they import; no desktop, database or Qt), with
  its systemd unit inside (`chroma-agent install-service` writes it).
- `chroma-agent-VERSION-server.tar.gz`: that wheel with every wheel it needs (for this
  machine's Python and platform), so a server without network installs it with
  install-agent.sh.

Prints one line per artefact with its size, and the build's time.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import textwrap
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"
ICON_SIZES = (32, 48, 64, 128, 256)
AGENT_ROOTS = ("agentlink.daemon", "agentlink.simulator")
"""The agent's entry points: every module they import is in the wheel, and nothing else."""
AGENT_REQUIREMENTS = (
    "Twisted",
    "pyOpenSSL",
    "service-identity",
    "cryptography",
    "zeroconf",
    "ifaddr",
    "msgpack",
)
"""The agent's third-party packages; their pins are the desktop's (pyproject.toml)."""
AGENT_PYPROJECT = """\
[build-system]
requires = ["setuptools>=69"]
build-backend = "setuptools.build_meta"

[project]
name = "chroma-agent"
version = "@VERSION@"
description = "The Chroma Desktop agent for Lustre servers"
requires-python = ">=3.11"
license = "MIT"
dependencies = [
@REQUIREMENTS@
]

[project.scripts]
chroma-agent = "agentlink.daemon.cli:main"

[tool.setuptools.packages.find]
include = ["agentlink*"]

[tool.setuptools.package-data]
"agentlink.daemon" = ["chroma-agent.service"]
"""


def project() -> dict[str, object]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        loaded: dict[str, object] = tomllib.load(file)["project"]
    return loaded


def run(command: list[str], **options: object) -> None:
    subprocess.run(command, check=True, cwd=ROOT, **options)  # type: ignore[call-overload]


def megabytes(path: Path) -> float:
    if path.is_file():
        return path.stat().st_size / 1e6
    return (
        sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink()) / 1e6
    )


# --- the desktop bundle -----------------------------------------------------------------------


def build_bundle(work: Path) -> Path:
    """The PyInstaller one-folder bundle; returns its folder (which holds `chroma-desktop`)."""
    out = work / "bundle"
    run(
        [
            sys.executable,
            "-m",
            "PyInstaller",
            "--noconfirm",
            "--clean",
            "--log-level=WARN",
            "--onedir",
            "--name=chroma-desktop",
            f"--distpath={out}",
            f"--workpath={work / 'pyinstaller'}",
            f"--specpath={work}",
            f"--paths={ROOT}",  # the packages are installed editable, which PyInstaller can't see
            "--copy-metadata=chroma-desktop",  # the version every program reports
            "--copy-metadata=keyring",  # keyring finds its backends through entry points
            "--collect-submodules=keyring.backends",
            "--collect-submodules=plugins",
            "--collect-submodules=chroma_desktop.views",  # screens load by name
            # Alembic reads the migrations as files, and the icon and menu entry are data.
            f"--add-data={ROOT / 'core' / 'migrations'}:core/migrations",
            f"--add-data={ROOT / 'resources'}:resources",
            "--exclude-module=pyqtgraph.opengl",  # no OpenGL; it would only warn
            "--exclude-module=zstandard._cffi",  # the C backend is the one used: 12 MB less
            str(PACKAGING / "launcher.py"),
        ]
    )
    bundle = out / "chroma-desktop"
    (bundle / "chroma").symlink_to("chroma-desktop")
    return bundle


def render_icons(share: Path) -> None:
    """resources/chroma-desktop.svg as the theme's scalable icon and PNGs of the usual sizes."""
    svg = ROOT / "resources" / "chroma-desktop.svg"
    scalable = share / "icons/hicolor/scalable/apps"
    scalable.mkdir(parents=True)
    shutil.copy(svg, scalable / "chroma-desktop.svg")
    script = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from PySide6.QtGui import QGuiApplication, QImage, QPainter
        from PySide6.QtSvg import QSvgRenderer
        app = QGuiApplication([])
        svg, share = QSvgRenderer(sys.argv[1]), Path(sys.argv[2])
        for size in map(int, sys.argv[3:]):
            image = QImage(size, size, QImage.Format.Format_ARGB32)
            image.fill(0)
            painter = QPainter(image)
            svg.render(painter)
            painter.end()
            folder = share / f"icons/hicolor/{size}x{size}/apps"
            folder.mkdir(parents=True)
            assert image.save(str(folder / "chroma-desktop.png"))
        """
    )
    run(
        [sys.executable, "-c", script, str(svg), str(share), *map(str, ICON_SIZES)],
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )


def desktop_tarball(bundle: Path, work: Path, dist: Path, version: str) -> Path:
    name = f"chroma-desktop-{version}-linux-{platform.machine()}"
    stage = work / name
    shutil.rmtree(stage, ignore_errors=True)
    (stage / "share/applications").mkdir(parents=True)
    shutil.move(bundle, stage / "chroma-desktop")
    shutil.copy(ROOT / "resources/chroma-desktop.desktop", stage / "share/applications")
    render_icons(stage / "share")
    shutil.copy(PACKAGING / "install.sh", stage / "install.sh")
    return _tarball(stage, dist / f"{name}.tar.gz")


def _tarball(stage: Path, target: Path) -> Path:
    partial = target.with_name(target.name + ".part")
    with tarfile.open(partial, "w:gz", compresslevel=6) as tar:
        tar.add(stage, arcname=stage.name)
    partial.replace(target)
    return target


# --- the agent --------------------------------------------------------------------------------


def agent_modules() -> list[Path]:
    """The source files of the agent: every module of its entry packages and every agentlink
    module they import, anywhere in a file (imports inside functions included), found by
    reading the sources. Import-linter keeps core, the database and Qt out of them."""
    wanted = [path for root in AGENT_ROOTS for path in _package_dir(root).rglob("*.py")]
    seen: set[Path] = set()
    while wanted:
        path = wanted.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in _imported_modules(path):
            if name.split(".")[0] == "agentlink":
                wanted.extend(_module_files(name))
    return sorted(seen)


def _package_dir(dotted: str) -> Path:
    return ROOT.joinpath(*dotted.split("."))


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _module_files(dotted: str) -> list[Path]:
    """The files importing `dotted` loads: each enclosing package's __init__ and the module."""
    parts = dotted.split(".")
    files = []
    for depth in range(1, len(parts) + 1):
        base = ROOT.joinpath(*parts[:depth])
        if (base / "__init__.py").is_file():
            files.append(base / "__init__.py")
        elif base.with_suffix(".py").is_file():
            files.append(base.with_suffix(".py"))
    return files


def agent_pins(dependencies: list[str]) -> list[str]:
    """The desktop's pins of the agent's packages (Twisted with its TLS extra)."""
    pins = []
    for requirement in AGENT_REQUIREMENTS:
        pin = next(
            (
                d
                for d in dependencies
                if d.split("[")[0].split("=")[0].lower() == requirement.lower()
            ),
            None,
        )
        if pin is None:
            raise SystemExit(f"pyproject.toml no longer depends on {requirement}: update build.py")
        pins.append(pin)
    return pins


def agent_wheel(work: Path, dist: Path, version: str, pins: list[str]) -> Path:
    stage = work / "agent"
    shutil.rmtree(stage, ignore_errors=True)
    for source in agent_modules():
        target = stage / source.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)
    shutil.copy(ROOT / "agentlink/daemon/chroma-agent.service", stage / "agentlink/daemon")
    requirements = "".join(f"    {json.dumps(pin)},\n" for pin in pins)
    (stage / "pyproject.toml").write_text(
        AGENT_PYPROJECT.replace("@VERSION@", version).replace("@REQUIREMENTS@\n", requirements)
    )
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--wheel-dir",
            str(dist),
            str(stage),
        ]
    )
    return dist / f"chroma_agent-{version}-py3-none-any.whl"


def agent_tarball(wheel: Path, work: Path, dist: Path, version: str, pins: list[str]) -> Path:
    name = f"chroma-agent-{version}-server"
    stage = work / name
    shutil.rmtree(stage, ignore_errors=True)
    wheels = stage / "wheels"
    wheels.mkdir(parents=True)
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--only-binary=:all:",
            "--dest",
            str(wheels),
            *pins,
        ]
    )
    shutil.copy(wheel, wheels)
    (wheels / "PLATFORM").write_text(
        f"CPython {platform.python_version_tuple()[0]}.{platform.python_version_tuple()[1]} "
        f"on Linux {platform.machine()}\n"
    )
    shutil.copy(PACKAGING / "install-agent.sh", stage / "install-agent.sh")
    return _tarball(stage, dist / f"{name}.tar.gz")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="where to put them")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "dist", help="scratch")
    options = parser.parse_args()
    started = time.monotonic()
    meta = project()
    version = str(meta["version"])
    dependencies = list(meta["dependencies"])  # type: ignore[call-overload]
    shutil.rmtree(options.work, ignore_errors=True)
    options.work.mkdir(parents=True)
    options.dist.mkdir(parents=True, exist_ok=True)

    bundle = build_bundle(options.work)
    bundle_mb = megabytes(bundle)
    desktop = desktop_tarball(bundle, options.work, options.dist, version)
    pins = agent_pins(dependencies)
    wheel = agent_wheel(options.work, options.dist, version, pins)
    server = agent_tarball(wheel, options.work, options.dist, version, pins)

    print(f"bundle    {bundle_mb:7.1f} MB  (the installed program's folder)")
    for artefact in (desktop, wheel, server):
        print(f"{artefact.name}  {megabytes(artefact):.1f} MB")
    print(f"built in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
