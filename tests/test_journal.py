"""The journal and recovery: replay, damage, compaction, the lock."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.engine_ops import PROBE, RECORDER, make_tasks

from aipopup.core.atomic import remove_temps, temp_path_for
from aipopup.core.engine import Engine, current_boot, replay
from aipopup.core.errors import StateLocked
from aipopup.core.journal import JOURNAL_NAME, Journal, read_records
from aipopup.core.task import Batch, State, Task


def _batch(engine: Engine, tmp_path: Path, n: int, **params: object) -> Batch:
    tasks = make_tasks(tmp_path, n, **params)
    batch = Batch(id=0, op="probe", params=tasks[0].params, output_dir=str(tmp_path / "out"))
    return engine.scheduler.add_batch(batch, tasks)


def test_replay_rebuilds_every_state(tmp_path: Path) -> None:
    RECORDER.reset()
    state = tmp_path / "state"
    with Engine(state) as engine:
        ok = _batch(engine, tmp_path, 3, write=True)
        bad = _batch(engine, tmp_path, 1, fail="permanent")
        assert engine.scheduler.wait_idle(timeout=10)
    store, report = replay(state)
    assert not report.damaged
    assert [t.state for t in store.batch_tasks(ok.id)] == [State.SUCCEEDED] * 3
    failed = store.batch_tasks(bad.id)[0]
    assert (failed.state, failed.error, failed.hint) == (State.FAILED, "broken for good", "nothing to do")
    assert all(Path(t.outputs[0]).read_text().startswith("input") for t in store.batch_tasks(ok.id))
    for record in read_records(state / JOURNAL_NAME).records:
        assert record["v"] == 1


def test_torn_and_garbled_lines_are_skipped_and_the_file_kept(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with Engine(state) as engine:
        batch = _batch(engine, tmp_path, 2)
        assert engine.scheduler.wait_idle(timeout=10)
    journal = state / JOURNAL_NAME
    lines = journal.read_bytes().splitlines(keepends=True)
    damaged = [*lines[:2], b"\x00\xffgarbage{{\n", *lines[2:], b'{"t":"upd","id":"1.1","sta']
    journal.write_bytes(b"".join(damaged))
    with Engine(state) as engine:
        assert len(engine.recovery.damaged_lines) == 2
        assert engine.recovery.backup is not None and engine.recovery.backup.read_bytes() == b"".join(damaged)
        assert [t.state for t in engine.scheduler.tasks(batch.id)] == [State.SUCCEEDED] * 2
    assert not read_records(journal).damaged  # compacted clean on open


def _journal_with_two_running_tasks(tmp_path: Path, boot: str) -> tuple[Path, Path]:
    state = tmp_path / "state"
    out = tmp_path / "out"
    out.mkdir()
    journal = Journal(state / JOURNAL_NAME)
    journal.append({"t": "session", "boot": boot})
    batch = Batch(id=1, op="probe", params={}, output_dir=str(out))
    journal.append({"t": "batch", "batch": batch.to_json()})
    params = PROBE.schema.validate({"write": True})
    for n in (1, 2):
        task = Task(id=f"1.{n}", batch_id=1, op="probe", input=str(tmp_path / "x.txt"),
                    output=str(out / f"x{n}.out"), params=params)
        journal.append({"t": "task", "task": task.to_json()})
        journal.append({"t": "upd", "id": task.id, "state": "running", "attempts": 1})
    journal.close()
    (out / "x1.out").write_text("renamed into place before the process died")
    (tmp_path / "x.txt").write_text("x")
    return state, out


def test_after_a_kill_running_tasks_are_recovered_or_requeued(tmp_path: Path) -> None:
    state, out = _journal_with_two_running_tasks(tmp_path, current_boot())
    leftover = temp_path_for(out / "x2.out", "1.2")
    leftover.write_text("half written")
    with Engine(state, start_existing=False) as engine:
        assert not engine.recovery.rebooted
        assert engine.recovery.recovered == ["1.1"] and engine.recovery.requeued == ["1.2"]
        assert not leftover.exists()
        assert engine.scheduler.task("1.1").state is State.SUCCEEDED
        assert engine.scheduler.task("1.2").state is State.QUEUED
        engine.scheduler.resume_all()
        assert engine.scheduler.wait_idle(timeout=10)
        assert engine.scheduler.task("1.2").state is State.SUCCEEDED


def test_after_a_restart_an_output_without_a_success_record_is_redone(tmp_path: Path) -> None:
    # Outputs are made durable in groups before their "succeeded" record: after a power cut,
    # an output whose task was still "running" may have been renamed before its data was safe.
    state, out = _journal_with_two_running_tasks(tmp_path, "a-boot-before-the-power-cut")
    with Engine(state, start_existing=False) as engine:
        assert engine.recovery.rebooted
        assert engine.recovery.recovered == [] and sorted(engine.recovery.requeued) == ["1.1", "1.2"]
        assert not (out / "x1.out").exists()
        engine.scheduler.resume_all()
        assert engine.scheduler.wait_idle(timeout=10)
        assert (out / "x1.out").read_text() == "x"  # written again by the task itself
    with Engine(state) as engine:  # the new session's boot id was recorded: no restart now
        assert not engine.recovery.rebooted


def test_an_output_deleted_before_the_journal_syncs_it_does_not_stop_the_journal(tmp_path: Path) -> None:
    journal = Journal(tmp_path / JOURNAL_NAME)
    output = tmp_path / "out.bin"
    output.write_bytes(b"data")
    seq = journal.append({"t": "upd", "id": "1.1", "state": "succeeded"}, [str(output), "/gone/x"])
    journal.barrier(seq)  # a file deleted meanwhile does not stop the journal
    journal.close()
    assert read_records(tmp_path / JOURNAL_NAME).records[-1]["state"] == "succeeded"


def test_compaction_keeps_the_state_and_shrinks_the_file(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with Engine(state) as engine:
        batch = _batch(engine, tmp_path, 20, write=True)
        assert engine.scheduler.wait_idle(timeout=10)
        before = read_records(state / JOURNAL_NAME).records
        engine.scheduler.compact()
        after = read_records(state / JOURNAL_NAME).records
        engine.scheduler.pause_all()  # the journal keeps working after compaction
    assert len(after) < len(before)
    store, _ = replay(state)
    assert [t.state for t in store.batch_tasks(batch.id)] == [State.SUCCEEDED] * 20
    assert len(store.done) == 20


def test_a_second_owner_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with Engine(state), pytest.raises(StateLocked, match="Another AI Popup"):
        Engine(state)
    Engine(state).close()  # released on close


def test_a_journal_from_a_newer_version_is_not_touched(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / JOURNAL_NAME).write_text(json.dumps({"t": "batch", "v": 99, "batch": {}}) + "\n")
    with pytest.raises(RuntimeError, match="newer AI Popup"):
        Engine(state)
    assert json.loads((state / JOURNAL_NAME).read_text())["v"] == 99


def test_cleaning_up_after_task_1_1_never_touches_task_1_10(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    mine = temp_path_for(out / "a.png", "1.1")
    theirs = temp_path_for(out / "b.png", "1.10")
    finished = out / "c.png"
    for path in (mine, theirs, finished):
        path.write_bytes(b"data")
    assert remove_temps(out, {"1.1"}) == 1
    assert not mine.exists() and theirs.exists() and finished.exists()
