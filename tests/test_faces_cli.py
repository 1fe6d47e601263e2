"""anonymize then detect through the real command line, as a person would run them."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

EXE = [sys.executable, "-m", "aipopup"]
PHOTOS = ("two_people.jpg", "knn_examples_test_obama_and_biden.jpg", "obama-720p.jpg",
          "lin-manuel-miranda.png")


def aipopup(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AIPOPUP_STATE_DIR": str(tmp_path / "state"),
           "AIPOPUP_CONFIG_DIR": str(tmp_path / "config"), "PYTHONIOENCODING": "utf-8"}
    return subprocess.run([*EXE, *args], env=env, capture_output=True, text=True, timeout=180, check=False)


def test_anonymize_then_detect_finds_no_face(testdata: Path, tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    for name in PHOTOS:
        (inputs / name).write_bytes((testdata / "faces" / name).read_bytes())
    masked = tmp_path / "masked"
    first = aipopup(tmp_path, "run", "anonymize", str(inputs), "-o", str(masked), "--mode", "pixelate",
                    "--mask-scale", "1.3", "--workers", "2")
    assert first.returncode == 0, first.stdout + first.stderr
    assert sorted(p.name for p in masked.iterdir()) == sorted(f"{Path(n).stem}_anonymize{Path(n).suffix}"
                                                             for n in PHOTOS)

    before = aipopup(tmp_path, "run", "detect", str(inputs), "-o", str(tmp_path / "r1"),
                     "--report", "faces.json")
    assert before.returncode == 0, before.stderr
    counts = {Path(i["file"]).name: len(i["faces"])
              for i in json.loads((tmp_path / "r1" / "faces.json").read_text())["images"]}
    assert sum(counts.values()) >= 7 and all(counts.values())

    after = aipopup(tmp_path, "run", "detect", str(masked), "-o", str(tmp_path / "r2"),
                    "--threshold", "0.5", "--thorough")
    assert after.returncode == 0, after.stderr
    rows = list(csv.DictReader((tmp_path / "r2" / "faces.csv").read_text().splitlines()))
    assert len(rows) == len(PHOTOS)  # one row per photo, none with a face
    assert all(r["face"] == "" and r["status"] == "succeeded" for r in rows), rows
