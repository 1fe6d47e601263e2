"""Download throughput: `aipopup run download` against aria2c, same files, same server, same run.

Serves 1,000 files of 100 KB and 4 files of 256 MB from a local server on 127.0.0.1 (nginx when
installed, run as a user process with a temporary config; else a Python server, which is slower
and makes every client look alike) and times, alternately and --repeat times each:

    aipopup run download LIST -o DIR        (the app's default settings)
    aria2c -j16 -i LIST                     (small files)
    aria2c -x4 -s4 -j4 -i LIST              (big files)

aipopup runs with its bytecode cached, as installed (see bytecode_env), after one untimed
warm-up download. Prints seconds and MB/s (median and best), the CPU seconds each tool used
(user + system, median: steadier than wall time on a shared machine), the load average before
the runs, and the ratio.
Every run's output is checked (count and bytes) so a failed download cannot pass for a fast one.
Everything lives in a temporary folder under /tmp that is removed at the end; nothing but
loopback is touched.

    .venv/bin/python benchmarks/download_throughput.py [--repeat 3] [--small 1000] [--big 4]
        [--also durable_outputs=false]   (a third row: aipopup with that setting)
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KB, MB = 1000, 1000 * 1000


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Timing:
    wall: float
    cpu: float


@dataclass
class FileSet:
    label: str
    folder: str
    count: int
    size: int
    aria2_args: list[str]

    @property
    def total(self) -> int:
        return self.count * self.size


def make_files(www: Path, sets: list[FileSet]) -> None:
    for fs in sets:
        folder = www / fs.folder
        folder.mkdir(parents=True)
        block = os.urandom(min(fs.size, 8 * 1024 * 1024))
        for i in range(fs.count):
            with open(folder / f"f{i:05d}.bin", "wb") as fh:
                left, n = fs.size, 0
                while left:
                    piece = block[: min(left, len(block))]
                    # a distinct first bytes per file and block: no two files are the same
                    fh.write(f"{i}:{n}:".encode() + piece[len(f"{i}:{n}:"):])
                    left -= len(piece)
                    n += 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_listening(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"the server on 127.0.0.1:{port} did not start")


@contextlib.contextmanager
def nginx_server(work: Path, www: Path) -> Iterator[tuple[str, int]]:
    port = free_port()
    (work / "nginx-tmp").mkdir()
    conf = work / "nginx.conf"
    conf.write_text(f"""
worker_processes 2;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log;
daemon off;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {work}/nginx-tmp; proxy_temp_path {work}/nginx-tmp;
  fastcgi_temp_path {work}/nginx-tmp; uwsgi_temp_path {work}/nginx-tmp; scgi_temp_path {work}/nginx-tmp;
  sendfile on; tcp_nopush on; keepalive_requests 100000;
  types {{ application/octet-stream bin; }}
  server {{ listen 127.0.0.1:{port}; root {www}; }}
}}
""")
    proc = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(work)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(port)
        version = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip()
        yield version.replace("nginx version: ", ""), port
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def python_server(www: Path) -> Iterator[tuple[str, int]]:
    handler = functools.partial(_QuietHandler, directory=str(www))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield "Python ThreadingHTTPServer (nginx not installed)", int(httpd.server_address[1])
    finally:
        httpd.shutdown()
        httpd.server_close()


def check_output(folder: Path, fs: FileSet) -> None:
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix == ".bin"]
    size = sum(p.stat().st_size for p in files)
    if len(files) != fs.count or size != fs.total:
        raise RuntimeError(f"{folder}: {len(files)} files, {size:,} bytes; expected {fs.count} "
                           f"and {fs.total:,}")


def bytecode_env(work: Path) -> dict[str, str]:
    """The environment for aipopup with its bytecode cached (in the temporary folder), as an
    installed app has it: with PYTHONDONTWRITEBYTECODE set, as on the shared machines, every
    run would compile the app's modules from source first (a tenth of a second of CPU)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    return env


def warm_up(work: Path, url: str) -> None:
    """One untimed download, so the bytecode cache holds every module a run imports."""
    out, state = work / "warm-up-out", work / "warm-up-state"
    env = {**bytecode_env(work), "AIPOPUP_CONFIG_DIR": str(work / "config")}
    subprocess.run([sys.executable, "-m", "aipopup", "run", "download", url, "-o", str(out),
                    "--state-dir", str(state)], env=env, capture_output=True, timeout=120, check=True)
    shutil.rmtree(out)
    shutil.rmtree(state)


def run_aipopup(work: Path, listing: Path, fs: FileSet, n: int,
                settings: dict[str, object] | None = None) -> Timing:
    out, state = work / f"out-aipopup-{fs.folder}-{n}", work / f"state-{fs.folder}-{n}"
    config = work / ("config-" + "-".join(f"{k}={v}" for k, v in sorted(settings.items()))
                     if settings else "config")
    config.mkdir(exist_ok=True)
    if settings:
        (config / "settings.json").write_text(json.dumps({"schema_version": 1, "values": settings}))
    env = {**bytecode_env(work), "AIPOPUP_CONFIG_DIR": str(config), "AIPOPUP_LOG_DIR": str(work / "logs")}
    cmd = [sys.executable, "-m", "aipopup", "run", "download", str(listing), "-o", str(out),
           "--state-dir", str(state)]
    cpu, started = _children_cpu(), time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    elapsed = Timing(time.perf_counter() - started, _children_cpu() - cpu)
    if proc.returncode != 0:
        raise RuntimeError(f"aipopup exited {proc.returncode}:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    check_output(out, fs)
    shutil.rmtree(out)
    shutil.rmtree(state)
    return elapsed


def run_aria2c(work: Path, listing: Path, fs: FileSet, n: int) -> Timing:
    out = work / f"out-aria2c-{fs.folder}-{n}"
    cmd = ["aria2c", "-q", *fs.aria2_args, "-d", str(out), "-i", str(listing)]
    cpu, started = _children_cpu(), time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    elapsed = Timing(time.perf_counter() - started, _children_cpu() - cpu)
    if proc.returncode != 0:
        raise RuntimeError(f"aria2c exited {proc.returncode}: {proc.stdout[-2000:]}")
    check_output(out, fs)
    shutil.rmtree(out)
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=1000, help="number of 100 KB files")
    parser.add_argument("--big", type=int, default=4, help="number of 256 MB files")
    parser.add_argument("--big-mb", type=int, default=256, help="size of each big file (MB)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per tool and set")
    parser.add_argument("--python-server", action="store_true", help="do not use nginx")
    parser.add_argument("--also", action="append", default=[], metavar="SETTING=VALUE",
                        help="also time aipopup with these settings, e.g. durable_outputs=false")
    args = parser.parse_args()
    also: dict[str, object] = {}
    for item in args.also:
        name, _, value = item.partition("=")
        also[name] = json.loads(value) if value in ("true", "false") or value.isdigit() else value

    sets = [FileSet(f"{args.small} x 100 KB", "small", args.small, 100 * KB, ["-j16"]),
            FileSet(f"{args.big} x {args.big_mb} MB", "big", args.big, args.big_mb * MB,
                    ["-x4", "-s4", f"-j{args.big}"])]
    sets = [fs for fs in sets if fs.count > 0]
    aria2 = shutil.which("aria2c")
    work = Path(tempfile.mkdtemp(prefix="aipopup-dlbench-", dir="/tmp"))
    work.chmod(0o755)  # nginx's workers run as an unprivileged user when started by root
    try:
        www = work / "www"
        make_files(www, sets)
        use_nginx = shutil.which("nginx") and not args.python_server
        server = nginx_server(work, www) if use_nginx else python_server(www)
        with server as (name, port):
            print(f"server: {name} on 127.0.0.1:{port}; {os.cpu_count()} CPUs; "
                  f"aria2c: {'yes' if aria2 else 'not installed (apt-get install aria2)'}")
            rows = []
            warm_up(work, f"http://127.0.0.1:{port}/{sets[0].folder}/f00000.bin")
            load = os.getloadavg()
            for fs in sets:
                listing = work / f"{fs.folder}.txt"
                listing.write_text("".join(f"http://127.0.0.1:{port}/{fs.folder}/f{i:05d}.bin\n"
                                           for i in range(fs.count)))
                times: dict[str, list[Timing]] = {"aipopup": [], "aria2c": []}
                extra = f"aipopup, {', '.join(args.also)}" if args.also else ""
                for n in range(args.repeat):  # alternate, so a noisy moment hits both
                    times["aipopup"].append(run_aipopup(work, listing, fs, n))
                    if aria2:
                        times["aria2c"].append(run_aria2c(work, listing, fs, n))
                    if extra:
                        times.setdefault(extra, []).append(run_aipopup(work, listing, fs, n, also))
                for tool, values in times.items():
                    if values:
                        label = {"aipopup": "aipopup run download",
                                 "aria2c": f"aria2c {' '.join(fs.aria2_args)}"}.get(tool, tool)
                        rows.append((fs, label, values))
                if aria2:
                    ratio = (statistics.median(t.wall for t in times["aria2c"])
                             / statistics.median(t.wall for t in times["aipopup"]))
                    rows.append((fs, f"aipopup speed / aria2c speed (median): {ratio:.2f}x", []))
        print(f"load average before the runs: {' '.join(f'{x:.2f}' for x in load)}")
        print(f"{'set':<16} {'tool':<34} {'median s':>9} {'best s':>8} {'MB/s':>8} {'cpu s':>6}  runs")
        for fs, label, values in rows:
            if not values:
                print(f"{fs.label:<16} {label}")
                continue
            walls = [t.wall for t in values]
            med, best = statistics.median(walls), min(walls)
            cpu = statistics.median(t.cpu for t in values)
            runs = " ".join(f"{v:.2f}" for v in walls)
            print(f"{fs.label:<16} {label:<34} {med:>9.2f} {best:>8.2f} {fs.total / MB / med:>8.0f} "
                  f"{cpu:>6.2f}  {runs}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
