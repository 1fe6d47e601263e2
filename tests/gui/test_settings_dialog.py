"""Settings dialog: inline validation, persistence, live apply to a running engine, theme."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QLineEdit
from pytestqt.qtbot import QtBot

from aipopup.app import paths
from aipopup.core.engine import Engine
from aipopup.core.settings import SCHEMA_VERSION, Settings
from aipopup.gui.settings_dialog import SettingsDialog
from aipopup.gui.theme import apply_theme


@pytest.fixture
def profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for var, sub in (("AIPOPUP_STATE_DIR", "state"), ("AIPOPUP_CONFIG_DIR", "config"),
                     ("AIPOPUP_LOG_DIR", "logs")):
        monkeypatch.setenv(var, str(tmp_path / sub))
    return tmp_path


@pytest.fixture
def settings(profile: Path) -> Settings:
    return Settings.load(paths.settings_file())


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = Engine(paths.state_dir(), settings=settings, start_existing=False)
    yield engine
    engine.close()


@pytest.fixture(autouse=True)
def restore_theme(qapp: QApplication) -> Iterator[None]:
    yield
    apply_theme("system", qapp)


def line(dialog: SettingsDialog, name: str) -> QLineEdit:
    edit = dialog.form.field(name).line
    assert edit is not None
    return edit


def make_dialog(qtbot: QtBot, settings: Settings) -> SettingsDialog:
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_bad_value_shows_inline_error_and_disables_ok(qtbot: QtBot, settings: Settings) -> None:
    dialog = make_dialog(qtbot, settings)
    assert dialog.ok_button.isEnabled()
    with qtbot.waitSignal(dialog.form.validityChanged):
        line(dialog, "workers").setText("0")
    error = dialog.form.field("workers").error_label
    assert error.isVisible() and "at least 1" in error.text()
    assert not dialog.ok_button.isEnabled()
    assert not dialog.apply_button.isEnabled()
    line(dialog, "workers").setText("3")
    assert dialog.ok_button.isEnabled()
    assert not error.isVisible()


def test_saved_json_is_reloaded(qtbot: QtBot, settings: Settings) -> None:
    dialog = make_dialog(qtbot, settings)
    line(dialog, "retries").setText("7")
    line(dialog, "task_timeout").setText("120")
    check = dialog.form.field("close_to_tray").check
    assert check is not None
    check.setChecked(False)
    with qtbot.waitSignal(dialog.accepted):
        dialog.ok_button.click()
    saved = json.loads(paths.settings_file().read_text(encoding="utf-8"))
    assert saved["schema_version"] == SCHEMA_VERSION
    assert saved["values"]["retries"] == 7
    reloaded = Settings.load(paths.settings_file())
    assert reloaded["retries"] == 7
    assert reloaded["task_timeout"] == 120.0
    assert reloaded["close_to_tray"] is False
    # a second dialog opens with what was saved
    again = make_dialog(qtbot, reloaded)
    assert line(again, "retries").text() == "7"


def test_cancel_changes_nothing(qtbot: QtBot, settings: Settings) -> None:
    dialog = make_dialog(qtbot, settings)
    line(dialog, "retries").setText("9")
    dialog.reject()
    assert settings["retries"] == 3
    assert not paths.settings_file().exists()


def test_worker_count_applies_to_running_scheduler(qtbot: QtBot, engine: Engine) -> None:
    dialog = make_dialog(qtbot, engine.settings)
    line(dialog, "workers").setText("5")
    line(dialog, "net_workers").setText("2")
    assert dialog.apply()
    limits = engine.scheduler._limits  # no public accessor in core yet
    assert limits["cpu"] == 5 and limits["net"] == 2
    assert engine.settings["workers"] == 5


def test_theme_switches_live(qtbot: QtBot, qapp: QApplication, settings: Settings) -> None:
    dialog = make_dialog(qtbot, settings)
    combo = dialog.form.field("theme").combo
    assert combo is not None
    combo.setCurrentIndex(combo.findData("dark"))
    assert dialog.apply()
    assert qapp.palette().color(QPalette.ColorRole.Window).lightness() < 128
    combo.setCurrentIndex(combo.findData("light"))
    assert dialog.apply()
    assert qapp.palette().color(QPalette.ColorRole.Window).lightness() > 128


def test_advanced_settings_folded_away(qtbot: QtBot, settings: Settings) -> None:
    dialog = make_dialog(qtbot, settings)
    assert dialog.form.field("workers").isVisible()
    assert not dialog.form.field("pixel_limit_mp").isVisible()
