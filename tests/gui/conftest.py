"""GUI fixtures: every test gets its own state, config and log folders, a real engine on the
GUI's QThreadPool executor, and a real main window; all are closed (and checked) afterwards."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from pytestqt.qtbot import QtBot

from aipopup.core.engine import Engine
from aipopup.core.settings import Settings
from aipopup.gui.executor import QtExecutor
from aipopup.gui.main_window import MainWindow


@pytest.fixture(autouse=True)
def isolated_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Nothing a GUI test does may reach the real user's folders."""
    profile = tmp_path / "profile"
    for name, sub in (("AIPOPUP_STATE_DIR", "state"), ("AIPOPUP_CONFIG_DIR", "config"),
                      ("AIPOPUP_LOG_DIR", "logs")):
        (profile / sub).mkdir(parents=True)
        monkeypatch.setenv(name, str(profile / sub))
    return profile


@pytest.fixture
def photos(tmp_path: Path, testdata: Path) -> Path:
    """Real test photos copied into a folder of their own (with one sub-folder)."""
    folder = tmp_path / "photos"
    (folder / "more").mkdir(parents=True)
    jpgs = sorted((testdata / "faces").glob("*.jpg"))
    for source in jpgs[:4]:
        shutil.copy2(source, folder / source.name)
    for source in jpgs[4:6]:
        shutil.copy2(source, folder / "more" / source.name)
    return folder


@pytest.fixture
def big_photo(tmp_path: Path, testdata: Path) -> Path:
    """A real photo enlarged to 24 MP, so converting it takes long enough to be seen running."""
    source = sorted((testdata / "faces").glob("*.jpg"))[0]
    target = tmp_path / "big" / "big.jpg"
    target.parent.mkdir()
    with Image.open(source) as image:
        image.convert("RGB").resize((6000, 4000)).save(target, quality=95)
    return target


@pytest.fixture
def settings() -> Settings:
    return Settings(values={"workers": 1, "retries": 1})


@pytest.fixture
def engine(isolated_profile: Path, settings: Settings) -> Iterator[Engine]:
    executor = QtExecutor()
    opened = Engine(isolated_profile / "state", settings=settings, executor=executor,
                    start_existing=False, durable=False)
    yield opened
    assert opened.close(5.0), "a task did not stop within 5 s of close"
    assert executor.pool.activeThreadCount() == 0


@pytest.fixture
def window(qtbot: QtBot, engine: Engine, settings: Settings) -> Iterator[MainWindow]:
    win = MainWindow(settings)
    qtbot.addWidget(win)
    win.attach(engine)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.shutdown()
    assert win.runner.pool.activeThreadCount() == 0 and win.control.pool.activeThreadCount() == 0
