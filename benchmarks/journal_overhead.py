"""What the crash-safe journal costs: tasks/s for no-op tasks with the journal on and off, and
the time to replay a 100,000-record journal.

    python benchmarks/journal_overhead.py [--tasks 2000] [--rounds 5]

Targets: overhead under 10 % on no-op tasks; replay under 1 s. Both configurations run in the
same process, alternating round by round, and the medians are compared (a shared machine is
noisy; one round takes a fraction of a second).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from aipopup.core.engine import Engine, replay
from aipopup.core.executor import ThreadExecutor
from aipopup.core.journal import JOURNAL_NAME, Journal
from aipopup.core.operation import Operation, TaskContext, register
from aipopup.core.params import Schema
from aipopup.core.scheduler import Scheduler
from aipopup.core.settings import Settings
from aipopup.core.store import task_record
from aipopup.core.task import Batch, State, Task


def run_noop(ctx: TaskContext) -> dict[str, Any]:
    return {}


NOOP = register(Operation(name="noop", title="No-op", summary="Does nothing.", schema=Schema(()),
                          runner=f"{__name__}:run_noop", output_ext=lambda *_: None))


def make_tasks(count: int) -> list[Task]:
    return [Task(id="", batch_id=0, op="noop", input="", output=None, params={}) for _ in range(count)]


def timed_batch(scheduler: Scheduler, count: int) -> tuple[float, float]:
    started, cpu = time.perf_counter(), time.process_time()
    batch = Batch(id=0, op="noop", params={}, output_dir="/nonexistent")
    batch = scheduler.add_batch(batch, make_tasks(count))
    if not scheduler.wait_idle([batch.id], timeout=300):
        raise RuntimeError("the batch did not finish")
    elapsed = time.perf_counter() - started, time.process_time() - cpu
    assert scheduler.counts(batch.id)[State.SUCCEEDED] == count
    return elapsed


def with_journal(folder: Path, count: int) -> tuple[float, float]:
    with Engine(folder, settings=Settings(values={"workers": 2})) as engine:
        started, cpu = time.perf_counter(), time.process_time()
        timed_batch(engine.scheduler, count)
        engine.journal.barrier()  # the records are on disk before the clock stops
        return time.perf_counter() - started, time.process_time() - cpu


def without_journal(count: int) -> tuple[float, float]:
    executor = ThreadExecutor()
    scheduler = Scheduler(executor, settings=Settings(values={"workers": 2}))
    try:
        return timed_batch(scheduler, count)
    finally:
        scheduler.shutdown()
        executor.shutdown()


def replay_time(folder: Path, records: int) -> tuple[float, int]:
    """A realistic journal: each task is created, started and finished (3 records) in batches."""
    journal = Journal(folder / JOURNAL_NAME, durable=False)
    written, batch_id = 0, 0
    while written < records:
        batch_id += 1
        batch = Batch(id=batch_id, op="convert", params={"format": "keep", "quality": 90, "max_side": 800},
                      output_dir="/tmp/out")
        journal.append({"t": "batch", "batch": batch.to_json()})
        written += 1
        for n in range(1, 1001):
            task = Task(id=f"{batch_id}.{n}", batch_id=batch_id, op="convert",
                        input=f"/photos/img{n:05d}.jpg", output=f"/tmp/out/img{n:05d}_convert.jpg",
                        params=dict(batch.params), seq=n)
            journal.append({"t": "task", "task": task_record(task, batch)})
            journal.append({"t": "upd", "id": task.id, "state": "running", "attempts": 1, "started": 1.0})
            journal.append({"t": "upd", "id": task.id, "state": "succeeded", "finished": 2.0, "progress": 1.0,
                            "outputs": [task.output], "result": {"width": 800, "height": 600}})
            written += 3
            if written >= records:
                break
    journal.close()
    started = time.perf_counter()
    store, report = replay(folder)
    elapsed = time.perf_counter() - started
    assert len(report.records) == written and not report.damaged
    return elapsed, len(store.tasks)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--records", type=int, default=100_000)
    args = parser.parse_args()
    on: list[tuple[float, float]] = []
    off: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory(prefix="aipopup-journal-") as tmp:
        for round_ in range(args.rounds):
            off.append(without_journal(args.tasks))
            on.append(with_journal(Path(tmp) / f"state{round_}", args.tasks))
        replay_seconds, tasks = replay_time(Path(tmp) / "replay", args.records)
    best_on, best_off = statistics.median(w for w, _ in on), statistics.median(w for w, _ in off)
    cpu_on, cpu_off = statistics.median(c for _, c in on), statistics.median(c for _, c in off)
    overhead = (best_on - best_off) / best_off * 100
    cpu_overhead = (cpu_on - cpu_off) / cpu_off * 100
    print(f"no-op tasks: {args.tasks}, median of {args.rounds} rounds each, 2 workers")
    print(f"  journal off: {args.tasks / best_off:9.0f} tasks/s  ({best_off:.3f} s wall, "
          f"{cpu_off:.3f} s CPU)")
    print(f"  journal on : {args.tasks / best_on:9.0f} tasks/s  ({best_on:.3f} s wall, {cpu_on:.3f} s CPU; "
          "fsync'd group commits)")
    print(f"  overhead   : {overhead:5.1f} % wall, {cpu_overhead:5.1f} % CPU   (target < 10 %)")
    print(f"replay of {args.records} records ({tasks} tasks): {replay_seconds:.3f} s   (target < 1 s)")
    return 0 if overhead < 10 and replay_seconds < 1 else 1


if __name__ == "__main__":
    sys.exit(main())
