"""The task model: Qt's model checks, row-granular updates, and the bridge's coalescing."""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any

from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from aipopup.core.engine import Engine
from aipopup.core.events import Event
from aipopup.core.task import Batch, State, Task
from aipopup.gui.bridge import TICK_MS, EngineBridge, Update
from aipopup.gui.task_model import PROGRESS_ROLE, Column, TaskFilterProxy, TaskTableModel


def make_task(n: int, state: State = State.QUEUED, **extra: Any) -> Task:
    return Task(id=f"1.{n}", batch_id=1, op="convert", input=f"/photos/img_{n:05d}.jpg",
                output=f"/out/img_{n:05d}_convert.jpg", params={"quality": 90}, seq=n, state=state,
                **extra)


def test_model_passes_qt_model_checks_through_inserts_changes_and_removals(
        qtmodeltester: ModelTester) -> None:
    model = TaskTableModel()
    model.load([make_task(n) for n in range(1, 6)])
    qtmodeltester.check(model, force_py=True)
    running = make_task(2, State.RUNNING, started=time.time() - 5, progress=0.5)
    done = make_task(3, State.SUCCEEDED, started=1.0, finished=3.0, progress=1.0,
                     result={"faces": 2, "width": 640, "height": 480}, outputs=["/out/x.jpg"])
    model.apply(Update(tasks={"1.2": running, "1.3": done, "1.6": make_task(6), "1.7": make_task(7)},
                       removed={"1.5"}, progress={"1.1": 0.25}))
    assert model.task_ids() == ["1.1", "1.2", "1.3", "1.4", "1.6", "1.7"]
    row = model.row_of("1.3")
    assert row is not None
    assert model.index(row, Column.FACES).data() == "2"
    assert model.index(row, Column.SIZE).data() == "640×480"
    assert model.index(row, Column.ELAPSED).data() == "2 s"
    assert model.index(row, Column.OUTPUT).data() == "x.jpg"
    assert model.index(model.row_of("1.2") or 0, Column.ETA).data() == "5 s"
    assert model.index(0, Column.PROGRESS).data(PROGRESS_ROLE) == 0.25
    proxy = TaskFilterProxy()
    proxy.setSourceModel(model)
    qtmodeltester.check(proxy, force_py=True)


def test_updates_touch_only_changed_cells_and_insert_a_batch_at_once(qtbot: QtBot) -> None:
    model = TaskTableModel()
    model.load([make_task(n) for n in range(1, 1001)])
    inserted: list[tuple[int, int]] = []
    changed: list[tuple[int, int, int, int]] = []
    resets: list[int] = []
    model.rowsInserted.connect(lambda _p, first, last: inserted.append((first, last)))
    model.dataChanged.connect(
        lambda tl, br, _roles=(): changed.append((tl.row(), tl.column(), br.row(), br.column())))
    model.modelReset.connect(lambda: resets.append(1))
    new = {f"1.{n}": make_task(n) for n in range(1001, 11001)}
    model.apply(Update(tasks={**new, "1.10": make_task(10, State.RUNNING),
                              "1.11": make_task(11, State.RUNNING), "1.500": make_task(500, State.PAUSED)}))
    # 10,000 new rows in one insert: every insert re-lays out and repaints the whole view
    assert inserted == [(1000, 10999)]
    # one signal per changed row, every column of exactly those rows
    assert sorted(changed) == [(row, 0, row, len(Column) - 1) for row in (9, 10, 499)]
    later = make_task(10_500, State.CANCELLED)
    model.apply(Update(tasks={"1.10500": later}, removed={"1.11000"}))
    assert model.pending_inserts == 0 and inserted == [(1000, 10999)]
    assert resets == []
    assert model.rowCount() == 10999
    assert model.index(model.row_of("1.10500") or 0, Column.STATUS).data() == "Cancelled"
    assert model.counts()[State.CANCELLED] == 1 and model.counts()[State.QUEUED] == 10999 - 4


def test_filter_by_status_and_text() -> None:
    model = TaskTableModel()
    model.load([make_task(1), make_task(2, State.FAILED), make_task(3, State.SUCCEEDED),
                make_task(4, State.FAILED)])
    proxy = TaskFilterProxy()
    proxy.setSourceModel(model)
    proxy.set_filter({State.FAILED})
    assert proxy.rowCount() == 2
    proxy.set_filter({State.FAILED}, "IMG_00004")
    assert [proxy.index(r, 0).data() for r in range(proxy.rowCount())] == ["img_00004.jpg"]
    proxy.set_filter((), "img_0000")
    assert proxy.rowCount() == 4
    proxy.set_filter((), "(")  # typed text is literal, not a pattern
    assert proxy.rowCount() == 0
    proxy.set_filter()
    assert proxy.rowCount() == 4


def test_bridge_coalesces_thousands_of_events_into_a_few_ticks(
        qtbot: QtBot, engine: Engine, tmp_path: Path) -> None:
    bridge = EngineBridge(engine.scheduler)
    ticks: list[tuple[float, Update]] = []
    bridge.updated.connect(lambda update: ticks.append((time.monotonic(), update)))
    model = TaskTableModel()
    bridge.updated.connect(model.apply)
    missing = tmp_path / "missing"
    tasks = [Task(id="", batch_id=0, op="convert", input=str(missing / f"{n}.jpg"),
                  output=str(tmp_path / "out" / f"{n}.jpg"), params={"format": "keep", "quality": 90,
                                                                      "max_side": None})
             for n in range(3000)]
    engine.scheduler.pause_all()
    engine.scheduler.add_batch(Batch(id=0, op="convert", params={}, output_dir=str(tmp_path / "out")), tasks)
    engine.scheduler.pause_all()  # 3,000 more task events, most in the same tick
    qtbot.waitUntil(lambda: model.rowCount() == 3000 and engine.scheduler.is_idle()
                    and model.counts()[State.QUEUED] + model.counts()[State.WAITING] == 0, timeout=20_000)
    bridge.flush()
    bridge.close()
    times = [t for t, _ in ticks]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # At most one update per tick (a little slack for timer jitter), however many events.
    assert all(gap >= TICK_MS / 1000 * 0.6 for gap in gaps[:-1]), gaps
    assert len(ticks) < 3000 / 10
    assert sum(len(u.tasks) for _, u in ticks) < 2 * 3000 + 10


def test_a_late_copy_of_a_task_never_replaces_a_newer_one(
        qtbot: QtBot, engine: Engine, tmp_path: Path) -> None:
    """The engine emits outside its lock, from several threads: a task that fails at once can
    have its "running" copy delivered after its "failed" one. The table must end up "failed"."""
    events: list[Event] = []
    engine.scheduler.subscribe(events.append)
    task = Task(id="", batch_id=0, op="convert", input=str(tmp_path / "missing.jpg"),
                output=str(tmp_path / "out" / "x.jpg"), params={"format": "keep", "quality": 90,
                                                                 "max_side": None})
    engine.scheduler.add_batch(Batch(id=0, op="convert", params={}, output_dir=str(tmp_path / "out")), [task])
    qtbot.waitUntil(lambda: any(e.task is not None and e.task.state is State.FAILED for e in events),
                    timeout=20_000)
    copies = [e for e in events if e.kind == "task" and e.task is not None]
    assert [e.task.state for e in copies if e.task is not None][-1] is State.FAILED
    assert any(e.task is not None and e.task.state is State.RUNNING for e in copies)

    bridge = EngineBridge(engine.scheduler)
    model = TaskTableModel()
    bridge.updated.connect(model.apply)
    for event in reversed(copies):  # the worst order: newest first, the first tick on its own
        bridge._on_event(event)
        bridge.flush()
    bridge._on_event(Event("progress", task_id=copies[0].task_id, progress=0.3))
    bridge.flush()
    bridge.close()
    shown = model.task(copies[0].task_id)
    assert shown is not None and shown.state is State.FAILED
    assert model.counts()[State.RUNNING] == 0
