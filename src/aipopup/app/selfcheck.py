"""``aipopup --self-check``: everything imports, and the real operations run on files made in
memory, inside a temporary folder. The frozen build runs it as its smoke test; the GUI shows the
same report under Help > Run self-check.

What it proves, and what it does not: YuNet does not find a drawn face, and the frozen app must
not depend on any photo outside itself, so the images are generated (a gradient with shapes and
GPS tags in its EXIF). The face checks therefore show that the bundled model loads and that the
detector runs and returns a list, and that ``detect`` and ``anonymize`` complete through the
engine with valid outputs (and the GPS tags gone); finding real faces is the test suite's job.
The video check makes a one-second clip with the bundled ffmpeg and anonymizes it, so the
encoder path a frozen build most often loses (a missing or non-executable ffmpeg) is covered.
Nothing is written outside the temporary folder: the engine gets its own state folder there.
"""

from __future__ import annotations

import importlib
import io
import pkgutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aipopup import __version__

GPS_IFD = 0x8825
# Whole-file budget for one engine task: generous for a loaded 2-core machine, short enough
# that a hang shows up as a failure instead of a stuck installer smoke test.
TASK_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str  # a one-line summary, or the traceback when the check failed
    seconds: float

    def text(self) -> str:
        if self.ok:
            return f"  ok    {self.name:<10} {self.detail} ({self.seconds:.2f} s)"
        return f"  FAIL  {self.name:<10} ({self.seconds:.2f} s)\n{self.detail.rstrip()}"


@dataclass(frozen=True)
class Report:
    header: str
    results: list[CheckResult]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    @property
    def summary(self) -> str:
        failed = sum(not r.ok for r in self.results)
        return "self-check passed" if not failed else f"self-check FAILED ({failed})"

    def text(self) -> str:
        return "\n".join([self.header, *(r.text() for r in self.results), self.summary])


def _modules() -> Iterator[str]:
    import aipopup

    yield "aipopup"
    for info in pkgutil.walk_packages(aipopup.__path__, "aipopup."):
        yield info.name


def _check_imports(_: Path) -> str:
    # httpcore._sync.http2 is imported only once a server picks HTTP/2, and without h2 the
    # https pool cannot be made: a build that lost them would fail on its first https link.
    third_party = ("numpy", "cv2", "httpx", "httpcore._sync.http2", "h2", "platformdirs",
                   "PIL.Image", "orjson", "psutil", "imageio_ffmpeg", "PySide6.QtCore",
                   "PySide6.QtGui", "PySide6.QtWidgets", "PySide6.QtNetwork", "PySide6.QtSvg")
    for name in third_party:
        importlib.import_module(name)
    # Every module of the package, the GUI included: a frozen build that missed one fails here
    # rather than when a user first opens that dialog.
    ours = list(_modules())
    for name in ours:
        importlib.import_module(name)
    import cv2
    import h2
    from PySide6 import __version__ as pyside_version

    return (f"{len(ours)} aipopup modules, OpenCV {cv2.__version__}, PySide6 {pyside_version}, "
            f"HTTP/2 (h2 {h2.__version__})")


def _check_model(_: Path) -> str:
    import numpy as np

    from aipopup.ops.faces import detector, model

    path = model.bundled_model()
    image = np.full((240, 320, 3), 128, np.uint8)
    faces = detector.detect_faces(image, threshold=0.6)
    if not isinstance(faces, list):
        raise RuntimeError(f"the detector returned {type(faces).__name__}, not a list")
    return f"{path.name} ({path.stat().st_size // 1024} KB) loads; detector ran, {len(faces)} faces"


def _check_ffmpeg(_: Path) -> str:
    from aipopup.ops.faces.video import ffmpeg_exe

    exe = ffmpeg_exe()
    done = subprocess.run([exe, "-hide_banner", "-version"], capture_output=True, text=True, timeout=30,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{exe} -version exited {done.returncode}: {done.stderr.strip()[:300]}")
    first = done.stdout.splitlines()[0] if done.stdout else "?"
    return " ".join(first.split()[:3])


def _photo_with_gps() -> bytes:
    """A 320x240 JPEG with shapes, a camera tag and GPS coordinates in its EXIF."""
    import cv2
    import numpy as np
    from PIL import Image

    gradient = np.tile(np.linspace(0, 255, 320, dtype=np.uint8), (240, 1))
    bgr = cv2.merge([gradient, gradient[::-1], np.full_like(gradient, 90)])
    cv2.circle(bgr, (160, 120), 60, (40, 180, 230), -1)
    cv2.rectangle(bgr, (20, 20), (90, 200), (200, 60, 60), -1)
    exif = Image.Exif()
    exif[0x010F] = "AIPopupSelfCheck"
    exif[GPS_IFD] = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 0.0)}
    buffer = io.BytesIO()
    Image.fromarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)).save(buffer, "JPEG", quality=90,
                                                                 exif=exif.tobytes())
    return buffer.getvalue()


def _run_task(folder: Path, op: str, source: Path, params: dict[str, Any]) -> Any:
    from aipopup.core.engine import Engine
    from aipopup.core.planner import BatchRequest, plan

    batch, tasks = plan(BatchRequest(op=op, inputs=[str(source)], output_dir=str(folder / f"out-{op}"),
                                     params=params))
    with Engine(folder / f"state-{op}") as engine:
        engine.scheduler.add_batch(batch, tasks)
        engine.scheduler.wait_idle(timeout=TASK_TIMEOUT_S)
        task = engine.scheduler.tasks()[0]
    if task.state.value != "succeeded":
        raise RuntimeError(f"{op}: {task.state.value}: {task.error}")
    return task


def _source(folder: Path, name: str, data: bytes) -> Path:
    path = folder / "in" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    return path


def _check_convert(folder: Path) -> str:
    import cv2

    source = _source(folder, "convert.jpg", _photo_with_gps())
    task = _run_task(folder, "convert", source, {"format": "png", "max_side": 100})
    out = cv2.imread(str(task.outputs[0]))
    if out is None or max(out.shape[:2]) != 100:
        raise RuntimeError("convert: the output did not decode at the requested size")
    return "engine, journal and convert ok"


def _check_detect(folder: Path) -> str:
    source = _source(folder, "detect.jpg", _photo_with_gps())
    _run_task(folder, "detect", source, {"report": "faces.json"})
    reports = list((folder / "out-detect").glob("faces*.json"))
    if not reports:
        raise RuntimeError("detect: no report was written")
    return f"report {reports[0].name} ({reports[0].stat().st_size} bytes)"


def _check_anonymize(folder: Path) -> str:
    from PIL import Image

    source = _source(folder, "anonymize.jpg", _photo_with_gps())
    task = _run_task(folder, "anonymize", source, {"mode": "pixelate"})
    output = Path(task.outputs[0])
    with Image.open(output) as image:
        image.load()
        size, exif = image.size, image.getexif()
    if size != (320, 240):
        raise RuntimeError(f"anonymize: the output is {size}, not 320x240")
    if GPS_IFD in exif and exif.get_ifd(GPS_IFD):
        raise RuntimeError("anonymize: the GPS tags are still in the output")
    return f"{output.name} decodes, GPS removed"


def _check_video(folder: Path) -> str:
    import cv2

    from aipopup.ops.faces.video import ffmpeg_exe

    source = folder / "in" / "clip.mp4"
    source.parent.mkdir(exist_ok=True)
    made = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-f", "lavfi",
                           "-i", "testsrc=size=160x120:rate=10", "-t", "1", "-pix_fmt", "yuv420p",
                           str(source)], capture_output=True, text=True, timeout=60, check=False)
    if made.returncode != 0:
        raise RuntimeError(f"could not make a test clip: {made.stderr.strip()[:300]}")
    task = _run_task(folder, "anonymize", source, {"mode": "blur"})
    capture = cv2.VideoCapture(str(task.outputs[0]))
    try:
        frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        readable, _ = capture.read()
    finally:
        capture.release()
    if not readable or frames < 5:
        raise RuntimeError(f"video: the output has {frames} frames or does not decode")
    return f"1 s clip anonymized, {frames} frames"


CHECKS: list[tuple[str, Callable[[Path], str]]] = [
    ("imports", _check_imports),
    ("model", _check_model),
    ("ffmpeg", _check_ffmpeg),
    ("convert", _check_convert),
    ("detect", _check_detect),
    ("anonymize", _check_anonymize),
    ("video", _check_video),
]


def header() -> str:
    frozen = " frozen" if getattr(sys, "frozen", False) else ""
    return f"AI Popup {__version__} self-check (Python {sys.version.split()[0]}{frozen}, {sys.platform})"


def collect(on_result: Callable[[CheckResult], None] | None = None) -> Report:
    """Run every check in a fresh temporary folder; ``on_result`` hears each one as it ends."""
    results: list[CheckResult] = []
    with tempfile.TemporaryDirectory(prefix="aipopup-selfcheck-") as tmp:
        for name, check in CHECKS:
            folder = Path(tmp) / name
            folder.mkdir()
            started = time.perf_counter()
            try:
                result = CheckResult(name, True, check(folder), time.perf_counter() - started)
            except Exception:
                result = CheckResult(name, False, traceback.format_exc(), time.perf_counter() - started)
            results.append(result)
            if on_result is not None:
                on_result(result)
    return Report(header(), results)


def run_self_check() -> int:
    """The command line's form: each line printed as its check ends; 0 if all passed, else 1."""
    print(header(), flush=True)
    report = collect(lambda result: print(result.text(), flush=True))
    print(report.summary, flush=True)
    return 0 if report.ok else 1
