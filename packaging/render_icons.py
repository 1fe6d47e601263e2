"""Render the application icon (src/aipopup/resources/icons/aipopup.svg) to the PNG sizes the
hicolor theme and the installers want, plus a Windows .ico. Run at build time, so only the SVG
is kept in git:

    QT_QPA_PLATFORM=offscreen python packaging/render_icons.py OUTDIR
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

SVG = Path(__file__).resolve().parent.parent / "src" / "aipopup" / "resources" / "icons" / "aipopup.svg"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def render(svg: Path, out_dir: Path) -> list[Path]:
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"render_icons: {svg} is not a valid SVG")
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for size in SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        path = out_dir / f"aipopup-{size}.png"
        if not image.save(str(path)):
            raise SystemExit(f"render_icons: could not write {path}")
        written.append(path)
    # One .ico with every size Windows picks from (Explorer, taskbar, Start menu).
    Image.open(out_dir / "aipopup-256.png").save(
        out_dir / "aipopup.ico", sizes=[(s, s) for s in SIZES if s <= 256])
    written.append(out_dir / "aipopup.ico")
    return written


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    _app = QGuiApplication(sys.argv[:1])  # QImage/QPainter text and SVG need a Gui application
    for path in render(SVG, Path(argv[0])):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
