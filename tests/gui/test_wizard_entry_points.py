"""The ways into the batch wizard other than a drop (issue #6): `aipopup gui FILES...` and the
"Add files" button both open it pre-filled with those files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QFileDialog, QWidget
from pytestqt.qtbot import QtBot

from aipopup.core.settings import Settings
from aipopup.gui.main import Session
from aipopup.gui.main_window import MainWindow

WAIT_MS = 20_000


@pytest.fixture
def session(qapp: QApplication, photos: Path, isolated_profile: Path) -> Iterator[Session]:
    """What `aipopup gui PHOTOS` starts (run_gui without the event loop and single-instance
    services): the window, then the engine opened off-thread, then the inputs."""
    started = Session(qapp, Settings(values={"workers": 1}), [str(photos)])
    started.start()
    yield started
    started.shutdown()


def test_files_on_the_command_line_open_the_wizard_once_the_engine_is_up(
        qtbot: QtBot, session: Session, photos: Path) -> None:
    qtbot.waitUntil(lambda: session.window.batch_wizard is not None, timeout=WAIT_MS)
    wizard = session.window.batch_wizard
    assert wizard is not None and session.engine is not None
    assert wizard.choices.inputs == [str(photos)]
    qtbot.waitUntil(wizard.isVisible, timeout=WAIT_MS)
    qtbot.waitUntil(wizard.inputs_page.isComplete, timeout=WAIT_MS)
    assert wizard.choices.scan is not None and len(wizard.choices.scan.files) == 6


def test_add_files_opens_the_wizard_with_the_chosen_files(
        qtbot: QtBot, window: MainWindow, photos: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    chosen = [str(p) for p in sorted(photos.glob("*.jpg"))[:2]]
    asked: list[str] = []

    def pick(parent: QWidget, title: str, *_args: object) -> tuple[list[str], str]:
        asked.append(title)  # the modal file dialog is Qt's, not ours: the person picks two photos
        return chosen, ""

    monkeypatch.setattr(QFileDialog, "getOpenFileNames", staticmethod(pick))
    window.actions_.add_files.trigger()
    assert asked == ["Add files"]
    wizard = window.batch_wizard
    assert wizard is not None and wizard.choices.inputs == chosen
    qtbot.waitUntil(wizard.inputs_page.isComplete, timeout=WAIT_MS)
    assert wizard.choices.scan is not None and wizard.choices.scan.files == chosen
