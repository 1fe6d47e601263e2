"""At start: "N unfinished tasks from your last session — Resume / Review / Discard", and the
report of a native crash in the last run, if there was one.

The engine opens with ``start_existing=False``, so nothing from the last session runs until the
person chooses. The choice is applied through the caller's control lane (engine calls take the
scheduler's lock and write the journal: not work for the GUI thread).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from PySide6.QtCore import Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from aipopup.core.engine import Recovery
from aipopup.core.scheduler import Scheduler
from aipopup.core.task import UNFINISHED, State, Task
from aipopup.gui.crash import NativeCrash
from aipopup.gui.i18n import tr
from aipopup.gui.task_model import state_name

Choice = Literal["resume", "review", "discard"]


def unfinished_tasks(scheduler: Scheduler) -> list[Task]:
    return [t for t in scheduler.tasks() if t.state in UNFINISHED]


def apply_choice(choice: Choice, scheduler: Scheduler, task_ids: list[str]) -> None:
    """Resume runs everything; Review pauses the old tasks so they sit visibly in the window
    until the person acts on them; Discard cancels them (outputs already written stay)."""
    if choice == "resume":
        scheduler.resume_all()
    elif choice == "review":
        scheduler.pause(task_ids)
    else:
        scheduler.cancel(task_ids)


def _describe(tasks: list[Task], recovery: Recovery) -> str:
    by_state: dict[State, int] = {}
    for task in tasks:
        by_state[task.state] = by_state.get(task.state, 0) + 1
    parts = [f"{n} {state_name(state).lower()}"
             for state, n in sorted(by_state.items(), key=lambda kv: -kv[1])]
    lines = [", ".join(parts)] if parts else []
    if recovery.requeued:
        lines.append(tr("{n} were running when AI Popup stopped and will start over; their partial "
                        "files were removed.").format(n=len(recovery.requeued)))
    if recovery.recovered:
        lines.append(tr("{n} had finished writing and are marked done.").format(n=len(recovery.recovered)))
    if recovery.damaged_lines:
        kept = tr(" The original is kept as {path}.").format(path=recovery.backup) if recovery.backup else ""
        lines.append(tr("{n} damaged journal line(s) were skipped.").format(n=len(recovery.damaged_lines))
                     + kept)
    return "\n".join(lines)


class RecoveryDialog(QDialog):
    chosen = Signal(str)  # Choice

    def __init__(self, recovery: Recovery, tasks: list[Task], native_crash: NativeCrash | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("recoveryDialog")
        self.setWindowTitle(tr("AI Popup — last session"))
        self.task_ids = [t.id for t in tasks]
        self.choice: Choice | None = None
        layout = QVBoxLayout(self)
        count = len(tasks)
        self.headline = QLabel(self)
        self.headline.setObjectName("recoveryHeadline")
        self.headline.setWordWrap(True)
        font = self.headline.font()
        font.setPointSizeF(font.pointSizeF() * 1.15)
        font.setBold(True)
        self.headline.setFont(font)
        if count:
            headline = (tr("{n} unfinished task from your last session") if count == 1
                        else tr("{n} unfinished tasks from your last session"))
            self.headline.setText(headline.format(n=f"{count:,}"))
        else:
            self.headline.setText(tr("AI Popup stopped unexpectedly last time"))
        layout.addWidget(self.headline)
        self.details = QLabel(_describe(tasks, recovery), self)
        self.details.setObjectName("recoveryDetails")
        self.details.setWordWrap(True)
        layout.addWidget(self.details)
        self.crash_text: QPlainTextEdit | None = None
        if native_crash is not None:
            note = QLabel(tr("The last run crashed in native code (a library, not your files). "
                             "The report is kept in {path}.").format(path=native_crash.path), self)
            note.setWordWrap(True)
            layout.addWidget(note)
            self.crash_text = QPlainTextEdit(native_crash.text, self)
            self.crash_text.setObjectName("nativeCrash")
            self.crash_text.setReadOnly(True)
            self.crash_text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
            self.crash_text.setMaximumHeight(160)
            layout.addWidget(self.crash_text)
        buttons = QDialogButtonBox(self)
        self.buttons: dict[Choice, QPushButton] = {}
        if count:
            Role = QDialogButtonBox.ButtonRole
            options: tuple[tuple[Choice, str, QDialogButtonBox.ButtonRole, str], ...] = (
                ("resume", tr("Resume"), Role.AcceptRole,
                 tr("Run the unfinished tasks now.")),
                ("review", tr("Review"), Role.ActionRole,
                 tr("Keep them paused in the window; start or cancel them yourself.")),
                ("discard", tr("Discard"), Role.DestructiveRole,
                 tr("Cancel them. Files already written are kept.")),
            )
            for choice, text, role, tip in options:
                button = buttons.addButton(text, role)
                button.setToolTip(tip)
                button.setObjectName(f"recovery_{choice}")
                button.clicked.connect(lambda _=False, c=choice: self._choose(c))
                self.buttons[choice] = button
            self.buttons["resume"].setDefault(True)
        else:
            ok = buttons.addButton(QDialogButtonBox.StandardButton.Ok)
            ok.clicked.connect(self.accept)
        layout.addWidget(buttons)
        self.setMinimumWidth(460)

    def _choose(self, choice: Choice) -> None:
        self.choice = choice
        self.chosen.emit(choice)
        self.accept()

    def reject(self) -> None:
        # Esc or the close box is "decide later": the same as Review, nothing is lost.
        if self.task_ids and self.choice is None:
            self._choose("review")
            return
        super().reject()


def offer_recovery(scheduler: Scheduler, recovery: Recovery, native_crash: NativeCrash | None,
                   run_control: Callable[[Callable[[], None]], None],
                   parent: QWidget | None = None) -> RecoveryDialog | None:
    """Open the prompt (non-modal) when there is something to say; the choice is applied with
    ``run_control`` (the main window's control lane). Returns the dialog, or None."""
    tasks = unfinished_tasks(scheduler)
    if not tasks and native_crash is None:
        return None
    dialog = RecoveryDialog(recovery, tasks, native_crash, parent)
    ids = dialog.task_ids

    def on_choice(choice: str) -> None:
        picked: Choice = "resume" if choice == "resume" else "discard" if choice == "discard" else "review"
        run_control(lambda: apply_choice(picked, scheduler, ids))

    dialog.chosen.connect(on_choice)
    dialog.show()
    return dialog
