"""Kill test for downloads: SIGKILL `aipopup run download` mid-transfer, `aipopup jobs resume`,
verify every file, and count the bytes the server had to send again.

200 files (180 of 20-400 KB, 20 of 2-8 MB) are served from the test suite's loopback server
(tests/httpserver.py, which counts every body byte it sends). The list is a CSV with a sha256
column, so the app verifies each file too. Per trial:

1. `aipopup run download LIST.csv -o OUT` starts; when the server has sent a random 10-90 % of
   all bytes, the process gets SIGKILL.
2. `aipopup jobs resume` must finish everything (exit 0).
3. Every file's sha256 is checked here, no `.part` may be left, nothing else may be in OUT.
4. Re-sent = bytes served in both phases - the bytes of all files. What was in flight (socket
   buffers) when the process died is all a resume may cost; a restart would cost every byte
   already fetched, and a trial fails if more than 64 KiB of what was on disk comes again.

    .venv/bin/python benchmarks/download_crash.py [--trials 3] [--seed N]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from httpserver import TestServer  # noqa: E402 - the suite's server, found through the path above

MB = 1_000_000


def make_files(rng: random.Random) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for i in range(200):
        size = rng.randint(2 * MB, 8 * MB) if i % 20 == 7 or i >= 190 else rng.randint(20_000, 400_000)
        seed = hashlib.sha256(f"{i}".encode()).digest()
        body = hashlib.shake_256(seed).digest(min(size, 1 << 20))
        files[f"/f/{i:03d}.bin"] = (body * (size // len(body) + 1))[:size - 4] + i.to_bytes(4, "big")
    return files


def run_trial(server: TestServer, files: dict[str, bytes], work: Path, rng: random.Random,
              n: int) -> dict[str, float]:
    out, state = work / f"out{n}", work / f"state{n}"
    env = {**os.environ, "AIPOPUP_STATE_DIR": str(state), "AIPOPUP_CONFIG_DIR": str(work / "config"),
           "AIPOPUP_LOG_DIR": str(work / "logs"), "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
    listing = work / "list.csv"
    listing.write_text("url,sha256\n" + "".join(
        f"{server.url(path)},{hashlib.sha256(body).hexdigest()}\n" for path, body in files.items()))
    total = sum(len(b) for b in files.values())
    fraction = rng.uniform(0.1, 0.9)
    start_bytes = server.body_bytes_sent

    cmd = [sys.executable, "-m", "aipopup", "run", "download", str(listing), "-o", str(out)]
    started = time.monotonic()
    process = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while (server.body_bytes_sent - start_bytes < fraction * total and process.poll() is None
           and time.monotonic() - started < 300):
        time.sleep(0.001)
    if process.poll() is not None:
        raise RuntimeError(f"the download ended (exit {process.returncode}) before the kill")
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = server.body_bytes_sent - start_bytes  # after the death: what reached the socket
    on_disk = sum(p.stat().st_size for p in out.iterdir() if p.suffix in (".bin", ".part"))
    parts = len(list(out.glob("*.part")))
    finished_before = len(list(out.glob("*.bin")))
    ranges_before = sum(1 for r in server.requests if "range" in r.headers)

    resumed = subprocess.run([sys.executable, "-m", "aipopup", "jobs", "resume"], env=env,
                             capture_output=True, text=True, timeout=600)
    if resumed.returncode != 0:
        raise RuntimeError(f"jobs resume exited {resumed.returncode}:\n{resumed.stdout[-3000:]}"
                           f"\n{resumed.stderr[-3000:]}")
    sent = server.body_bytes_sent - start_bytes
    bad = [p for p, body in files.items()
           if hashlib.sha256((out / Path(p).name).read_bytes()).digest() != hashlib.sha256(body).digest()]
    extra = sorted({p.name for p in out.iterdir()} - {Path(p).name for p in files}
                   - {".aipopup-downloads.jsonl"})
    if bad or extra:
        raise RuntimeError(f"trial {n}: wrong content in {bad}; unexpected files {extra}")
    ranged = sum(1 for r in server.requests if "range" in r.headers) - ranges_before
    refetched = (sent - total) - (killed_at - on_disk)
    if refetched > 64 * 1024:
        raise RuntimeError(f"trial {n}: {refetched:,} bytes that were on disk were fetched again")
    return {"kill_fraction": fraction, "killed_at": killed_at, "on_disk": on_disk, "parts": parts,
            "finished_before": finished_before, "ranged": ranged, "resent": sent - total, "total": total}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    files = make_files(random.Random(1))
    total = sum(len(b) for b in files.values())
    print(f"{len(files)} files, {total / MB:.1f} MB, {sum(len(b) > MB for b in files.values())} of them "
          f"over 1 MB; loopback Python server (tests/httpserver.py); seed {seed}")
    work = Path(tempfile.mkdtemp(prefix="aipopup-dlcrash-", dir="/tmp"))
    failures = 0
    try:
        with TestServer() as server:
            for path, body in files.items():
                server.add(path, body)
            for n in range(args.trials):
                try:
                    r = run_trial(server, files, work, rng, n)
                except RuntimeError as exc:
                    failures += 1
                    print(f"trial {n}: FAILED: {exc}")
                    continue
                print(f"trial {n}: killed after {r['killed_at'] / MB:.1f} MB sent "
                      f"({r['kill_fraction']:.0%} of the bytes); on disk then {r['on_disk'] / MB:.1f} MB "
                      f"({r['finished_before']:.0f} files done, {r['parts']:.0f} partial); "
                      f"resume: {r['ranged']:.0f} Range requests, all {len(files)} sha256 verified; "
                      f"sent again {r['resent'] / MB:.2f} MB "
                      f"({r['resent'] / r['total']:.1%} of {r['total'] / MB:.0f} MB), of which "
                      f"{(r['killed_at'] - r['on_disk']) / MB:.2f} MB were in flight (sent, not yet "
                      "on disk) at the kill")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("all trials passed" if not failures else f"{failures} trial(s) failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
