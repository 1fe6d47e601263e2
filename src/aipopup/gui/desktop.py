"""Open a file or its folder with the desktop's default application. Called through the
background runner: launching a helper process is not work for the GUI thread."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

Launcher = Callable[[list[str]], object]


def _spawn(argv: list[str]) -> object:
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def open_path(path: str, launch: Launcher | None = None) -> None:
    """``launch`` gets the command line instead of it being started (tests: no file manager)."""
    target = Path(path)
    if not target.exists():
        raise FileNotFoundError(f"{path} does not exist (moved or deleted?)")
    if sys.platform == "win32" and launch is None:
        os.startfile(target)  # type: ignore[attr-defined,unused-ignore]
        return
    opener = {"win32": "explorer", "darwin": "open"}.get(sys.platform, "xdg-open")
    (launch or _spawn)([opener, str(target)])


def show_in_folder(path: str, launch: Launcher | None = None) -> None:
    target = Path(path)
    if sys.platform == "win32" and target.exists():
        (launch or _spawn)(["explorer", "/select,", str(target)])
    elif sys.platform == "darwin" and target.exists():
        (launch or _spawn)(["open", "-R", str(target)])
    else:
        open_path(str(target.parent if not target.is_dir() else target), launch)
