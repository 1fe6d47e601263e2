"""`aipopup` with no arguments: the window is up within 1.5 s and nothing heavy was imported."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

LAUNCH_BUDGET_S = 1.5

PROBE = """
import sys
from aipopup.gui.main import run_gui
code = run_gui([])
heavy = sorted(m for m in ("cv2", "numpy", "httpx", "PIL") if m in sys.modules)
print("heavy=" + ",".join(heavy), flush=True)
sys.exit(code)
"""


def test_the_window_appears_quickly_without_opencv(isolated_profile: Path) -> None:
    env = {**os.environ, "AIPOPUP_QUIT_WHEN_SHOWN": "1", "QT_QPA_PLATFORM": "offscreen"}
    spawned = time.time()
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True,
                          timeout=60, check=True)
    lines = done.stdout.splitlines()
    shown_line = next(line for line in lines if line.startswith("window shown at "))
    shown_at = float(shown_line.split()[3])
    assert shown_at - spawned < LAUNCH_BUDGET_S, shown_line
    assert "heavy=" in lines[-1] and lines[-1] == "heavy=", lines[-1]
