"""What happens when the whole queue has finished: nothing, open the output folder, run a
command, or quit. Each batch still gets its own notification (the tray); this fires once per
stretch of work, when the engine goes idle after having run something.

The command is an argument list (``shlex.split``), run without a shell on a thread of its own;
``{output}`` in an argument becomes the last batch's output folder.
"""

from __future__ import annotations

import contextlib
import logging
import shlex
import subprocess
import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from aipopup.core.scheduler import Scheduler
from aipopup.core.settings import Settings
from aipopup.core.task import State
from aipopup.gui import desktop
from aipopup.gui.bridge import Update
from aipopup.gui.worker import BackgroundRunner

log = logging.getLogger(__name__)

ACTIONS = ("nothing", "open_folder", "run_command", "quit")


def command_line(template: str, output: str) -> list[str]:
    """The argument list for ``template``; raises ValueError for unbalanced quotes."""
    return [arg.replace("{output}", output) for arg in shlex.split(template)]


def run_command(argv: list[str]) -> int:
    # No shell: the setting is an argument list, so no quoting or injection surprises.
    return subprocess.run(argv, stdin=subprocess.DEVNULL, check=False).returncode


class WhenDone(QObject):
    """Follows the bridge's coalesced updates; ``fired`` tells which action ran (tests, log)."""

    fired = Signal(str)
    quitRequested = Signal()
    failed = Signal(str)
    _failedLater = Signal(str)  # from the command's thread

    def __init__(self, scheduler: Scheduler, settings: Settings, updates: object, *,
                 runner: BackgroundRunner, open_folder: Callable[[str], None] = desktop.open_path,
                 command_runner: Callable[[list[str]], object] = run_command,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.scheduler = scheduler
        self.settings = settings
        self.runner = runner
        self.open_folder = open_folder
        self.command_runner = command_runner
        self._armed = False  # something ran since the last time the queue was idle
        self._work_seen = 0  # counts updates that showed work, to spot work started meanwhile
        self._last_batch: int | None = None
        updates.connect(self.on_update)  # type: ignore[attr-defined]
        self._failedLater.connect(self._failed)

    def on_update(self, update: Update) -> None:
        for task in update.tasks.values():
            if task.state == State.RUNNING or task.state.finished:
                self._armed = True
                self._work_seen += 1
                self._last_batch = task.batch_id
        if not (update.idle and self._armed):
            return
        action = str(self.settings.get("when_done", "nothing"))
        if action == "nothing" or action not in ACTIONS:
            self._armed = False
            return
        # The idle flag may be a tick old: a batch added since then means the queue is not done.
        # Asked on the runner: the scheduler's lock may be held by a journal compaction.
        seen, scheduler = self._work_seen, self.scheduler
        self.runner.run(scheduler.is_idle, lambda idle: self._idle_checked(bool(idle), seen, action))

    def _idle_checked(self, idle: bool, seen: int, action: str) -> None:
        if idle and self._armed and seen == self._work_seen:  # nothing ran since the question
            self._armed = False
            self.fire(action)

    def output_folder(self) -> str:
        if self._last_batch is None:
            return ""
        try:
            return self.scheduler.batch(self._last_batch).output_dir
        except KeyError:  # cleared meanwhile
            return ""

    def fire(self, action: str) -> None:
        if action == "nothing" or action not in ACTIONS:
            return
        log.info("queue done: %s", action)
        if action == "quit":
            self.fired.emit(action)
            self.quitRequested.emit()
            return
        folder = self.output_folder()
        if action == "open_folder":
            if not folder:
                return
            opener = self.open_folder
            self.runner.run(lambda: opener(folder), lambda _: self.fired.emit(action),
                            lambda exc: self._failed(f"could not open {folder}: {exc}"))
            return
        template = str(self.settings.get("when_done_command") or "")
        try:
            argv = command_line(template, folder)
        except ValueError as exc:
            self._failed(f"the command when done cannot be read: {exc}")
            return
        if not argv:
            return
        # Its own thread, not the runner: a command may run for as long as it likes without
        # holding up previews or planning, and an app quitting does not wait for it.
        threading.Thread(target=self._run, args=(argv,), name="aipopup-when-done", daemon=True).start()

    def _run(self, argv: list[str]) -> None:  # the command's thread
        try:
            result = self.command_runner(argv)
        except OSError as exc:
            message = f"could not run {argv[0]}: {exc}"
            with contextlib.suppress(RuntimeError):  # the app quit meanwhile
                self._failedLater.emit(message)
            return
        log.info("queue done: %s exited with %s", argv[0], result)
        with contextlib.suppress(RuntimeError):
            self.fired.emit("run_command")

    def _failed(self, message: str) -> None:
        log.warning("queue done: %s", message)
        self.failed.emit(message)
