"""The schema-generated form: editors per kind, inline errors, values round trip, validity signal."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QLineEdit
from pytestqt.qtbot import QtBot

from aipopup.core.errors import ParamError
from aipopup.core.params import Param, Schema
from aipopup.gui.forms import ParamForm

SCHEMA = Schema((
    Param("quality", "int", 90, "JPEG quality.", minimum=1, maximum=100),
    Param("scale", "float", 1.0, "Scale factor.", minimum=0.1, maximum=4.0),
    Param("limit", "int", None, "Optional cap.", minimum=1, optional=True),
    Param("strip", "bool", True, "Strip metadata."),
    Param("format", "choice", "jpg", "Output format.", choices=("jpg", "png", "webp")),
    Param("suffix", "str", "_out", "Name suffix."),
    Param("output_dir", "path", "", "Where outputs go."),
    Param("threads", "int", 2, "Inner threads.", minimum=1, maximum=8, advanced=True),
))


def make_form(qtbot: QtBot) -> ParamForm:
    form = ParamForm(SCHEMA)
    qtbot.addWidget(form)
    return form


def line(form: ParamForm, name: str) -> QLineEdit:
    edit = form.field(name).line
    assert edit is not None
    return edit


def test_defaults_round_trip(qtbot: QtBot) -> None:
    form = make_form(qtbot)
    assert form.values() == SCHEMA.validate({})
    assert form.is_valid()


def test_set_values_then_values(qtbot: QtBot) -> None:
    form = make_form(qtbot)
    wanted = {"quality": 55, "scale": 2.5, "limit": 7, "strip": False, "format": "webp",
              "suffix": "_web", "output_dir": "/tmp/x", "threads": 4}
    form.set_values(wanted)
    assert form.values() == wanted


def test_bad_number_shows_inline_error_and_signals(qtbot: QtBot) -> None:
    form = make_form(qtbot)
    form.show()
    editor = form.field("quality")
    with qtbot.waitSignal(form.validityChanged) as blocker:
        line(form, "quality").setText("250")
    assert blocker.args == [False]
    assert editor.error_label.isVisible()
    assert "at most 100" in editor.error_label.text()
    assert form.errors() == {"quality": "must be at most 100"}
    with pytest.raises(ParamError):
        form.values()
    with qtbot.waitSignal(form.validityChanged) as blocker:
        line(form, "quality").setText("80")
    assert blocker.args == [True]
    assert not editor.error_label.isVisible()
    assert form.values()["quality"] == 80


def test_text_in_number_field_is_an_error(qtbot: QtBot) -> None:
    form = make_form(qtbot)
    line(form, "scale").setText("fast")
    assert "not a valid float" in form.errors()["scale"]


def test_empty_optional_is_none_but_empty_required_is_error(qtbot: QtBot) -> None:
    form = make_form(qtbot)
    form.set_values({"limit": 3})
    line(form, "limit").setText("")
    assert form.is_valid()
    assert form.values()["limit"] is None
    line(form, "quality").setText("")
    assert form.errors() == {"quality": "a value is required"}


def test_help_is_tooltip_and_advanced_folded(qtbot: QtBot) -> None:
    form = make_form(qtbot)
    form.show()
    assert form.field("quality").input.toolTip() == "JPEG quality."
    assert form.advanced_toggle is not None
    assert not form.field("threads").isVisible()
    assert form.field("quality").isVisible()
    form.advanced_toggle.click()
    assert form.field("threads").isVisible()


def test_choice_editor_lists_choices(qtbot: QtBot) -> None:
    form = make_form(qtbot)
    combo = form.field("format").combo
    assert combo is not None
    assert [combo.itemText(i) for i in range(combo.count())] == ["jpg", "png", "webp"]
    combo.setCurrentIndex(1)
    assert form.values()["format"] == "png"
