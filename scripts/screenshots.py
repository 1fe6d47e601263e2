"""Render the app's main screens into PNGs under docs/screenshots/ (for the README).

    QT_QPA_PLATFORM=offscreen python scripts/screenshots.py [--out docs/screenshots] [--theme light]

Everything is real: a temp profile, a real engine converting copies of the shared test photos, the
real main window, dialogs and tray popup, captured with QWidget.grab().
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT.parent / "shared" / "testdata" / "faces"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--theme", choices=("light", "dark", "system"), default="light")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    profile = Path(tempfile.mkdtemp(prefix="aipopup-shots-"))
    for var, sub in (("AIPOPUP_STATE_DIR", "state"), ("AIPOPUP_CONFIG_DIR", "config"),
                     ("AIPOPUP_LOG_DIR", "logs")):
        os.environ[var] = str(profile / sub)
    try:
        return render(args.out, args.theme, profile)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def render(out: Path, theme: str, profile: Path) -> int:
    from PySide6.QtWidgets import QWidget

    from aipopup.core.engine import Engine
    from aipopup.core.planner import BatchRequest, plan
    from aipopup.core.settings import Settings
    from aipopup.core.task import State
    from aipopup.gui.executor import QtExecutor
    from aipopup.gui.main import apply_language, create_app
    from aipopup.gui.main_window import MainWindow
    from aipopup.gui.recovery_dialog import RecoveryDialog, unfinished_tasks
    from aipopup.gui.settings_dialog import SettingsDialog
    from aipopup.gui.theme import apply_theme
    from aipopup.gui.tray import TrayPopup

    app = create_app(["screenshots"])
    apply_theme(theme, app)
    out.mkdir(parents=True, exist_ok=True)

    def settle(until: Callable[[], bool] = lambda: True, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            app.processEvents()
            if until() or time.monotonic() > deadline:
                break
            time.sleep(0.02)  # a script, not a test: polling the engine is fine here
        for _ in range(5):
            app.processEvents()

    def shot(widget: QWidget, name: str) -> None:
        widget.show()
        settle()
        path = out / f"{name}.png"
        if not widget.grab().save(str(path)):
            raise SystemExit(f"could not write {path}")
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)

    photos = profile / "photos"
    photos.mkdir()
    sources = sorted(PHOTOS.glob("*.jpg"))
    # enough rows to fill the table, each a real file
    for n in range(36):
        source = sources[n % len(sources)]
        shutil.copy2(source, photos / f"{source.stem}_{n:02d}.jpg")

    settings = Settings(values={"workers": 2, "output_dir": str(profile / "out")})
    executor = QtExecutor()
    engine = Engine(profile / "state", settings=settings, executor=executor, start_existing=False,
                    durable=False)
    window = MainWindow(settings)
    window.resize(1200, 720)
    window.attach(engine)
    shot(window, "main-window-empty")

    scheduler = engine.scheduler
    scheduler.stop_after_current()
    inputs = sorted(str(p) for p in photos.glob("*.jpg"))
    batch, tasks = plan(BatchRequest("convert", inputs, str(profile / "out"),
                                     {"format": "webp", "max_side": 1600}))
    batch_id = scheduler.add_batch(batch, tasks).id
    scheduler.pause([f"{batch_id}.{n}" for n in range(30, 37)])
    scheduler.start()
    settle(lambda: scheduler.counts(batch_id)[State.SUCCEEDED] >= 14)
    scheduler.stop_after_current()  # freeze a mixed picture: done, running, queued, paused
    settle(lambda: scheduler.counts(batch_id)[State.RUNNING] == 0)
    scheduler.start()
    settle(lambda: scheduler.counts(batch_id)[State.RUNNING] > 0, timeout=10)
    if window.bridge is not None:
        window.bridge.flush()
    window.table.selectRow(0)
    shot(window, "main-window-busy")

    popup = TrayPopup(scheduler, default_output=lambda: str(profile / "out"),
                      queue_files=lambda files: None)
    popup.refresh()
    shot(popup, "tray-popup")

    wizard = window.open_wizard([str(p) for p in inputs[:6]])
    settle(lambda: "file" in wizard.inputs_page.summary.text(), timeout=20)
    shot(wizard, "wizard-inputs")
    wizard.next()
    wizard.job_page.select_op("anonymize")
    wizard.next()  # the options page renders a preview of the first photo off-thread
    settle(lambda: not wizard.options_page.after.pixmap().isNull(), timeout=30)
    shot(wizard, "wizard-options")
    wizard.reject()
    settle(lambda: window.batch_wizard is None)

    # The same page in Simplified Chinese: widgets take their texts when built, so a new wizard.
    apply_language(app, "zh_CN")
    wizard = window.open_wizard([str(p) for p in inputs[:6]])
    settle(lambda: wizard.inputs_page.isComplete(), timeout=20)
    wizard.next()
    wizard.job_page.select_op("anonymize")
    wizard.next()
    settle(lambda: not wizard.options_page.after.pixmap().isNull(), timeout=30)
    shot(wizard, "wizard-zh_CN")
    wizard.reject()
    settle(lambda: window.batch_wizard is None)
    apply_language(app, "en")

    settings_dialog = SettingsDialog(settings)
    settings_dialog.form.field("workers").line.setText("0")  # type: ignore[union-attr]
    shot(settings_dialog, "settings")
    settings_dialog.close()

    scheduler.stop_after_current()
    settle(lambda: scheduler.counts(batch_id)[State.RUNNING] == 0)
    recovery = RecoveryDialog(engine.recovery, unfinished_tasks(scheduler))
    shot(recovery, "recovery-prompt")
    recovery.close()

    popup.runner.shutdown()
    window.shutdown()
    engine.close(5.0)
    window.close()
    app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
