"""Crash safety: kill a 200-image convert batch with SIGKILL at a random moment, resume it, and
check that nothing was lost, duplicated, left half-written, or needlessly redone.

    python benchmarks/crash_trials.py 100        # prints "crash trials: 100/100 ok"

Each trial: a fresh state folder and output folder; ``aipopup run convert`` is started, killed
after a random number of its tasks have finished (while others are being written), then
``aipopup jobs resume`` finishes the batch. Checked: every output exists exactly once and
decodes at the expected size, no temporary file is left, every task ended succeeded, and the
resume redid no more than ``workers`` tasks whose output already existed when the kill came.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2

TESTDATA = Path(__file__).resolve().parents[1].parent / "shared" / "testdata" / "faces"
IMAGES = 200
MAX_SIDE = 240


def make_inputs(folder: Path, count: int) -> None:
    sources = sorted(p for p in TESTDATA.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    folder.mkdir(parents=True)
    for n in range(count):
        image = cv2.imread(str(sources[n % len(sources)]))
        scale = 480 / max(image.shape[:2])
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        cv2.imwrite(str(folder / f"img{n:04d}.jpg"), image)


def aipopup(*args: str, env: dict[str, str]) -> list[str]:
    return [sys.executable, "-m", "aipopup", *args]


def trial(number: int, inputs: Path, work: Path, workers: int, rng: random.Random) -> tuple[bool, str]:
    out, state = work / f"out{number}", work / f"state{number}"
    env = {**os.environ, "AIPOPUP_STATE_DIR": str(state), "AIPOPUP_CONFIG_DIR": str(work / "config")}
    kill_after = rng.randint(1, IMAGES - 1)
    process = subprocess.Popen(
        aipopup("run", "convert", str(inputs), "-o", str(out), "--workers", str(workers), "--format", "png",
                "--max-side", str(MAX_SIDE), "--json", env=env),
        env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert process.stdout is not None
    finished = 0
    for line in process.stdout:
        if '"state": "succeeded"' in line:
            finished += 1
            if finished >= kill_after:
                break
    process.send_signal(signal.SIGKILL)
    process.wait()
    existing = {p.name for p in out.iterdir() if not p.name.startswith(".")} if out.exists() else set()

    resume = subprocess.run(aipopup("jobs", "resume", "--json", env=env), env=env, capture_output=True,
                            text=True, timeout=600, check=False)
    events = [json.loads(line) for line in resume.stdout.splitlines() if line.startswith("{")]
    ran = {e["task"] for e in events if e.get("event") == "task" and e.get("state") == "running"}
    outputs_ran = {Path(e["output"]).name for e in events
                   if e.get("event") == "task" and e.get("state") == "running" and e.get("output")}
    redone = len(outputs_ran & existing)

    problems = []
    if resume.returncode != 0:
        summary = next((e for e in events if e.get("event") == "summary"), {})
        failures = [f"{f['id']} {Path(f['input']).name}: {f['error']}" for f in summary.get("failures", [])]
        problems.append(f"resume exited {resume.returncode}: {failures or resume.stderr.strip()[-300:]}")
    names = sorted(p.name for p in out.iterdir())
    temps = [n for n in names if "aipopup-tmp" in n]
    finals = [n for n in names if not n.startswith(".")]
    expected = {f"img{n:04d}_convert.png" for n in range(IMAGES)}
    if temps:
        problems.append(f"temporary files left: {temps[:3]}")
    if set(finals) != expected:
        problems.append(f"outputs differ: missing {sorted(expected - set(finals))[:3]}, "
                        f"extra {sorted(set(finals) - expected)[:3]}")
    for name in finals:
        image = cv2.imread(str(out / name))
        if image is None or max(image.shape[:2]) != MAX_SIDE:
            problems.append(f"{name} does not decode at {MAX_SIDE} px")
            break
    listed = subprocess.run(aipopup("jobs", "list", "--json", env=env), env=env, capture_output=True,
                            text=True, check=True)
    counts = json.loads(listed.stdout)[0]["counts"]
    if counts.get("succeeded", 0) + counts.get("skipped", 0) != IMAGES:
        problems.append(f"final task states {counts}")
    if redone > workers:
        problems.append(f"{redone} finished outputs were redone (at most {workers} allowed)")
    detail = (f"killed after {finished:3d} finished; {len(existing):3d} outputs on disk; resume ran "
              f"{len(ran):3d}, redid {redone}")
    return not problems, detail + ("" if not problems else " -- " + "; ".join(problems))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trials", type=int, nargs="?", default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else int(time.time())
    rng = random.Random(seed)
    print(f"seed {seed}, {args.trials} trials of {IMAGES} images, {args.workers} workers")
    ok = 0
    with tempfile.TemporaryDirectory(prefix="aipopup-crash-") as tmp:
        work = Path(tmp)
        make_inputs(work / "inputs", IMAGES)
        started = time.perf_counter()
        for number in range(1, args.trials + 1):
            passed, detail = trial(number, work / "inputs", work, args.workers, rng)
            ok += passed
            print(f"  trial {number:3d}: {'ok  ' if passed else 'FAIL'} {detail}", flush=True)
        print(f"{time.perf_counter() - started:.1f} s")
    print(f"crash trials: {ok}/{args.trials} ok")
    return 0 if ok == args.trials else 1


if __name__ == "__main__":
    sys.exit(main())
