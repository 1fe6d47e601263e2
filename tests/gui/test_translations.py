"""Every interface string has a Simplified Chinese translation (issue #6).

Static: every literal given to ``tr()``/``N_()`` in the package, and every label, help text, choice,
title and summary of the settings and operation schemas, has a non-empty zh_CN translation that
keeps the source's ``{placeholders}``. Runtime: with zh_CN set the way the app sets it at start,
the real main window, each wizard page, the settings dialog, the tray popup and the recovery
dialog show no English words, which catches a string nobody wrapped in ``tr()``.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QComboBox,
    QGroupBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QTabWidget,
    QWidget,
    QWizard,
    QWizardPage,
)
from pytestqt.qtbot import QtBot

from aipopup.core import operation
from aipopup.core.engine import Engine, Recovery
from aipopup.core.planner import BatchRequest, plan
from aipopup.core.settings import Settings
from aipopup.gui import i18n
from aipopup.gui.i18n_sources import collect, missing, placeholders
from aipopup.gui.main import apply_language
from aipopup.gui.main_window import MainWindow
from aipopup.gui.recovery_dialog import RecoveryDialog, unfinished_tasks
from aipopup.gui.settings_dialog import SettingsDialog
from aipopup.gui.tray import TrayPopup

LANGUAGE = "zh_CN"
WAIT_MS = 20_000

# Words that stay as they are in a Chinese interface: the product, formats, units, key names,
# and "English" (languages are named in their own language).
ALLOWED = {w.casefold() for w in (
    "AI", "Popup", "CSV", "JSON", "PNG", "JPEG", "JPG", "WebP", "TXT", "CPU", "ETA", "URL", "HTTP",
    "HTTPS", "YuNet", "ONNX", "EXIF", "GPS", "SHA", "MB", "KB", "KiB", "GB", "TB", "MP", "Qt",
    "English", "Ctrl", "Shift", "Alt", "Del", "Delete", "Return", "Enter", "Esc", "Meta", "Ins", "Backspace")}
ENGLISH_WORD = re.compile(r"[A-Za-z]{3,}")
# Not words a person reads as the interface's: markup, paths and file names (data), placeholders,
# command-line flags.
_NOT_TEXT = re.compile(r"<[^>]+>|\S*[/\\]\S*|\S+\.[A-Za-z0-9]{2,4}\b|\{[^{}]*\}|--[\w-]+")


@pytest.fixture
def chinese() -> Iterator[None]:
    """The language as the app sets it at start (its catalog and Qt's); English again afterwards,
    so the other tests see the source strings."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    assert apply_language(app, LANGUAGE) == LANGUAGE
    try:
        yield
    finally:
        apply_language(app, i18n.ENGLISH)


def english_words(text: str) -> list[str]:
    # operations that other tests register (not shipped, so not translated) may be listed too
    test_ops = {w.casefold() for op in operation.all_operations() if not op.runner.startswith("aipopup.")
                for w in (op.name, op.title)}
    return [w for w in ENGLISH_WORD.findall(_NOT_TEXT.sub(" ", text))
            if w.casefold() not in ALLOWED and w.casefold() not in test_ops]


def visible_texts(root: QWidget) -> Iterator[tuple[str, str]]:
    """(where, text) for every string the widget tree shows a person."""
    widgets = [root, *root.findChildren(QWidget)]
    for widget in widgets:
        name = f"{type(widget).__name__}#{widget.objectName()}"
        if widget.isWindow() or isinstance(widget, QMenu):
            yield f"{name} title", widget.windowTitle()
            yield f"{name} menu title", widget.title() if isinstance(widget, QMenu) else ""
        if isinstance(widget, QLabel) and widget.objectName() != "batchTitle":  # a batch's title is data
            yield name, widget.text()
        if isinstance(widget, QAbstractButton):
            yield name, widget.text()
            yield f"{name} tooltip", widget.toolTip()
        if isinstance(widget, QGroupBox):
            yield name, widget.title()
        if isinstance(widget, QLineEdit):
            yield f"{name} placeholder", widget.placeholderText()
        if isinstance(widget, QComboBox):
            for i in range(widget.count()):
                yield f"{name} item {i}", widget.itemText(i)
        if isinstance(widget, QTabWidget):
            for i in range(widget.count()):
                yield f"{name} tab {i}", widget.tabText(i)
        if isinstance(widget, QWizardPage):
            yield f"{name} title", widget.title()
            yield f"{name} subtitle", widget.subTitle()
        if isinstance(widget, QHeaderView) and widget.model() is not None \
                and widget.orientation() == Qt.Orientation.Horizontal:
            for column in range(widget.count()):
                yield f"{name} header {column}", str(widget.model().headerData(
                    column, Qt.Orientation.Horizontal, Qt.ItemDataRole.DisplayRole) or "")
        for action in widget.actions():
            yield f"{name} action", action.text()
            yield f"{name} action tooltip", action.toolTip()
    for action in root.findChildren(QAction):
        yield f"action {action.objectName()}", action.text()
        yield f"action {action.objectName()} tooltip", action.toolTip()


def untranslated(*roots: QWidget) -> list[str]:
    found = []
    for root in roots:
        for where, text in visible_texts(root):
            words = english_words(text)
            if words:
                found.append(f"{where}: {text!r} ({', '.join(words)})")
    return sorted(set(found))


def assert_chinese(*roots: QWidget) -> None:
    left = untranslated(*roots)
    assert not left, f"{len(left)} texts with English words (unwrapped, or no translation):\n" + \
        "\n".join(left)


# -- static ------------------------------------------------------------------------------------------
def test_every_source_string_has_a_chinese_translation() -> None:
    found = collect()
    assert not found.errors, "\n".join(found.errors)
    assert len(found.strings) > 250  # the walk saw the whole GUI and every schema
    absent = missing(found, i18n.load_catalog(LANGUAGE))
    assert not absent, f"{len(absent)} strings have no {LANGUAGE} translation " \
        "(python -m aipopup.gui.i18n --missing zh_CN):\n" + \
        "\n".join(f"{where}: {text!r}" for text, where in absent.items())


def test_translations_keep_the_placeholders_and_the_files_are_tidy() -> None:
    wrong = []
    for part in sorted(i18n.catalog_dir(LANGUAGE).glob("*.json")):
        raw = part.read_text(encoding="utf-8")
        data = json.loads(raw)
        assert raw == json.dumps(dict(sorted(data.items())), ensure_ascii=False, indent=1) + "\n", \
            f"{part.name}: keys sorted, indent 1, ensure_ascii=False"
        wrong += [f"{part.name}: {src!r} -> {dst!r}" for src, dst in data.items()
                  if placeholders(src) != placeholders(dst)]
    assert not wrong, "translations that change the {placeholders}:\n" + "\n".join(wrong)


def test_the_walk_reports_unwrapped_and_untranslated_strings(tmp_path: Path) -> None:
    """The checker itself: a dynamic tr() is an error unless marked, and a new string is missing."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "view.py").write_text(
        'TITLE = "Constant title"\n'
        'tr("Brand new string")\n'
        'tr(TITLE)\n'
        'tr(some_variable)\n'
        'tr(param.title)  # i18n: schema text\n'
        'N_("Marked for later")\n', encoding="utf-8")
    found = collect(package)
    assert len(found.errors) == 1 and "some_variable" in found.errors[0]
    absent = missing(found, i18n.load_catalog(LANGUAGE))
    assert {"Brand new string", "Constant title", "Marked for later"} <= set(absent)
    assert "Add files…" not in absent  # translated in the shipped catalog


DIALOG_CLASSES = {"QFileDialog", "QInputDialog", "QMessageBox"}
PRODUCT_NAME = "AI Popup"  # the window title of app-wide message boxes: a name, never translated


def literal_dialog_texts(source: str, filename: str) -> list[str]:
    """Literal strings handed to a static QFileDialog/QInputDialog/QMessageBox call: titles and
    prompts of modal dialogs, which no walk of the open widgets ever sees."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and isinstance(node.func.value, ast.Name) and node.func.value.id in DIALOG_CLASSES:
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str) \
                        and english_words(arg.value) and arg.value != PRODUCT_NAME:
                    found.append(f"{filename}:{node.lineno}: {arg.value!r}")
    return found


def test_standard_dialogs_get_translated_titles_and_prompts() -> None:
    gui = Path(i18n.__file__).parent
    found = [hit for path in sorted(gui.rglob("*.py"))
             for hit in literal_dialog_texts(path.read_text(encoding="utf-8"), str(path.relative_to(gui)))]
    assert not found, "wrap these in tr():\n" + "\n".join(found)
    assert literal_dialog_texts('QInputDialog.getText(self, "Rename", tr("New name:"))', "x.py") == \
        ["x.py:1: 'Rename'"]


# -- runtime -----------------------------------------------------------------------------------------
def test_the_walk_flags_an_unwrapped_label(qtbot: QtBot, chinese: None) -> None:
    root = QWidget()
    qtbot.addWidget(root)
    QLabel(i18n.tr("Add files…"), root)
    assert untranslated(root) == []
    QLabel("Nobody wrapped this", root)
    assert untranslated(root) == ["QLabel#: 'Nobody wrapped this' (Nobody, wrapped, this)"]


def test_the_main_window_and_the_wizard_show_chinese(
        chinese: None, qtbot: QtBot, engine: Engine, settings: Settings, photos: Path,
        tmp_path: Path) -> None:
    window = MainWindow(settings)
    qtbot.addWidget(window)
    window.attach(engine)
    window.show()
    qtbot.waitExposed(window)
    try:
        assert window.actions_.start_all.text() == "全部开始(&S)"
        assert_chinese(window)
        wizard = window.open_wizard([str(photos)])
        qtbot.waitUntil(wizard.inputs_page.isComplete, timeout=WAIT_MS)
        assert "个文件" in wizard.inputs_page.summary.text()
        pages = [wizard.currentPage()]
        for _ in range(3):
            wizard.next()
            pages.append(wizard.currentPage())
        wizard.output_page.folder.setText(str(tmp_path / "out"))
        wizard.next()
        pages.append(wizard.currentPage())
        assert pages == [wizard.inputs_page, wizard.job_page, wizard.options_page, wizard.output_page,
                         wizard.review_page]
        qtbot.waitUntil(lambda: wizard.review_page.review is not None, timeout=WAIT_MS)
        assert "预计用时" in wizard.review_page.estimate.text()
        # every page, not only the current one, and Qt's own buttons (qtbase_zh_CN)
        assert_chinese(wizard)
        assert wizard.button(QWizard.WizardButton.BackButton).text() != "< &Back"
        wizard.reject()
        qtbot.waitUntil(lambda: window.batch_wizard is None, timeout=WAIT_MS)
    finally:
        window.shutdown()


def test_the_settings_dialog_shows_chinese_and_stores_english_identifiers(
        chinese: None, qtbot: QtBot) -> None:
    settings = Settings(values={"theme": "dark"})
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    dialog.show()
    assert_chinese(dialog)
    theme = dialog.form.field("theme")
    assert theme.combo is not None and theme.combo.currentText() == "深色"
    assert dialog.form.values()["theme"] == "dark"
    language = dialog.form.field("language")
    assert language.combo is not None and language.combo.findText("简体中文") >= 0 \
        and language.combo.findText("English") >= 0


def test_the_tray_popup_and_the_recovery_dialog_show_chinese(
        chinese: None, qtbot: QtBot, engine: Engine, photos: Path, tmp_path: Path) -> None:
    engine.scheduler.stop_after_current()  # the batch stays queued: a row with counts to show
    batch, tasks = plan(BatchRequest("convert", [str(p) for p in sorted(photos.glob("*.jpg"))],
                                     str(tmp_path / "out"), {"format": "png"}))
    engine.scheduler.add_batch(batch, tasks)
    popup = TrayPopup(engine.scheduler)
    qtbot.addWidget(popup)
    popup.refresh()
    assert "批次进行中" in popup.header.text()
    assert_chinese(popup)
    recovery = Recovery(requeued=["1.1"], recovered=["1.2"], damaged_lines=[3],
                        backup=tmp_path / "journal.bak", unfinished=len(tasks))
    dialog = RecoveryDialog(recovery, unfinished_tasks(engine.scheduler))
    qtbot.addWidget(dialog)
    assert "未完成" in dialog.headline.text()
    assert_chinese(dialog)


def test_the_system_language_is_the_default_and_the_setting_overrides_it() -> None:
    assert Settings().get("language") == "system"
    assert i18n.resolve("system", "zh_CN") == "zh_CN"
    assert i18n.resolve("system", "zh-Hans-CN") == "zh_CN"
    assert i18n.resolve("system", "de_DE") == i18n.ENGLISH  # no catalog: the source language
    assert i18n.resolve(i18n.ENGLISH, "zh_CN") == i18n.ENGLISH  # chosen in settings: wins
    assert i18n.resolve("zh_CN", "en_US") == "zh_CN"
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    try:
        assert apply_language(app, "zh_CN") == "zh_CN" and i18n.tr("Add files") == "添加文件"
        assert apply_language(app, i18n.ENGLISH) == i18n.ENGLISH and i18n.tr("Add files") == "Add files"
    finally:
        apply_language(app, i18n.ENGLISH)
