"""Open a file or its folder with the desktop's default application. Called through the
background runner: launching a helper process is not work for the GUI thread."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def open_path(path: str) -> None:
    target = Path(path)
    if not target.exists():
        raise FileNotFoundError(f"{path} does not exist (moved or deleted?)")
    if sys.platform == "win32":
        os.startfile(target)  # type: ignore[attr-defined,unused-ignore]
    elif sys.platform == "darwin":
        subprocess.Popen(["open", str(target)])
    else:
        subprocess.Popen(["xdg-open", str(target)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def show_in_folder(path: str) -> None:
    target = Path(path)
    if sys.platform == "win32" and target.exists():
        subprocess.Popen(["explorer", "/select,", str(target)])
    elif sys.platform == "darwin" and target.exists():
        subprocess.Popen(["open", "-R", str(target)])
    else:
        open_path(str(target.parent if not target.is_dir() else target))
