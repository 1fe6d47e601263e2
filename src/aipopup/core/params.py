"""Typed parameter schemas: one description per option, used to validate values, to build the
command line's flags and the GUI's forms, and to hash settings for skip-done."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from aipopup.core.errors import ParamError

ParamKind = Literal["int", "float", "bool", "choice", "str", "path"]
Value = int | float | bool | str | None


@dataclass(frozen=True)
class Param:
    name: str  # python identifier; the CLI flag is --name-with-dashes
    kind: ParamKind
    default: Value
    help: str
    label: str = ""  # short form label; derived from the name when empty
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    optional: bool = False  # None is accepted (e.g. "no limit")
    advanced: bool = False  # the GUI folds it away by default
    hidden: bool = False  # set by the program (e.g. reviewed face boxes), never shown as an option

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def title(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()

    def coerce(self, raw: Any) -> Value:
        """Turn a raw value (from JSON, a form or a command line string) into a checked value."""
        if raw is None or (raw == "" and self.optional):
            if self.optional or self.default is None:
                return None
            raise ParamError(self.name, "a value is required")
        try:
            value = self._convert(raw)
        except ParamError:
            raise  # already says what is wrong (e.g. the valid choices)
        except (TypeError, ValueError):
            raise ParamError(self.name, f"{raw!r} is not a valid {self.kind}") from None
        self._check_range(value)
        return value

    def _convert(self, raw: Any) -> Value:
        if self.kind == "bool":
            if isinstance(raw, str):
                lowered = raw.strip().lower()
                if lowered in ("1", "true", "yes", "on"):
                    return True
                if lowered in ("0", "false", "no", "off"):
                    return False
                raise ValueError(raw)
            return bool(raw)
        if self.kind == "int":
            if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
                raise ValueError(raw)
            return int(raw)
        if self.kind == "float":
            if isinstance(raw, bool):
                raise ValueError(raw)
            return float(raw)
        value = str(raw)
        if self.kind == "choice" and value not in self.choices:
            raise ParamError(self.name, f"{value!r} is not one of {', '.join(self.choices)}")
        return value

    def _check_range(self, value: Value) -> None:
        if not isinstance(value, int | float) or isinstance(value, bool):
            return
        if self.minimum is not None and value < self.minimum:
            raise ParamError(self.name, f"must be at least {_fmt(self.minimum)}")
        if self.maximum is not None and value > self.maximum:
            raise ParamError(self.name, f"must be at most {_fmt(self.maximum)}")


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


@dataclass(frozen=True)
class Schema:
    params: tuple[Param, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        names = [p.name for p in self.params]
        if len(names) != len(set(names)):
            raise ValueError(f"duplicate parameter names in {names}")

    def __iter__(self) -> Iterator[Param]:
        return iter(self.params)

    def get(self, name: str) -> Param:
        for param in self.params:
            if param.name == name:
                return param
        raise KeyError(name)

    def defaults(self) -> dict[str, Value]:
        return {p.name: p.default for p in self.params}

    def validate(self, values: Mapping[str, Any], *, strict: bool = True) -> dict[str, Value]:
        """Defaults filled in, every value coerced and range-checked; unknown names refused
        when ``strict`` (a typo in a preset should not pass silently), else dropped."""
        known = {p.name for p in self.params}
        unknown = sorted(set(values) - known)
        if unknown and strict:
            raise ParamError(unknown[0], "unknown option")
        return {p.name: p.coerce(values.get(p.name, p.default)) for p in self.params}


def settings_hash(op_name: str, params: Mapping[str, Any]) -> str:
    """Stable digest of an operation and its validated parameters (for skip-done)."""
    blob = json.dumps({"op": op_name, "params": dict(params)}, sort_keys=True, separators=(",", ":"))
    return hashlib.blake2b(blob.encode(), digest_size=16).hexdigest()
