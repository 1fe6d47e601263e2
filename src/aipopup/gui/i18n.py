"""Interface languages: English source strings, looked up in a per-language JSON catalog.

Every visible string goes through ``tr`` (``tr("Add files")``, ``tr("{n} tasks").format(n=n)``:
format after translating, so the catalog holds the template). The catalog of a language is
the folder ``aipopup/resources/i18n/<code>/``: JSON files of ``{"English": "translation"}``, one per
area of the app (so people working on different windows never edit the same file), merged at load.
A string missing from the catalog shows in English. Qt's own strings (standard buttons, file
dialogs) come from the ``qtbase`` translations that PySide6 ships. The language is chosen once at
start-up: switching it in the settings applies on the next start, as in most desktop apps.

``python -m aipopup.gui.i18n --missing zh_CN`` lists the source strings a catalog lacks.
"""

from __future__ import annotations

import json
import logging
from importlib import resources
from pathlib import Path

log = logging.getLogger(__name__)

ENGLISH = "en"
LANGUAGES = {"en": "English", "zh_CN": "简体中文"}

_catalog: dict[str, str] = {}
_language = ENGLISH


def tr(text: str) -> str:
    return _catalog.get(text, text)


def N_(text: str) -> str:  # gettext's name for it, which translators know
    """Mark a string for the catalog where it is defined (a table of names built at import,
    before the language is set); ``tr()`` it where it is shown. The translations test collects
    ``N_`` literals as it collects ``tr`` ones."""
    return text


def current_language() -> str:
    return _language


def catalog_dir(code: str) -> Path:
    return Path(str(resources.files("aipopup") / "resources" / "i18n" / code))


def load_catalog(code: str) -> dict[str, str]:
    if code == ENGLISH:
        return {}
    folder = catalog_dir(code)
    if not folder.is_dir():
        raise OSError(f"{folder} does not exist")
    merged: dict[str, str] = {}
    for part in sorted(folder.glob("*.json")):
        data = json.loads(part.read_text(encoding="utf-8"))
        merged.update({str(k): str(v) for k, v in data.items() if v})
    return merged


def resolve(setting: str, system_locale: str) -> str:
    """The language to show for the ``language`` setting ("system", "en", "zh_CN")."""
    if setting in LANGUAGES:
        return setting
    return "zh_CN" if system_locale.lower().replace("-", "_").startswith("zh") else ENGLISH


def set_language(code: str) -> None:
    global _catalog, _language
    try:
        _catalog = load_catalog(code)
        _language = code
    except (OSError, ValueError) as exc:
        log.warning("no %s translation (%s); using English", code, exc)
        _catalog, _language = {}, ENGLISH


def main(argv: list[str] | None = None) -> int:
    import argparse

    from aipopup.gui.i18n_sources import collect, missing

    parser = argparse.ArgumentParser(prog="python -m aipopup.gui.i18n",
                                     description="List the interface strings a language lacks.")
    parser.add_argument("--missing", metavar="CODE", required=True, help="a language code, e.g. zh_CN")
    args = parser.parse_args(argv)
    found = collect()
    for error in found.errors:
        print(f"error: {error}")
    absent = missing(found, load_catalog(args.missing))
    for text, where in absent.items():
        print(f"{where}: {json.dumps(text, ensure_ascii=False)}")
    print(f"{len(absent)} of {len(found.strings)} strings have no {args.missing} translation")
    return 1 if absent or found.errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
