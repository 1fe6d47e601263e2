"""What the command line prints while a batch runs and when it ends.

Three modes: a one-line progress bar on a terminal, plain lines otherwise (logs, CI), and
``--json`` (one object per event and a summary). Engine events arrive on worker threads; the
progress bar is redrawn from a timer, never per event, so 10,000 fast tasks cost nothing here.
"""

from __future__ import annotations

import json
import shutil
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from aipopup.core.events import Event
from aipopup.core.scheduler import Scheduler
from aipopup.core.task import FINISHED, State, Task

REDRAW_SECONDS = 0.1
PLAIN_REPORT_SECONDS = 5.0


def _name(task: Task) -> str:
    return Path(task.input).name or task.input or task.id


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class Console:
    def __init__(self, scheduler: Scheduler, batch_ids: Iterable[int], *, json_mode: bool = False,
                 stream: IO[str] | None = None) -> None:
        self.scheduler = scheduler
        self.batch_ids = list(batch_ids)
        self.json_mode = json_mode
        self.stream = stream or (sys.stdout if json_mode else sys.stderr)
        self.tty = not json_mode and self.stream.isatty()
        self.started = time.monotonic()
        self._done_at_start = self._finished_count()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._unsubscribe = scheduler.subscribe(self._on_event)

    # -- live -------------------------------------------------------------------------------------
    def start(self) -> None:
        if not self.json_mode:
            self._thread = threading.Thread(target=self._loop, name="aipopup-console", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._unsubscribe()
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.tty:
            self._write("\r" + " " * (shutil.get_terminal_size().columns - 1) + "\r")

    def _on_event(self, event: Event) -> None:
        if event.batch_id not in self.batch_ids:
            return
        if self.json_mode:
            self._print_json(_event_json(event))
        elif event.kind == "task" and event.task is not None and event.task.state is State.FAILED:
            self._line(f"failed: {_name(event.task)}: {event.task.error}")
        elif event.kind == "log" and event.level in ("warning", "error"):
            self._line(f"{event.level}: {event.task_id}: {event.message}")

    def _loop(self) -> None:
        interval = REDRAW_SECONDS if self.tty else PLAIN_REPORT_SECONDS
        while not self._stop.wait(interval):
            if self.tty:
                self._write("\r" + self.status_line()[: shutil.get_terminal_size().columns - 1])
            else:
                self._line(self.status_line())

    def status_line(self) -> str:
        counts = self._counts()
        total = sum(counts.values())
        finished = sum(counts[s] for s in FINISHED)
        elapsed = time.monotonic() - self.started
        rate = (finished - self._done_at_start) / elapsed if elapsed > 0 else 0.0
        width = 24
        filled = int(width * finished / total) if total else width
        bar = "#" * filled + "-" * (width - filled)
        parts = [f"[{bar}] {finished}/{total}"]
        if counts[State.RUNNING]:
            parts.append(f"{counts[State.RUNNING]} running")
        if counts[State.FAILED]:
            parts.append(f"{counts[State.FAILED]} failed")
        if counts[State.WAITING]:
            parts.append(f"{counts[State.WAITING]} waiting")
        parts.append(f"{rate:.1f}/s")
        if rate > 0 and finished < total:
            parts.append(f"ETA {_duration((total - finished) / rate)}")
        return " · ".join(parts)

    def _counts(self) -> dict[State, int]:
        totals = dict.fromkeys(State, 0)
        for batch_id in self.batch_ids:
            for state, n in self.scheduler.counts(batch_id).items():
                totals[state] += n
        return totals

    def _finished_count(self) -> int:
        counts = self._counts()
        return sum(counts[s] for s in FINISHED)

    def _write(self, text: str) -> None:
        with self._lock:
            self.stream.write(text)
            self.stream.flush()

    def _line(self, text: str) -> None:
        self._write(("\r\x1b[K" if self.tty else "") + text + "\n")

    def _print_json(self, obj: dict[str, Any]) -> None:
        self._write(json.dumps(obj, ensure_ascii=False) + "\n")

    # -- the end ------------------------------------------------------------------------------------
    def summary(self, *, interrupted: bool = False) -> dict[str, Any]:
        tasks = [t for b in self.batch_ids for t in self.scheduler.tasks(b)]
        counts = {s.value: 0 for s in State}
        for task in tasks:
            counts[task.state.value] += 1
        elapsed = time.monotonic() - self.started
        ran = sum(1 for t in tasks if t.state is State.SUCCEEDED and t.finished)
        failures = [{"id": t.id, "input": t.input, "error": t.error, "hint": t.hint}
                    for t in tasks if t.state in (State.FAILED, State.CANCELLED)]
        skipped = [{"id": t.id, "input": t.input, "reason": t.error}
                   for t in tasks if t.state is State.SKIPPED]
        batches = [self.scheduler.batch(b) for b in self.batch_ids]
        return {"event": "summary", "batches": self.batch_ids, "counts": counts, "total": len(tasks),
                "elapsed": round(elapsed, 3), "rate": round(ran / elapsed, 3) if elapsed else 0.0,
                "failures": failures, "skipped": skipped, "interrupted": interrupted,
                "output_dirs": sorted({b.output_dir for b in batches}),
                "finalized": {b.id: b.finalized for b in batches if b.finalized},
                "final_errors": {b.id: b.final_error for b in batches if b.final_error}}

    def print_summary(self, summary: dict[str, Any]) -> None:
        if self.json_mode:
            self._print_json(summary)
            return
        counts = summary["counts"]
        shown = ", ".join(f"{n} {state}" for state, n in counts.items() if n)
        self._line(f"{summary['total']} tasks: {shown or 'none'} in {_duration(summary['elapsed'])}")
        skipped = summary["skipped"]
        if skipped:
            reasons: dict[str, int] = {}
            for item in skipped:
                reasons[item["reason"]] = reasons.get(item["reason"], 0) + 1
            for reason, n in sorted(reasons.items(), key=lambda kv: -kv[1])[:5]:
                self._line(f"  skipped {n}: {reason}")
        for failure in summary["failures"]:
            hint = f" ({failure['hint']})" if failure["hint"] else ""
            self._line(f"  FAILED {failure['id']} {Path(failure['input']).name or failure['input']}: "
                       f"{failure['error']}{hint}")
        for batch_id, error in summary["final_errors"].items():
            self._line(f"  batch {batch_id}: {error}")
        for output_dir in summary["output_dirs"]:
            self._line(f"output: {output_dir}")
        if summary["interrupted"]:
            self._line("Interrupted: progress is saved. Continue with: aipopup jobs resume")


def _event_json(event: Event) -> dict[str, Any]:
    out: dict[str, Any] = {"event": event.kind, "task": event.task_id, "batch": event.batch_id}
    if event.kind == "task" and event.task is not None:
        task = event.task
        out.update(state=task.state.value, input=task.input, output=task.output, error=task.error,
                   hint=task.hint, attempts=task.attempts, result=task.result, outputs=task.outputs)
    elif event.kind == "progress":
        out.update(progress=round(event.progress, 4), message=event.message)
    elif event.kind == "log":
        out.update(level=event.level, message=event.message)
    elif event.message:
        out["message"] = event.message
    return out
