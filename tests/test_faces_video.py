"""anonymize on real videos: frames, rate and audio kept, faces masked on every frame, memory flat,
cancel prompt and clean, damaged files handled.

Short clips are cut from the shared test clip into tmp_path with the ffmpeg binary the app ships;
the full clip is used only where its length matters.
"""

from __future__ import annotations

import re
import subprocess
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

import cv2
import imageio_ffmpeg
import numpy as np
import psutil
import pytest

from aipopup.core.cancel import CancelToken
from aipopup.core.errors import Cancelled, TaskError
from aipopup.ops.faces.detector import detect_faces
from aipopup.ops.faces.video import parse_probe

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


@pytest.fixture(scope="session")
def clip(testdata: Path) -> Path:
    return testdata / "video" / "short_hamilton_clip.mp4"


@pytest.fixture(scope="session")
def short_clip(clip: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The clip's first 90 frames with its audio, index first (as phones and browsers write it)."""
    out = tmp_path_factory.mktemp("video") / "short.mp4"
    ffmpeg("-i", clip, "-frames:v", "90", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "copy",
           "-movflags", "+faststart", out)
    return out


def ffmpeg(*args: str | Path) -> None:
    subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", "-y", *map(str, args)],
                   check=True, timeout=120)


def streams(path: Path) -> dict[str, Any]:
    err = subprocess.run([FFMPEG, "-hide_banner", "-i", str(path)], capture_output=True,
                         text=True, timeout=60).stderr
    fps = re.search(r"Video: .*?, ([\d.]+) fps", err)
    return {"audio": "Audio:" in err, "video": "Video:" in err,
            "fps": float(fps.group(1)) if fps else None, "probe": parse_probe(err)}


def decoded_frames(path: Path) -> int:
    cap = cv2.VideoCapture(str(path))
    count = 0
    while cap.grab():
        count += 1
    cap.release()
    return count


def cut(src: Path, out: Path, frames: int, *extra: str) -> Path:
    ffmpeg("-i", src, "-frames:v", str(frames), *extra, out)
    return out


def detail(bgr: np.ndarray, face_width: float) -> np.ndarray:
    """The band of spatial frequencies that carries a face's features (eyes, mouth, edges)."""
    grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY).astype(np.float32)
    fine = cv2.GaussianBlur(grey, (0, 0), max(face_width / 40, 0.6))
    coarse = cv2.GaussianBlur(grey, (0, 0), max(face_width / 10, 2.0))
    return fine - coarse  # type: ignore[no-any-return]


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    norm = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum()) / norm if norm > 0 else 0.0


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.mark.slow  # the whole clip, decoded and searched twice over: ~20 s on an idle machine
def test_clip_keeps_frames_rate_audio_and_masks_every_face(clip: Path, make_run: Any,
                                                           tmp_path: Path) -> None:
    run = make_run("anonymize", clip, output=tmp_path / "out" / "clip.mp4")
    tracemalloc.start()
    try:
        result = run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    out = tmp_path / "out" / "clip.mp4"
    assert leftovers(tmp_path / "out") == ["clip.mp4"]  # no temporary file left beside it

    # Flat memory: the 275 decoded frames alone are 190 MB; a pipeline that kept them would show.
    assert peak < 40 * 2**20, f"peak traced memory {peak / 2**20:.0f} MB"

    source, made = streams(clip), streams(out)
    assert result["frames"] == 275 and decoded_frames(out) == 275
    assert made["fps"] == source["fps"] == pytest.approx(29.97)
    assert made["audio"] and result["audio"]
    # The clip's picture starts 0.84 s after its sound; the output keeps them in sync.
    assert made["probe"].video_start == pytest.approx(0.844, abs=0.05)
    fractions = [f for f, _ in run.progress]
    assert len(fractions) >= 275 and fractions == sorted(fractions) and fractions[-1] > 0.99

    # Every face the detector sees in the input at the task's threshold (0.6) is masked in the
    # output: in the middle of its box (inside the mask's ellipse) the output no longer follows
    # the input's detail. Measured on this clip: an unmasked re-encode correlates at 0.94-1.0,
    # the masked output at -0.3-0.4.
    src_cap, out_cap = cv2.VideoCapture(str(clip)), cv2.VideoCapture(str(out))
    unmasked: list[tuple[int, list[int], float]] = []
    redetected_frames: list[int] = []
    in_masks: list[tuple[int, tuple[float, ...]]] = []
    for index in range(275):
        ok_a, before = src_cap.read()
        ok_b, after = out_cap.read()
        assert ok_a and ok_b
        faces_before = detect_faces(before, threshold=0.6, min_face=None, verify=False)
        for face in faces_before:
            fx, fy, fw, fh = face.box
            x, y = max(round(fx + 0.15 * fw), 0), max(round(fy + 0.15 * fh), 0)
            w, h = round(0.7 * fw), round(0.7 * fh)
            similarity = correlation(detail(before, fw)[y:y + h, x:x + w],
                                     detail(after, fw)[y:y + h, x:x + w])
            if similarity > 0.7:
                unmasked.append((index, [x, y, w, h], similarity))
        found = detect_faces(after, threshold=0.5, min_face=None)
        if found:
            redetected_frames.append(index)
        # No face found at 0.5 inside a masked region: the centre of every re-detection lies
        # outside each input face's mask, the ellipse of its box grown by the mask scale (1.3).
        for hit in found:
            cx, cy = hit.box[0] + hit.box[2] / 2, hit.box[1] + hit.box[3] / 2
            for face in faces_before:
                fx, fy, fw, fh = face.box
                if ((cx - fx - fw / 2) / (0.65 * fw)) ** 2 + ((cy - fy - fh / 2) / (0.65 * fh)) ** 2 <= 1:
                    in_masks.append((index, hit.box))
    assert unmasked == []
    assert in_masks == []
    # YuNet still fires now and then on a raised hand holding the microphone (looked at frame
    # by frame: 6 of 275 frames, all hands), never in a mask. Bounded to a small share of the
    # frames (deface's output: 10 %).
    assert len(redetected_frames) <= 0.05 * 275, redetected_frames


def test_a_face_missed_for_a_few_frames_stays_covered(short_clip: Path, make_run: Any,
                                                      tmp_path: Path) -> None:
    # Frames 20-22 are drowned in noise so that the detector finds nothing on them although
    # the faces are still there: the tracker must keep them masked.
    cap = cv2.VideoCapture(str(short_clip))
    frames = []
    for _ in range(40):
        ok, frame = cap.read()
        assert ok
        frames.append(frame)
    rng = np.random.default_rng(3)
    for index in (20, 21, 22):
        noise = rng.normal(0, 70, frames[index].shape)
        frames[index] = np.clip(frames[index] + noise, 0, 255).astype(np.uint8)
        assert detect_faces(frames[index], threshold=0.3, min_face=None, verify=False) == []
    noisy = tmp_path / "noisy.mp4"
    height, width = frames[0].shape[:2]
    encode = subprocess.Popen([FFMPEG, "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24",
                               "-s", f"{width}x{height}", "-framerate", "30", "-i", "-",
                               "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", str(noisy)],
                              stdin=subprocess.PIPE)
    assert encode.stdin is not None
    for frame in frames:
        encode.stdin.write(frame.tobytes())
    encode.stdin.close()
    assert encode.wait(60) == 0
    faces_before = detect_faces(frames[19], threshold=0.6, min_face=None, verify=False)
    assert faces_before

    out = tmp_path / "out" / "noisy.mp4"
    result = make_run("anonymize", noisy, output=out, params={"hold_frames": 5})()
    assert result["frames"] == 40 and result["held_boxes"] >= 3 * len(faces_before)
    out_cap = cv2.VideoCapture(str(out))
    masked = [out_cap.read()[1] for _ in range(23)]
    for index in (20, 21, 22):
        for face in faces_before:
            fx, fy, fw, fh = face.box
            x, y = max(round(fx + 0.15 * fw), 0), max(round(fy + 0.15 * fh), 0)
            w, h = round(0.7 * fw), round(0.7 * fh)
            # the noise is gone inside the mask: the output there is smooth, the input is not
            assert masked[index][y:y + h, x:x + w].std(axis=(0, 1)).max() < \
                0.5 * frames[index][y:y + h, x:x + w].std(axis=(0, 1)).max(), (index, face.box)


def test_video_without_audio(short_clip: Path, make_run: Any, tmp_path: Path) -> None:
    silent = cut(short_clip, tmp_path / "silent.mp4", 40, "-an", "-c:v", "copy")
    assert not streams(silent)["audio"]
    out = tmp_path / "out" / "silent.mp4"
    result = make_run("anonymize", silent, output=out)()
    assert result["frames"] == 40 and not result["audio"]
    made = streams(out)
    assert made["video"] and not made["audio"] and decoded_frames(out) == 40
    assert made["fps"] == pytest.approx(29.97)


@pytest.mark.parametrize(("suffix", "encode"), [
    (".mkv", ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "copy"]),
    (".mov", ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "copy"]),
    (".webm", ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-c:a", "libopus"]),
    (".avi", ["-c:v", "mpeg4", "-c:a", "pcm_s16le"]),
])
def test_other_containers_keep_frames_and_audio(short_clip: Path, make_run: Any, tmp_path: Path,
                                                suffix: str, encode: list[str]) -> None:
    src = cut(short_clip, tmp_path / f"in{suffix}", 24, *encode)
    out = tmp_path / "out" / f"in{suffix}"
    result = make_run("anonymize", src, output=out)()
    assert result["frames"] == 24 and decoded_frames(out) == 24
    made = streams(out)
    assert made["audio"] and made["fps"] == pytest.approx(29.97, abs=0.01)


class _Signal(list[tuple[float, str]]):
    """The run's progress list; sets ``event`` once ``after`` frames have been reported."""

    def __init__(self, event: threading.Event, after: int) -> None:
        super().__init__()
        self.event, self.after = event, after

    def append(self, item: tuple[float, str]) -> None:
        super().append(item)
        if len(self) >= self.after:
            self.event.set()


def _ffmpeg_children() -> list[psutil.Process]:
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if "ffmpeg" in child.name() and child.status() != psutil.STATUS_ZOMBIE:
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found


def test_cancel_stops_within_half_a_second_and_leaves_nothing(clip: Path, make_run: Any,
                                                              tmp_path: Path) -> None:
    token = CancelToken()
    run = make_run("anonymize", clip, output=tmp_path / "out" / "clip.mp4", token=token)
    reached = threading.Event()
    run.progress = _Signal(reached, after=30)
    outcome: list[BaseException | dict[str, Any] | None] = []

    def work() -> None:
        try:
            outcome.append(run())
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=work)
    worker.start()
    assert reached.wait(60), "the video never reached frame 30"
    assert _ffmpeg_children(), "the encoder should be running mid-video"
    cancelled_at = time.monotonic()
    token.cancel()
    worker.join(5)
    stopped_after = time.monotonic() - cancelled_at
    assert not worker.is_alive()
    assert stopped_after < 0.5, f"stopped {stopped_after:.2f} s after cancel"
    assert len(outcome) == 1 and isinstance(outcome[0], Cancelled)
    assert leftovers(tmp_path / "out") == []  # neither the output nor its temporary file
    assert _ffmpeg_children() == []


def test_truncated_video_without_index_is_refused_clearly(clip: Path, make_run: Any,
                                                          tmp_path: Path) -> None:
    # The clip keeps its index (moov) at the end, as cameras write it: cut short, nothing is
    # decodable.
    data = clip.read_bytes()
    assert data.find(b"moov") > len(data) // 2
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(TaskError) as info:
        make_run("anonymize", broken, output=tmp_path / "out" / "broken.mp4")()
    assert "incomplete" in info.value.message
    assert leftovers(tmp_path / "out") == []


def test_truncated_video_with_index_first_keeps_what_can_be_read(short_clip: Path, make_run: Any,
                                                                 tmp_path: Path) -> None:
    data = short_clip.read_bytes()
    assert data.find(b"moov") < data.find(b"mdat")
    cut_short = tmp_path / "cut.mp4"
    cut_short.write_bytes(data[: len(data) // 2])
    out = tmp_path / "out" / "cut.mp4"
    run = make_run("anonymize", cut_short, output=out)
    result = run()
    assert 20 < result["frames"] < 90
    assert decoded_frames(out) == result["frames"]
    assert any(level == "warning" and "truncated" in text for level, text in run.logs)


def test_corrupt_bytes_mid_stream_are_processed_not_crashed(short_clip: Path, make_run: Any,
                                                            tmp_path: Path) -> None:
    data = bytearray(short_clip.read_bytes())
    rng = np.random.default_rng(7)
    start = data.find(b"mdat") + 20_000  # inside the media data, past the index
    for offset in range(start, len(data) - 10_000, 40_000):
        data[offset:offset + 200] = rng.integers(0, 256, 200, dtype=np.uint8).tobytes()
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(bytes(data))
    out = tmp_path / "out" / "damaged.mp4"
    run = make_run("anonymize", damaged, output=out)
    result = run()
    # Undecodable frames are replaced by the one before: count and audio sync are kept.
    assert result["repaired_frames"] > 0
    assert result["frames"] == 90 and decoded_frames(out) == 90
    assert any(level == "warning" and "damaged" in text for level, text in run.logs)


def test_a_video_over_the_pixel_limit_is_refused(short_clip: Path, make_run: Any, tmp_path: Path) -> None:
    big = cut(short_clip, tmp_path / "big.mp4", 3, "-vf", "scale=1280:960", "-c:v", "libx264",
              "-preset", "ultrafast", "-an")
    with pytest.raises(TaskError, match="1280x960, above the 1-megapixel limit"):
        make_run("anonymize", big, output=tmp_path / "out" / "big.mp4", settings={"pixel_limit_mp": 1})()
    assert leftovers(tmp_path / "out") == []


def test_not_a_video_is_refused(make_run: Any, tmp_path: Path) -> None:
    fake = tmp_path / "notes.mp4"
    fake.write_text("this is not a video\n" * 50)
    with pytest.raises(TaskError):
        make_run("anonymize", fake, output=tmp_path / "out" / "notes.mp4")()
    assert leftovers(tmp_path / "out") == []


PHONE_TAGS = {"location": "+48.8583+002.2945/", "com.apple.quicktime.location.ISO6709": "+48.8583+002.2945/",
              "title": "Jane at home", "comment": "with Joe", "make": "Apple", "model": "iPhone 12",
              "creation_time": "2024-01-02T03:04:05.000000Z"}


def _tags(path: Path) -> dict[str, str]:
    """The file's global tags; a date MP4 stores twice (movie header and tag list) is read as
    "date;date" by ffmpeg: the first is kept."""
    return {key: value.split(";")[0] for key, value in streams(path)["probe"].tags.items()}


@pytest.mark.parametrize("audio", [True, False], ids=["with-audio", "silent"])
def test_keep_metadata_keeps_the_camera_but_never_the_location(short_clip: Path, make_run: Any,
                                                               tmp_path: Path, audio: bool) -> None:
    tags = [arg for key, value in PHONE_TAGS.items() for arg in ("-metadata", f"{key}={value}")]
    phone = cut(short_clip, tmp_path / "phone.mp4", 12, "-c", "copy", *([] if audio else ["-an"]),
                *tags, "-movflags", "+use_metadata_tags")
    assert PHONE_TAGS.items() <= _tags(phone).items()

    kept = make_run("anonymize", phone, output=tmp_path / "kept" / "phone.mp4",
                    params={"keep_metadata": True})()
    stripped = make_run("anonymize", phone, output=tmp_path / "stripped" / "phone.mp4")()
    assert kept["frames"] == stripped["frames"] == 12

    tags_kept = _tags(tmp_path / "kept" / "phone.mp4")
    tags_stripped = _tags(tmp_path / "stripped" / "phone.mp4")
    for found in (tags_kept, tags_stripped):
        leaked = {key: value for key, value in found.items()
                  if "location" in key or "2945" in value or "Jane" in value or "Joe" in value}
        assert leaked == {}, found
    assert {key: tags_kept.get(key) for key in ("make", "model", "creation_time")} == \
        {"make": "Apple", "model": "iPhone 12", "creation_time": "2024-01-02T03:04:05.000000Z"}
    assert "make" not in tags_stripped and "creation_time" not in tags_stripped


def test_detection_size_comes_from_the_task_else_from_the_settings(short_clip: Path, make_run: Any,
                                                                   tmp_path: Path) -> None:
    # Video frames are searched at the detection size only: 160 px across, the smaller of the
    # clip's two faces is too small to be found.
    clip = cut(short_clip, tmp_path / "few.mp4", 6, "-c", "copy")
    tiny = {"detector_size": 160}
    blind = make_run("anonymize", clip, output=tmp_path / "a" / "few.mp4", settings=tiny)()
    sighted = make_run("anonymize", clip, output=tmp_path / "b" / "few.mp4", settings=tiny,
                       params={"detection_size": 640})()
    assert blind["faces"] < sighted["faces"] == 2, (blind, sighted)
