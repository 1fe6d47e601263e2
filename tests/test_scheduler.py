"""The scheduler's rules, with real threads and the probe operation (tests/engine_ops.py)."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.engine_ops import RECORDER, make_tasks

from aipopup.core.events import Event
from aipopup.core.executor import ThreadExecutor
from aipopup.core.scheduler import Scheduler
from aipopup.core.settings import Settings
from aipopup.core.task import Batch, State, Task


@pytest.fixture
def sched(tmp_path: Path) -> Iterator[Scheduler]:
    RECORDER.reset()
    executor = ThreadExecutor()
    settings = Settings(values={"workers": 2, "retries": 3, "retry_delay": 0.05})
    scheduler = Scheduler(executor, settings=settings)
    yield scheduler
    scheduler.shutdown(timeout=2)
    executor.shutdown()


def add(sched: Scheduler, tasks: list[Task], tmp_path: Path) -> Batch:
    return sched.add_batch(Batch(id=0, op="probe", params={}, output_dir=str(tmp_path / "out")), tasks)


def states(sched: Scheduler, batch: Batch) -> list[State]:
    return [t.state for t in sched.tasks(batch.id)]


def test_priorities_decide_the_order(sched: Scheduler, tmp_path: Path) -> None:
    sched.set_limits(cpu=1)
    sched.stop_after_current()  # queue everything before anything starts
    batch = add(sched, make_tasks(tmp_path, 4, priorities=[0, 5, 1, 5]), tmp_path)
    sched.resume_all()
    assert sched.wait_idle(timeout=10)
    order = [task_id for task_id, _ in RECORDER.started]
    assert order == [f"{batch.id}.2", f"{batch.id}.4", f"{batch.id}.3", f"{batch.id}.1"]


def test_move_to_top_runs_next(sched: Scheduler, tmp_path: Path) -> None:
    sched.set_limits(cpu=1)
    sched.stop_after_current()
    batch = add(sched, make_tasks(tmp_path, 4), tmp_path)
    sched.move_to_top([f"{batch.id}.4"])
    sched.resume_all()
    assert sched.wait_idle(timeout=10)
    assert RECORDER.started[0][0] == f"{batch.id}.4"


def test_cpu_limit_is_respected_and_changes_live(sched: Scheduler, tmp_path: Path) -> None:
    add(sched, make_tasks(tmp_path, 8, seconds=0.1), tmp_path)
    assert sched.wait_idle(timeout=10)
    assert RECORDER.max_running == 2
    RECORDER.reset()
    sched.settings.update({"workers": 4})
    add(sched, make_tasks(tmp_path, 8, seconds=0.15), tmp_path)
    assert sched.wait_idle(timeout=10)
    assert RECORDER.max_running == 4


def test_per_host_limit_for_network_tasks(sched: Scheduler, tmp_path: Path) -> None:
    sched.set_limits(net=8, per_key=2)
    add(sched, make_tasks(tmp_path, 6, seconds=0.1, resource="net", key="one.example"), tmp_path)
    assert sched.wait_idle(timeout=10)
    assert RECORDER.max_running == 2


def test_cancel_stops_a_running_task_within_half_a_second(sched: Scheduler, tmp_path: Path) -> None:
    batch = add(sched, make_tasks(tmp_path, 1, seconds=30), tmp_path)
    task_id = f"{batch.id}.1"
    deadline = time.monotonic() + 5
    while sched.task(task_id).state is not State.RUNNING and time.monotonic() < deadline:
        sched.wait_idle(timeout=0.01)
    started = time.monotonic()
    sched.cancel([task_id])
    assert sched.wait_idle(timeout=2)
    assert time.monotonic() - started < 0.5
    assert sched.task(task_id).state is State.CANCELLED


def test_pause_and_resume_a_running_task(sched: Scheduler, tmp_path: Path) -> None:
    batch = add(sched, make_tasks(tmp_path, 1, seconds=0.3), tmp_path)
    task_id = f"{batch.id}.1"
    while sched.task(task_id).state is not State.RUNNING:
        sched.wait_idle(timeout=0.01)
    sched.pause([task_id])
    assert sched.wait_idle(timeout=2)
    assert sched.task(task_id).state is State.PAUSED
    sched.resume([task_id])
    assert sched.wait_idle(timeout=5)
    assert sched.task(task_id).state is State.SUCCEEDED


def test_pause_and_resume_a_batch_and_everything(sched: Scheduler, tmp_path: Path) -> None:
    sched.stop_after_current()
    first = add(sched, make_tasks(tmp_path, 3), tmp_path)
    second = add(sched, make_tasks(tmp_path, 3), tmp_path)
    sched.pause_batch(first.id)
    sched.start()
    assert sched.wait_idle(timeout=5)
    assert states(sched, first) == [State.PAUSED] * 3
    assert states(sched, second) == [State.SUCCEEDED] * 3
    sched.pause_all()
    sched.resume_batch(first.id)
    assert sched.wait_idle(timeout=5)
    assert states(sched, first) == [State.SUCCEEDED] * 3


def test_stop_after_current_lets_running_finish_and_starts_nothing(sched: Scheduler, tmp_path: Path) -> None:
    batch = add(sched, make_tasks(tmp_path, 6, seconds=0.2), tmp_path)
    while sched.counts(batch.id)[State.RUNNING] < 2:
        sched.wait_idle(timeout=0.01)
    sched.stop_after_current()
    assert sched.wait_idle(timeout=5)
    counts = sched.counts(batch.id)
    assert counts[State.SUCCEEDED] == 2 and counts[State.QUEUED] == 4
    sched.resume_all()
    assert sched.wait_idle(timeout=5)
    assert sched.counts(batch.id)[State.SUCCEEDED] == 6


def test_transient_errors_retry_with_backoff_then_succeed(sched: Scheduler, tmp_path: Path) -> None:
    batch = add(sched, make_tasks(tmp_path, 1, fail="transient_twice"), tmp_path)
    assert sched.wait_idle(timeout=10)
    task = sched.task(f"{batch.id}.1")
    assert task.state is State.SUCCEEDED and task.attempts == 3
    times = RECORDER.attempt_times[task.id]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # back-off 0.05 s then 0.1 s, each with jitter in [0.5, 1.0]
    assert 0.02 <= gaps[0] <= 0.3 and 0.045 <= gaps[1] <= 0.4


def test_retry_after_is_honoured(sched: Scheduler, tmp_path: Path) -> None:
    batch = add(sched, make_tasks(tmp_path, 1, fail="transient_twice", retry_after=0.3), tmp_path)
    assert sched.wait_idle(timeout=10)
    times = RECORDER.attempt_times[f"{batch.id}.1"]
    assert times[1] - times[0] >= 0.29


def test_permanent_errors_fail_at_once_and_transient_ones_give_up(sched: Scheduler, tmp_path: Path) -> None:
    permanent = add(sched, make_tasks(tmp_path, 1, fail="permanent"), tmp_path)
    transient = add(sched, make_tasks(tmp_path, 1, fail="transient"), tmp_path)
    crash = add(sched, make_tasks(tmp_path, 1, fail="crash"), tmp_path)
    assert sched.wait_idle(timeout=10)
    p, t, c = (sched.task(f"{b.id}.1") for b in (permanent, transient, crash))
    assert (p.state, p.attempts, p.error, p.hint) == (State.FAILED, 1, "broken for good", "nothing to do")
    assert (t.state, t.attempts) == (State.FAILED, 3)
    assert c.state is State.FAILED and "Internal error: ZeroDivisionError" in c.error
    assert any("ZeroDivisionError" in line for _, _, line in sched.log_lines(c.id))


def test_timeout_is_a_transient_failure(sched: Scheduler, tmp_path: Path) -> None:
    sched.settings.update({"task_timeout": 1.0, "retries": 1})
    batch = add(sched, make_tasks(tmp_path, 1, seconds=5), tmp_path)
    started = time.monotonic()
    assert sched.wait_idle(timeout=5)
    task = sched.task(f"{batch.id}.1")
    assert task.state is State.FAILED and "time limit" in task.error
    assert time.monotonic() - started < 2


def test_retry_all_failed(sched: Scheduler, tmp_path: Path) -> None:
    sched.settings.update({"retries": 1})
    batch = add(sched, make_tasks(tmp_path, 3, fail="transient_twice"), tmp_path)
    assert sched.wait_idle(timeout=5)
    assert states(sched, batch) == [State.FAILED] * 3
    sched.retry_failed()
    assert sched.wait_idle(timeout=5)
    assert states(sched, batch) == [State.FAILED] * 3  # second attempt fails too (transient_twice)
    sched.retry_failed(batch.id)
    assert sched.wait_idle(timeout=5)
    assert states(sched, batch) == [State.SUCCEEDED] * 3


def test_dependents_receive_outputs_or_are_skipped_with_the_reason(sched: Scheduler, tmp_path: Path) -> None:
    good, bad = make_tasks(tmp_path, 1, write=True), make_tasks(tmp_path, 1, fail="permanent")
    after_good = make_tasks(tmp_path, 1)[0]
    after_good.depends_on = ["#0"]
    after_good.input = ""
    after_bad = make_tasks(tmp_path, 1)[0]
    after_bad.depends_on = ["#0"]
    b1 = add(sched, [*good, after_good], tmp_path)
    b2 = add(sched, [*bad, after_bad], tmp_path)
    assert sched.wait_idle(timeout=5)
    first, dependent = sched.tasks(b1.id)
    assert first.state is State.SUCCEEDED and dependent.state is State.SUCCEEDED
    assert RECORDER.dep_outputs[dependent.id] == first.outputs
    assert dependent.input == first.outputs[0]
    failed, skipped = sched.tasks(b2.id)
    assert skipped.state is State.SKIPPED and failed.id in skipped.error


def test_progress_events_are_coalesced(sched: Scheduler, tmp_path: Path) -> None:
    seen: list[Event] = []
    lock = threading.Lock()

    def listener(event: Event) -> None:
        if event.kind == "progress":
            with lock:
                seen.append(event)

    sched.subscribe(listener)
    add(sched, make_tasks(tmp_path, 1, progress_calls=200_000, seconds=0.2), tmp_path)
    started = time.monotonic()
    assert sched.wait_idle(timeout=20)
    elapsed = time.monotonic() - started
    assert 1 <= len(seen) <= 21 * elapsed + 2


def test_cancelling_a_queued_task_skips_its_dependents(sched: Scheduler, tmp_path: Path) -> None:
    sched.stop_after_current()
    first = make_tasks(tmp_path, 1, write=True)
    after = make_tasks(tmp_path, 1)[0]
    after.depends_on, after.input = ["#0"], ""
    batch = add(sched, [*first, after], tmp_path)
    sched.cancel([f"{batch.id}.1"])
    assert states(sched, batch) == [State.CANCELLED, State.SKIPPED]
    sched.retry([f"{batch.id}.1"])
    sched.resume_all()
    assert sched.wait_idle(timeout=5)
    assert states(sched, batch) == [State.SUCCEEDED, State.SUCCEEDED]
