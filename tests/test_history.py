"""History of finished batches: a real detect batch through the real engine leaves one summary
line and a results file that survive "clean", export as CSV/JSON with the faces, and a torn
last line is skipped."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from aipopup.app import history_export
from aipopup.core import history
from aipopup.core.engine import Engine
from aipopup.core.planner import BatchRequest, plan
from aipopup.core.settings import Settings

PHOTOS = ("biden.jpg", "knn_examples_test_kit_with_rose.jpg", "two_people.jpg")


def _inputs(tmp_path: Path, testdata: Path) -> list[str]:
    folder = tmp_path / "in"
    folder.mkdir()
    for name in PHOTOS:
        shutil.copy2(testdata / "faces" / name, folder / name)
    (folder / "broken.jpg").write_bytes(b"not a picture at all")
    return [str(folder / name) for name in (*PHOTOS, "broken.jpg")]


def _run_detect(state: Path, tmp_path: Path, inputs: list[str]) -> int:
    request = BatchRequest(op="detect", inputs=inputs, output_dir=str(tmp_path / "out"),
                           params={"report": "faces.csv"}, title="Face report")
    with Engine(state, settings=Settings(values={"workers": 2, "retries": 1}), durable=False) as engine:
        batch = engine.scheduler.add_batch(*plan(request))
        assert engine.scheduler.wait_idle(timeout=120)
        assert engine.scheduler.clean() == 1  # the journal forgets it; the history must not
    return batch.id


def test_a_finished_batch_is_recorded_once_and_exports_its_faces(
        tmp_path: Path, testdata: Path, manifest: dict[str, Any]) -> None:
    state = tmp_path / "state"
    batch_id = _run_detect(state, tmp_path, _inputs(tmp_path, testdata))

    (record,) = history.read_history(state)
    assert (record.batch, record.op, record.title) == (batch_id, "detect", "Face report")
    assert (record.total, record.done, record.failed, record.cancelled, record.skipped) == (4, 3, 1, 0, 0)
    assert record.failures[0]["input"].endswith("broken.jpg") and record.failures[0]["error"]
    assert record.duration > 0 and record.items_per_s == pytest.approx(3 / record.duration, rel=0.01)
    assert record.mb_per_s is None
    assert record.report["report"] == str(tmp_path / "out" / "faces.csv")  # after the finalizer
    assert len((state / history.HISTORY_NAME).read_text().splitlines()) == 1

    rows = list(csv.DictReader(io.StringIO(
        history_export.export_csv(state, record, tmp_path / "x" / "results.csv").read_text())))
    by_file: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_file.setdefault(Path(row["file"]).name, []).append(row)
    for name in PHOTOS:
        expected = manifest["faces"][name]
        faces = by_file[name]
        assert expected["min_faces"] <= len(faces) <= expected["max_faces"], name
        assert [r["face"] for r in faces] == [str(n) for n in range(1, len(faces) + 1)]
        assert all(r["status"] == "succeeded" and float(r["w"]) > 10 and r["right_eye_x"] for r in faces)
        assert {r["faces"] for r in faces} == {str(len(faces))}
    (broken,) = by_file["broken.jpg"]
    assert broken["status"] == "failed" and broken["error"] and broken["face"] == ""

    data = json.loads(history_export.export_json(state, record, tmp_path / "results.json").read_text())
    assert data["batch"]["key"] == record.key and data["batch"]["done"] == 3
    assert [Path(t["file"]).name for t in data["tasks"]] == [*PHOTOS, "broken.jpg"]
    assert sum(len(t["result"].get("detections", [])) for t in data["tasks"]) == len(rows) - 1
    assert not list(tmp_path.glob("x/.*aipopup-tmp*"))


def test_retrying_a_finished_batch_replaces_its_entry(tmp_path: Path, testdata: Path) -> None:
    state = tmp_path / "state"
    inputs = _inputs(tmp_path, testdata)
    request = BatchRequest(op="convert", inputs=inputs, output_dir=str(tmp_path / "out"))
    with Engine(state, durable=False) as engine:
        batch = engine.scheduler.add_batch(*plan(request))
        assert engine.scheduler.wait_idle(timeout=60)
        assert [r.failed for r in history.read_history(state)] == [1]
        Path(inputs[-1]).write_bytes((testdata / "faces" / "obama_small.jpg").read_bytes())
        engine.scheduler.retry_failed(batch.id)
        assert engine.scheduler.wait_idle(timeout=60)
    assert len((state / history.HISTORY_NAME).read_text().splitlines()) == 2
    (record,) = history.read_history(state)
    assert (record.done, record.failed) == (4, 0)


def test_cancelling_the_last_queued_tasks_finishes_the_batch(tmp_path: Path, testdata: Path) -> None:
    state = tmp_path / "state"
    request = BatchRequest(op="convert", inputs=_inputs(tmp_path, testdata), output_dir=str(tmp_path / "o"))
    with Engine(state, durable=False) as engine:
        engine.scheduler.stop_after_current()  # nothing starts: every task stays queued
        batch = engine.scheduler.add_batch(*plan(request))
        engine.scheduler.cancel([t.id for t in engine.scheduler.tasks(batch.id)])
        assert engine.scheduler.wait_idle(timeout=60)
    (record,) = history.read_history(state)
    assert (record.cancelled, record.done, record.duration) == (4, 0, 0.0)


def test_a_torn_last_line_is_skipped_and_the_next_record_starts_a_new_line(tmp_path: Path) -> None:
    from aipopup.core.task import Batch, State, Task

    state = tmp_path
    batch = Batch(id=1, op="convert", params={}, output_dir=str(tmp_path), created=100.0)
    task = Task(id="1.1", batch_id=1, op="convert", input="a.jpg", output="b.jpg", params={},
                state=State.SUCCEEDED, started=100.0, finished=102.0)
    history.record_batch(state, batch, [task])
    path = state / history.HISTORY_NAME
    whole = path.read_bytes()
    path.write_bytes(whole + whole[: len(whole) // 2])  # a kill in the middle of a second line
    assert [r.key for r in history.read_history(state)] == ["1-100000"]
    later = Batch(id=2, op="convert", params={}, output_dir=str(tmp_path), created=200.0)
    history.record_batch(state, later, [task])
    assert [r.key for r in history.read_history(state)] == ["2-200000", "1-100000"]
    (first,) = [r for r in history.read_history(state) if r.batch == 1]
    assert (first.duration, first.items_per_s) == (2.0, 0.5)


def test_the_command_line_lists_the_history_and_exports_a_batch(tmp_path: Path, testdata: Path) -> None:
    from tests.test_cli import aipopup

    inputs = _inputs(tmp_path, testdata)
    ran = aipopup(tmp_path, "run", "detect", *inputs, "-o", str(tmp_path / "out"), "--json")
    assert ran.returncode == 1, ran.stderr  # broken.jpg fails
    assert aipopup(tmp_path, "jobs", "clean").returncode == 0

    listed = aipopup(tmp_path, "jobs", "history", "--json")
    assert listed.returncode == 0, listed.stderr
    (row,) = json.loads(listed.stdout)
    assert (row["op"], row["done"], row["failed"]) == ("detect", 3, 1)
    assert "3/4 done, 1 failed" in aipopup(tmp_path, "jobs", "history").stdout

    target = tmp_path / "results.csv"
    exported = aipopup(tmp_path, "jobs", "export", str(row["batch"]), str(target))
    assert exported.returncode == 0 and exported.stdout.strip() == f"wrote {target}", exported.stderr
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert sum(1 for r in rows if r["face"]) >= 4 and rows[-1]["status"] == "failed"
    assert aipopup(tmp_path, "jobs", "export", "42", str(target)).returncode == 2


def test_a_batch_finished_just_before_a_kill_is_recorded_at_the_next_start(
        tmp_path: Path, testdata: Path) -> None:
    state = tmp_path / "state"
    request = BatchRequest(op="convert", inputs=_inputs(tmp_path, testdata), output_dir=str(tmp_path / "o"))
    with Engine(state, durable=False) as engine:
        engine.scheduler.add_batch(*plan(request))
        assert engine.scheduler.wait_idle(timeout=60)
    (state / history.HISTORY_NAME).unlink()  # as if killed before the line was written
    with Engine(state, durable=False):
        pass
    with Engine(state, durable=False):  # recorded once, not at every start
        pass
    (record,) = history.read_history(state)
    assert (record.done, record.failed) == (3, 1)
    assert len((state / history.HISTORY_NAME).read_text().splitlines()) == 1


def test_a_download_batch_records_megabytes_per_second(tmp_path: Path, http_server: Any) -> None:
    urls = [http_server.add(f"/file{n}.bin", bytes([n]) * 2_000_000) for n in range(3)]
    request = BatchRequest(op="download", inputs=urls, output_dir=str(tmp_path / "dl"))
    with Engine(tmp_path / "state", durable=False) as engine:
        engine.scheduler.add_batch(*plan(request))
        assert engine.scheduler.wait_idle(timeout=60)
    (record,) = history.read_history(tmp_path / "state")
    assert record.done == 3 and record.mb_per_s is not None
    # the stored duration is rounded to the millisecond, and a loopback batch takes only a few
    assert 6.0 / (record.duration + 0.0006) <= record.mb_per_s <= 6.0 / max(record.duration - 0.0006, 1e-6)
