"""Presets: built-ins valid, save/rename/delete persisted atomically, export and import round
trip, and bad presets refused with the preset's and the option's name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aipopup.app import presets
from aipopup.app.presets import Preset, PresetError, PresetStore
from aipopup.core import operation


def test_every_builtin_is_valid_for_its_operation() -> None:
    found = {p.name: p for p in presets.builtins()}
    assert set(found) == {"Blur faces for publishing", "ID photo 600x800", "Web size 1600 px",
                          "Face report (CSV)"}
    for preset in found.values():
        assert operation.get(preset.op).schema.validate(preset.params) == dict(preset.params)
    assert found["ID photo 600x800"].params["width"] == 600
    assert found["Web size 1600 px"].params["max_side"] == 1600


def test_round_trip_through_export_and_import(tmp_path: Path) -> None:
    store = PresetStore(tmp_path / "a" / "presets.json")
    store.save(Preset("Pixelate", "anonymize", {"mode": "pixelate", "mask_scale": 2}))
    store.save(Preset("Fetch then blur", "download", {}, then_op="anonymize", then_params={"mode": "solid"}))
    exported = tmp_path / "shared.json"
    store.export(["Pixelate", "Fetch then blur"], exported)
    assert json.loads(exported.read_text())["schema_version"] == presets.SCHEMA_VERSION

    other = PresetStore(tmp_path / "b" / "presets.json")
    imported = other.import_file(exported)
    assert [p.name for p in imported] == ["Pixelate", "Fetch then blur"]
    again = PresetStore.load(tmp_path / "b" / "presets.json")  # persisted, not only in memory
    assert again.get("Pixelate") == store.get("Pixelate")
    assert again.get("Pixelate").params["mask_scale"] == 2.0
    chained = again.get("Fetch then blur")
    assert chained.then_op == "anonymize" and chained.then_params["mode"] == "solid"


def test_save_rename_delete_persist_and_builtins_are_read_only(tmp_path: Path) -> None:
    path = tmp_path / "presets.json"
    store = PresetStore(path)
    store.save(Preset("Small", "convert", {"max_side": 800}))
    store.save(Preset("Small", "convert", {"max_side": 640}))  # same name replaces
    store.rename("Small", "Thumbnails")
    assert PresetStore.load(path).get("Thumbnails").params["max_side"] == 640
    with pytest.raises(PresetError, match="no preset called 'Small'"):
        PresetStore.load(path).get("Small")
    with pytest.raises(PresetError, match="built-in"):
        store.delete("Web size 1600 px")
    with pytest.raises(PresetError, match="built-in"):
        store.save(Preset("ID photo 600x800", "crop", {"width": 10}))
    store.delete("Thumbnails")
    assert [p.builtin for p in PresetStore.load(path).all()] == [True] * len(presets.BUILTINS)
    assert not list(tmp_path.glob(".*aipopup-tmp*"))  # written through a temp file, none left


@pytest.mark.parametrize(("entry", "message"), [
    ({"name": "Bad", "op": "convert", "params": {"quality": 500}},
     "preset 'Bad': convert option quality: must be at most 100"),
    ({"name": "Typo", "op": "convert", "params": {"qualty": 50}},
     "preset 'Typo': convert option qualty: unknown option"),
    ({"name": "Nope", "op": "sharpen", "params": {}}, "preset 'Nope': unknown operation 'sharpen'"),
    ({"name": "Chain", "op": "download", "then_op": "anonymize", "then_params": {"mode": "smudge"}},
     "preset 'Chain': anonymize option mode: 'smudge' is not one of blur, pixelate, solid"),
    ({"op": "convert"}, "a preset has no name"),
])
def test_a_bad_preset_is_refused_naming_it_and_the_option(tmp_path: Path, entry: dict[str, object],
                                                          message: str) -> None:
    source = tmp_path / "in.json"
    source.write_text(json.dumps({"schema_version": 1, "presets": [entry]}))
    store = PresetStore(tmp_path / "presets.json")
    with pytest.raises(PresetError) as caught:
        store.import_file(source)
    assert message in str(caught.value)
    assert not (tmp_path / "presets.json").exists()  # nothing half-imported


def test_newer_file_is_refused_and_damaged_file_kept_aside(tmp_path: Path) -> None:
    path = tmp_path / "presets.json"
    path.write_text(json.dumps({"schema_version": 99, "presets": []}))
    with pytest.raises(PresetError, match="newer AI Popup"):
        PresetStore.load(path)
    path.write_text("{not json")
    store = PresetStore.load(path)
    assert [p.name for p in store.all()] == [p.name for p in presets.BUILTINS]
    assert len(list(tmp_path.glob("presets.json.bad-*"))) == 1


def test_default_location_is_the_config_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIPOPUP_CONFIG_DIR", str(tmp_path / "cfg"))
    PresetStore().save(Preset("Mine", "convert", {}))
    assert (tmp_path / "cfg" / "presets.json").is_file()
