"""End-of-queue actions, on a real batch through the real engine: the command really runs (no
shell), quit is requested, the folder goes through the desktop helper; and nothing fires for an
idle queue that ran nothing."""

from __future__ import annotations

import functools
import shlex
import shutil
import sys
from pathlib import Path

from pytestqt.qtbot import QtBot

from aipopup.core.engine import Engine
from aipopup.core.planner import BatchRequest
from aipopup.core.settings import Settings
from aipopup.gui import desktop
from aipopup.gui.bridge import Update
from aipopup.gui.main_window import MainWindow
from aipopup.gui.when_done import WhenDone, command_line

WAIT_MS = 30_000


def when_done(window: MainWindow, engine: Engine, settings: Settings, **kwargs: object) -> WhenDone:
    assert window.bridge is not None
    return WhenDone(engine.scheduler, settings, window.bridge.updated, runner=window.runner,
                    parent=window, **kwargs)  # type: ignore[arg-type]


def run_batch(window: MainWindow, testdata: Path, tmp_path: Path) -> Path:
    source = tmp_path / "in" / "photo.jpg"
    source.parent.mkdir()
    shutil.copy2(sorted((testdata / "faces").glob("*.jpg"))[0], source)
    out = tmp_path / "out"
    window.submit(BatchRequest(op="convert", inputs=[str(source)], output_dir=str(out),
                               params={"format": "png"}))
    return out


def test_run_command_runs_the_argument_list_without_a_shell(
        qtbot: QtBot, window: MainWindow, engine: Engine, settings: Settings, testdata: Path,
        tmp_path: Path) -> None:
    marker = tmp_path / "done; echo not-a-shell.txt"  # a shell would split this name
    script = "import pathlib, sys; pathlib.Path(sys.argv[1]).write_text(sys.argv[2])"
    settings.update({"when_done": "run_command",
                     "when_done_command": shlex.join([sys.executable, "-c", script, str(marker)])
                     + " {output}"})
    done = when_done(window, engine, settings)
    fired: list[str] = []
    done.fired.connect(fired.append)
    with qtbot.waitSignal(done.fired, timeout=WAIT_MS):  # after the command has exited
        out = run_batch(window, testdata, tmp_path)
    assert marker.read_text() == str(out.resolve())
    assert fired == ["run_command"]


def test_quit_is_requested_when_the_queue_is_done(
        qtbot: QtBot, window: MainWindow, engine: Engine, settings: Settings, testdata: Path,
        tmp_path: Path) -> None:
    settings.update({"when_done": "quit"})
    done = when_done(window, engine, settings)
    with qtbot.waitSignal(done.quitRequested, timeout=WAIT_MS):
        run_batch(window, testdata, tmp_path)
    assert engine.scheduler.is_idle()
    assert [p.suffix for p in (tmp_path / "out").iterdir()] == [".png"]


def test_open_folder_goes_through_the_desktop_helper(
        qtbot: QtBot, window: MainWindow, engine: Engine, settings: Settings, testdata: Path,
        tmp_path: Path) -> None:
    settings.update({"when_done": "open_folder"})
    launched: list[list[str]] = []
    done = when_done(window, engine, settings,
                     open_folder=functools.partial(desktop.open_path, launch=launched.append))
    with qtbot.waitSignal(done.fired, timeout=WAIT_MS):
        out = run_batch(window, testdata, tmp_path)
    opener = {"win32": "explorer", "darwin": "open"}.get(sys.platform, "xdg-open")
    assert launched == [[opener, str(out.resolve())]]


def test_an_idle_queue_that_ran_nothing_fires_nothing(
        window: MainWindow, engine: Engine, settings: Settings) -> None:
    settings.update({"when_done": "quit"})
    done = when_done(window, engine, settings)
    fired: list[str] = []
    done.fired.connect(fired.append)
    done.on_update(Update(idle=True))
    assert fired == []


def test_the_command_is_split_like_a_shell_would_but_never_run_by_one() -> None:
    assert command_line("convert-all --to '{output}' -q", "/a b") == ["convert-all", "--to", "/a b", "-q"]
