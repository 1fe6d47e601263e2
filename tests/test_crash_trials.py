"""Acceptance: the crash-trials script passes (the suite runs 5 trials; it passes with 100)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_five_crash_trials_pass() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "crash_trials.py"), "5"],
                            capture_output=True, text=True, timeout=900, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "crash trials: 5/5 ok" in result.stdout
