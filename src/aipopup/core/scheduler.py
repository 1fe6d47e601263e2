"""The scheduler: decides what runs where and when, and keeps the journal in step.

Threading: every piece of state here is guarded by one lock. Worker threads run operation code
outside the lock and come back through ``_finish``. Listeners are called outside the lock, on
whichever thread caused the event (a worker, the timer, or the caller), so they must be quick
and thread-safe; the GUI's bridge queues them for its own thread.
"""

from __future__ import annotations

import contextlib
import dataclasses
import heapq
import itertools
import logging
import random
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aipopup.core import operation
from aipopup.core.cancel import CancelToken
from aipopup.core.courtesy import pause
from aipopup.core.errors import Cancelled, TaskError, TransientError
from aipopup.core.events import Event
from aipopup.core.executor import Executor
from aipopup.core.journal import Journal
from aipopup.core.settings import Settings
from aipopup.core.skipdone import done_key, outputs_intact, unique_path
from aipopup.core.store import DoneEntry, Store, task_record
from aipopup.core.task import FINISHED, Batch, State, Task

log = logging.getLogger(__name__)

PROGRESS_INTERVAL = 0.05  # at most ~20 progress events a second per task
MAX_BACKOFF = 300.0
LOG_LINES_KEPT = 200
COMPACT_MIN_RECORDS = 20_000
ADD_CHUNK = 256  # tasks added per hold of the lock

Listener = Callable[[Event], None]


@dataclass
class _Outcome:
    state: State
    error: str = ""
    hint: str = ""
    result: dict[str, Any] | None = None
    outputs: list[str] | None = None
    transient: bool = False
    retry_after: float | None = None
    done_key: str = ""


class Scheduler:
    def __init__(self, executor: Executor, *, settings: Settings | None = None,
                 journal: Journal | None = None, store: Store | None = None,
                 start_existing: bool = True) -> None:
        """``start_existing=False`` leaves the tasks found in ``store`` queued but not started
        until resumed (``aipopup run`` runs only its own batch; the GUI asks first)."""
        self.executor = executor
        self.settings = settings or Settings()
        self.journal = journal
        self.store = store or Store()
        self._lock = threading.RLock()
        self._stamps = itertools.count(1)  # orders task events; see Event.stamp
        self._changed = threading.Condition(self._lock)
        self._listeners: list[Listener] = []
        self._tokens: dict[str, CancelToken] = {}
        self._tally: dict[int, dict[State, int]] = {}  # batch -> state -> tasks, kept in step
        self._seq = max((t.seq for t in self.store.tasks.values()), default=0) + 1
        self._slots: dict[str, tuple[str, str]] = {}
        self._start_seq: dict[str, int] = {}  # journal sequence of each running task's start
        self._running: dict[str, int] = {"cpu": 0, "net": 0}
        self._running_by_key: dict[str, int] = {}
        self._ready: dict[tuple[str, str], list[tuple[int, int, str]]] = {}
        self._dependents: dict[str, list[str]] = {}
        self._last_progress: dict[str, float] = {}
        self._logs: dict[str, deque[tuple[float, str, str]]] = {}
        self._finalizing: set[int] = set()
        # Called once each time every task of a batch has finished, after its finalizer, on a
        # worker thread (the engine keeps the batch's history with it).
        self.on_batch_finished: Callable[[Batch, list[Task]], None] | None = None
        self._adding: set[int] = set()  # batches whose tasks are still being added
        self._stopping = False
        self._closed = False
        self._timer = _Timer(self._wake)
        self._limits = self._limits_from(self.settings.snapshot())
        self.settings.subscribe(self._settings_changed)
        with self._lock:
            for batch_id in self.store.batches:
                self._tally[batch_id] = dict.fromkeys(State, 0)
            for task in self.store.tasks.values():
                self._count(task.batch_id, task.state, 1)
                for dep in task.depends_on:
                    self._dependents.setdefault(dep, []).append(task.id)
            for task in self._ordered(self.store.tasks.values()) if start_existing else ():
                if task.state is State.QUEUED:
                    self._push(task)
                elif task.state is State.WAITING:
                    self._reconsider(task, [])

    # -- listeners -------------------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(listener)
        return lambda: self._unsubscribe(listener)

    def _unsubscribe(self, listener: Listener) -> None:
        with self._lock, contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    def _emit(self, events: list[Event]) -> None:
        if not events:
            return
        listeners = list(self._listeners)
        for event in events:
            for listener in listeners:
                try:
                    listener(event)
                except Exception:
                    log.exception("event listener failed")

    # -- queries ---------------------------------------------------------------------------------
    def task(self, task_id: str) -> Task:
        with self._lock:
            return self.store.tasks[task_id].copy()

    def tasks(self, batch_id: int | None = None) -> list[Task]:
        with self._lock:
            if batch_id is None:
                return [t.copy() for t in self.store.tasks.values()]
            return [t.copy() for t in self.store.batch_tasks(batch_id)]

    # Queries the window makes on its own thread take no lock: a compaction holds the lock while
    # it rewrites the journal (a tenth of a second and more for 10,000 tasks), and the window
    # must not wait behind it. Copying a dict is one step under the GIL, so each answer is a
    # consistent snapshot of its dict.
    def batches(self) -> list[Batch]:
        return list(self.store.batches.copy().values())

    def batch(self, batch_id: int) -> Batch:
        return self.store.batches[batch_id]

    def log_lines(self, task_id: str) -> list[tuple[float, str, str]]:
        lines = self._logs.get(task_id)  # no lock, like batches(): deque.copy() is one step
        return list(lines.copy()) if lines is not None else []

    def counts(self, batch_id: int | None = None) -> dict[State, int]:
        if batch_id is not None:
            return dict(self._tally.get(batch_id) or dict.fromkeys(State, 0))
        counts = dict.fromkeys(State, 0)
        for tally in list(self._tally.copy().values()):
            for state, n in dict(tally).items():
                counts[state] += n
        return counts

    def _count(self, batch_id: int, state: State, delta: int) -> None:
        tally = self._tally.get(batch_id)
        if tally is None:
            tally = self._tally[batch_id] = dict.fromkeys(State, 0)
        tally[state] += delta

    @property
    def stopping(self) -> bool:
        return self._stopping

    def is_idle(self, batch_ids: Iterable[int] | None = None) -> bool:
        """True when nothing can make progress: every task finished, or paused, or stopping."""
        # Per-batch tallies, not a scan of the tasks: this runs after every task finishes.
        with self._lock:
            ids = list(self._tally) if batch_ids is None else list(batch_ids)
            if any(b in self._finalizing or b in self._adding for b in ids):
                return False
            busy = (State.RUNNING,) if self._stopping else (State.RUNNING, State.QUEUED, State.WAITING)
            return not any(self._tally[b][s] for b in ids if b in self._tally for s in busy)

    def wait_idle(self, batch_ids: Iterable[int] | None = None, timeout: float | None = None) -> bool:
        ids = None if batch_ids is None else list(batch_ids)
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            while not self.is_idle(ids):
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._changed.wait(0.5 if remaining is None else min(remaining, 0.5))
            return True

    # -- adding work -----------------------------------------------------------------------------
    def add_batch(self, batch: Batch, tasks: list[Task]) -> Batch:
        """Give ``batch`` and its ``tasks`` ids and queue them. A task's ``depends_on`` may name
        other tasks of the same list as ``"#<index>"``.

        Tasks are added in chunks with the lock released in between, so a 10,000-task batch
        never holds up a window asking for counts, and its first tasks start at once."""
        with self._lock:
            batch.id = self.store.next_batch_id()
            batch.created = batch.created or time.time()
            self._record({"t": "batch", "batch": batch.to_json()})
            self.store.apply({"t": "batch", "batch": batch.to_json()})
            self._tally[batch.id] = dict.fromkeys(State, 0)
            self._adding.add(batch.id)
            stored = self.store.batches[batch.id]
            ids = [f"{batch.id}.{n}" for n in range(1, len(tasks) + 1)]
            seq = self._seq
            self._seq += len(tasks)
        try:
            for start in range(0, len(tasks), ADD_CHUNK):
                self._add_chunk(stored, tasks, start, ids, seq)
                pause()  # a chunk of ADD_CHUNK tasks is a breath's worth of work
        finally:
            events: list[Event] = [Event("batch", batch_id=batch.id)]
            with self._lock:
                self._adding.discard(batch.id)
                self._maybe_finalize(batch.id, events)
                self._changed.notify_all()
            self._emit(events)
        return stored

    def _add_chunk(self, batch: Batch, tasks: list[Task], start: int, ids: list[str], seq: int) -> None:
        events: list[Event] = []
        with self._lock:
            now = time.time()
            chunk = tasks[start:start + ADD_CHUNK]
            for index, task in enumerate(chunk, start=start):
                task.id = ids[index]
                task.batch_id = batch.id
                task.seq = seq + index
                task.created = now
                task.depends_on = [ids[int(d[1:])] if d.startswith("#") else d for d in task.depends_on]
                task.state = State.WAITING if task.depends_on else State.QUEUED
                self._count(batch.id, task.state, 1)
                self.store.tasks[task.id] = task
                self.store.by_batch[batch.id].append(task.id)
                for dep in task.depends_on:
                    self._dependents.setdefault(dep, []).append(task.id)
                self._record({"t": "task", "task": task_record(task, batch)})
                events.append(self._task_event(task))
            for task in chunk:
                if task.state is State.QUEUED:
                    self._push(task)
                elif all(d in self.store.tasks for d in task.depends_on):
                    self._reconsider(task, events)  # its dependencies may have finished already
            self._dispatch(events)
        self._emit(events)


    # -- control ---------------------------------------------------------------------------------
    def pause(self, task_ids: Iterable[str]) -> None:
        self._control(task_ids, self._pause_one)

    def resume(self, task_ids: Iterable[str]) -> None:
        self._control(task_ids, self._resume_one)

    def cancel(self, task_ids: Iterable[str]) -> None:
        self._control(task_ids, self._cancel_one)

    def retry(self, task_ids: Iterable[str]) -> None:
        self._control(task_ids, self._retry_one)

    def pause_batch(self, batch_id: int) -> None:
        self.pause(self._ids_of(batch_id))

    def resume_batch(self, batch_id: int) -> None:
        self.resume(self._ids_of(batch_id))

    def pause_all(self) -> None:
        self.pause(self._ids_of(None))

    def start(self) -> None:
        """Lift a "stop after current": queued tasks start again (paused ones stay paused)."""
        events: list[Event] = []
        with self._lock:
            self._stopping = False
            self._dispatch(events)
        self._emit(events)

    def resume_all(self) -> None:
        """Resume every paused task and lift a "stop after current"."""
        with self._lock:
            self._stopping = False
        self.resume(self._ids_of(None))

    def retry_failed(self, batch_id: int | None = None) -> None:
        with self._lock:
            ids = [t for t in self._ids_of(batch_id) if self.store.tasks[t].state is State.FAILED]
        self.retry(ids)

    def stop_after_current(self) -> None:
        """Start nothing new; running tasks finish. ``resume_all`` undoes it."""
        with self._lock:
            self._stopping = True
            self._changed.notify_all()
        self._emit([Event("idle")] if self.is_idle() else [])

    def move_to_top(self, task_ids: Iterable[str]) -> None:
        events: list[Event] = []
        with self._lock:
            top = max((t.priority for t in self.store.tasks.values()), default=0) + 1
            for task_id in task_ids:
                task = self.store.tasks.get(task_id)
                if task is None or task.state in FINISHED:
                    continue
                task.priority = top
                self._record({"t": "upd", "id": task.id, "priority": top})
                if task.state is State.QUEUED:
                    self._push(task)
                events.append(self._task_event(task))
            self._dispatch(events)
        self._emit(events)

    def remove(self, task_ids: Iterable[str]) -> list[str]:
        """Forget finished tasks (and a batch with none left); returns the ids removed.
        Unfinished tasks are left alone: cancel them first."""
        removed: list[str] = []
        events: list[Event] = []
        with self._lock:
            for task_id in task_ids:
                task = self.store.tasks.get(task_id)
                if task is None or task.state not in FINISHED:
                    continue
                self.store.apply({"t": "drop", "id": task_id})
                self._record({"t": "drop", "id": task_id})
                self._count(task.batch_id, task.state, -1)
                removed.append(task_id)
                events.append(Event("task", task_id=task_id, batch_id=task.batch_id, message="removed",
                                    stamp=next(self._stamps)))
                if not self.store.by_batch.get(task.batch_id):
                    self.store.forget(task.batch_id)
                    self._tally.pop(task.batch_id, None)
                    self._record({"t": "forget", "batch": task.batch_id})
        self._emit(events)
        return removed

    def forget_batch(self, batch_id: int) -> None:
        with self._lock:
            if self.counts(batch_id)[State.RUNNING]:
                raise RuntimeError(f"batch {batch_id} still has running tasks")
            self.store.forget(batch_id)
            self._tally.pop(batch_id, None)
            self._record({"t": "forget", "batch": batch_id})
        self._emit([Event("batch", batch_id=batch_id)])

    def clean(self) -> int:
        """Forget every batch whose tasks have all finished; returns how many."""
        with self._lock:
            done = [b for b in self.store.batches
                    if all(t.state in FINISHED for t in self.store.batch_tasks(b))]
        for batch_id in done:
            self.forget_batch(batch_id)
        return len(done)

    def set_limits(self, cpu: int | None = None, net: int | None = None,
                   per_key: int | None = None) -> None:
        events: list[Event] = []
        with self._lock:
            self._limits = {"cpu": cpu or self._limits["cpu"], "net": net or self._limits["net"],
                            "key": per_key or self._limits["key"]}
            self._dispatch(events)
        self._emit(events)

    def _settings_changed(self, changed: dict[str, Any]) -> None:
        if {"workers", "net_workers", "per_host"} & set(changed):
            limits = self._limits_from(self.settings.snapshot())
            self.set_limits(limits["cpu"], limits["net"], limits["key"])

    @staticmethod
    def _limits_from(values: dict[str, Any]) -> dict[str, int]:
        return {"cpu": int(values["workers"]), "net": int(values["net_workers"]),
                "key": int(values["per_host"])}

    def _ids_of(self, batch_id: int | None) -> list[str]:
        with self._lock:
            if batch_id is None:
                return list(self.store.tasks)
            return list(self.store.by_batch.get(batch_id, []))

    def _control(self, task_ids: Iterable[str], action: Callable[[Task, list[Event]], None]) -> None:
        events: list[Event] = []
        with self._lock:
            for task_id in task_ids:
                task = self.store.tasks.get(task_id)
                if task is not None:
                    action(task, events)
            self._dispatch(events)
            self._changed.notify_all()
        self._emit(events)

    def _pause_one(self, task: Task, events: list[Event]) -> None:
        if task.state in (State.QUEUED, State.WAITING):
            self._set_state(task, State.PAUSED, events)
        elif task.state is State.RUNNING:
            self._tokens[task.id].cancel("pause")

    def _resume_one(self, task: Task, events: list[Event]) -> None:
        if task.state is State.PAUSED:
            self._reconsider(task, events, from_state=State.PAUSED)
        elif task.state is State.QUEUED:
            self._push(task)  # not started yet (start_existing=False); a duplicate entry is harmless
        elif task.state is State.WAITING:
            self._reconsider(task, events)

    def _cancel_one(self, task: Task, events: list[Event]) -> None:
        if task.state in (State.QUEUED, State.WAITING, State.PAUSED):
            self._set_state(task, State.CANCELLED, events, error="Cancelled.")
            self._settle_dependents(task, events)
            self._maybe_finalize(task.batch_id, events)  # cancelling the last waiting task ends a batch
        elif task.state is State.RUNNING:
            self._tokens[task.id].cancel("cancel")

    def _retry_one(self, task: Task, events: list[Event]) -> None:
        if task.state in (State.FAILED, State.CANCELLED, State.SKIPPED):
            task.attempts = 0
            self._record({"t": "upd", "id": task.id, "attempts": 0})
            self._reconsider(task, events, from_state=task.state)
            # dependents skipped because of this task get another chance too
            for dep_id in self._dependents.get(task.id, []):
                dependent = self.store.tasks[dep_id]
                if dependent.state is State.SKIPPED and not dependent.outputs:
                    self._set_state(dependent, State.WAITING, events, error="")

    # -- readiness -------------------------------------------------------------------------------
    def _reconsider(self, task: Task, events: list[Event], from_state: State | None = None) -> None:
        """Queue ``task`` if its dependencies allow; wait on them; or skip it if one failed."""
        deps = [self.store.tasks.get(d) for d in task.depends_on]
        if any(d is None for d in deps):
            self._set_state(task, State.SKIPPED, events, error="A task it depends on was removed.")
            return
        pending = [d for d in deps if d is not None and d.state not in FINISHED]
        if pending:
            if task.state is not State.WAITING:
                self._set_state(task, State.WAITING, events, error="")
            return
        broken = [d for d in deps if d is not None and not _provides_outputs(d)]
        if broken:
            self._set_state(task, State.SKIPPED, events,
                            error=f"Skipped: {broken[0].id} ({Path(broken[0].input).name or broken[0].op}) "
                                  f"did not succeed.")
            self._settle_dependents(task, events)
            return
        live = [d for d in deps if d is not None]
        if task.depends_on and not task.input and not self._take_dependency_input(task, live, events):
            return
        if task.retry_at and task.retry_at > time.time() and from_state is None:
            self._timer.schedule(task.retry_at, task.id)
            return
        task.retry_at = 0.0
        self._set_state(task, State.QUEUED, events, error="")
        self._push(task)

    def _take_dependency_input(self, task: Task, deps: list[Task], events: list[Event]) -> bool:
        op = operation.get(task.op)
        outputs = [o for d in deps for o in d.outputs]
        usable = [o for o in outputs if Path(o).suffix.lower() in op.accepts]
        if not usable:
            name = Path(outputs[0]).name if outputs else "the download"
            self._set_state(task, State.SKIPPED, events,
                            error=f"Not processed: {name} is not a file {op.name} can use.")
            return False
        batch = self.store.batches[task.batch_id]
        task.input = usable[0]
        ext = op.output_ext(task.input, task.params)
        if ext:
            from aipopup.core import naming

            task.output = str(naming.output_path(batch.output_dir, task.rel_dir, batch.name_template,
                                                 input_name=task.input, op=task.op, ext=ext))
        self._record({"t": "upd", "id": task.id, "input": task.input, "output": task.output})
        return True

    def _settle_dependents(self, task: Task, events: list[Event]) -> None:
        for dep_id in self._dependents.get(task.id, []):
            dependent = self.store.tasks.get(dep_id)
            if dependent is not None and dependent.state is State.WAITING:
                self._reconsider(dependent, events)

    def _push(self, task: Task) -> None:
        heap = self._ready.setdefault((task.resource, task.resource_key), [])
        heapq.heappush(heap, (-task.priority, task.seq, task.id))

    def _pop_ready(self, resource: str) -> Task | None:
        best: tuple[int, int, str] | None = None
        best_key: tuple[str, str] | None = None
        for key, heap in self._ready.items():
            if key[0] != resource or not heap:
                continue
            if key[1] and self._running_by_key.get(key[1], 0) >= self._limits["key"]:
                continue
            while heap:
                prio, _, task_id = heap[0]
                task = self.store.tasks.get(task_id)
                if task is not None and task.state is State.QUEUED and -prio == task.priority:
                    break
                heapq.heappop(heap)  # stale: started, paused, re-prioritised or removed
            if heap and (best is None or heap[0] < best):
                best, best_key = heap[0], key
        if best is None or best_key is None:
            return None
        heapq.heappop(self._ready[best_key])
        return self.store.tasks[best[2]]

    # -- running ---------------------------------------------------------------------------------
    def _dispatch(self, events: list[Event]) -> None:
        if self._stopping or self._closed:
            return
        for resource in ("net", "cpu"):
            while self._running[resource] < self._limits[resource]:
                task = self._pop_ready(resource)
                if task is None:
                    break
                self._start(task, events)

    def _start(self, task: Task, events: list[Event]) -> None:
        timeout = self.settings.get("task_timeout")
        token = CancelToken(float(timeout) if timeout else None)
        self._tokens[task.id] = token
        self._slots[task.id] = (task.resource, task.resource_key)
        self._running[task.resource] += 1
        if task.resource_key:
            self._running_by_key[task.resource_key] = self._running_by_key.get(task.resource_key, 0) + 1
        task.attempts += 1
        task.started = time.time()
        task.finished = 0.0
        task.progress = 0.0
        extra: dict[str, Any] = {"attempts": task.attempts, "started": task.started}
        if task.output and Path(task.output).exists():
            # recovery must not mistake a file that was already there for this attempt's output
            extra["result"] = task.result = {"output_existed": True}
        self._set_state(task, State.RUNNING, events, error="" if task.error else None, extra=extra)
        self._start_seq[task.id] = self._journal_seq()
        attempt = task.attempts
        self.executor.submit(lambda: self._run(task.id, attempt, token))

    def _run(self, task_id: str, attempt: int, token: CancelToken) -> None:
        with self._lock:
            task = self.store.tasks[task_id].copy()
            batch = self.store.batches[task.batch_id]
            dep_outputs = [o for d in task.depends_on if d in self.store.tasks
                           for o in self.store.tasks[d].outputs]
        try:
            outcome = self._execute(task, batch, token, dep_outputs)
        except Exception as exc:
            log.exception("task %s crashed the engine", task_id)
            outcome = _Outcome(State.FAILED, error=f"Internal error: {type(exc).__name__}: {exc}",
                               hint="This is a bug in AI Popup; the log has the details.")
        self._finish(task_id, attempt, outcome)

    def _execute(self, task: Task, batch: Batch, token: CancelToken, dep_outputs: list[str]) -> _Outcome:
        op = operation.get(task.op)
        key = ""
        try:
            token.check()
            if task.input:
                skip, key, output = self._check_done(task, batch, op)
                if skip is not None:
                    return skip
                if output != task.output:  # --overwrite rename chose a free name: recovery needs it
                    with self._lock:
                        self.store.tasks[task.id].output = output
                        self._record({"t": "upd", "id": task.id, "output": output})
                        self._start_seq[task.id] = self._journal_seq()
                task.output = output
            ctx = operation.TaskContext(
                task, batch, token, settings=self.settings.snapshot(), dep_outputs=dep_outputs,
                report_progress=lambda f, m: self._progress(task.id, f, m),
                report_log=lambda level, text: self._log(task.id, level, text),
                before_commit=lambda: self._barrier(task.id))
            result = op.run_function()(ctx) or {}
            return _Outcome(State.SUCCEEDED, result=result, outputs=ctx.outputs, done_key=key)
        except Cancelled as exc:
            return _Outcome(State.PAUSED if exc.reason == "pause" else
                            State.QUEUED if exc.reason == "shutdown" else State.CANCELLED,
                            error="Cancelled." if exc.reason == "cancel" else "")
        except TransientError as exc:
            return _Outcome(State.FAILED, error=exc.message, hint=exc.hint, transient=True,
                            retry_after=exc.retry_after)
        except TaskError as exc:
            return _Outcome(State.FAILED, error=exc.message, hint=exc.hint)
        except MemoryError:
            return _Outcome(State.FAILED, error="Ran out of memory.",
                            hint="Lower the number of workers or the pixel limit in Settings.")
        except Exception as exc:
            self._log(task.id, "error", traceback.format_exc())
            return _Outcome(State.FAILED, error=f"Internal error: {type(exc).__name__}: {exc}",
                            hint="This is a bug in AI Popup; the task's log has the details.")

    def _check_done(self, task: Task, batch: Batch,
                    op: operation.Operation) -> tuple[_Outcome | None, str, str | None]:
        """Skip a task whose output is already there: same input content and settings as a
        finished run (skip-done), or an existing file the overwrite policy says to keep."""
        key = done_key(task.op, task.input, task.params, is_url=op.inputs_are_urls, output=task.output)
        with self._lock:
            entry = self.store.done.get(key) if key else None
        if entry is not None and outputs_intact(entry.outputs, entry.sizes):
            return (_Outcome(State.SKIPPED, error="Already done: same input and settings as an earlier run.",
                             outputs=entry.outputs), key, task.output)
        if not task.output:
            return None, key, None
        output = Path(task.output)
        if output.exists():
            if batch.overwrite == "never":
                return (_Outcome(State.SKIPPED, outputs=[str(output)],
                                 error=f"Kept the existing {output.name} (overwrite policy: never)."),
                        key, task.output)
            if batch.overwrite == "rename":
                return None, key, str(unique_path(output))
        return None, key, task.output

    def _barrier(self, task_id: str) -> None:
        """Before an output is renamed into place: wait until this task's own "running" record
        (and whatever came before it) is on disk, not for everyone's later records."""
        if self.journal is not None:
            self.journal.barrier(self._start_seq.get(task_id))

    def _progress(self, task_id: str, fraction: float, message: str) -> None:
        task = self.store.tasks.get(task_id)
        if task is None:
            return
        task.progress = fraction  # a float store is atomic; listeners read it through events
        now = time.monotonic()
        if now - self._last_progress.get(task_id, 0.0) < PROGRESS_INTERVAL and fraction < 1.0:
            return
        self._last_progress[task_id] = now
        self._emit([Event("progress", task_id=task_id, batch_id=task.batch_id, progress=fraction,
                          message=message)])

    def _log(self, task_id: str, level: str, text: str) -> None:
        task = self.store.tasks.get(task_id)
        with self._lock:
            self._logs.setdefault(task_id, deque(maxlen=LOG_LINES_KEPT)).append((time.time(), level, text))
        getattr(log, level if level in ("debug", "info", "warning", "error") else "info")(
            "%s: %s", task_id, text)
        self._emit([Event("log", task_id=task_id, batch_id=task.batch_id if task else 0, message=text,
                          level=level)])

    def _finish(self, task_id: str, attempt: int, outcome: _Outcome) -> None:
        events: list[Event] = []
        with self._lock:
            task = self.store.tasks.get(task_id)
            self._tokens.pop(task_id, None)
            self._last_progress.pop(task_id, None)
            self._start_seq.pop(task_id, None)
            resource, key = self._slots.pop(task_id)
            self._running[resource] -= 1
            if key:
                self._running_by_key[key] -= 1
            if task is None or task.attempts != attempt or task.state is not State.RUNNING:
                self._dispatch(events)
                self._changed.notify_all()
                return  # removed meanwhile: a stale result is dropped
            task.finished = time.time()
            extra: dict[str, Any] = {"finished": task.finished}
            if outcome.result is not None:
                task.result = outcome.result
                extra["result"] = outcome.result
            if outcome.outputs is not None:
                task.outputs = outcome.outputs
                extra["outputs"] = outcome.outputs
            if outcome.state is State.SUCCEEDED:
                task.progress = 1.0
                extra["progress"] = 1.0
                if outcome.done_key and task.outputs:
                    self._record_done(outcome.done_key, task.outputs)
            if outcome.transient and task.attempts < int(self.settings.get("retries", 3)):
                delay = (outcome.retry_after if outcome.retry_after is not None
                         else self._backoff(task.attempts))
                task.retry_at = time.time() + delay
                extra["retry_at"] = task.retry_at
                self._set_state(task, State.WAITING, events,
                                error=f"{outcome.error} Retrying in {delay:.0f} s "
                                      f"(attempt {task.attempts + 1} of {self.settings.get('retries', 3)}).",
                                hint=outcome.hint, extra=extra)
                self._timer.schedule(task.retry_at, task.id)
            else:
                if outcome.state is State.QUEUED:
                    task.attempts -= 1  # interrupted by shutdown: this attempt does not count
                    extra["attempts"] = task.attempts
                written = task.outputs if outcome.state is State.SUCCEEDED else None
                self._set_state(task, outcome.state, events, error=outcome.error, hint=outcome.hint,
                                extra=extra, files=written)
                if outcome.state is State.QUEUED:
                    self._push(task)
                if outcome.state in FINISHED:
                    self._settle_dependents(task, events)
                    self._maybe_finalize(task.batch_id, events)
            self._dispatch(events)
            self._maybe_compact()
            busy = (State.RUNNING,) if self._stopping else (State.RUNNING, State.QUEUED, State.WAITING)
            tally = self._tally.get(task.batch_id)
            if tally is None or not any(tally[s] for s in busy):
                # only a batch with nothing left to run can end a wait_idle: waking the waiter
                # after every task cost 1,000 wake-ups (and GIL hand-offs) per 1,000 downloads
                self._changed.notify_all()
        if self.is_idle():
            events.append(Event("idle"))
        self._emit(events)

    def _backoff(self, attempts: int) -> float:
        base = float(self.settings.get("retry_delay", 1.0))
        delay = min(MAX_BACKOFF, base * 2 ** (attempts - 1))
        return float(delay * random.uniform(0.5, 1.0))  # jitter: retries of many tasks spread out

    def _wake(self, task_id: str) -> None:
        events: list[Event] = []
        with self._lock:
            task = self.store.tasks.get(task_id)
            if task is not None and task.state is State.WAITING and task.retry_at:
                task.retry_at = 0.0
                self._reconsider(task, events, from_state=State.WAITING)
                self._dispatch(events)
        self._emit(events)

    def _record_done(self, key: str, outputs: list[str]) -> None:
        sizes = []
        for output in outputs:
            try:
                sizes.append(Path(output).stat().st_size)
            except OSError:
                return
        self.store.done[key] = DoneEntry(list(outputs), sizes)
        self._record({"t": "done", "key": key, "outputs": list(outputs), "sizes": sizes}, outputs)

    # -- batch completion --------------------------------------------------------------------------
    def _maybe_finalize(self, batch_id: int, events: list[Event]) -> None:
        tally = self._tally[batch_id]
        if batch_id in self._adding or any(tally[s] for s in State if s not in FINISHED):
            return
        tasks = self.store.batch_tasks(batch_id)
        events.append(Event("batch", batch_id=batch_id))
        batch = self.store.batches[batch_id]
        op = _finalizing_op(batch)
        if (op.finalizer is None and self.on_batch_finished is None) or batch_id in self._finalizing:
            return
        self._finalizing.add(batch_id)
        snapshot = [t.copy() for t in tasks]
        self.executor.submit(lambda: self._finalize(batch, snapshot, op))

    def _finalize(self, batch: Batch, tasks: list[Task], op: operation.Operation) -> None:
        message = ""
        try:
            if op.finalizer is not None:
                message = self._run_finalizer(batch, tasks, op)
            if self.on_batch_finished is not None:
                with self._lock:
                    finished = dataclasses.replace(batch, params=dict(batch.params),
                                                   finalized=dict(batch.finalized))
                self.on_batch_finished(finished, tasks)
        except Exception:
            log.exception("after batch %s finished", batch.id)
        finally:
            # Only now is the batch idle: a command that waits for it also waits for its history.
            with self._lock:
                self._finalizing.discard(batch.id)
                self._changed.notify_all()
        self._emit([Event("batch", batch_id=batch.id, message=message), Event("idle")])

    def _run_finalizer(self, batch: Batch, tasks: list[Task], op: operation.Operation) -> str:
        try:
            function = op.finalize_function()
            if op.name != batch.op:  # the chained operation's report, on its own tasks and options
                batch = dataclasses.replace(batch, op=op.name, params=dict(batch.then_params))
                tasks = [t for t in tasks if t.op == op.name]
            result = function(batch, tasks, CancelToken()) if function else None
            message = ""
        except TaskError as exc:
            result, message = None, exc.message
        except Exception as exc:
            log.exception("finalizing batch %s failed", batch.id)
            result, message = None, f"Internal error: {type(exc).__name__}: {exc}"
        with self._lock:
            fields = {"finalized": result or {}, "final_error": message}
            self._record({"t": "bupd", "id": batch.id, **fields})
            self.store.apply({"t": "bupd", "id": batch.id, **fields})
        return message

    # -- state and journal -------------------------------------------------------------------------
    def _set_state(self, task: Task, state: State, events: list[Event], *, error: str | None = None,
                   hint: str = "", extra: dict[str, Any] | None = None,
                   files: list[str] | None = None) -> None:
        if task.state is not state:
            self._count(task.batch_id, task.state, -1)
            self._count(task.batch_id, state, 1)
        task.state = state
        record: dict[str, Any] = {"t": "upd", "id": task.id, "state": state.value}
        if error is not None:
            task.error = error
            task.hint = hint if error else ""
            record["error"] = task.error
            record["hint"] = task.hint
        if extra:
            record.update(extra)
        self._record(record, files or ())
        events.append(self._task_event(task))

    def _task_event(self, task: Task) -> Event:
        return Event("task", task_id=task.id, batch_id=task.batch_id, task=task.copy(),
                     progress=task.progress, stamp=next(self._stamps))

    def _record(self, record: dict[str, Any], files: Iterable[str] = ()) -> None:
        """``files`` (a task's outputs) are made durable before the record is written."""
        if self.journal is not None:
            self.journal.append(record, files)

    def _journal_seq(self) -> int:
        return self.journal.last_seq if self.journal is not None else 0

    def _maybe_compact(self) -> None:
        if self.journal is None:
            return
        written = self.journal.records_in_file
        if written > COMPACT_MIN_RECORDS and written > 4 * max(1, len(self.store.tasks)):
            self.compact()

    def compact(self) -> None:
        if self.journal is None:
            return
        with self._lock:
            self.journal.compact(self.store.snapshot())

    # -- shutdown ----------------------------------------------------------------------------------
    def shutdown(self, timeout: float = 2.0) -> bool:
        """Stop taking work, ask running tasks to stop at a safe point (they go back to queued,
        so the next start resumes them), flush the journal. True if all stopped in time."""
        with self._lock:
            self._closed = True
            tokens = list(self._tokens.values())
        for token in tokens:
            token.cancel("shutdown")
        deadline = time.monotonic() + timeout
        with self._changed:
            while any(t.state is State.RUNNING for t in self.store.tasks.values()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._changed.wait(min(remaining, 0.1))
            stopped = not any(t.state is State.RUNNING for t in self.store.tasks.values())
        self._timer.stop()
        if self.journal is not None:
            self.journal.barrier()
        return stopped

    @staticmethod
    def _ordered(tasks: Iterable[Task]) -> list[Task]:
        return sorted(tasks, key=lambda t: (-t.priority, t.seq))


def _provides_outputs(task: Task) -> bool:
    return task.state is State.SUCCEEDED or (task.state is State.SKIPPED and bool(task.outputs))


class _Timer:
    """One thread for every delayed wake-up (retry back-offs)."""

    def __init__(self, callback: Callable[[str], None]) -> None:
        self._callback = callback
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, str]] = []
        self._counter = itertools.count()
        self._stopped = False
        self._thread: threading.Thread | None = None

    def schedule(self, when: float, task_id: str) -> None:
        with self._cond:
            heapq.heappush(self._heap, (when, next(self._counter), task_id))
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="aipopup-timer", daemon=True)
                self._thread.start()
            self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._stopped and (not self._heap or self._heap[0][0] > time.time()):
                    self._cond.wait(None if not self._heap else max(0.0, self._heap[0][0] - time.time()))
                if self._stopped:
                    return
                _, _, task_id = heapq.heappop(self._heap)
            self._callback(task_id)


def _finalizing_op(batch: Batch) -> operation.Operation:
    """Whose finalizer ends the batch: its own operation's, else (download --then detect) the
    chained one's, so a chained detect still writes its report."""
    op = operation.get(batch.op)
    if op.finalizer is None and batch.then_op:
        then = operation.get(batch.then_op)
        if then.finalizer is not None:
            return then
    return op
