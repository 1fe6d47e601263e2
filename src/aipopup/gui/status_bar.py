"""Counts, throughput, queue ETA, CPU and memory: sampled once a second from the model's own
copies (no engine lock) and psutil (a /proc read, cheap)."""

from __future__ import annotations

import time
from collections import deque

import psutil
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

from aipopup.core.task import State
from aipopup.gui.i18n import tr
from aipopup.gui.task_model import TaskTableModel, format_bytes, format_duration, state_name
from aipopup.gui.throughput_chart import ThroughputChart

WINDOW_S = 10.0  # throughput is averaged over this many seconds


class StatusBar(QStatusBar):
    def __init__(self, model: TaskTableModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.counts_label = QLabel(self)
        self.rate_label = QLabel(self)
        self.eta_label = QLabel(self)
        self.system_label = QLabel(self)
        self.chart = ThroughputChart(self)
        self.addWidget(self.counts_label, 1)
        for widget in (self.rate_label, self.eta_label, self.chart, self.system_label):
            self.addPermanentWidget(widget)
        self._finished: deque[tuple[float, int]] = deque()
        self._tick_finished = 0
        self._process = psutil.Process()
        self._process.cpu_percent(None)  # the first call only starts the measurement
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self.sample)
        self._timer.start()
        self.sample()

    def count_finished(self, n: int) -> None:
        self._tick_finished += n

    def throughput(self) -> float:
        now = time.monotonic()
        while self._finished and self._finished[0][0] < now - WINDOW_S:
            self._finished.popleft()
        if not self._finished:
            return 0.0
        span = max(1.0, now - self._finished[0][0])
        return sum(n for _, n in self._finished) / span

    def sample(self) -> None:
        now = time.monotonic()
        if self._tick_finished:
            self._finished.append((now, self._tick_finished))
        per_second_now = float(self._tick_finished)
        self._tick_finished = 0
        counts = self.model.counts()
        shown = [f"{counts[s]} {state_name(s).lower()}" for s in State if counts[s]]
        self.counts_label.setText(", ".join(shown) if shown else tr("No tasks"))
        rate = self.throughput()
        self.rate_label.setText(f"{rate:.1f}/s" if rate else "")
        remaining = sum(counts[s] for s in (State.QUEUED, State.WAITING, State.RUNNING))
        self.eta_label.setText(tr("ETA {time}").format(time=format_duration(remaining / rate))
                               if rate and remaining else "")
        self.chart.add_sample(per_second_now)
        cpu = self._process.cpu_percent(None)
        rss = self._process.memory_info().rss
        self.system_label.setText(f"CPU {cpu:.0f} %  ·  {format_bytes(rss)}")
