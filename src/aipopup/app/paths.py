"""Where AI Popup keeps its files. Environment variables override the platform's defaults, so
tests, benchmarks and portable installs can point everything elsewhere."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "aipopup"


def state_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The journal and lock: ``--state-dir``, else ``AIPOPUP_STATE_DIR``, else the user data dir."""
    chosen = override or os.environ.get("AIPOPUP_STATE_DIR")
    return Path(chosen).expanduser().resolve() if chosen else Path(platformdirs.user_data_dir(APP, False))


def config_dir() -> Path:
    chosen = os.environ.get("AIPOPUP_CONFIG_DIR")
    return Path(chosen).expanduser().resolve() if chosen else Path(platformdirs.user_config_dir(APP, False))


def settings_file() -> Path:
    return config_dir() / "settings.json"


def log_dir() -> Path:
    chosen = os.environ.get("AIPOPUP_LOG_DIR")
    return Path(chosen).expanduser().resolve() if chosen else Path(platformdirs.user_log_dir(APP, False))
