"""Wizard page 5: a last look — how many inputs, an estimated time from this machine's own
throughput, and whether the output drive has room. The figures are gathered off-thread."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWizard, QWizardPage

from aipopup.core import operation
from aipopup.core.task import State, Task
from aipopup.gui.forms import ERROR_STYLE, op_title
from aipopup.gui.i18n import tr
from aipopup.gui.wizard.choices import Choices
from aipopup.gui.wizard.scan import human_size
from aipopup.gui.worker import BackgroundRunner

# Seconds per input used before this machine has finished any task of the operation.
FIRST_GUESS_SECONDS = {"convert": 0.2, "download": 1.0}
DEFAULT_GUESS_SECONDS = 0.6


@dataclass
class Review:
    free_bytes: int | None
    seconds_per_input: float
    measured: bool


def measured_seconds(tasks: list[Task], op_name: str) -> float | None:
    """Median duration of the recent succeeded tasks of ``op_name``, or None when there are none."""
    durations = sorted(t.finished - t.started for t in tasks
                       if t.op == op_name and t.state is State.SUCCEEDED and t.finished > t.started)[-200:]
    return durations[len(durations) // 2] if durations else None


def free_space(folder: str) -> int | None:
    """Free bytes on the drive ``folder`` will be on (it may not exist yet)."""
    path = Path(folder).expanduser()
    for candidate in (path, *path.parents):
        if candidate.exists():
            return shutil.disk_usage(candidate).free
    return None


class ReviewPage(QWizardPage):
    def __init__(self, choices: Choices, runner: BackgroundRunner,
                 engine_tasks: Callable[[], list[Task]], workers: Callable[[], int]) -> None:
        super().__init__()
        self.choices = choices
        self.runner = runner
        self._engine_tasks = engine_tasks
        self._workers = workers
        self._request = 0
        self.setTitle(tr("Ready to start"))
        self.setButtonText(QWizard.WizardButton.FinishButton, tr("Start"))
        layout = QVBoxLayout(self)
        self.counts = QLabel(self)
        self.counts.setObjectName("reviewCounts")
        self.estimate = QLabel(self)
        self.estimate.setObjectName("reviewEstimate")
        self.space = QLabel(self)
        self.space.setObjectName("reviewSpace")
        self.space.setWordWrap(True)
        for label in (self.counts, self.estimate, self.space):
            layout.addWidget(label)
        layout.addStretch(1)
        self.review: Review | None = None

    def initializePage(self) -> None:
        scan = self.choices.scan
        op = operation.get(self.choices.op)
        files = len(scan.files) if scan else 0
        links = scan.links if scan else 0
        then_op = operation.get(self.choices.then_op) if self.choices.then_op else None
        then = tr(", then {operation}").format(operation=op_title(then_op).lower()) if then_op else ""
        what = (tr("{n} link(s)").format(n=f"{links:,}") if op.inputs_are_urls
                else tr("{n} file(s)").format(n=f"{files:,}"))
        self.counts.setText(f"{op_title(op)}{then}: {what} → {self.choices.output_dir}")
        self.estimate.setText(tr("Estimating…"))
        self.space.setText("")
        self._request += 1
        request, op_name, output = self._request, op.name, self.choices.output_dir
        tasks = self._engine_tasks()  # copies, taken on the GUI thread; measured off it

        def work() -> Review:
            seconds = measured_seconds(tasks, op_name)
            guess = FIRST_GUESS_SECONDS.get(op_name, DEFAULT_GUESS_SECONDS)
            return Review(free_space(output), seconds if seconds is not None else guess, seconds is not None)

        self.runner.run(work, lambda review: self._reviewed(request, review))

    def _reviewed(self, request: int, review: Review) -> None:
        if request != self._request:
            return
        self.review = review
        scan = self.choices.scan
        urls = operation.get(self.choices.op).inputs_are_urls
        count = (scan.links if urls else len(scan.files)) if scan else 0
        total = count * review.seconds_per_input / max(1, self._workers())
        basis = tr("measured on this computer") if review.measured else tr("a first guess")
        self.estimate.setText(
            tr("Estimated time: {time} ({basis})").format(time=_duration(total), basis=basis))
        needed = scan.total_bytes if scan else 0
        if review.free_bytes is None:
            self.space.setText(tr("Free space: unknown"))
        elif review.free_bytes < needed:
            self.space.setStyleSheet(ERROR_STYLE)
            self.space.setText(
                tr("Only {free} free on the output drive; the inputs alone are {needed}.").format(
                    free=human_size(review.free_bytes), needed=human_size(needed)))
        else:
            self.space.setStyleSheet("")
            self.space.setText(
                tr("Free space on the output drive: {free}").format(free=human_size(review.free_bytes)))


def _duration(seconds: float) -> str:
    if seconds < 60:
        return tr("about {n} s").format(n=max(1, round(seconds)))
    if seconds < 3600:
        return tr("about {n} min").format(n=round(seconds / 60))
    return tr("about {n} h").format(n=f"{seconds / 3600:.1f}")
