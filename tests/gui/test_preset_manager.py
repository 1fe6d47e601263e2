"""The preset manager with real widgets: a preset made in the dialog goes out through Qt's own
file dialog, is deleted after a confirmation, and comes back identical through import; a bad
file is refused naming the option at fault; built-ins cannot be renamed or deleted."""

from __future__ import annotations

import json
from pathlib import Path

from pytestqt.qtbot import QtBot

from aipopup.app import paths
from aipopup.app.presets import PresetStore
from aipopup.gui.main_window import MainWindow
from aipopup.gui.preset_manager import PresetManager

WAIT_MS = 10_000


def _open(qtbot: QtBot) -> PresetManager:
    dialog = PresetManager()
    dialog.native_dialogs = False
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.loaded, timeout=WAIT_MS):
        dialog.show()
    return dialog


def _choose_file(qtbot: QtBot, dialog: PresetManager, path: Path) -> None:
    """What a person does in the file dialog: type the name and press Save or Open."""
    file_dialog = dialog.file_dialog
    assert file_dialog is not None
    qtbot.waitExposed(file_dialog)
    file_dialog.selectFile(str(path))  # type: ignore[attr-defined]
    with qtbot.waitSignal(dialog.loaded, timeout=WAIT_MS):
        file_dialog.accept()  # type: ignore[attr-defined]


def _names(dialog: PresetManager) -> list[str]:
    return [p.name for p in dialog.presets]


def test_a_preset_round_trips_through_export_delete_and_import(qtbot: QtBot, tmp_path: Path) -> None:
    dialog = _open(qtbot)
    dialog.select("Blur faces for publishing")
    assert not dialog.rename_button.isEnabled() and not dialog.delete_button.isEnabled()  # built-in
    with qtbot.waitSignal(dialog.loaded, timeout=WAIT_MS):
        dialog.duplicate_button.click()
    assert dialog.selected().name == "Blur faces for publishing (copy)"  # type: ignore[union-attr]

    dialog.rename_button.click()
    prompt = dialog.prompt
    assert prompt is not None
    prompt.setTextValue("Blur for the web")  # type: ignore[attr-defined]
    with qtbot.waitSignal(dialog.loaded, timeout=WAIT_MS):
        prompt.accept()
    made = dialog.selected()
    assert made is not None and made.name == "Blur for the web" and not made.builtin
    assert made.params["mode"] == "blur" and made.params["mask_scale"] == 1.4
    on_disk = paths.config_dir() / "presets.json"
    assert [p["name"] for p in json.loads(on_disk.read_text())["presets"]] == ["Blur for the web"]

    exported = tmp_path / "shared" / "blur.json"
    exported.parent.mkdir()
    dialog.export_button.click()
    _choose_file(qtbot, dialog, exported)
    assert [p["name"] for p in json.loads(exported.read_text())["presets"]] == ["Blur for the web"]

    dialog.delete_button.click()
    confirm = dialog.prompt
    assert confirm is not None
    with qtbot.waitSignal(dialog.loaded, timeout=WAIT_MS):
        confirm.button(confirm.StandardButton.Yes).click()  # type: ignore[attr-defined]
    assert "Blur for the web" not in _names(dialog)
    assert json.loads(on_disk.read_text())["presets"] == []

    dialog.import_button.click()
    _choose_file(qtbot, dialog, exported)
    assert dialog.selected() == made
    assert PresetStore.load().get("Blur for the web") == made  # persisted, identical
    assert "Imported 1 preset(s)." in dialog.message.text()


def test_a_bad_file_is_refused_naming_the_option(qtbot: QtBot, tmp_path: Path) -> None:
    source = tmp_path / "bad.json"
    source.write_text(json.dumps({"schema_version": 1, "presets": [
        {"name": "Fine", "op": "convert", "params": {"quality": 80}},
        {"name": "Bad", "op": "convert", "params": {"quality": 500}}]}))
    dialog = _open(qtbot)
    before = _names(dialog)
    with qtbot.waitSignal(dialog.failed, timeout=WAIT_MS) as failed:
        dialog.import_from(str(source))
    assert failed.args == ["preset 'Bad': convert option quality: must be at most 100"]
    assert dialog.message.text() == failed.args[0]
    with qtbot.waitSignal(dialog.loaded, timeout=WAIT_MS):
        dialog.rename("Nothing", "Else")  # fails too; then a later change still redraws
        dialog.export_to(["Web size 1600 px"], str(tmp_path / "web.json"))
    assert _names(dialog) == before  # nothing half-imported
    assert json.loads((tmp_path / "web.json").read_text())["presets"][0]["params"]["max_side"] == 1600


def test_the_wizards_manage_button_opens_it_and_the_wizard_lists_the_change(
        qtbot: QtBot, window: MainWindow, photos: Path) -> None:
    wizard = window.open_wizard([str(photos)])
    qtbot.waitUntil(lambda: wizard.store is not None, timeout=WAIT_MS)
    wizard.job_page.manage_button.click()
    manager = wizard.preset_manager
    assert manager is not None and manager.isVisible()
    qtbot.waitUntil(lambda: bool(manager.presets), timeout=WAIT_MS)
    manager.select("Web size 1600 px")
    with qtbot.waitSignal(manager.loaded, timeout=WAIT_MS):
        manager.duplicate_button.click()
    with qtbot.waitSignal(wizard.presetsLoaded, timeout=WAIT_MS):
        manager.close()
    combo = wizard.job_page.preset_combo
    assert combo.findData("Web size 1600 px (copy)") >= 0


def test_several_selected_presets_export_to_one_file(qtbot: QtBot, tmp_path: Path) -> None:
    dialog = _open(qtbot)
    dialog.select("ID photo 600x800")
    dialog.list.item(3).setSelected(True)  # and "Face report (CSV)", as a Ctrl-click does
    assert dialog.chosen_names() == ["ID photo 600x800", "Face report (CSV)"]
    target = tmp_path / "two.json"
    dialog.export_button.click()
    _choose_file(qtbot, dialog, target)
    exported = json.loads(target.read_text())["presets"]
    assert [(p["name"], p["op"]) for p in exported] == [("ID photo 600x800", "crop"),
                                                        ("Face report (CSV)", "detect")]
