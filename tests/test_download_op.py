"""The download operation against a real HTTP server on 127.0.0.1 with switchable faults.

Each call of ``run()`` is one attempt, as the scheduler makes it: transient failures are
asserted as ``TransientError`` (the scheduler's retry is tested with the engine), and the next
call is the retry.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from aipopup.core.cancel import CancelToken
from aipopup.core.errors import Cancelled, TaskError, TransientError
from aipopup.ops.download import client
from aipopup.ops.download import folder as folder_module
from aipopup.ops.download.limiter import TokenBucket
from httpserver import Fault, TestServer

KIB = 1024


def payload(size: int, seed: int = 0) -> bytes:
    return hashlib.shake_256(f"{seed}".encode()).digest(size)


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "out"


@pytest.fixture
def fetch(make_run: Any, out: Path) -> Any:
    def call(url: str, *, token: CancelToken | None = None, settings: dict[str, Any] | None = None,
             overwrite: str = "never", **params: Any) -> tuple[dict[str, Any], list[str]]:
        run = make_run("download", url, params=params, output_dir=out, token=token,
                       settings=settings, overwrite=overwrite)
        result = run()
        return result, run.ctx.outputs
    return call


def wait_until(condition: Any, timeout: float = 10.0) -> bool:
    """Poll a condition that another thread makes true (a file reaching a size)."""
    deadline, tick = time.monotonic() + timeout, threading.Event()
    while not condition():
        if time.monotonic() > deadline:
            return False
        tick.wait(0.005)
    return True


def part_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return -1


def listing(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def only_inside(tmp_path: Path, out: Path) -> None:
    """Nothing was written anywhere but the output folder."""
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert out in path.parents, f"{path} was written outside {out}"


def test_download_names_file_from_url_and_leaves_no_temporaries(
        http_server: TestServer, fetch: Any, out: Path, tmp_path: Path) -> None:
    body = payload(300 * KIB)
    url = http_server.add("/media/clip%20one.mp4", body, content_type="video/mp4")
    result, outputs = fetch(url)
    assert outputs == [str(out / "clip one.mp4")]
    assert (out / "clip one.mp4").read_bytes() == body
    assert result["bytes"] == len(body) and result["fetched"] == len(body)
    assert result["resumed_from"] == 0 and result["is_image"] is False
    assert result["content_type"] == "video/mp4"
    assert listing(out) == [".aipopup-downloads.jsonl", "clip one.mp4"]
    only_inside(tmp_path, out)


def test_reset_mid_body_resumes_with_range_and_if_range(
        http_server: TestServer, fetch: Any, out: Path) -> None:
    body = payload(2 * 1024 * KIB)
    url = http_server.add("/big.bin", body)
    http_server.fail("/big.bin", Fault.reset(after=700 * KIB))
    with pytest.raises(TransientError, match="connection"):
        fetch(url)
    kept = (out / "big.bin.part").stat().st_size
    assert 0 < kept <= 700 * KIB
    assert listing(out) == [".aipopup-downloads.jsonl", "big.bin.part"]

    result, outputs = fetch(url)
    resume = http_server.requests_for("/big.bin")[-1]
    assert resume.headers["range"] == f"bytes={kept}-"
    assert resume.headers["if-range"] == http_server.resources["/big.bin"].etag
    assert result["resumed_from"] == kept and result["fetched"] == len(body) - kept
    assert Path(outputs[0]).read_bytes() == body
    assert listing(out) == [".aipopup-downloads.jsonl", "big.bin"]


def test_server_without_range_support_restarts_cleanly(
        http_server: TestServer, fetch: Any, out: Path) -> None:
    body = payload(1024 * KIB, seed=2)
    url = http_server.add("/norange.bin", body, ranges=False)
    http_server.fail("/norange.bin", Fault.reset(after=400 * KIB))
    with pytest.raises(TransientError):
        fetch(url)
    result, _ = fetch(url)
    assert http_server.requests_for("/norange.bin")[-1].headers.get("range")  # it was asked
    assert result["resumed_from"] == 0 and result["fetched"] == len(body)
    assert (out / "norange.bin").read_bytes() == body


def test_changed_file_is_fetched_whole_not_spliced(
        http_server: TestServer, fetch: Any, out: Path) -> None:
    old, new = payload(800 * KIB, seed=3), payload(900 * KIB, seed=4)
    url = http_server.add("/v.bin", old)
    http_server.fail("/v.bin", Fault.reset(after=300 * KIB))
    with pytest.raises(TransientError):
        fetch(url)
    http_server.add("/v.bin", new)  # a new ETag: If-Range makes the server send all of it
    result, _ = fetch(url)
    assert result["resumed_from"] == 0
    assert (out / "v.bin").read_bytes() == new


def test_500_is_transient_then_success(http_server: TestServer, fetch: Any, out: Path) -> None:
    body = payload(10 * KIB)
    url = http_server.add("/flaky", body)
    http_server.fail("/flaky", Fault.http_status(500), Fault.http_status(503))
    for _ in range(2):
        with pytest.raises(TransientError, match=r"50[03]") as info:
            fetch(url)
        assert info.value.retry_after is None
    assert listing(out) == []  # an error answer writes nothing
    fetch(url)
    assert (out / "flaky").read_bytes() == body


def test_429_passes_retry_after_to_the_scheduler(http_server: TestServer, fetch: Any) -> None:
    url = http_server.add("/busy", b"x")
    http_server.fail("/busy", Fault.http_status(429, Retry_After="7"),
                     Fault.http_status(503, Retry_After="Wed, 21 Oct 2015 07:28:00 GMT"))
    with pytest.raises(TransientError, match="429") as info:
        fetch(url)
    assert info.value.retry_after == 7.0
    with pytest.raises(TransientError) as info:
        fetch(url)
    assert info.value.retry_after == 0.0  # a date in the past: retry at once


def test_stalled_server_hits_the_stall_timeout_then_resumes(
        http_server: TestServer, fetch: Any, out: Path) -> None:
    body = payload(200 * KIB, seed=5)
    url = http_server.add("/slow.bin", body)
    http_server.fail("/slow.bin", Fault.hold(after=50 * KIB))
    started = time.monotonic()
    with pytest.raises(TransientError, match=r"No data from the server for 0\.5 s"):
        fetch(url, stall_timeout=0.5)
    assert time.monotonic() - started < 5
    assert (out / "slow.bin.part").stat().st_size == 50 * KIB
    result, _ = fetch(url, stall_timeout=0.5)
    assert result["resumed_from"] == 50 * KIB
    assert (out / "slow.bin").read_bytes() == body


def test_redirect_loop_fails_permanently(http_server: TestServer, fetch: Any, out: Path) -> None:
    url = http_server.redirect("/loop", "/loop2")
    http_server.redirect("/loop2", "/loop")
    with pytest.raises(TaskError, match="redirect loop") as info:
        fetch(url)
    assert not isinstance(info.value, TransientError)
    assert listing(out) == []


def test_redirect_is_followed_and_named_by_the_final_url(
        http_server: TestServer, fetch: Any, out: Path) -> None:
    body = payload(5 * KIB)
    http_server.add("/files/real-name.png", body, content_type="image/png")
    url = http_server.redirect("/short/abc", "/files/real-name.png")
    result, _ = fetch(url)
    assert result["url"].endswith("/files/real-name.png") and result["is_image"] is True
    assert (out / "real-name.png").read_bytes() == body


def test_404_fails_at_once_with_a_hint(http_server: TestServer, fetch: Any, out: Path) -> None:
    with pytest.raises(TaskError, match="404") as info:
        fetch(http_server.url("/missing.jpg"))
    assert not isinstance(info.value, TransientError)
    assert "check the link" in info.value.hint
    assert listing(out) == []


@pytest.mark.parametrize("status", [400, 401, 403, 410, 451])
def test_other_4xx_fail_at_once(http_server: TestServer, fetch: Any, out: Path, status: int) -> None:
    url = http_server.add("/denied.bin", b"x")
    http_server.fail("/denied.bin", Fault.http_status(status))
    with pytest.raises(TaskError, match=str(status)) as info:
        fetch(url)
    assert not isinstance(info.value, TransientError)
    assert listing(out) == []


def test_408_is_transient_like_a_timeout(http_server: TestServer, fetch: Any, out: Path) -> None:
    body = payload(4 * KIB)
    url = http_server.add("/slowpoke.bin", body)
    http_server.fail("/slowpoke.bin", Fault.http_status(408))
    with pytest.raises(TransientError, match="408"):
        fetch(url)
    fetch(url)
    assert (out / "slowpoke.bin").read_bytes() == body


@pytest.mark.parametrize("page_status", [200, 403])
def test_html_error_page_on_resume_never_touches_the_partial_file(
        http_server: TestServer, fetch: Any, out: Path, page_status: int) -> None:
    body = payload(1024 * KIB, seed=6)
    url = http_server.add("/photo.jpg", body, content_type="image/jpeg")
    http_server.fail("/photo.jpg", Fault.reset(after=512 * KIB), Fault.html(page_status))
    with pytest.raises(TransientError):
        fetch(url)
    part = out / "photo.jpg.part"
    before = part.read_bytes()
    assert before == body[: len(before)]
    with pytest.raises(TaskError) as info:
        fetch(url)
    assert not isinstance(info.value, TransientError)
    assert part.read_bytes() == before and not (out / "photo.jpg").exists()
    # the link works again: the kept bytes are used, and the result is the real file
    result, _ = fetch(url)
    assert result["resumed_from"] == len(before)
    assert (out / "photo.jpg").read_bytes() == body


@pytest.mark.parametrize(("disposition", "saved"), [
    ('attachment; filename="../../x"', "x"),
    ('attachment; filename="/etc/cron.d/evil"', "evil"),
    ("attachment; filename*=UTF-8''..%2F..%2F..%2Fescape.sh", "escape.sh"),
    ("attachment; filename=C:\\Windows\\System32\\con", "_con"),
    ('attachment; filename=".."', "dl"),
])
def test_content_disposition_cannot_leave_the_output_folder(
        http_server: TestServer, fetch: Any, out: Path, tmp_path: Path,
        disposition: str, saved: str) -> None:
    url = http_server.add("/dl", b"payload", headers={"Content-Disposition": disposition})
    _, outputs = fetch(url)
    assert outputs == [str(out / saved)]
    assert (out / saved).read_bytes() == b"payload"
    only_inside(tmp_path, out)


def test_wrong_sha256_fails_and_removes_the_file(
        http_server: TestServer, fetch: Any, out: Path) -> None:
    body = payload(64 * KIB)
    url = http_server.add("/checked.bin", body)
    with pytest.raises(TaskError, match="sha256") as info:
        fetch(url, sha256="0" * 64)
    assert not isinstance(info.value, TransientError)
    # neither the file nor its part is left to be taken for good
    assert listing(out) == [".aipopup-downloads.jsonl"]
    result, _ = fetch(url, sha256=hashlib.sha256(body).hexdigest().upper())
    assert result["sha256"] == hashlib.sha256(body).hexdigest()
    assert (out / "checked.bin").read_bytes() == body


def test_malformed_sha256_is_refused_before_fetching(http_server: TestServer, fetch: Any) -> None:
    url = http_server.add("/x", b"x")
    with pytest.raises(TaskError, match="64 hexadecimal"):
        fetch(url, sha256="abc")
    assert http_server.requests == []


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/pub/file.bin",
                                 "javascript:alert(1)", "127.0.0.1/no-scheme.jpg"])
def test_non_http_urls_are_refused(fetch: Any, out: Path, tmp_path: Path, url: str) -> None:
    with pytest.raises(TaskError, match="only http and https") as info:
        fetch(url)
    assert not isinstance(info.value, TransientError)
    assert not out.exists() or listing(out) == []
    only_inside(tmp_path, out)


def test_file_url_message_names_the_scheme(fetch: Any) -> None:
    with pytest.raises(TaskError, match=r"^file:// URLs are not downloaded; only http and https\."):
        fetch("file:///etc/passwd")


def test_same_name_from_two_urls_gets_a_unique_name_and_reruns_keep_it(
        http_server: TestServer, fetch: Any, out: Path) -> None:
    first, second = payload(1000, seed=7), payload(2000, seed=8)
    url1 = http_server.add("/a/pic.jpg", first, content_type="image/jpeg")
    url2 = http_server.add("/b/pic.jpg", second, content_type="image/jpeg")
    (out).mkdir()
    (out / "pic.jpg").write_bytes(b"the user's own file")
    _, out1 = fetch(url1)
    _, out2 = fetch(url2)
    assert [Path(p).name for p in out1 + out2] == ["pic (2).jpg", "pic (3).jpg"]
    assert (out / "pic.jpg").read_bytes() == b"the user's own file"  # never overwritten
    requests = len(http_server.requests)
    again, out2_again = fetch(url2)
    assert out2_again == out2 and again["already_done"] is True
    assert len(http_server.requests) == requests  # nothing fetched again


def test_a_file_already_there_with_the_same_sha256_is_not_fetched_from_a_new_link(
        http_server: TestServer, fetch: Any, out: Path) -> None:
    body = payload(40 * KIB, seed=11)
    digest = hashlib.sha256(body).hexdigest()
    first = http_server.add("/old-link/photo.jpg", body, content_type="image/jpeg")
    fresh = http_server.add("/new-link/photo.jpg", body, content_type="image/jpeg")
    _, kept = fetch(first, sha256=digest)
    folder_module.forget_folders()  # a re-run in a new process: only the folder log knows it
    requests = len(http_server.requests)
    again, outputs = fetch(fresh, sha256=digest)
    assert again["already_done"] is True and outputs == kept
    assert len(http_server.requests) == requests  # the new link was never asked
    # without a checksum to go by, a new link is a new download
    _, other = fetch(fresh)
    assert other != kept and Path(other[0]).read_bytes() == body
    assert len(http_server.requests) == requests + 1
    # a file changed since it was verified is not taken for the wanted one
    Path(kept[0]).write_bytes(b"edited")
    third = http_server.add("/third-link/photo.jpg", body, content_type="image/jpeg")
    _, fetched = fetch(third, sha256=digest)
    assert fetched != kept and Path(fetched[0]).read_bytes() == body


def test_finished_download_is_found_by_a_new_process(
        http_server: TestServer, fetch: Any, out: Path) -> None:
    body = payload(30 * KIB)
    url = http_server.add("/kept.bin", body)
    fetch(url)
    folder_module.forget_folders()  # what a restart does: nothing in memory, the disk only
    result, outputs = fetch(url, sha256=hashlib.sha256(body).hexdigest())
    assert result["already_done"] is True and outputs == [str(out / "kept.bin")]
    assert len(http_server.requests) == 1


def test_kill_after_rename_before_the_done_line_counts_as_done(
        http_server: TestServer, fetch: Any, out: Path) -> None:
    body = payload(40 * KIB)
    url = http_server.add("/k.bin", body)
    http_server.fail("/k.bin", Fault.reset(after=10 * KIB))
    with pytest.raises(TransientError):
        fetch(url)
    # the state a kill leaves between the rename and the "done" line: a start line, a whole file
    os.replace(out / "k.bin.part", out / "k.bin")
    (out / "k.bin").write_bytes(body)
    folder_module.forget_folders()
    result, _ = fetch(url)
    assert result["already_done"] is True
    assert listing(out) == [".aipopup-downloads.jsonl", "k.bin"]
    assert len(http_server.requests) == 1


def test_complete_part_after_a_kill_is_finished_without_refetching(
        http_server: TestServer, fetch: Any, out: Path) -> None:
    body = payload(100 * KIB)
    url = http_server.add("/whole.bin", body)
    http_server.fail("/whole.bin", Fault.reset(after=10 * KIB))
    with pytest.raises(TransientError):
        fetch(url)
    (out / "whole.bin.part").write_bytes(body)  # every byte arrived; the kill beat the rename
    result, _ = fetch(url)
    assert http_server.requests[-1].headers["range"] == f"bytes={len(body)}-"  # answered 416
    assert result["fetched"] == 0 and (out / "whole.bin").read_bytes() == body


def test_size_cap_refuses_from_content_length(http_server: TestServer, fetch: Any, out: Path) -> None:
    url = http_server.add("/huge.bin", payload(1_500_000))
    with pytest.raises(TaskError, match="over the 1 MB limit") as info:
        fetch(url, max_size_mb=1)
    assert not isinstance(info.value, TransientError)
    assert listing(out) == []


def test_cancel_while_blocked_in_a_read_returns_quickly_and_pause_keeps_the_part(
        http_server: TestServer, fetch: Any, out: Path) -> None:
    body = payload(300 * KIB, seed=9)
    url = http_server.add("/held.bin", body)
    hold = Fault.hold(after=100 * KIB)
    http_server.fail("/held.bin", hold)
    token = CancelToken()
    outcome: list[BaseException] = []

    def attempt() -> None:
        try:
            fetch(url, token=token, stall_timeout=30)
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=attempt)
    worker.start()
    assert hold.reached.wait(10)
    # the server sent its bytes; once they are on disk the client is blocked in a read
    assert wait_until(lambda: part_size(out / "held.bin.part") == 100 * KIB)
    started = time.monotonic()
    token.cancel("pause")
    worker.join(5)
    assert time.monotonic() - started < 0.5
    assert isinstance(outcome[0], Cancelled) and outcome[0].reason == "pause"
    assert part_size(out / "held.bin.part") == 100 * KIB
    result, _ = fetch(url)
    assert result["resumed_from"] == 100 * KIB and (out / "held.bin").read_bytes() == body


def test_cancel_removes_the_part(http_server: TestServer, fetch: Any, out: Path) -> None:
    url = http_server.add("/c.bin", payload(300 * KIB))
    hold = Fault.hold(after=100 * KIB)
    http_server.fail("/c.bin", hold)
    token = CancelToken()
    errors: list[BaseException] = []
    worker = threading.Thread(target=lambda: _catch(errors, fetch, url, token))
    worker.start()
    assert hold.reached.wait(10)
    token.cancel("cancel")
    worker.join(5)
    assert isinstance(errors[0], Cancelled)
    assert listing(out) == [".aipopup-downloads.jsonl"]


def _catch(errors: list[BaseException], fetch: Any, url: str, token: CancelToken) -> None:
    try:
        fetch(url, token=token)
    except BaseException as exc:
        errors.append(exc)


def test_image_without_extension_gets_one(http_server: TestServer, fetch: Any, out: Path) -> None:
    url = http_server.add("/photos/12345", payload(2000), content_type="image/jpeg")
    result, outputs = fetch(url)
    assert outputs == [str(out / "12345.jpg")] and result["is_image"] is True


def test_csv_filename_is_used_and_sanitized(http_server: TestServer, fetch: Any, out: Path,
                                            tmp_path: Path) -> None:
    url = http_server.add("/x", b"data", headers={"Content-Disposition": 'attachment; filename="s.txt"'})
    _, outputs = fetch(url, filename="../../../chosen.dat")
    assert outputs == [str(out / "chosen.dat")]
    only_inside(tmp_path, out)


def test_speed_limit_is_shared_and_holds(http_server: TestServer, fetch: Any) -> None:
    body = payload(768 * KIB)
    url = http_server.add("/limited.bin", body)
    started = time.monotonic()
    fetch(url, settings={"speed_limit_kib": 1024})
    # a burst of 256 KiB is free; the other 512 KiB at 1 MiB/s take at least half a second
    assert time.monotonic() - started >= 0.45


def test_token_bucket_splits_its_rate_between_threads() -> None:
    bucket = TokenBucket(4 * 1024 * KIB)
    started = time.monotonic()
    def take() -> None:
        for _ in range(8):
            bucket.consume(256 * KIB)

    workers = [threading.Thread(target=take) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    # 4 MiB in all, 1 MiB of it as the burst: at least 0.75 s at 4 MiB/s
    assert time.monotonic() - started >= 0.7


def test_same_download_twice_at_once_is_one_transfer(
        http_server: TestServer, make_run: Any, out: Path) -> None:
    body = payload(300 * KIB, seed=11)
    url = http_server.add("/twice.bin", body)
    hold = Fault.hold(after=100 * KIB)
    http_server.fail("/twice.bin", hold)
    first = make_run("download", url, output_dir=out)
    errors: list[BaseException] = []

    def attempt() -> None:
        try:
            first()
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=attempt)
    worker.start()
    assert hold.reached.wait(10)
    with pytest.raises(TransientError, match="already running") as info:
        make_run("download", url, output_dir=out)()  # another batch, same URL, same folder
    assert info.value.retry_after is not None
    hold.gate.set()
    worker.join(10)
    assert errors == [] and (out / "twice.bin").read_bytes() == body
    result = make_run("download", url, output_dir=out)()  # its retry finds the file
    assert result is not None and result["already_done"] is True


def test_unwritable_output_folder_is_a_clear_task_error(
        http_server: TestServer, fetch: Any, tmp_path: Path) -> None:
    url = http_server.add("/x.bin", b"data")
    blocker = tmp_path / "out"
    blocker.write_bytes(b"a file where the folder should be")
    with pytest.raises(TaskError, match="Cannot write") as info:
        fetch(url)
    assert not isinstance(info.value, TransientError)


def test_proxy_settings_never_apply_to_this_machine(
        http_server: TestServer, fetch: Any, out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = http_server.add("/local.bin", b"straight from loopback")
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # nothing listens there
    client.close_shared_client()
    try:
        fetch(url)
        assert client.shared_client()._mounts  # the client did pick the proxies up
    finally:
        monkeypatch.undo()
        client.close_shared_client()
    assert (out / "local.bin").read_bytes() == b"straight from loopback"


def test_cancel_while_waiting_for_the_answer_returns_quickly(
        http_server: TestServer, fetch: Any, out: Path) -> None:
    url = http_server.add("/mute.bin", payload(10 * KIB))
    silent = Fault.silent()
    http_server.fail("/mute.bin", silent)
    client.close_shared_client()  # a new connection, as a server that never answers usually is
    token = CancelToken()
    errors: list[BaseException] = []
    worker = threading.Thread(target=lambda: _catch(errors, fetch, url, token))
    worker.start()
    assert silent.reached.wait(10)
    started = time.monotonic()
    token.cancel("pause")
    worker.join(5)
    assert time.monotonic() - started < 0.5
    assert isinstance(errors[0], Cancelled)
    silent.gate.set()


def test_if_range_falls_back_to_last_modified_without_a_strong_etag(
        http_server: TestServer, fetch: Any, out: Path) -> None:
    body = payload(600 * KIB, seed=12)
    url = http_server.add("/lm.bin", body, etag='W/"weak"')
    http_server.fail("/lm.bin", Fault.reset(after=200 * KIB))
    with pytest.raises(TransientError):
        fetch(url)
    result, _ = fetch(url)
    resume = http_server.requests_for("/lm.bin")[-1]
    # a weak ETag may not be used in If-Range (RFC 9110); the date may
    assert resume.headers["if-range"] == http_server.resources["/lm.bin"].last_modified
    assert result["resumed_from"] > 0 and (out / "lm.bin").read_bytes() == body


def test_compressed_answer_is_stored_decoded_and_never_resumed_by_offset(
        http_server: TestServer, fetch: Any, out: Path) -> None:
    import gzip

    text = b"line of a log file\n" * 20_000
    url = http_server.add("/log.txt", gzip.compress(text), content_type="text/plain",
                          headers={"Content-Encoding": "gzip"})
    result, _ = fetch(url)
    assert (out / "log.txt").read_bytes() == text and result["bytes"] == len(text)


def test_wrong_range_from_the_server_starts_over(http_server: TestServer, fetch: Any, out: Path) -> None:
    body = payload(500 * KIB, seed=13)
    url = http_server.add("/wr.bin", body)
    http_server.fail("/wr.bin", Fault.reset(after=200 * KIB), Fault.wrong_range())
    with pytest.raises(TransientError):
        fetch(url)
    with pytest.raises(TransientError, match="Could not resume"):
        fetch(url)  # asked for bytes=N-, got bytes 0-: nothing of it may be appended
    assert not (out / "wr.bin.part").exists()
    result, _ = fetch(url)
    assert result["resumed_from"] == 0 and (out / "wr.bin").read_bytes() == body


MIB = 1024 * KIB


def test_big_file_read_straight_from_the_socket_resumes_and_stalls_like_any_other(
        http_server: TestServer, fetch: Any, out: Path) -> None:
    body = payload(20 * MIB, seed=14)
    url = http_server.add("/big/video.mp4", body, content_type="video/mp4")
    http_server.fail("/big/video.mp4", Fault.reset(after=3 * MIB), Fault.hold(after=9 * MIB))
    with pytest.raises(TransientError, match="connection"):
        fetch(url)
    kept = (out / "video.mp4.part").stat().st_size
    with pytest.raises(TransientError, match="No data"):
        fetch(url, stall_timeout=0.5)  # the remaining 17+ MiB go the socket path, which stalls
    assert (out / "video.mp4.part").stat().st_size == kept + 9 * MIB
    result, _ = fetch(url)
    assert result["resumed_from"] == kept + 9 * MIB
    assert (out / "video.mp4").read_bytes() == body
    # the socket path closed its connection (h11 never saw the end), the others were reused
    assert len(http_server.requests_for("/big/video.mp4")) == 3


def test_cancel_during_a_socket_read_of_a_big_file(
        http_server: TestServer, fetch: Any, out: Path) -> None:
    body = payload(12 * MIB, seed=15)
    url = http_server.add("/big.iso", body)
    hold = Fault.hold(after=10 * MIB)
    http_server.fail("/big.iso", hold)
    token = CancelToken()
    errors: list[BaseException] = []
    worker = threading.Thread(target=lambda: _catch(errors, fetch, url, token))
    worker.start()
    assert hold.reached.wait(10)
    assert wait_until(lambda: part_size(out / "big.iso.part") == 10 * MIB)
    started = time.monotonic()
    token.cancel("pause")
    worker.join(5)
    assert time.monotonic() - started < 0.5
    assert isinstance(errors[0], Cancelled)
    result, _ = fetch(url)
    assert result["resumed_from"] == 10 * MIB and (out / "big.iso").read_bytes() == body


def test_the_socket_path_still_fits_the_installed_httpx(http_server: TestServer) -> None:
    """The fast path reaches into httpx/httpcore internals; an upgrade that moves them must
    show up here, not as a silent slowdown."""
    from aipopup.ops.download import sockets

    body = payload(9 * MIB, seed=16)
    url = http_server.add("/probe.bin", body)
    with client.shared_client().stream("GET", url) as response:
        chunks = sockets.raw_body(response, len(body), 5.0)
        assert chunks is not None
        assert b"".join(bytes(c) for c in chunks) == body


def test_overwrite_always_replaces_a_file_of_the_same_name(
        http_server: TestServer, fetch: Any, out: Path) -> None:
    url = http_server.add("/pic.jpg", b"new picture", content_type="image/jpeg")
    out.mkdir()
    (out / "pic.jpg").write_bytes(b"old picture")
    _, outputs = fetch(url, overwrite="always")
    assert outputs == [str(out / "pic.jpg")] and (out / "pic.jpg").read_bytes() == b"new picture"


def test_a_cookie_set_before_a_redirect_is_sent_to_the_file(http_server: TestServer, fetch: Any) -> None:
    http_server.add("/file.bin", b"members only")
    http_server.redirect("/login", "/file.bin", headers={"Set-Cookie": "session=abc; Path=/"})
    client.close_shared_client()  # a jar of its own
    try:
        fetch(http_server.url("/login"))
        assert http_server.requests_for("/file.bin")[-1].headers.get("cookie") == "session=abc"
    finally:
        client.close_shared_client()


def test_empty_file_is_a_file(http_server: TestServer, fetch: Any, out: Path) -> None:
    url = http_server.add("/empty.txt", b"", content_type="text/plain")
    out.mkdir()
    (out / "empty.txt.part").write_bytes(b"left by someone")  # not ours: the name moves on
    result, outputs = fetch(url)
    assert result["bytes"] == 0 and Path(outputs[0]).read_bytes() == b""


def test_output_folder_deleted_between_downloads_is_made_again_with_its_log(
        http_server: TestServer, fetch: Any, out: Path) -> None:
    import shutil

    first = http_server.add("/one.bin", b"one")
    second = http_server.add("/two.bin", payload(100 * KIB))
    http_server.fail("/two.bin", Fault.reset(after=20 * KIB))
    fetch(first)
    shutil.rmtree(out)
    with pytest.raises(TransientError):
        fetch(second)
    kept = part_size(out / "two.bin.part")
    folder_module.forget_folders()  # a restart reads only what the new log says
    result, _ = fetch(second)
    # without the start line in the new log, the part would be a stranger's: "two (2).bin"
    assert result["resumed_from"] == kept
    assert listing(out) == [".aipopup-downloads.jsonl", "two.bin"]


def test_plain_http_downloads_share_one_kept_alive_connection(
        http_server: TestServer, fetch: Any, out: Path) -> None:
    client.close_shared_client()
    bodies = {f"/many/{i}.bin": payload(30 * KIB + i, seed=100 + i) for i in range(12)}
    for path, body in bodies.items():
        fetch(http_server.add(path, body))
    assert http_server.connections_opened == 1
    assert all((out / path.rsplit("/", 1)[1]).read_bytes() == body for path, body in bodies.items())


def test_a_kept_connection_the_server_closed_is_replaced_without_a_failure(
        http_server: TestServer, fetch: Any, out: Path) -> None:
    client.close_shared_client()
    fetch(http_server.add("/first.bin", b"first"))
    http_server.drop_idle_connections()  # as a server does with connections idle too long
    fetch(http_server.add("/second.bin", payload(40 * KIB, seed=120)))
    assert (out / "second.bin").read_bytes() == payload(40 * KIB, seed=120)
    assert http_server.connections_opened == 2 and len(http_server.requests_for("/second.bin")) == 1


def test_an_answer_the_plain_path_leaves_to_httpx_is_asked_once_more_there(
        http_server: TestServer, fetch: Any, out: Path) -> None:
    client.close_shared_client()
    url = http_server.add("/moved.bin", b"")
    http_server.redirect("/moved.bin", "/target.bin")
    http_server.add("/target.bin", b"where it went")
    result, outputs = fetch(url)
    assert result["url"].endswith("/target.bin") and Path(outputs[0]).read_bytes() == b"where it went"
    # the plain path read the 302's head and stopped; httpx asked again and followed it
    assert len(http_server.requests_for("/moved.bin")) == 2
    assert len(http_server.requests_for("/target.bin")) == 1


def test_the_plain_path_never_sends_a_line_break_inside_a_header() -> None:
    from aipopup.ops.download import plainhttp

    with pytest.raises(plainhttp.Unsupported), plainhttp.get(
            "http://127.0.0.1:9/x", {"If-Range": '"tag"\r\nX-Injected: 1'}, stall=1.0,
            connect_timeout=1.0, on_socket=lambda sock: None):
        pass
