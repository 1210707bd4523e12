# The two commands a newcomer needs are `make demo` and `make test`; both build .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv test lint typecheck layers pytest demo bench screenshots dist dist-test clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy
	$(BIN)/mypy packaging

layers: venv
	$(BIN)/lint-imports

pytest: venv
	QT_QPA_PLATFORM=offscreen $(BIN)/pytest -q

test: lint typecheck layers pytest

bench: venv
	bench/deps $(BIN)/python
	$(BIN)/python bench/scheduler.py --json
	$(BIN)/python bench/link.py --json
	$(BIN)/python bench/journal.py --json
	$(BIN)/python bench/stats.py --json
	$(BIN)/python bench/logs.py --json
	$(BIN)/python bench/gui.py --json

# The real window under Xvfb on the demo cluster, saved to docs/screenshots/*.png.
screenshots: venv
	xvfb-run -a -s "-screen 0 1600x1000x24" $(BIN)/python tools/screenshots.py

# The installer: the desktop bundle's tarball and the agent's wheel and server tarball, in dist/.
dist: venv
	packaging/deps $(BIN)/python
	$(BIN)/python packaging/build.py

# Installs dist/'s tarballs in a scratch directory and runs them: the window opens under Xvfb
# with a real keyring, and pairs a simulated server and the installed agent.
dist-test: venv
	packaging/deps $(BIN)/python
	dbus-run-session -- $(BIN)/python packaging/smoke.py

# The window when there is a display; otherwise the same demo, step by step, in the terminal.
demo: venv
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ]; then $(BIN)/chroma-desktop --demo; \
	else echo "No display: the demo runs in the terminal (xvfb-run make demo shows the window)."; \
	$(BIN)/chroma-desktop --demo --headless; fi

clean:
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache .hypothesis
