"""Is the GUI thread free while the face review opens and scrolls through 1,000 photos?

The wizard's face review page (the real grid, the real detector on the runner's threads)
offscreen over 1,000 photos: hard links to downscaled copies (640 px on the longest side) of
the 25 test photos, made in a temp folder. Once the first screenful has loaded, the grid is
scrolled from top to bottom at a steady pace, then waits for the last screenful; a 10 ms QTimer
heartbeat on the GUI thread measures how late each tick fires.

    python benchmarks/face_review_stall.py [--photos 1000] [--pace 60]

Prints max and p99 stall (tick lateness), the photos loaded (only those on screen long enough
are), and the time to the first thumbnails. Target: max stall < 50 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

TARGET_MAX_MS = 50.0
HEARTBEAT_MS = 10
SCROLL_TICK_MS = 16
SIDE = 640
TESTDATA = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "faces"


def make_photos(folder: Path, count: int) -> list[str]:
    """Downscaled copies of the test photos, then ``count`` hard links cycling over them."""
    from PIL import Image, ImageOps

    sources = sorted(p for p in TESTDATA.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if not sources:
        raise SystemExit(f"no test photos in {TESTDATA}")
    seeds = []
    for n, source in enumerate(sources):
        with Image.open(source) as image:
            small = ImageOps.exif_transpose(image).convert("RGB")
            small.thumbnail((SIDE, SIDE))
            seed = folder / f"seed{n:02d}.jpg"
            small.save(seed, quality=90)
            seeds.append(seed)
    paths = []
    for n in range(count):
        link = folder / f"photo{n:05d}.jpg"
        os.link(seeds[n % len(seeds)], link)
        paths.append(str(link))
    return paths


def run(count: int, pace: int) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QElapsedTimer, QTimer
    from PySide6.QtWidgets import QApplication

    from aipopup.core.settings import Settings
    from aipopup.gui.face_review import FaceReview, detect_for_review
    from aipopup.gui.main import GIL_SWITCH_INTERVAL_S
    from aipopup.gui.worker import BackgroundRunner

    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)  # as the app sets it at start

    root = Path(tempfile.mkdtemp(prefix="aipopup-reviewbench-"))
    paths = make_photos(root, count)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    settings = Settings().snapshot()
    runner = BackgroundRunner()

    clock = QElapsedTimer()
    clock.start()
    late: list[float] = []
    last = [clock.nsecsElapsed()]

    def beat() -> None:
        now = clock.nsecsElapsed()
        late.append(max(0.0, (now - last[0]) / 1e6 - HEARTBEAT_MS))
        last[0] = now

    heartbeat = QTimer()
    heartbeat.setInterval(HEARTBEAT_MS)
    heartbeat.timeout.connect(beat)
    heartbeat.start()

    opened = time.perf_counter()
    review = FaceReview(paths, lambda path: detect_for_review(path, {}, settings), runner)
    review.resize(1000, 760)
    review.show()
    marks: dict[str, float] = {}

    def screen_loaded() -> bool:
        return all(i in review.found for i in review._visible)

    scroller = QTimer()
    scroller.setInterval(SCROLL_TICK_MS)

    def tick() -> None:
        bar = review.scrollbar
        if "first" not in marks:
            if review._visible and screen_loaded():
                marks["first"] = time.perf_counter() - opened
            return
        if bar.value() < bar.maximum():
            bar.setValue(bar.value() + pace)
            return
        marks.setdefault("bottom", time.perf_counter() - opened)
        if screen_loaded():
            marks["done"] = time.perf_counter() - opened
            app.quit()

    scroller.timeout.connect(tick)
    scroller.start()
    QTimer.singleShot(600_000, app.quit)  # a hung run still ends
    app.exec()
    heartbeat.stop()
    scroller.stop()
    runner.shutdown()

    worst = max(late)
    p99 = statistics.quantiles(late, n=100)[98]
    print(f"photos: {count:,} (hard links to {SIDE}px copies of the test photos); tiles (widgets): "
          f"{len(review.tiles)}")
    print(f"first screenful of thumbnails: {marks.get('first', float('nan')) * 1000:.0f} ms after opening")
    print(f"scrolled to the bottom in {marks.get('bottom', float('nan')):.1f} s at {pace} px per "
          f"{SCROLL_TICK_MS} ms; last screenful loaded at {marks.get('done', float('nan')):.1f} s")
    print(f"photos loaded: {len(review.found):,} of {count:,} (only those on screen long enough)")
    over = sum(1 for value in late if value >= TARGET_MAX_MS)
    print(f"GUI-thread stall: max {worst:.1f} ms, p99 {p99:.1f} ms, {over} of {len(late):,} heartbeats "
          f"late by {TARGET_MAX_MS:.0f} ms or more (target: max < {TARGET_MAX_MS:.0f} ms)")
    return 0 if worst < TARGET_MAX_MS else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=1000, help="photos in the review (default: 1000)")
    parser.add_argument("--pace", type=int, default=60,
                        help=f"pixels scrolled every {SCROLL_TICK_MS} ms (default: 60)")
    args = parser.parse_args()
    return run(args.photos, args.pace)


if __name__ == "__main__":
    sys.exit(main())
