"""The command line as a person uses it: a real process, real photos, real exit codes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import cv2
import pytest

EXE = [sys.executable, "-m", "aipopup"]
# Root reads and writes through any permission bits; dropping these two capabilities makes
# "unreadable file" and "read-only folder" real for the child process.
NO_ROOT_BYPASS = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]


def env_for(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "AIPOPUP_STATE_DIR": str(tmp_path / "state"),
            "AIPOPUP_CONFIG_DIR": str(tmp_path / "config"), "PYTHONIOENCODING": "utf-8"}


def aipopup(tmp_path: Path, *args: str, prefix: list[str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*(prefix or []), *EXE, *args], env=env_for(tmp_path), capture_output=True,
                          text=True, timeout=timeout, check=False)


def summary_of(output: str) -> dict[str, Any]:
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    summaries = [line for line in lines if line.get("event") == "summary"]
    assert summaries, output
    return summaries[-1]  # type: ignore[no-any-return]


def test_convert_the_test_photos_then_skip_them_all(testdata: Path, tmp_path: Path) -> None:
    faces = testdata / "faces"
    photos = sorted(p for p in faces.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    out = tmp_path / "out"
    first = aipopup(tmp_path, "run", "convert", str(faces), "-o", str(out), "--max-side", "800")
    assert first.returncode == 0, first.stderr
    outputs = sorted(out.iterdir())
    assert len(outputs) == len(photos) == 25
    for photo, output in zip(photos, outputs, strict=True):
        source = cv2.imread(str(photo))
        result = cv2.imread(str(output))
        assert result is not None, output
        assert max(result.shape[:2]) == min(800, max(source.shape[:2])), output  # never upscaled
    assert not list(out.glob(".*"))

    second = aipopup(tmp_path, "run", "convert", str(faces), "-o", str(out), "--max-side", "800", "--json")
    assert second.returncode == 0, second.stderr
    summary = summary_of(second.stdout)
    assert summary["counts"]["skipped"] == 25 and summary["counts"]["succeeded"] == 0
    assert {s["reason"] for s in summary["skipped"]} == {
        "Already done: same input and settings as an earlier run."}
    assert "25 skipped" in aipopup(tmp_path, "run", "convert", str(faces), "-o", str(out),
                                   "--max-side", "800").stderr


@pytest.fixture
def bad_inputs(testdata: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "inputs"
    folder.mkdir()
    good = (testdata / "faces" / "obama.jpg").read_bytes()
    (folder / "good.jpg").write_bytes(good)
    (folder / "照片 é.jpg").write_bytes(good)
    (folder / "truncated.jpg").write_bytes(good[: len(good) // 3])
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "notes.jpg").write_text("shopping list: milk, eggs")
    (folder / "corrupt.jpg").write_bytes(good[:600] + bytes(range(256)) * 40)
    (folder / "unreadable.jpg").write_bytes(good)
    (folder / "unreadable.jpg").chmod(0)
    return folder


def test_bad_inputs_fail_one_by_one_with_reasons(bad_inputs: Path, tmp_path: Path) -> None:
    prefix = NO_ROOT_BYPASS if os.geteuid() == 0 else []
    result = aipopup(tmp_path, "run", "convert", str(bad_inputs), "-o", str(tmp_path / "out"), "--json",
                     prefix=prefix)
    assert result.returncode == 1, result.stderr
    summary = summary_of(result.stdout)
    reasons = {Path(f["input"]).name: f["error"] for f in summary["failures"]}
    assert set(reasons) == {"truncated.jpg", "empty.jpg", "notes.jpg", "corrupt.jpg", "unreadable.jpg"}
    assert "truncated" in reasons["truncated.jpg"]
    assert "empty (0 bytes)" in reasons["empty.jpg"]
    assert "not an image" in reasons["notes.jpg"]
    assert "damaged" in reasons["corrupt.jpg"] or "truncated" in reasons["corrupt.jpg"]
    assert "No permission to read" in reasons["unreadable.jpg"]
    assert summary["counts"]["succeeded"] == 2
    assert (tmp_path / "out" / "照片 é_convert.jpg").exists()
    human = aipopup(tmp_path, "run", "convert", str(bad_inputs), "-o", str(tmp_path / "out2"), prefix=prefix)
    for name in reasons:
        assert name in human.stderr


def test_a_read_only_output_folder_fails_each_task_clearly(testdata: Path, tmp_path: Path) -> None:
    out = tmp_path / "locked"
    out.mkdir()
    out.chmod(0o555)
    prefix = NO_ROOT_BYPASS if os.geteuid() == 0 else []
    result = aipopup(tmp_path, "run", "convert", str(testdata / "faces" / "obama.jpg"),
                     str(testdata / "faces" / "biden.jpg"), "-o", str(out), "--json", prefix=prefix)
    assert result.returncode == 1
    failures = summary_of(result.stdout)["failures"]
    assert len(failures) == 2 and all("No permission to write" in f["error"] for f in failures)
    assert list(out.iterdir()) == []


def test_bad_usage_exits_2(tmp_path: Path, testdata: Path) -> None:
    photo = str(testdata / "faces" / "obama.jpg")
    cases = [
        (["run", "convert", photo, "-o", str(tmp_path), "--max-side", "-5"], "at least 16"),
        (["run", "convert", str(tmp_path / "missing.jpg"), "-o", str(tmp_path)], "no such file"),
        (["run", "convert", photo, "-o", str(tmp_path), "--name", "{nope}.jpg"], "unknown placeholder"),
        (["run", "nosuchop", photo, "-o", str(tmp_path)], "invalid choice"),
        (["jobs", "show", "42"], "no batch 42"),
    ]
    for args, message in cases:
        result = aipopup(tmp_path, *args)
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr, (args, result.stderr)


def _start_run(tmp_path: Path, testdata: Path, count: int) -> tuple[subprocess.Popen[str], Path]:
    folder = tmp_path / "many"
    folder.mkdir()
    for n in range(count):
        shutil.copy(testdata / "faces" / "obama-1080p.jpg", folder / f"photo{n:03d}.jpg")
    out = tmp_path / "out"
    process = subprocess.Popen([*EXE, "run", "convert", str(folder), "-o", str(out), "--workers", "1",
                                "--format", "png", "--json"],
                               env=env_for(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    assert process.stdout is not None
    for line in process.stdout:  # wait for real progress, not for a fixed time
        if '"state": "succeeded"' in line:
            break
    return process, out


def test_ctrl_c_pauses_and_resume_finishes(testdata: Path, tmp_path: Path) -> None:
    process, out = _start_run(tmp_path, testdata, 40)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 3, stderr
    summary = summary_of(stdout)
    assert summary["interrupted"] and summary["counts"]["paused"] > 0
    assert not list(out.glob(".*aipopup-tmp*"))

    listed = json.loads(aipopup(tmp_path, "jobs", "list", "--json").stdout)
    assert listed[0]["counts"].get("paused", 0) == summary["counts"]["paused"]
    resumed = aipopup(tmp_path, "jobs", "resume")
    assert resumed.returncode == 0, resumed.stderr
    assert len(list(out.glob("*.png"))) == 40
    assert "nothing to resume" in aipopup(tmp_path, "jobs", "resume").stdout


def test_a_second_run_is_refused_while_one_owns_the_state(testdata: Path, tmp_path: Path) -> None:
    process, _ = _start_run(tmp_path, testdata, 30)
    try:
        second = aipopup(tmp_path, "run", "convert", str(testdata / "faces" / "obama.jpg"),
                         "-o", str(tmp_path / "other"), timeout=20)
        assert second.returncode == 4
        assert "Another AI Popup" in second.stderr
        listed = aipopup(tmp_path, "jobs", "list")  # reading needs no lock
        assert listed.returncode == 0 and "convert" in listed.stdout
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)


def test_jobs_pause_cancel_retry_show_and_clean(testdata: Path, tmp_path: Path) -> None:
    process, _ = _start_run(tmp_path, testdata, 12)
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=30)
    batch = json.loads(aipopup(tmp_path, "jobs", "list", "--json").stdout)[0]
    shown = json.loads(aipopup(tmp_path, "jobs", "show", str(batch["id"]), "--json").stdout)
    paused = [t["id"] for t in shown["tasks"] if t["state"] == "paused"]
    assert aipopup(tmp_path, "jobs", "cancel", paused[0]).returncode == 0
    task = json.loads(aipopup(tmp_path, "jobs", "show", paused[0], "--json").stdout)
    assert task["state"] == "cancelled"
    assert aipopup(tmp_path, "jobs", "resume", str(batch["id"])).returncode == 1  # one was cancelled
    assert aipopup(tmp_path, "jobs", "retry", paused[0]).returncode == 0
    after = json.loads(aipopup(tmp_path, "jobs", "show", str(batch["id"]), "--json").stdout)
    assert {t["state"] for t in after["tasks"]} == {"succeeded"}
    assert "forgot 1" in aipopup(tmp_path, "jobs", "clean").stdout
    assert "no batches" in aipopup(tmp_path, "jobs", "list").stdout


def test_a_terminal_gets_a_live_progress_bar(testdata: Path, tmp_path: Path) -> None:
    import pty

    folder = tmp_path / "bar"
    folder.mkdir()
    for n in range(30):
        shutil.copy(testdata / "faces" / "obama-1080p.jpg", folder / f"p{n}.jpg")
    controller, terminal = pty.openpty()
    process = subprocess.Popen([*EXE, "run", "convert", str(folder), "-o", str(tmp_path / "out"),
                                "--workers", "1", "--format", "png"],
                               env=env_for(tmp_path), stdin=terminal, stdout=terminal, stderr=terminal)
    os.close(terminal)
    screen = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        screen += chunk
    process.wait(timeout=60)
    os.close(controller)
    text = screen.decode(errors="replace")
    assert process.returncode == 0
    assert "\r[" in text and "/30" in text and "/s" in text  # redrawn in place: bar, counts, rate
    assert "30 tasks: 30 succeeded" in text
