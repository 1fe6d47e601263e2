"""The batch wizard over a real engine: a drop opens it pre-filled, its pages lead to a batch
whose outputs are written, the preview follows the options, presets fill the options."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QImage
from PySide6.QtWidgets import QApplication, QWizard
from pytestqt.qtbot import QtBot

from aipopup.core.engine import Engine
from aipopup.core.task import State
from aipopup.gui.forms import ERROR_STYLE
from aipopup.gui.main_window import MainWindow
from aipopup.gui.wizard import BatchWizard
from aipopup.gui.wizard.preview_job import PreviewResult

WAIT_MS = 20_000


def drop_files(window: MainWindow, *paths: Path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    centre = window.rect().center()
    enter = QDragEnterEvent(centre, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(window, QDropEvent(QPointF(centre), Qt.DropAction.CopyAction, mime,
                                              Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))


def to_options(qtbot: QtBot, wizard: BatchWizard, op: str) -> None:
    qtbot.waitUntil(wizard.inputs_page.isComplete, timeout=WAIT_MS)
    wizard.next()
    assert wizard.currentPage() is wizard.job_page
    wizard.job_page.select_op(op)
    wizard.next()
    assert wizard.currentPage() is wizard.options_page


def pixels(image: QImage | None) -> np.ndarray:
    assert image is not None and not image.isNull()
    converted = image.convertToFormat(QImage.Format.Format_RGB888)
    row = converted.bytesPerLine()
    data = np.frombuffer(converted.constBits(), np.uint8, row * converted.height())
    rows = data.reshape(converted.height(), row)[:, : converted.width() * 3]
    return rows.reshape(converted.height(), converted.width(), 3).copy()


def test_a_drop_opens_the_wizard_and_its_run_writes_every_output(
        qtbot: QtBot, window: MainWindow, photos: Path, tmp_path: Path) -> None:
    drop_files(window, photos)
    wizard = window.batch_wizard
    assert wizard is not None and wizard.choices.inputs == [str(photos)]
    qtbot.waitUntil(wizard.inputs_page.isComplete, timeout=WAIT_MS)
    assert wizard.choices.scan is not None and len(wizard.choices.scan.files) == 6  # sub-folder included
    wizard.inputs_page.extensions.setText("jpg")
    to_options(qtbot, wizard, "convert")
    form = wizard.options_page.form
    assert form is not None
    form.set_values({"max_side": 200, "format": "png"})
    wizard.next()
    assert wizard.currentPage() is wizard.output_page
    wizard.output_page.folder.setText(str(tmp_path / "out"))
    wizard.output_page.template.setText("{stem}_{bad}")
    assert not wizard.output_page.isComplete() and "{bad}" in wizard.output_page.problem.text()
    wizard.output_page.template.setText("small_{stem}{ext}")
    assert wizard.output_page.example_name().startswith("small_") and \
        wizard.output_page.example_name().endswith(".png")
    wizard.next()
    assert wizard.currentPage() is wizard.review_page
    qtbot.waitUntil(lambda: wizard.review_page.review is not None, timeout=WAIT_MS)
    assert "6 file(s)" in wizard.review_page.counts.text()
    assert "Free space" in wizard.review_page.space.text()
    with qtbot.waitSignal(window.batchAdded, timeout=WAIT_MS):
        wizard.button(QWizard.WizardButton.FinishButton).click()
    qtbot.waitUntil(lambda: window.model.counts()[State.SUCCEEDED] == 6, timeout=WAIT_MS)
    outputs = sorted((tmp_path / "out").iterdir())
    assert [p.name for p in outputs] == sorted(f"small_{p.stem}.png" for p in photos.rglob("*.jpg"))
    assert all(max(QImage(str(p)).width(), QImage(str(p)).height()) == 200 for p in outputs)
    qtbot.waitUntil(lambda: window.batch_wizard is None, timeout=WAIT_MS)


def test_the_preview_follows_an_option_change_and_the_latest_wins(
        qtbot: QtBot, window: MainWindow, photos: Path) -> None:
    wizard = window.open_wizard([str(next(photos.glob("*.jpg")))])
    to_options(qtbot, wizard, "anonymize")
    page = wizard.options_page
    with qtbot.waitSignal(page.previewShown, timeout=WAIT_MS) as first:
        pass
    blurred: PreviewResult = first.args[0]
    assert "face(s) found" in blurred.message and not blurred.message.startswith("0 ")
    form = page.form
    assert form is not None
    # Two edits in a row: only the last one's result may end on screen.
    with qtbot.waitSignal(page.previewShown, timeout=WAIT_MS) as second:
        form.set_values({"mode": "pixelate"})
        form.set_values({"mode": "solid"})
    solid: PreviewResult = second.args[0]
    assert solid.request == page._wanted
    assert np.array_equal(pixels(blurred.before), pixels(solid.before))
    changed = np.abs(pixels(blurred.after).astype(int) - pixels(solid.after).astype(int)).max(axis=2) > 40
    assert changed.mean() > 0.005  # the face region is painted over instead of blurred
    wizard.reject()


def test_a_saved_preset_fills_the_options_next_time(
        qtbot: QtBot, window: MainWindow, photos: Path) -> None:
    wizard = window.open_wizard([str(photos)])
    qtbot.waitUntil(lambda: wizard.store is not None, timeout=WAIT_MS)
    to_options(qtbot, wizard, "convert")
    assert wizard.options_page.form is not None
    wizard.options_page.form.set_values({"quality": 42, "max_side": 300})
    with qtbot.waitSignal(wizard.presetSaved, timeout=WAIT_MS):
        wizard.options_page.save_as_preset("Tiny")
    wizard.reject()
    qtbot.waitUntil(lambda: window.batch_wizard is None, timeout=WAIT_MS)

    again = window.open_wizard([str(photos)])
    qtbot.waitUntil(lambda: again.store is not None, timeout=WAIT_MS)
    qtbot.waitUntil(again.inputs_page.isComplete, timeout=WAIT_MS)
    again.next()
    again.job_page.select_preset("Tiny")
    assert again.choices.op == "convert"
    again.next()
    form = again.options_page.form
    assert form is not None and form.values()["quality"] == 42 and form.values()["max_side"] == 300
    again.reject()


def run_to_review(qtbot: QtBot, wizard: BatchWizard, op: str, output: Path) -> None:
    to_options(qtbot, wizard, op)
    wizard.next()
    wizard.output_page.folder.setText(str(output))
    wizard.next()
    assert wizard.currentPage() is wizard.review_page
    qtbot.waitUntil(lambda: wizard.review_page.review is not None, timeout=WAIT_MS)


def test_the_estimate_comes_from_this_machines_finished_tasks(
        qtbot: QtBot, window: MainWindow, engine: Engine, photos: Path, tmp_path: Path) -> None:
    first = window.open_wizard([str(photos)])
    run_to_review(qtbot, first, "convert", tmp_path / "first")
    review = first.review_page.review
    assert review is not None and not review.measured  # nothing of this kind has run yet
    assert "a first guess" in first.review_page.estimate.text()
    with qtbot.waitSignal(window.batchAdded, timeout=WAIT_MS):
        first.button(QWizard.WizardButton.FinishButton).click()
    qtbot.waitUntil(lambda: window.model.counts()[State.SUCCEEDED] == 6, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.batch_wizard is None, timeout=WAIT_MS)

    again = window.open_wizard([str(photos)])
    run_to_review(qtbot, again, "convert", tmp_path / "again")
    measured = again.review_page.review
    assert measured is not None and measured.measured
    durations = sorted(t.finished - t.started for t in engine.scheduler.tasks())
    assert measured.seconds_per_input == durations[len(durations) // 2]
    assert "measured on this computer" in again.review_page.estimate.text()
    again.reject()


def test_a_chain_downloads_then_anonymizes_with_both_forms(
        qtbot: QtBot, window: MainWindow, engine: Engine, http_server: Any, testdata: Path,
        tmp_path: Path) -> None:
    body = (testdata / "faces" / "knn_examples_test_obama_and_biden.jpg").read_bytes()
    url = http_server.add("/pics/group.jpg", body, content_type="image/jpeg")
    wizard = window.open_wizard([url])
    qtbot.waitUntil(wizard.inputs_page.isComplete, timeout=WAIT_MS)
    wizard.next()
    assert not wizard.job_page.then_combo.isHidden()  # a download can be followed by another step
    wizard.job_page.select_op("download", then="anonymize")
    wizard.next()
    page = wizard.options_page
    assert page.form is not None and page.then_form is not None
    page.then_form.set_values({"mode": "solid"})
    wizard.next()
    wizard.output_page.folder.setText(str(tmp_path / "out"))
    wizard.next()
    assert wizard.currentPage() is wizard.review_page
    assert "then anonymize faces" in wizard.review_page.counts.text()
    with qtbot.waitSignal(window.batchAdded, timeout=WAIT_MS):
        wizard.button(QWizard.WizardButton.FinishButton).click()
    qtbot.waitUntil(lambda: window.model.counts()[State.SUCCEEDED] == 2, timeout=WAIT_MS)
    tasks = {t.op: t for t in engine.scheduler.tasks()}
    assert set(tasks) == {"download", "anonymize"}
    assert tasks["anonymize"].params["mode"] == "solid" and tasks["anonymize"].result["faces"] >= 3
    downloaded, anonymized = Path(tasks["download"].outputs[0]), Path(tasks["anonymize"].outputs[0])
    assert downloaded.read_bytes() == body
    assert anonymized.exists() and anonymized.read_bytes() != body


def test_the_review_warns_when_the_output_drive_is_too_small(
        qtbot: QtBot, window: MainWindow, photos: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    real = shutil.disk_usage

    def nearly_full(path: str | Path) -> Any:  # the drive is the machine's; this one has 1 KB left
        return real(path)._replace(free=1024)

    monkeypatch.setattr(shutil, "disk_usage", nearly_full)
    wizard = window.open_wizard([str(photos)])
    run_to_review(qtbot, wizard, "convert", tmp_path / "not" / "yet" / "made")
    review = wizard.review_page.review
    assert review is not None and review.free_bytes == 1024
    text = wizard.review_page.space.text()
    assert text.startswith("Only 1") and "the inputs alone are" in text, text
    assert wizard.review_page.space.styleSheet() == ERROR_STYLE
    wizard.reject()
