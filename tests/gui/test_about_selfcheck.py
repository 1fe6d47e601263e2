"""Help > About and Help > Run self-check on the real main window: the version shown is the
package's, and the self-check runs the real checks off the GUI thread and reports them."""

from __future__ import annotations

import functools
import sys
import tempfile
from pathlib import Path

import pytest
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

import aipopup
from aipopup.app import paths, selfcheck
from aipopup.gui import desktop
from aipopup.gui.about_dialog import AboutDialog, app_icon
from aipopup.gui.main_window import MainWindow
from aipopup.gui.selfcheck_dialog import SelfCheckDialog


def _leftover_check_folders() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("aipopup-selfcheck-*")}


def test_help_menu_is_on_the_menu_bar(window: MainWindow) -> None:
    titles = [a.text() for a in window.menuBar().actions()]
    assert "&Help" in titles
    assert [a.objectName() for a in window.help_menu.actions()] == [
        "actionSelfCheck", "actionOpenLogFolder", "actionAbout"]


def test_open_log_folder_launches_the_file_manager_on_the_log_folder(
        qtbot: QtBot, window: MainWindow) -> None:
    launched: list[list[str]] = []
    window.help_menu.open_folder = functools.partial(desktop.open_path, launch=launched.append)
    window.help_menu.log_folder.trigger()
    qtbot.waitUntil(lambda: bool(launched))
    opener = {"win32": "explorer", "darwin": "open"}.get(sys.platform, "xdg-open")
    assert launched == [[opener, str(paths.log_dir())]]


def test_about_shows_the_package_version(qtbot: QtBot, window: MainWindow) -> None:
    window.help_menu.about.trigger()
    dialog = window.findChild(AboutDialog)
    assert dialog is not None and dialog.isVisible()
    title = dialog.findChild(QLabel, "aboutTitle")
    assert title is not None and aipopup.__version__ in title.text()
    assert not app_icon().isNull(), "the icon that ships in the package did not load"
    dialog.copy_button.click()
    copied = QGuiApplication.clipboard().text()
    assert copied.startswith(f"AI Popup {aipopup.__version__}")
    assert "Logs:" in copied and "Settings:" in copied
    dialog.reject()


def test_self_check_runs_off_the_gui_thread_and_reports(qtbot: QtBot, window: MainWindow) -> None:
    before = _leftover_check_folders()
    window.help_menu.self_check.trigger()
    dialog = window.findChild(SelfCheckDialog)
    assert dialog is not None and dialog.isVisible()
    # The checks take a second or more; the dialog is up (and the event loop free) before then.
    assert dialog.report is None and dialog.busy.isVisible()
    with qtbot.waitSignal(dialog.finished_check, timeout=120_000) as blocker:
        pass
    report = blocker.args[0]
    assert isinstance(report, selfcheck.Report)
    assert report.ok, report.text()
    text = dialog.output.toPlainText()
    assert text.endswith("self-check passed")
    for name, _check in selfcheck.CHECKS:
        assert f"ok    {name}" in text
    assert dialog.status.text() == "All checks passed."
    assert not dialog.busy.isVisible() and dialog.copy_button.isEnabled()
    assert _leftover_check_folders() == before, "the self-check left its temporary folder behind"
    dialog.reject()


def test_self_check_dialog_shows_a_failed_check(qtbot: QtBot, window: MainWindow,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    # A real failure: imageio-ffmpeg uses IMAGEIO_FFMPEG_EXE as given, so the video path breaks.
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", "/nonexistent/ffmpeg")
    dialog = SelfCheckDialog(window.runner, window)
    qtbot.addWidget(dialog)
    dialog.show()
    with qtbot.waitSignal(dialog.finished_check, timeout=120_000) as blocker:
        dialog.start()
    report = blocker.args[0]
    assert not report.ok
    failed = {r.name for r in report.results if not r.ok}
    assert {"ffmpeg", "video"} <= failed and "model" not in failed
    assert "FAIL  ffmpeg" in dialog.output.toPlainText()
    assert dialog.status.text().startswith("Some checks failed")
