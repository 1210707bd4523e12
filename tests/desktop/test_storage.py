"""Storage budgets: the settings file that keeps them, the history stores that honour them, and
the Storage screen where the admin reads what is kept and changes them."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chroma_desktop.bridge import Bridge
from chroma_desktop.history import History
from chroma_desktop.settings import (
    GIB,
    DesktopSettings,
    SettingsError,
    StorageBudgets,
    load_settings,
    save_settings,
    settings_path,
)
from chroma_desktop.views.base import AppContext
from core.errors import ValidationError
from stats.logs import LogStore
from stats.logs.store import BLOCK_LINES
from tests.desktop.conftest import WAIT_S, Site

DAY = 86_400


# --- the settings file ------------------------------------------------------------------------


def test_without_a_settings_file_the_defaults_bound_the_history(tmp_path: Path) -> None:
    loaded = load_settings(tmp_path)
    assert loaded.problem is None
    budgets = loaded.settings.budgets
    assert budgets.stats_bytes == 20 * GIB
    assert budgets.log_bytes == 10 * GIB
    assert budgets.log_days == 90


def test_saved_budgets_are_read_back(tmp_path: Path) -> None:
    chosen = DesktopSettings(StorageBudgets(stats_bytes=None, log_bytes=3 * GIB, log_days=7))
    save_settings(tmp_path, chosen)
    assert load_settings(tmp_path) == type(load_settings(tmp_path))(chosen)
    assert not list(tmp_path.glob(".*partial"))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{not json", "Expecting property name"),
        ('{"format": 1, "budgets": {"log_days": "ninety"}}', "budgets.log_days is 'ninety'"),
        ('{"format": 1, "budgets": {"log_days": -3}}', "log age -3 is not valid"),
        ('{"format": 7}', "this version reads format 1"),
        ("[]", "not a JSON object"),
    ],
)
def test_a_damaged_settings_file_is_kept_aside_and_the_defaults_apply(
    tmp_path: Path, text: str, reason: str
) -> None:
    settings_path(tmp_path).write_text(text)
    loaded = load_settings(tmp_path)
    assert loaded.settings == DesktopSettings()
    assert loaded.problem is not None
    assert reason in loaded.problem.message
    kept = list(tmp_path.glob("settings.json.damaged-*"))
    assert len(kept) == 1 and kept[0].read_text() == text
    assert kept[0].name in (loaded.problem.hint or "")


def test_budgets_below_the_floor_are_refused_with_the_rule() -> None:
    with pytest.raises(ValidationError, match="log budget 1000 is not valid: give at least 1 MiB"):
        StorageBudgets(log_bytes=1000)
    with pytest.raises(ValidationError, match="log age 0 is not valid"):
        StorageBudgets(log_days=0)


def test_a_settings_file_that_cannot_be_written_says_where(tmp_path: Path) -> None:
    blocked = tmp_path / "config"
    blocked.write_text("a file where the settings directory should be")
    with pytest.raises(SettingsError, match=f"cannot be saved to {blocked}"):
        save_settings(blocked, DesktopSettings())
    assert blocked.read_text() == "a file where the settings directory should be"


# --- the history stores keep within the budgets -----------------------------------------------


def _old_and_new_lines(data: Path) -> None:
    """A block of syslog from 100 days ago and ten lines from now, as the log store keeps them."""
    now = time.time()
    store = LogStore(data / "logs" / "logs.sqlite")
    try:
        old = [
            {"t": now - 100 * DAY + i, "severity": 6, "facility": "kern", "source": "kernel",
             "message": f"Lustre: old line {i}"}
            for i in range(BLOCK_LINES)
        ]  # fmt: skip
        store.append("oss1", old)
        store.append(
            "oss1",
            [
                {
                    "t": now + i,
                    "severity": 6,
                    "facility": "kern",
                    "source": "kernel",
                    "message": "new",
                }
                for i in range(10)
            ],
        )
    finally:
        store.close()


@pytest.fixture
def history(tmp_path: Path) -> Iterator[History]:
    _old_and_new_lines(tmp_path / "data")
    opened = History(
        tmp_path / "data",
        budgets=StorageBudgets(log_days=None),
        settings_dir=tmp_path / "config",
    )
    opened.ready.result(timeout=WAIT_S)
    yield opened
    opened.close()


def test_new_budgets_drop_the_oldest_history_and_are_kept_for_the_next_start(
    tmp_path: Path, history: History
) -> None:
    before = history.storage().result(timeout=WAIT_S)
    assert before.logs is not None and before.logs.lines == BLOCK_LINES + 10
    assert before.stats is not None

    after = history.set_budgets(StorageBudgets(log_days=30)).result(timeout=WAIT_S)

    assert after.logs is not None and after.logs.lines == 10
    assert after.logs.oldest_t is not None and after.logs.oldest_t > time.time() - DAY
    saved = json.loads(settings_path(tmp_path / "config").read_text())
    assert saved["budgets"]["log_days"] == 30
    assert load_settings(tmp_path / "config").settings.budgets == StorageBudgets(log_days=30)


def test_budgets_that_cannot_be_saved_change_nothing(tmp_path: Path, history: History) -> None:
    (tmp_path / "config").write_text("a file where the settings directory should be")
    with pytest.raises(SettingsError):
        history.set_budgets(StorageBudgets(log_days=30)).result(timeout=WAIT_S)
    readout = history.storage().result(timeout=WAIT_S)
    assert readout.logs is not None and readout.logs.lines == BLOCK_LINES + 10
    assert readout.budgets.log_days is None


# --- the Storage screen -----------------------------------------------------------------------


@pytest.fixture
def storage_view(qtbot: Any, site: Site, history: History, qt_leak_check: None) -> Any:
    from chroma_desktop.views.storage import StorageView

    view = StorageView(AppContext(site.manager, Bridge(), actor="alice", history=history))
    qtbot.addWidget(view)
    view.show()
    qtbot.waitUntil(lambda: "lines take" in view.logs_summary.text(), timeout=int(WAIT_S * 1000))
    return view


def test_the_storage_screen_reads_out_what_is_kept_and_applies_new_budgets(
    qtbot: Any, tmp_path: Path, storage_view: Any
) -> None:
    view = storage_view
    assert f"{BLOCK_LINES + 10:,} lines take" in view.logs_summary.text()
    assert view.stats_summary.text().startswith("Stats use")
    assert view.tiers.record(0).name == "raw"
    assert view.stats_budget.value() == pytest.approx(20.0)
    assert view.logs_age.value() is None

    view.logs_age.enabled.setChecked(True)
    view.logs_age.amount.setValue(30)
    view.apply.click()
    qtbot.waitUntil(
        lambda: view.status.text() == "Budgets saved and applied.", timeout=int(WAIT_S * 1000)
    )

    assert view.logs_summary.text().startswith("10 lines take")
    assert load_settings(tmp_path / "config").settings.budgets.log_days == 30


def test_the_storage_screen_says_why_a_budget_is_refused(qtbot: Any, storage_view: Any) -> None:
    view = storage_view
    view.logs_budget.enabled.setChecked(True)
    view.logs_budget.amount.setValue(0.0)
    view.apply.click()
    assert "log budget 0 is not valid: give at least 1 MiB" in view.status.text()
    assert view.apply.isEnabled()
