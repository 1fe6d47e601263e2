"""Is the GUI thread free while the engine is flat out? The real main window (``aipopup.gui.main``)
offscreen with its services (tray, logging, single instance), 10,000 real convert tasks on small
images made in a temp folder, every worker busy; a 10 ms QTimer heartbeat on the GUI thread
measures how late each tick fires.

    python benchmarks/gui_responsiveness.py [--tasks 10000] [--workers N] [--seconds 60]

Prints max and p99 stall (tick lateness), peak resident memory, and launch-to-window time (a
separate `python -m aipopup.gui.main` process that quits when its window is shown).
Targets: max < 50 ms, p99 < 16 ms, < 300 MB, < 1.5 s.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_MAX_MS = 50.0
TARGET_P99_MS = 16.0
TARGET_RSS_MB = 300.0
TARGET_LAUNCH_S = 1.5
HEARTBEAT_MS = 10


def profile_env(root: Path) -> dict[str, str]:
    return {"AIPOPUP_STATE_DIR": str(root / "state"), "AIPOPUP_CONFIG_DIR": str(root / "config"),
            "AIPOPUP_LOG_DIR": str(root / "logs"), "QT_QPA_PLATFORM": "offscreen"}


def make_images(folder: Path, count: int) -> list[str]:
    """Small real JPEGs: a few distinct ones, copied (distinct bytes per file would only slow
    the set-up; skip-done keys on content, so each copy gets a unique comment)."""
    from PIL import Image

    folder.mkdir(parents=True)
    seeds = []
    for n in range(8):
        image = Image.new("RGB", (96, 64), (30 * n % 255, 90, 160))
        path = folder / f"seed{n}.jpg"
        image.save(path, quality=85)
        seeds.append(path.read_bytes())
    paths = []
    for n in range(count):
        path = folder / f"img{n:05d}.jpg"
        data = seeds[n % len(seeds)]
        # a JPEG comment segment after SOI makes the content unique without re-encoding
        comment = f"n{n}".encode()
        path.write_bytes(data[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment
                         + data[2:])
        paths.append(str(path))
    return paths


def launch_time(root: Path) -> float:
    env = {**os.environ, **profile_env(root / "launch"), "AIPOPUP_QUIT_WHEN_SHOWN": "1"}
    best = float("inf")
    for _ in range(3):  # the first run warms the disk cache; the best of three is the app's cost
        spawned = time.time()
        out = subprocess.run([sys.executable, "-m", "aipopup.gui.main"], env=env,
                             capture_output=True, text=True, timeout=120)
        match = re.search(r"window shown at ([0-9.]+)", out.stdout)
        if not match:
            raise SystemExit(f"the app did not report its window:\n{out.stdout}\n{out.stderr}")
        best = min(best, float(match.group(1)) - spawned)
    return best


def run(tasks: int, workers: int, seconds: float) -> int:
    root = Path(tempfile.mkdtemp(prefix="aipopup-guibench-"))
    os.environ.update(profile_env(root))
    launch = launch_time(root)

    inputs = make_images(root / "in", tasks)

    from PySide6.QtCore import QElapsedTimer, Qt, QTimer

    from aipopup.core.planner import BatchRequest
    from aipopup.core.settings import Settings
    from aipopup.core.task import FINISHED
    from aipopup.gui import main as gui_main
    from aipopup.gui.app_services import start_services
    from aipopup.gui.main import Session, create_app

    # what run_gui sets before its event loop (if it does), so the numbers are the app's own
    switch = getattr(gui_main, "GIL_SWITCH_INTERVAL_S", None)
    if switch:
        sys.setswitchinterval(switch)

    app = create_app(["bench"])
    settings = Settings(values={"workers": workers})
    # the whole app as `aipopup` starts it: logging, crash hooks, single instance, tray, watch
    services = start_services(app, [])
    assert services is not None, "another AI Popup answered on this profile's socket"
    session = Session(app, settings, [], services=services)
    session.start()
    window = session.window

    late: list[float] = []
    phase: list[bool] = []  # per tick: were all tasks already in the table (queued)?
    stalls: list[tuple[float, float]] = []
    busy_samples: list[int] = []
    clock = QElapsedTimer()
    state = {"last": 0, "queued_at": 0.0, "done_at": 0.0, "batch": 0}

    def on_batch(batch_id: int) -> None:
        state["batch"] = batch_id
        state["queued_at"] = time.perf_counter()

    window.batchAdded.connect(on_batch)

    def beat() -> None:
        now = clock.elapsed()
        if state["last"]:
            lateness = max(0.0, now - state["last"] - HEARTBEAT_MS)
            late.append(lateness)
            phase.append(window.model.rowCount() >= tasks)
            if lateness > TARGET_P99_MS:
                stalls.append((lateness, round(now / 1000, 2)))
        state["last"] = now
        if session.engine is not None:
            busy_samples.append(session.executor.pool.activeThreadCount())

    def submit_when_ready() -> None:
        if session.engine is None:
            QTimer.singleShot(20, submit_when_ready)
            return
        # The clock starts with the batch: opening the journal and the window's first paint
        # belong to the launch (measured on its own), not to the engine at work.
        clock.start()
        heartbeat.start()
        window.submit(BatchRequest("convert", inputs, str(root / "out"), {"format": "png"}))

    def check_done() -> None:
        engine = session.engine
        if engine is None or not state["batch"]:
            return
        counts = engine.scheduler.counts(int(state["batch"]))
        if sum(n for s, n in counts.items() if s in FINISHED) == tasks:
            state["done_at"] = time.perf_counter()
            heartbeat.stop()  # quitting waits for the engine's threads: that is not a stall
            app.quit()

    heartbeat = QTimer()
    heartbeat.setTimerType(Qt.TimerType.PreciseTimer)  # a coarse timer may fire 5 % early or late
    heartbeat.setInterval(HEARTBEAT_MS)
    heartbeat.timeout.connect(beat)
    watcher = QTimer()
    watcher.setInterval(250)
    watcher.timeout.connect(check_done)
    watcher.start()
    QTimer.singleShot(0, submit_when_ready)
    QTimer.singleShot(int(seconds * 1000), app.quit)
    app.exec()
    heartbeat.stop()
    watcher.stop()
    engine = session.engine
    counts = engine.scheduler.counts(int(state["batch"])) if engine and state["batch"] else {}
    session.shutdown()
    services.shutdown()

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    ordered = sorted(late)
    worst = ordered[-1] if ordered else 0.0
    p99 = ordered[int(0.99 * (len(ordered) - 1))] if ordered else 0.0
    full = sum(1 for n in busy_samples if n >= workers)
    finished = sum(n for s, n in counts.items() if s.finished)
    elapsed = (state["done_at"] or time.perf_counter()) - (state["queued_at"] or time.perf_counter())
    print(f"tasks: {finished:,}/{tasks:,} finished in {elapsed:.1f} s with {workers} workers "
          f"({', '.join(f'{s.value} {n}' for s, n in counts.items() if n)})")
    busy_share = 100 * full / max(1, len(busy_samples))
    print(f"heartbeat ticks: {len(late):,}; all workers busy in {busy_share:.0f}% of ticks; "
          f"mean lateness {statistics.fmean(late) if late else 0:.2f} ms")
    if os.environ.get("BENCH_VERBOSE"):
        print("worst ticks (ms late, at s):", sorted(stalls, reverse=True)[:10])
    # The moment a 10,000-task batch is added (planned, journaled, inserted into the table while
    # the first tasks start) and the long stretch after it are different experiences: both shown.
    queueing = sorted(x for x, queued in zip(late, phase, strict=True) if not queued)
    running = sorted(x for x, queued in zip(late, phase, strict=True) if queued)
    for name, ticks in (("while queueing", queueing), ("while running", running)):
        if ticks:
            print(f"{name:>22}: max {ticks[-1]:.0f} ms, p99 {ticks[int(0.99 * (len(ticks) - 1))]:.0f} ms "
                  f"over {len(ticks):,} ticks")
    results = [
        ("max stall", worst, TARGET_MAX_MS, "ms"),
        ("p99 stall", p99, TARGET_P99_MS, "ms"),
        ("peak resident memory", peak_mb, TARGET_RSS_MB, "MB"),
        ("launch to window", launch, TARGET_LAUNCH_S, "s"),
    ]
    failed = 0
    for name, value, target, unit in results:
        ok = value < target
        failed += not ok
        print(f"{name:>22}: {value:8.2f} {unit:<2} (target < {target:g} {unit}) {'ok' if ok else 'MISSED'}")
    if finished < tasks:
        print("not every task finished within the time limit")
        failed += 1
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--seconds", type=float, default=120.0, help="give up after this long")
    args = parser.parse_args()
    return run(args.tasks, args.workers, args.seconds)


if __name__ == "__main__":
    sys.exit(main())
