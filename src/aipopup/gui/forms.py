"""Forms generated from a parameter ``Schema``: one editor per ``Param``, validated inline.

Validation is the schema's own (``Param.coerce``), so a value the form accepts is exactly a value
the engine and the command line accept. Numbers are typed into line edits rather than spin boxes:
a spin box silently clamps, and an optional number ("no limit") needs an empty state.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from aipopup.app.presets import Preset
from aipopup.core.errors import ParamError
from aipopup.core.operation import Operation
from aipopup.core.params import Param, Schema, Value
from aipopup.gui.i18n import LANGUAGES, tr

ERROR_STYLE = "color: #d32f2f;"


# Labels, help texts and choice names are English in the Qt-free schemas (core/settings.py,
# ops/catalog.py); they are translated here, where they are shown. tests/gui/test_translations.py
# checks that every one of them has a translation.
def param_title(param: Param) -> str:
    return tr(param.title)  # i18n: schema text


def param_help(param: Param) -> str:
    return tr(param.help)  # i18n: schema text


def op_title(op: Operation) -> str:
    return tr(op.title)  # i18n: schema text


def op_summary(op: Operation) -> str:
    return tr(op.summary)  # i18n: schema text


def preset_name(preset: Preset) -> str:
    """A built-in preset's name is ours to translate; a person's own preset keeps its name."""
    return tr(preset.name) if preset.builtin else preset.name  # i18n: app.presets.BUILTINS


def choice_text(param: Param, choice: str) -> str:
    """What a choice shows; the stored value stays the English identifier. Languages are named
    in their own language, so a person can find theirs whatever the current one is."""
    if param.name == "language" and choice in LANGUAGES:
        return LANGUAGES[choice]
    return tr(choice)  # i18n: schema text


class FieldEditor(QWidget):
    """The editor for one parameter and the red message under it."""

    changed = Signal()

    def __init__(self, param: Param, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.param = param
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.check: QCheckBox | None = None
        self.combo: QComboBox | None = None
        self.line: QLineEdit | None = None
        self.input = self._build_input(param)
        self.input.setToolTip(param_help(param))
        self.input.setObjectName(f"param_{param.name}")
        self.error_label = QLabel(self)
        self.error_label.setObjectName(f"error_{param.name}")
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        layout.addWidget(self.input)
        layout.addWidget(self.error_label)
        self._error: str | None = None
        self.set_value(param.default)

    def _build_input(self, param: Param) -> QWidget:
        if param.kind == "bool":
            self.check = QCheckBox(self)
            self.check.toggled.connect(self._on_edit)
            return self.check
        if param.kind == "choice":
            self.combo = QComboBox(self)
            if param.optional:
                self.combo.addItem(tr("(none)"), "")
            for choice in param.choices:
                self.combo.addItem(choice_text(param, choice), choice)  # the data stays the identifier
            self.combo.currentIndexChanged.connect(self._on_edit)
            return self.combo
        self.line = QLineEdit(self)
        self.line.setPlaceholderText(_placeholder(param))
        self.line.textChanged.connect(self._on_edit)
        if param.kind != "path":
            return self.line
        row = QWidget(self)
        row_layout = QHBoxLayout(row)
        row_layout.setContentsMargins(0, 0, 0, 0)
        row_layout.addWidget(self.line, 1)
        browse = QPushButton(tr("Browse…"), row)
        browse.setObjectName(f"browse_{param.name}")
        browse.clicked.connect(self._browse)
        row_layout.addWidget(browse)
        return row

    def _browse(self) -> None:
        assert self.line is not None
        start = self.line.text()
        if _wants_folder(self.param):
            chosen = QFileDialog.getExistingDirectory(self, param_title(self.param), start)
        else:
            chosen, _ = QFileDialog.getOpenFileName(self, param_title(self.param), start)
        if chosen:
            self.line.setText(chosen)

    def raw(self) -> Any:
        if self.check is not None:
            return self.check.isChecked()
        if self.combo is not None:
            return self.combo.currentData()
        assert self.line is not None
        text = self.line.text().strip()
        # An empty text field is "no value": None for optional numbers, "" for strings and paths.
        if text == "" and self.param.kind in ("int", "float"):
            return None
        return text

    def set_value(self, value: Value) -> None:
        if self.check is not None:
            self.check.setChecked(bool(value))
        elif self.combo is not None:
            index = self.combo.findData("" if value is None else str(value))
            self.combo.setCurrentIndex(max(index, 0))
        else:
            assert self.line is not None
            self.line.setText("" if value is None else _format(value))
        self.validate()

    def value(self) -> Value:
        """The coerced value; raises ParamError when the field is invalid."""
        return self.param.coerce(self.raw())

    def error(self) -> str | None:
        return self._error

    def validate(self) -> bool:
        try:
            self.value()
        except ParamError as exc:
            self._error = exc.message
        else:
            self._error = None
        self.error_label.setText(self._error or "")
        self.error_label.setVisible(self._error is not None)
        return self._error is None

    def _on_edit(self) -> None:
        self.validate()
        self.changed.emit()


class ParamForm(QWidget):
    """A form over a ``Schema``: ``values()``/``set_values()``, and ``validityChanged`` whenever
    the form as a whole turns valid or invalid (a dialog binds its OK button to it)."""

    validityChanged = Signal(bool)
    valuesChanged = Signal()

    def __init__(self, schema: Schema, values: Mapping[str, Any] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.schema = schema
        self.fields: dict[str, FieldEditor] = {}
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        basic = QFormLayout()
        basic.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        outer.addLayout(basic)
        advanced_params = [p for p in schema if p.advanced]
        self.advanced_toggle: QToolButton | None = None
        self.advanced_box: QWidget | None = None
        advanced_layout: QFormLayout | None = None
        if advanced_params:
            self.advanced_toggle = QToolButton(self)
            self.advanced_toggle.setObjectName("advancedToggle")
            self.advanced_toggle.setText(tr("Advanced options"))
            self.advanced_toggle.setCheckable(True)
            self.advanced_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            self.advanced_toggle.setArrowType(Qt.ArrowType.RightArrow)
            self.advanced_toggle.setAutoRaise(True)
            self.advanced_box = QWidget(self)
            advanced_layout = QFormLayout(self.advanced_box)
            advanced_layout.setContentsMargins(0, 0, 0, 0)
            self.advanced_box.hide()
            self.advanced_toggle.toggled.connect(self._show_advanced)
            outer.addWidget(self.advanced_toggle)
            outer.addWidget(self.advanced_box)
        for param in schema:
            if param.hidden:  # set by the program, not a choice for the person
                continue
            editor = FieldEditor(param, self)
            editor.changed.connect(self._on_field_changed)
            self.fields[param.name] = editor
            label = QLabel(tr("{label}:").format(label=param_title(param)), self)
            label.setToolTip(param_help(param))
            label.setBuddy(editor.input)
            target = advanced_layout if param.advanced and advanced_layout is not None else basic
            target.addRow(label, editor)
        outer.addStretch(1)
        self._valid = True
        if values:
            self.set_values(values)
        self._valid = self.is_valid()

    def _show_advanced(self, shown: bool) -> None:
        assert self.advanced_box is not None and self.advanced_toggle is not None
        self.advanced_box.setVisible(shown)
        self.advanced_toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)

    def field(self, name: str) -> FieldEditor:
        return self.fields[name]

    def errors(self) -> dict[str, str]:
        return {name: err for name, f in self.fields.items() if (err := f.error()) is not None}

    def is_valid(self) -> bool:
        return not self.errors()

    def values(self) -> dict[str, Value]:
        """Every value checked by the schema; raises ParamError while a field is invalid."""
        return self.schema.validate({name: f.raw() for name, f in self.fields.items()})

    def set_values(self, values: Mapping[str, Any]) -> None:
        """Fill the named fields (unknown names are ignored: presets may predate the schema)."""
        for name, value in values.items():
            editor = self.fields.get(name)
            if editor is not None:
                editor.set_value(value)
        self._on_field_changed()

    def _on_field_changed(self) -> None:
        valid = self.is_valid()
        if valid != self._valid:
            self._valid = valid
            self.validityChanged.emit(valid)
        self.valuesChanged.emit()


def _placeholder(param: Param) -> str:
    if param.kind in ("int", "float"):
        if param.minimum is not None and param.maximum is not None:
            span = f"{_readable(param.minimum)}–{_readable(param.maximum)}"
        elif param.minimum is not None:
            span = tr("at least {n}").format(n=_readable(param.minimum))
        else:
            span = ""
        if param.optional:
            return tr("optional · {range}").format(range=span) if span else tr("optional")
        return span
    if param.kind == "path":
        return tr("(none)")
    return ""


def _format(value: Value | float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) >= 1 else repr(value)
    return str(value)


def _readable(number: float) -> str:
    """For people, not for parsing: 10,000,000 rather than 10000000."""
    return f"{int(number):,}" if float(number).is_integer() else str(number)


def _wants_folder(param: Param) -> bool:
    return any(word in param.name for word in ("dir", "folder"))
