"""Runs the watch folders for the window: ready files become batches through ``MainWindow.submit``
(the same path as the wizard and the tray), with the watch's preset and output folder.

The scanning and the preset lookup happen on the watch loop's thread; only the finished request
crosses to the GUI thread (a queued signal). A file is recorded as queued, durably, on the worker
right after its batch was added, so a crash in between re-offers it instead of losing it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from aipopup.app import paths
from aipopup.app.presets import PresetError, PresetStore
from aipopup.core import operation
from aipopup.core.planner import BatchRequest
from aipopup.core.watch import (
    LIST_FILE,
    SCAN_INTERVAL_S,
    STATE_FILE,
    FolderWatcher,
    Ready,
    WatchFolder,
    WatchLoop,
)

if TYPE_CHECKING:
    from aipopup.gui.main_window import MainWindow

log = logging.getLogger(__name__)


def list_path() -> Path:
    return paths.config_dir() / LIST_FILE


@dataclass(frozen=True)
class WatchJob:
    request: BatchRequest
    ready: Ready


class PresetFilter:
    """Only files the watch's preset's operation takes (a .txt dropped into a folder watched for
    photos is not a failed batch every few seconds). Called on the loop's thread, per file: the
    presets file is read again only when it changed."""

    def __init__(self, presets_path: Path | None = None) -> None:
        self.presets_path = presets_path
        self._store: PresetStore | None = None  # read on the loop's thread, not at construction
        self._stamp: tuple[int, int] | None = None

    def store(self) -> PresetStore:
        path = self._store.path if self._store is not None else None
        try:
            stat = (path or PresetStore(self.presets_path).path).stat()
            stamp: tuple[int, int] | None = (stat.st_size, stat.st_mtime_ns)
        except OSError:
            stamp = None
        if self._store is None or stamp != self._stamp:
            self._store, self._stamp = PresetStore.load(self.presets_path), stamp
        return self._store

    def __call__(self, watch: WatchFolder, name: str) -> bool:
        try:
            op = operation.get(self.store().get(watch.preset).op)
        except (PresetError, KeyError):
            return False
        return not op.inputs_are_urls and Path(name).suffix.lower() in op.accepts


def to_jobs(ready: list[Ready], store: PresetStore) -> list[WatchJob]:
    jobs: list[WatchJob] = []
    for item in ready:
        try:
            preset = store.get(item.watch.preset)
        except PresetError as exc:
            log.warning("watch %s: %s", item.watch.folder, exc)
            continue
        jobs.append(WatchJob(BatchRequest(
            op=preset.op, inputs=list(item.files), output_dir=str(item.watch.output()),
            params=dict(preset.params), then_op=preset.then_op, then_params=dict(preset.then_params)),
            item))
    return jobs


class WatchService(QObject):
    jobsReady = Signal(object)  # list[WatchJob], emitted on the loop's thread
    batchQueued = Signal(int)

    def __init__(self, window: MainWindow, *, interval: float = SCAN_INTERVAL_S,
                 watch_list: Path | None = None, state_path: Path | None = None,
                 presets_path: Path | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.window = window
        self.watcher = FolderWatcher(state_path or paths.state_dir() / STATE_FILE)
        self.filter = PresetFilter(presets_path)
        self.loop = WatchLoop(watch_list or list_path(), self.watcher, self._on_ready,
                              interval=interval, accepts=self.filter)
        self._closed = False
        self.jobsReady.connect(self._submit)  # queued: the loop's thread is not ours

    def start(self) -> None:
        self.loop.start()

    def close(self) -> None:
        self._closed = True
        self.loop.stop()

    def _on_ready(self, ready: list[Ready]) -> None:  # the loop's thread
        jobs = to_jobs(ready, self.filter.store())
        if jobs:
            self.jobsReady.emit(jobs)

    def _submit(self, jobs: list[WatchJob]) -> None:
        if self._closed:
            return
        for job in jobs:
            log.info("watch %s: queuing %d file(s)", job.ready.watch.folder, len(job.ready.files))
            self.window.submit(job.request, after=self._marker(job.ready),
                               on_added=self.batchQueued.emit)

    def _marker(self, ready: Ready) -> Callable[[int], None]:
        watcher = self.watcher

        def mark(_batch_id: int) -> None:  # on the worker, right after the batch was added
            watcher.mark_queued([ready])

        return mark
