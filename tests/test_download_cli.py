"""Downloads through the command line: a real `aipopup` process, a real server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from httpserver import Fault, TestServer

EXE = [sys.executable, "-m", "aipopup"]


def env_for(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "AIPOPUP_STATE_DIR": str(tmp_path / "state"),
            "AIPOPUP_CONFIG_DIR": str(tmp_path / "config"), "AIPOPUP_LOG_DIR": str(tmp_path / "logs"),
            "PYTHONIOENCODING": "utf-8", "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}


def aipopup(tmp_path: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*EXE, *args], env=env_for(tmp_path), capture_output=True, text=True,
                          timeout=timeout, check=False)


def summary_of(output: str) -> dict[str, Any]:
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    summaries = [line for line in lines if line.get("event") == "summary"]
    assert summaries, output
    return summaries[-1]  # type: ignore[no-any-return]


def payload(size: int, seed: int) -> bytes:
    return hashlib.shake_256(f"cli{seed}".encode()).digest(size)


def wait_until(condition: Any, timeout: float = 20.0) -> bool:
    deadline, tick = time.monotonic() + timeout, threading.Event()
    while not condition():
        if time.monotonic() > deadline:
            return False
        tick.wait(0.01)
    return True


def test_a_csv_list_downloads_checks_and_reports_each_failure(
        http_server: TestServer, tmp_path: Path) -> None:
    good = {f"/files/{i}.bin": payload(50_000 + i, i) for i in range(3)}
    for path, body in good.items():
        http_server.add(path, body)
    http_server.add("/files/tampered.bin", b"not what the list promised")
    listing = tmp_path / "links.csv"
    rows = ["url,filename,sha256"]
    rows += [f"{http_server.url(p)},,{hashlib.sha256(b).hexdigest()}" for p, b in good.items()]
    rows += [f"{http_server.url('/files/tampered.bin')},t.bin,{'0' * 64}",
             f"{http_server.url('/files/gone.bin')},,",
             "file:///etc/passwd,,"]
    listing.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "out"

    first = aipopup(tmp_path, "run", "download", str(listing), "-o", str(out), "--json")
    assert first.returncode == 1, first.stderr  # some failed, and the summary names them
    summary = summary_of(first.stdout)
    assert summary["counts"]["succeeded"] == 3 and summary["counts"]["failed"] == 3
    errors = sorted(f["error"] for f in summary["failures"])
    assert any("sha256" in e for e in errors) and any("404" in e for e in errors)
    assert any(e.startswith("file:// URLs are not downloaded") for e in errors)
    for path, body in good.items():
        assert (out / Path(path).name).read_bytes() == body
    assert sorted(p.name for p in out.iterdir()) == [".aipopup-downloads.jsonl", "0.bin", "1.bin", "2.bin"]

    served = len(http_server.requests)
    again = aipopup(tmp_path, "run", "download", str(listing), "-o", str(out), "--json")
    assert summary_of(again.stdout)["counts"]["failed"] == 3
    # the three good files are not fetched again; only the failed ones are asked for again
    assert {r.path for r in http_server.requests[served:]} == {"/files/tampered.bin", "/files/gone.bin"}


def test_killed_download_resumes_with_range_after_jobs_resume(
        http_server: TestServer, tmp_path: Path) -> None:
    body = payload(6_000_000, 99)
    url = http_server.add("/movie.mp4", body, content_type="video/mp4")
    hold = Fault.hold(after=2_500_000)
    http_server.fail("/movie.mp4", hold)
    out = tmp_path / "out"
    process = subprocess.Popen([*EXE, "run", "download", url, "-o", str(out)], env=env_for(tmp_path),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        part = out / "movie.mp4.part"
        assert hold.reached.wait(60)
        assert wait_until(lambda: part.exists() and part.stat().st_size == 2_500_000)
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    sent_before = http_server.body_bytes_sent

    resumed = aipopup(tmp_path, "jobs", "resume", "--json")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert (out / "movie.mp4").read_bytes() == body
    last = http_server.requests_for("/movie.mp4")[-1]
    assert last.headers["range"] == "bytes=2500000-"
    assert http_server.body_bytes_sent - sent_before == len(body) - 2_500_000  # resumed, not restarted
    assert sorted(p.name for p in out.iterdir()) == [".aipopup-downloads.jsonl", "movie.mp4"]


def test_download_then_anonymize_processes_while_downloads_go_on(
        http_server: TestServer, tmp_path: Path, testdata: Path) -> None:
    photos = ["obama.jpg", "biden.jpg", "two_people.jpg"]
    for name in photos:
        http_server.add(f"/photos/{name}", (testdata / "faces" / name).read_bytes(),
                        content_type="image/jpeg")
    http_server.add("/docs/readme.txt", b"not an image", content_type="text/plain")
    last = Fault.hold(after=1000)
    http_server.fail("/photos/two_people.jpg", last)
    listing = tmp_path / "links.txt"
    listing.write_text("\n".join([http_server.url(f"/photos/{n}") for n in photos]
                                 + [http_server.url("/docs/readme.txt")]) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    process = subprocess.Popen([*EXE, "run", "download", str(listing), "-o", str(out), "--json",
                                "--then", "anonymize"],
                               env=env_for(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        assert last.reached.wait(60)
        # the last photo is still downloading, and the first ones are already anonymized
        assert wait_until(lambda: (out / "obama_anonymize.jpg").exists() and
                          (out / "biden_anonymize.jpg").exists(), timeout=60)
        assert not (out / "two_people.jpg").exists()
        last.gate.set()
        stdout, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stdout[-3000:] + stderr[-3000:]
    for name in photos:
        assert (out / name).read_bytes() == (testdata / "faces" / name).read_bytes()
        assert (out / name.replace(".jpg", "_anonymize.jpg")).stat().st_size > 0
    summary = summary_of(stdout)
    assert summary["counts"]["skipped"] == 1  # the text file is kept and reported, not processed
    assert "readme.txt" in json.dumps(summary["skipped"])


def test_transient_failures_are_retried_and_resumed_in_one_run(
        http_server: TestServer, tmp_path: Path) -> None:
    bodies = {"/reset.bin": payload(3_000_000, 1), "/flaky.bin": payload(20_000, 2),
              "/busy.bin": payload(30_000, 3)}
    for path, body in bodies.items():
        http_server.add(path, body)
    http_server.fail("/reset.bin", Fault.reset(after=1_000_000), Fault.reset(after=1_000_000))
    http_server.fail("/flaky.bin", Fault.http_status(500), Fault.http_status(502))
    http_server.fail("/busy.bin", Fault.http_status(429, Retry_After="0"))
    config = tmp_path / "config"
    config.mkdir()
    (config / "settings.json").write_text(json.dumps(
        {"schema_version": 1, "values": {"retry_delay": 0.0, "retries": 4}}), encoding="utf-8")
    out = tmp_path / "out"
    done = aipopup(tmp_path, "run", "download", *map(http_server.url, bodies), "-o", str(out), "--json")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for path, body in bodies.items():
        assert (out / path.lstrip("/")).read_bytes() == body
    ranges = [r.headers.get("range") for r in http_server.requests_for("/reset.bin")]
    assert len(ranges) == 3 and ranges[0] is None
    # each attempt continued from what the one before had stored (a reset also throws away
    # what was still in the socket buffers, so offsets need not be multiples of 1 MB)
    offsets = [int(str(r).removeprefix("bytes=").rstrip("-")) for r in ranges[1:]]
    assert 0 < offsets[0] < offsets[1] <= 2_000_000


def test_name_template_renames_downloads_but_not_a_lists_own_names(
        http_server: TestServer, tmp_path: Path) -> None:
    http_server.add("/pics/cat.jpg", b"cat", content_type="image/jpeg")
    http_server.add("/pics/dog.jpg", b"dog", content_type="image/jpeg")
    http_server.add("/pics/owl.jpg", b"owl", content_type="image/jpeg")
    listing = tmp_path / "links.csv"
    listing.write_text("url,filename\n" + "".join(
        f"{http_server.url(p)},{name}\n" for p, name in
        [("/pics/cat.jpg", ""), ("/pics/dog.jpg", ""), ("/pics/owl.jpg", "bird.jpg")]), encoding="utf-8")
    out = tmp_path / "out"
    done = aipopup(tmp_path, "run", "download", str(listing), "-o", str(out), "--json",
                   "--name", "{n:03}-{stem}-{op}{ext}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        ".aipopup-downloads.jsonl", "001-cat-download.jpg", "002-dog-download.jpg", "bird.jpg"]
    # the default template keeps the server's names: a download is not "cat_download.jpg"
    other = tmp_path / "other"  # a state of its own: this one would skip cat.jpg as done
    plain = aipopup(other, "run", "download", http_server.url("/pics/cat.jpg"), "-o",
                    str(tmp_path / "plain"), "--json")
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert (tmp_path / "plain" / "cat.jpg").read_bytes() == b"cat"


def test_plain_http_downloads_never_load_httpx(http_server: TestServer, tmp_path: Path) -> None:
    url = http_server.add("/a.bin", payload(10_000, 9))
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "aipopup", "run", "download", url,
                           "-o", str(tmp_path / "out"), "--json"],
                          env=env_for(tmp_path), capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()
                if line.startswith("import time:")}
    assert "aipopup.ops.download.plainhttp" in imported  # the check below can see imports
    assert {"httpx", "numpy", "cv2"} & imported == set()


@pytest.mark.parametrize(("workers", "at_once"), [(None, 4), ("2", 2)])
def test_downloads_from_one_server_run_four_at_once_or_as_many_as_workers_says(
        http_server: TestServer, tmp_path: Path, workers: str | None, at_once: int) -> None:
    holds = {}
    for i in range(6):
        path = f"/held/{i}.bin"
        http_server.add(path, payload(1000, i))
        holds[path] = Fault.hold()
        http_server.fail(path, holds[path])
    extra = ["--workers", workers] if workers else []
    process = subprocess.Popen([*EXE, "run", "download", *map(http_server.url, holds), "-o",
                                str(tmp_path / "out"), "--json", *extra],
                               env=env_for(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        def held() -> int:
            return sum(h.reached.is_set() for h in holds.values())
        # the per-server default (4) or --workers, which for downloads sets the network slots
        assert wait_until(lambda: held() >= at_once, timeout=60)
        assert not wait_until(lambda: held() > at_once, timeout=0.5)  # no download beyond the limit
        for hold in holds.values():
            hold.gate.set()
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stdout[-3000:] + stderr[-3000:]
    assert summary_of(stdout)["counts"]["succeeded"] == 6


def test_download_then_detect_writes_the_face_report(
        http_server: TestServer, tmp_path: Path, testdata: Path, manifest: dict[str, Any]) -> None:
    photos = ["obama.jpg", "two_people.jpg"]
    for name in photos:
        http_server.add(f"/photos/{name}", (testdata / "faces" / name).read_bytes(),
                        content_type="image/jpeg")
    out = tmp_path / "out"
    done = aipopup(tmp_path, "run", "download", *(http_server.url(f"/photos/{n}") for n in photos),
                   "-o", str(out), "--json", "--then", "detect", "--report", "found.json")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads((out / "found.json").read_text(encoding="utf-8"))
    assert sorted(Path(image["file"]).name for image in report["images"]) == sorted(photos)
    for image in report["images"]:
        expected = manifest["faces"][Path(image["file"]).name]
        assert image["status"] == "succeeded"
        assert expected["min_faces"] <= len(image["faces"]) <= expected["max_faces"]
