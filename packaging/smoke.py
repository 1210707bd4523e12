"""`make dist-test`: install what `make dist` built and use it as an admin would.

Layer: packaging (a test of the built artefacts, run with the project's venv inside a D-Bus
session of its own: `dbus-run-session -- python packaging/smoke.py`). Thread: the main thread.
Everything happens in a scratch directory, with a fresh HOME and CHROMA_HOME, and talks only to
127.0.0.1:

1. install.sh installs the desktop tarball under a prefix: the commands, the menu entry (checked
   with desktop-file-validate) and the icons; `--version` of both commands gives pyproject's.
2. install-agent.sh installs the server tarball (offline, from its wheels) into a virtualenv;
   its `install-service` writes a unit that systemd-analyze accepts; `chroma-agent pair` prints
   a token and `chroma-agent serve` listens on loopback.
3. The installed `chroma-desktop` starts on Xvfb with a real keyring (gnome-keyring's
   SecretService, unlocked for the test) and a fresh CHROMA_HOME; its main window must be
   mapped. The installed `chroma` then pairs, through the window's own API, one server of the
   simulator and the installed agent (whose pre-flight checks must first refuse it for want of
   Lustre on this workstation, then `--force` pairs it); both must report in, with the agent's
   version in its hello, and the bundled storage plugins must turn the simulated server's
   devices into volumes.
4. SIGTERM ends the window with status 0 and no traceback in its log; uninstall.sh removes
   every installed file and leaves the admin's data.

Prints what it checks, then one JSON line of figures (sizes, start and pairing times). Exits 1
with the reason on the first failure, keeping the scratch directory for a look.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "dist"
VENV_BIN = Path(sys.executable).parent
SIMULATOR_TOKEN = "K7QPM-2HX9D-RW4TA-0JN3E"
WINDOW_TITLE = "Chroma Desktop"
WAIT_S = 60.0


class SmokeFailure(Exception):
    pass


def check(condition: object, what: str) -> None:
    if not condition:
        raise SmokeFailure(what)


def wait_until(test: Callable[[], Any], what: str, timeout_s: float = WAIT_S) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        result = test()
        if result:
            return result
        if time.monotonic() > deadline:
            raise SmokeFailure(f"gave up after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.05)


def say(line: str) -> None:
    print(f"dist-test: {line}", flush=True)


class Smoke:
    def __init__(self, scratch: Path, version: str) -> None:
        self.scratch = scratch
        self.version = version
        self.processes: list[subprocess.Popen[bytes]] = []
        home = scratch / "home"
        runtime = scratch / "run"
        for folder in (home, runtime):
            folder.mkdir(mode=0o700)
        self.env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("CHROMA_", "QT_", "XDG_", "PYTHON"))
        }
        self.env.update(
            HOME=str(home),
            XDG_CONFIG_HOME=str(home / ".config"),
            XDG_DATA_HOME=str(home / ".local/share"),
            XDG_CACHE_HOME=str(home / ".cache"),
            XDG_RUNTIME_DIR=str(runtime),
            CHROMA_HOME=str(scratch / "chroma-home"),
        )
        self.figures: dict[str, float] = {}

    # -- helpers -------------------------------------------------------------------------------

    def attempt(
        self, *command: str | Path | int, timeout_s: float = WAIT_S
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(part) for part in command],
            cwd=self.scratch,  # not the source tree, whose packages Python would find there
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )

    def run(self, *command: str | Path | int, timeout_s: float = WAIT_S) -> str:
        done = self.attempt(*command, timeout_s=timeout_s)
        if done.returncode != 0:
            raise SmokeFailure(
                f"`{' '.join(map(str, command))}` exited {done.returncode}:\n"
                f"{done.stdout}{done.stderr}"
            )
        return done.stdout

    def start(
        self, *command: str | Path | int, log: str, **options: Any
    ) -> subprocess.Popen[bytes]:
        with (self.scratch / log).open("wb") as out:
            process = subprocess.Popen(
                [str(part) for part in command],
                cwd=self.scratch,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                **options,
            )
        self.processes.append(process)
        return process

    def stop_all(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

    # -- the steps -----------------------------------------------------------------------------

    def install_desktop(self) -> Path:
        tarball = _artefact(f"chroma-desktop-{self.version}-linux-*.tar.gz")
        self.figures["desktop_tarball_mb"] = round(tarball.stat().st_size / 1e6, 1)
        with tarfile.open(tarball) as tar:
            tar.extractall(self.scratch / "unpacked", filter="tar")
        (unpacked,) = (self.scratch / "unpacked").iterdir()
        prefix = self.scratch / "prefix"
        printed = self.run(unpacked / "install.sh", "--prefix", prefix)
        say(printed.splitlines()[0])
        app = prefix / "lib/chroma-desktop"
        self.figures["bundle_mb"] = round(
            sum(f.stat().st_size for f in app.rglob("*") if f.is_file() and not f.is_symlink())
            / 1e6,
            1,
        )
        for command in ("chroma-desktop", "chroma"):
            link = prefix / "bin" / command
            check(link.resolve() == app / "chroma-desktop", f"{link} does not run the bundle")
            started = time.monotonic()
            answer = self.run(link, "--version").strip()
            self.figures[f"{command.replace('-', '_')}_version_s"] = round(
                time.monotonic() - started, 2
            )
            check(answer == f"{command} {self.version}", f"{command} --version said {answer!r}")
        entry = prefix / "share/applications/chroma-desktop.desktop"
        check(f"Exec={prefix}/bin/chroma-desktop\n" in entry.read_text(), f"{entry}: wrong Exec")
        if shutil.which("desktop-file-validate"):
            self.run("desktop-file-validate", entry)
        for icon in ("256x256/apps/chroma-desktop.png", "scalable/apps/chroma-desktop.svg"):
            check((prefix / "share/icons/hicolor" / icon).is_file(), f"icon {icon} missing")
        say(f"installed the desktop: {self.figures['bundle_mb']} MB under {prefix}")
        return prefix

    def install_agent(self) -> tuple[str, int]:
        wheel = _artefact(f"chroma_agent-{self.version}-py3-none-any.whl")
        tarball = _artefact(f"chroma-agent-{self.version}-server.tar.gz")
        self.figures["agent_wheel_kb"] = round(wheel.stat().st_size / 1e3)
        self.figures["agent_tarball_mb"] = round(tarball.stat().st_size / 1e6, 1)
        with tarfile.open(tarball) as tar:
            tar.extractall(self.scratch / "agent-unpacked", filter="tar")
        (unpacked,) = (self.scratch / "agent-unpacked").iterdir()
        prefix = self.scratch / "agent"
        self.run(unpacked / "install-agent.sh", "--prefix", prefix, "--no-systemd")
        agent = prefix / "bin/chroma-agent"
        answer = self.run(agent, "--version").strip()
        check(answer == f"chroma-agent {self.version}", f"chroma-agent --version said {answer!r}")
        # The agent's own Python must not see the desktop's packages.
        self.run(
            prefix / "bin/python",
            "-c",
            "import importlib.util as u, sys; "
            "sys.exit(any(u.find_spec(m) for m in ('core', 'PySide6', 'sqlalchemy')))",
        )
        units = self.scratch / "units"
        units.mkdir()
        state = self.scratch / "agent-state"
        self.run(agent, "install-service", "--unit-dir", units, "--state-dir", state)
        unit = (units / "chroma-agent.service").read_text()
        check(f"ExecStart={agent} serve --state-dir {state}" in unit, "the unit's ExecStart")
        if shutil.which("systemd-analyze"):
            self.run("systemd-analyze", "verify", units / "chroma-agent.service")
        printed = self.run(agent, "pair", "--state-dir", state, "--hostname", "smoke-agent")
        match = re.search(r"Pairing token:\s+(\S+)", printed)
        check(match, f"chroma-agent pair printed no token:\n{printed}")
        assert match is not None
        port = _free_ports(1)
        self.start(
            agent, "serve", "--state-dir", state, "--listen", "127.0.0.1", "--port", port,
            "--no-announce", "--hostname", "smoke-agent", log="agent.log",
        )  # fmt: skip
        wait_until(lambda: _listening(port), "the installed agent to listen")
        say(f"installed the agent ({answer}) and started it on 127.0.0.1:{port}")
        return match.group(1), port

    def start_simulator(self) -> int:
        port = _free_ports(2)
        self.start(
            VENV_BIN / "chroma-agent", "simulate", "--servers", "2",
            "--state-dir", self.scratch / "simulator", "--port-base", port,
            "--pairing-token", SIMULATOR_TOKEN, "--no-announce", log="simulator.log",
        )  # fmt: skip
        wait_until(lambda: _listening(port), "the simulator to listen")
        return port

    def start_screen_and_keyring(self) -> None:
        check(os.environ.get("DBUS_SESSION_BUS_ADDRESS"), "no D-Bus session: run me under "
              "`dbus-run-session -- python packaging/smoke.py` (make dist-test does)")  # fmt: skip
        keyring = subprocess.run(
            ["gnome-keyring-daemon", "--unlock", "--components=secrets"],
            input=b"dist-test",
            env=self.env,
            capture_output=True,
            timeout=30,
            check=False,
        )
        check(keyring.returncode == 0, f"gnome-keyring-daemon: {keyring.stderr.decode()}")
        read, write = os.pipe()
        self.start(
            "Xvfb", "-displayfd", str(write), "-screen", "0", "1280x800x24", "-nolisten", "tcp",
            log="xvfb.log", pass_fds=(write,),
        )  # fmt: skip
        os.close(write)
        with os.fdopen(read) as pipe:
            display = pipe.readline().strip()
        check(display.isdigit(), "Xvfb did not say which display it opened")
        self.env["DISPLAY"] = f":{display}"

    def window_opens(self, prefix: Path) -> subprocess.Popen[bytes]:
        started = time.monotonic()
        window = self.start(prefix / "bin/chroma-desktop", log="window.log")
        wait_until(lambda: window.poll() is not None or self._window_viewable(), "the main window")
        check(window.poll() is None, f"chroma-desktop exited {window.returncode} at start")
        self.figures["launch_to_window_ms"] = round(1e3 * (time.monotonic() - started))
        discovery = Path(self.env["CHROMA_HOME"]) / "data/manager.json"
        wait_until(discovery.exists, "the window's API to be announced")
        self.figures["launch_to_api_ms"] = round(1e3 * (time.monotonic() - started))
        say(f"the window is mapped after {self.figures['launch_to_window_ms']} ms")
        return window

    def _window_viewable(self) -> bool:
        shown = subprocess.run(
            ["xwininfo", "-name", WINDOW_TITLE],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        return shown.returncode == 0 and "Map State: IsViewable" in shown.stdout

    def pair(self, prefix: Path, address: str, token: str, name: str) -> None:
        started = time.monotonic()
        force = []
        if name == "smoke-agent":  # a real agent on this workstation, which has no Lustre
            refused = self.attempt(prefix / "bin/chroma", "server-add", address, "--token", token)
            check(
                refused.returncode == 1 and "checks failed: lustre" in refused.stderr,
                f"the pre-flight checks did not refuse a server without Lustre:\n"
                f"{refused.stdout}{refused.stderr}",
            )
            say("the pre-flight checks refused the agent (no Lustre here); pairing it anyway")
            force = ["--force"]  # its token is still good
        printed = self.run(prefix / "bin/chroma", "server-add", address, "--token", token, *force)
        check(f"paired {name}" in printed, f"server-add {address} printed:\n{printed}")

        def reported() -> dict[str, Any] | None:
            hosts = json.loads(self.run(prefix / "bin/chroma", "server-list", "--json"))
            host = next((h for h in hosts if h["label"] == name), None)
            return host if host and host["last_contact"] else None

        host = wait_until(reported, f"{name} to report in")
        key = "pair_agent_ms" if name == "smoke-agent" else "pair_simulated_ms"
        self.figures[key] = round(1e3 * (time.monotonic() - started))
        check(host["paired"], f"{name} is not shown paired")
        say(f"paired {name} and heard from it (agent {host['agent_version']})")
        if name == "smoke-agent":
            check(host["agent_version"] == self.version, "the agent's hello gave another version")
        else:  # the bundled storage plugins turn its device report into volumes

            def volumes() -> list[dict[str, Any]]:
                listed = json.loads(self.run(prefix / "bin/chroma", "volume-list", "--json"))
                return [v for v in listed if name in v["servers"]]

            found = wait_until(volumes, f"volumes of {name}")
            say(f"the storage plugins found {len(found)} volumes on {name}")

    def window_quits(self, window: subprocess.Popen[bytes]) -> None:
        window.send_signal(signal.SIGTERM)
        status = window.wait(30)
        check(status == 0, f"chroma-desktop exited {status} on SIGTERM")
        check(not (Path(self.env["CHROMA_HOME"]) / "data/manager.json").exists(),
              "the API's announcement outlived the window")  # fmt: skip
        logs = "".join(p.read_text() for p in (Path(self.env["CHROMA_HOME"]) / "logs").iterdir())
        printed = (self.scratch / "window.log").read_text()
        check("Traceback" not in logs + printed, f"a traceback was logged:\n{logs}{printed}")
        say("SIGTERM closed the window cleanly")

    def uninstall(self, prefix: Path) -> None:
        self.run(prefix / "lib/chroma-desktop/uninstall.sh")
        caches = ("mimeinfo.cache", "icon-theme.cache")  # the desktop's indexes, rebuilt
        left = [p for p in prefix.rglob("*") if not p.is_dir() and p.name not in caches]
        check(not left, f"uninstall.sh left {left}")
        check((Path(self.env["CHROMA_HOME"]) / "data/chroma.db").is_file(), "data was removed")
        say("uninstall.sh removed every installed file and kept the data")


def _artefact(pattern: str) -> Path:
    found = sorted(DIST.glob(pattern))
    check(found, f"dist/{pattern} is missing: run `make dist` first")
    return found[-1]


def _free_ports(count: int) -> int:
    """The first of `count` consecutive free ports on 127.0.0.1."""
    for _ in range(100):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base: int = probe.getsockname()[1]
        if base + count < 65536 and all(_bindable(base + i) for i in range(count)):
            return base
    raise SmokeFailure("no free ports on 127.0.0.1")


def _bindable(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def main() -> int:
    with (ROOT / "pyproject.toml").open("rb") as file:
        version = tomllib.load(file)["project"]["version"]
    scratch = Path(tempfile.mkdtemp(prefix="chroma-dist-test-"))
    smoke = Smoke(scratch, version)
    started = time.monotonic()
    try:
        prefix = smoke.install_desktop()
        agent_token, agent_port = smoke.install_agent()
        simulator_port = smoke.start_simulator()
        smoke.start_screen_and_keyring()
        window = smoke.window_opens(prefix)
        smoke.pair(prefix, f"127.0.0.1:{simulator_port}", SIMULATOR_TOKEN, "sim-mds1")
        smoke.pair(prefix, f"127.0.0.1:{agent_port}", agent_token, "smoke-agent")
        smoke.window_quits(window)
        smoke.uninstall(prefix)
    except (SmokeFailure, subprocess.TimeoutExpired) as failure:
        smoke.stop_all()
        print(f"dist-test: FAILED: {failure}", file=sys.stderr)
        print(f"dist-test: the scratch directory is kept: {scratch}", file=sys.stderr)
        return 1
    smoke.stop_all()
    shutil.rmtree(scratch, ignore_errors=True)
    smoke.figures["total_s"] = round(time.monotonic() - started, 1)
    print(json.dumps(smoke.figures, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
