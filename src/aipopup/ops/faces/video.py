"""anonymize for videos: faces masked on every frame, frames streamed, audio kept.

The pipeline, one frame at a time (memory stays flat whatever the length):

    cv2.VideoCapture (reader thread) -> YuNet + box tracker -> masks -> ffmpeg (libx264) stdin

Why this split, measured on the 275-frame 640x360 test clip on this machine:
- Decoding in-process with OpenCV costs 0.5 ms a frame and applies the rotation tag of phone
  videos; a second ffmpeg process for decoding would only add a pipe copy.
- Encoding through the ffmpeg binary that imageio-ffmpeg ships: OpenCV's headless wheel has no
  H.264 encoder (``avc1`` is refused, only MPEG-4 part 2 ``mp4v``, which browsers do not play and
  which came out 65 % larger than x264 at CRF 20). libx264 ``veryfast`` encodes the clip at
  ~365 frames/s, in a separate process, so it overlaps with detection on the other core. The same
  ffmpeg process muxes the input's audio back (stream copy, no second pass over the file).
- Video timestamps that start after the audio (common in edited clips) are kept by offsetting the
  raw frames (``-itsoffset``), so picture and sound stay in sync.

A face the detector misses for a few frames stays covered: ``tracking.BoxTracker`` holds each
face's box for ``hold_frames`` frames, and a short look-back buffer also covers the frames just
before a face is first found (a face walking in is usually detected a few frames late).
"""

from __future__ import annotations

import collections
import contextlib
import os
import queue
import re
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import IO, Any

import cv2
import numpy as np

from aipopup.core.errors import TaskError
from aipopup.core.operation import TaskContext
from aipopup.ops.faces import detector, masks, metadata
from aipopup.ops.faces.options import DetectOptions
from aipopup.ops.faces.tracking import Box, BoxTracker, grow

VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v"})

DEFAULT_HOLD_SECONDS = 0.3  # a lost face stays covered this long (9 frames at 30 fps)
# A detection this much weaker than the threshold still keeps an existing track on its face.
KEEP_SCORE_FLOOR = 0.3
# The look-back buffer holds at most this many bytes of frames (4K: 2 frames, 1080p: 10).
LOOKBACK_BYTES = 64 * 1024 * 1024
READ_AHEAD = 4  # decoded frames waiting for detection
MAX_BAD_FRAMES = 25  # consecutive undecodable frames before the rest of a file is given up
DETECT_THREADS = max(1, min(2, os.cpu_count() or 1))
PROBE_TIMEOUT = 60.0
# x264 at CRF 20 is visually transparent for this use; "veryfast" keeps encoding a small share of
# the time next to detection (slower presets gained 5 % in size for 2.3x the encoding time).
X264 = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p"]
VP9 = ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-row-mt", "1",
       "-b:v", "0", "-crf", "32", "-pix_fmt", "yuv420p"]
MPEG4 = ["-c:v", "mpeg4", "-q:v", "3", "-vtag", "xvid", "-pix_fmt", "yuv420p"]

# Per output suffix: (ffmpeg muxer, video codec args, audio codecs that can be stream-copied,
# audio fallback args when they cannot). None in the copy set means "any".
_MP4_AUDIO = frozenset({"aac", "mp3", "alac", "ac3", "eac3", "opus", "flac"})
CONTAINERS: dict[str, tuple[str, list[str], frozenset[str] | None, list[str]]] = {
    ".mp4": ("mp4", X264, _MP4_AUDIO, ["-c:a", "aac", "-b:a", "192k"]),
    ".m4v": ("mp4", X264, _MP4_AUDIO, ["-c:a", "aac", "-b:a", "192k"]),
    ".mov": ("mov", X264, None, ["-c:a", "aac", "-b:a", "192k"]),
    ".mkv": ("matroska", X264, None, ["-c:a", "aac", "-b:a", "192k"]),
    ".webm": ("webm", VP9, frozenset({"opus", "vorbis"}), ["-c:a", "libopus", "-b:a", "128k"]),
    ".avi": ("avi", MPEG4, frozenset({"mp3", "ac3", "pcm_s16le", "pcm_u8", "adpcm_ms", "mp2"}),
             ["-c:a", "pcm_s16le"]),
}


def ffmpeg_exe() -> str:
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except (ImportError, RuntimeError) as exc:
        raise TaskError("The ffmpeg program that processes videos is missing.",
                        f"Reinstall AI Popup (imageio-ffmpeg: {exc}).") from None


_NO_WINDOW = getattr(subprocess, "CREATE_NO_WINDOW", 0)  # no console flashing up under the GUI


@dataclass
class Probe:
    """What ``ffmpeg -i`` says about a file (the bundled binary has no ffprobe)."""

    has_audio: bool
    audio_codecs: list[str]
    video_start: float | None
    file_start: float | None
    duration: float | None
    error: str  # the reason ffmpeg gave when it could not open the file, else ""
    tags: dict[str, str] = field(default_factory=dict)  # the file's global metadata


_DURATION = re.compile(r"Duration: (\d+):(\d+):([\d.]+)(?:, start: (-?[\d.]+))?")
_STREAM = re.compile(r"Stream #\d+:\d+.*?: (Video|Audio): (\w+)(.*)")
_START = re.compile(r"start (-?[\d.]+)")
_TAG = re.compile(r"^    (\S[^:]*?)\s*: (.*)$")


def parse_probe(stderr: str) -> Probe:
    duration = file_start = video_start = None
    audio: list[str] = []
    if match := _DURATION.search(stderr):
        hours, minutes, seconds, start = match.groups()
        duration = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
        file_start = float(start) if start else None
    for line in stderr.splitlines():
        stream = _STREAM.search(line)
        if not stream:
            continue
        kind, codec, rest = stream.groups()
        if kind == "Audio":
            audio.append(codec)
        elif video_start is None and "attached pic" not in rest:
            start = _START.search(rest)
            video_start = float(start.group(1)) if start else None
    error = ""
    if "moov atom not found" in stderr:
        error = "the file is incomplete (its index is missing: an interrupted copy or recording)"
    elif "Video:" not in stderr:
        tail = [line.strip() for line in stderr.strip().splitlines()[-3:]]
        error = next((line for line in reversed(tail) if line and "output file" not in line),
                     "no video stream")
    return Probe(bool(audio), audio, video_start, file_start, duration, error, _global_tags(stderr))


def _global_tags(stderr: str) -> dict[str, str]:
    """The first input's own ``Metadata:`` block (indented by 4), not its streams' (by 6)."""
    tags: dict[str, str] = {}
    inside = False
    for line in stderr.splitlines():
        if line == "  Metadata:":
            inside = not tags
            continue
        match = _TAG.match(line) if inside else None
        if match is None:
            if inside and not line.startswith("      "):  # continuation lines are deeper
                inside = False
            continue
        tags[match.group(1)] = match.group(2)
    return tags


def probe(path: Path, ctx: TaskContext | None = None) -> Probe:
    proc = subprocess.Popen([ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, creationflags=_NO_WINDOW)
    unregister = ctx.token.on_cancel(proc.kill) if ctx else (lambda: None)
    try:
        _, err = proc.communicate(timeout=PROBE_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise TaskError(f"Reading {path.name}'s header took too long.",
                        "The file may be damaged or on a stalled network drive.") from None
    finally:
        unregister()
    if ctx:
        ctx.check()
    return parse_probe(err.decode("utf-8", "replace"))


def frame_rate(fps: float) -> Fraction:
    """The exact rate behind OpenCV's float (30000/1001 for 29.97002997)."""
    if not fps or fps != fps or fps <= 0 or fps > 1000:  # NaN or nonsense in a broken header
        return Fraction(25)
    return Fraction(fps).limit_denominator(100_000)


def encoder_command(exe: str, out: Path, src: Path, *, width: int, height: int, rate: Fraction,
                    info: Probe, keep_metadata: bool) -> list[str]:
    suffix = out.suffix.lower()
    muxer, video_args, copyable, audio_fallback = CONTAINERS.get(suffix, CONTAINERS[".mkv"])
    cmd = [exe, "-hide_banner", "-loglevel", "error", "-y", "-nostdin"]
    offset = (info.video_start or 0.0) - (info.file_start or 0.0)
    if info.has_audio and offset > 0.0005:
        cmd += ["-itsoffset", f"{offset:.6f}"]
    cmd += ["-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{width}x{height}",
            "-framerate", f"{rate.numerator}/{rate.denominator}", "-i", "pipe:0"]
    if info.has_audio:
        cmd += ["-i", str(src), "-map", "0:v:0", "-map", "1:a?"]
        if copyable is None or all(codec in copyable for codec in info.audio_codecs):
            cmd += ["-c:a", "copy"]
        else:
            cmd += audio_fallback
    else:
        cmd += ["-map", "0:v:0"]
    cmd += video_args
    if width % 2 or height % 2:  # 4:2:0 chroma needs even sides: one black column/row
        cmd += ["-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2"]
    # Nothing is copied wholesale: phone videos carry their location and titles with names.
    # What --keep-metadata keeps is the photo path's allow-list, set tag by tag.
    cmd += ["-map_metadata", "-1"]
    kept = metadata.video_tags(info.tags) if keep_metadata else {}
    for key, value in kept.items():
        cmd += ["-metadata", f"{key}={value}"]
    if muxer in ("mp4", "mov"):
        # Keys such as make and model are only written to MP4/MOV as "mdta" tags.
        cmd += ["-movflags", "+faststart+use_metadata_tags" if kept else "+faststart"]
    cmd += ["-f", muxer, str(out)]
    return cmd


class Encoder:
    """The ffmpeg process that frames are written to; killed at once on cancel."""

    def __init__(self, cmd: list[str]) -> None:
        # A file, not a pipe: a chatty ffmpeg cannot fill it up and stall. Closed in ``close``.
        self._log: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                     stderr=self._log, creationflags=_NO_WINDOW)
        self.killed = False

    def write(self, frame: np.ndarray) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(np.ascontiguousarray(frame).data)

    def kill(self) -> None:
        self.killed = True
        with contextlib.suppress(OSError):
            self.proc.kill()

    def finish(self, timeout: float | None = None) -> None:
        """Close stdin and wait for the file to be complete; TaskError if ffmpeg failed."""
        assert self.proc.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self.proc.stdin.close()
        code = self.proc.wait(timeout)
        if code != 0 and not self.killed:
            raise TaskError(f"The video encoder failed: {self.error_text() or f'exit code {code}'}",
                            "Try another output format (.mp4 is the most robust).")

    def error_text(self) -> str:
        self._log.seek(0)
        text = self._log.read()[-2000:].decode("utf-8", "replace").strip()
        return text.splitlines()[-1] if text else ""

    def close(self) -> None:
        """Make sure the process is gone (before its temporary output is deleted)."""
        if self.proc.poll() is None:
            self.kill()
        with contextlib.suppress(OSError, ValueError):
            if self.proc.stdin:
                self.proc.stdin.close()
        self.proc.wait()
        self._log.close()


class FrameReader:
    """Decodes on its own thread a few frames ahead (cv2 releases the GIL while decoding).

    A frame that fails to decode mid-stream (damaged data) is replaced by the previous good one,
    so the frame count and the sync with the audio stay right; reading goes on after it.
    """

    _END = object()

    def __init__(self, capture: Any, expected: int = 0) -> None:
        self._capture = capture
        self._expected = expected
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=READ_AHEAD)
        self._stop = threading.Event()
        self.error: BaseException | None = None
        self.repaired = 0  # damaged frames replaced by their predecessor
        self._thread = threading.Thread(target=self._run, name="video-reader", daemon=True)
        self._thread.start()

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        produced = failures = 0
        last: np.ndarray | None = None
        try:
            while not self._stop.is_set():
                ok, frame = self._capture.read()
                if not ok or frame is None:
                    failures += 1
                    # The end of the file also reads as a failure: keep trying only while frames
                    # are still expected, and never for long.
                    if failures > MAX_BAD_FRAMES or (self._expected and produced >= self._expected):
                        break
                    continue
                if failures and last is not None:
                    # Copies: the frames are masked in place later, each with its own boxes.
                    for _ in range(failures):
                        if not self._put(last.copy()):
                            return
                    produced += failures
                    self.repaired += failures
                failures = 0
                if not self._put(frame):
                    return
                produced += 1
                last = frame
        except BaseException as exc:  # handed to the consumer, which reports it
            self.error = exc
        finally:
            # The end marker must get through even when the queue is full of unread frames.
            while True:
                try:
                    self._queue.put(self._END, timeout=0.05)
                    break
                except queue.Full:
                    if self._stop.is_set():
                        break

    def next(self, check: Callable[[], None]) -> np.ndarray | None:
        """The next frame, or None at the end; ``check`` runs while waiting so cancel is prompt."""
        while True:
            check()
            try:
                item = self._queue.get(timeout=0.05)
            except queue.Empty:
                continue
            if item is self._END:
                return None
            frame: np.ndarray = item
            return frame

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)  # a read stuck in a damaged file is left to the daemon thread
        if not self._thread.is_alive():
            self._capture.release()


def _param(params: Mapping[str, Any], name: str, default: Any) -> Any:
    value = params.get(name)
    return default if value is None else value


def open_capture(path: Path) -> Any:
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    if not capture.isOpened():
        capture.release()
        raise TaskError(f"{path.name} could not be opened as a video.",
                        "The file may be truncated, damaged or in a format OpenCV cannot decode.")
    return capture


def anonymize_video(ctx: TaskContext) -> dict[str, Any]:
    """The ``anonymize`` operation for one video file (called from the photo path's dispatcher)."""
    if ctx.output is None:
        raise TaskError("No output path was planned for this task.")
    src = Path(ctx.input)
    if not src.is_file():
        raise TaskError(f"{src.name} does not exist or is not a file.")
    if ctx.output.suffix.lower() not in CONTAINERS:
        raise TaskError(f"Cannot write videos as {ctx.output.suffix or 'a file without extension'}.",
                        "Use .mp4, .mov, .mkv, .avi or .webm.")
    params, settings = ctx.params, ctx.settings
    opts = DetectOptions.of(params, settings)
    threshold = opts.threshold
    mode = str(_param(params, "mode", "blur"))
    shape = str(_param(params, "shape", "ellipse"))
    mask_scale = float(_param(params, "mask_scale", 1.3))
    keep_metadata = bool(_param(params, "keep_metadata", False))
    pixel_limit = int(_param(settings, "pixel_limit_mp", 200)) * 1_000_000

    info = probe(src, ctx)
    if info.error:
        raise TaskError(f"{src.name} could not be read as a video: {info.error}",
                        "The file may be truncated or damaged; a complete copy may work.")
    capture = open_capture(src)
    width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
    height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    rate = frame_rate(float(capture.get(cv2.CAP_PROP_FPS)))
    expected = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    if expected <= 0 and info.duration:
        expected = round(info.duration * float(rate))
    if width * height > pixel_limit:
        capture.release()
        raise TaskError(f"{src.name} is {width}x{height}, above the {pixel_limit / 1e6:.0f}-megapixel limit.",
                        "Raise the pixel limit in Settings if this machine has the memory for it.")
    hold = _param(params, "hold_frames", None)
    hold_frames = int(hold) if hold is not None else max(2, round(float(rate) * DEFAULT_HOLD_SECONDS))
    tracker = BoxTracker(hold_frames=hold_frames, start_score=threshold,
                         keep_score=min(threshold, KEEP_SCORE_FLOOR), frame_size=(width, height))
    lookback = min(hold_frames, LOOKBACK_BYTES // max(width * height * 3, 1))

    reader = FrameReader(capture, expected)
    stats = {"frames": 0, "masked_frames": 0, "held_boxes": 0, "backfilled": 0}
    started = time.monotonic()
    try:
        with ctx.atomic_output(ctx.output) as tmp:
            first = reader.next(ctx.check)
            if first is None:
                raise TaskError(f"{src.name} has no video frame that could be decoded.",
                                "The file may be truncated or damaged.")
            # The first decoded frame is the truth (a rotation tag swaps width and height).
            height, width = first.shape[:2]
            tracker.frame_size = (width, height)
            cmd = encoder_command(ffmpeg_exe(), tmp, src, width=width, height=height, rate=rate,
                                  info=info, keep_metadata=keep_metadata)
            encoder = Encoder(cmd)
            unregister = ctx.token.on_cancel(encoder.kill)
            try:
                _stream(ctx, reader, first, encoder, tracker, stats, lookback=lookback,
                        # Coarse pass only and no second look: faces too small for it in one
                        # frame are rarely the point of a video, and the tracker's hysteresis
                        # already keeps weak candidates from opening tracks.
                        detect=lambda bgr: detector.detect_faces(
                            bgr, threshold=tracker.keep_score, size=opts.size,
                            model_path=opts.model_path, min_face=None, verify=False),
                        mask=lambda bgr, boxes: masks.apply_masks(
                            bgr, boxes, mode=mode, shape=shape, mask_scale=mask_scale),
                        expected=expected)
                ctx.progress(0.999, "finishing the file")
                encoder.finish()
                ctx.check()
            finally:
                unregister()
                encoder.close()
    finally:
        reader.close()
    if reader.repaired:
        ctx.log(f"{reader.repaired} damaged frame(s) could not be decoded and were replaced by the "
                "frame before them.", "warning")
    if reader.error is not None:  # decoding stopped on an exception rather than at the end
        ctx.log(f"Decoding stopped early: {reader.error}", "warning")
    frames = stats["frames"]
    # Containers without a frame count (webm, some mkv) give an estimate from the duration.
    if expected and frames < expected - max(2, expected // 100):
        ctx.log(f"Only {frames} of the {expected} frames could be decoded: the video is truncated or "
                "damaged; the output has the frames that could be read.", "warning")
    elapsed = time.monotonic() - started
    return {"frames": frames, "expected_frames": expected, "fps": float(rate),
            "width": width, "height": height, "audio": info.has_audio,
            "faces": tracker.started_tracks, "masked_frames": stats["masked_frames"],
            "held_boxes": stats["held_boxes"], "backfilled_boxes": stats["backfilled"],
            "repaired_frames": reader.repaired,
            "frames_per_second": round(frames / elapsed, 1) if elapsed > 0 else None}


def _stream(ctx: TaskContext, reader: FrameReader, first: np.ndarray, encoder: Encoder,
            tracker: BoxTracker, stats: dict[str, int], *, lookback: int,
            detect: Callable[[np.ndarray], list[detector.Face]],
            mask: Callable[[np.ndarray, list[Box]], object], expected: int) -> None:
    # Detection runs on DETECT_THREADS frames at once (YuNet on two frames in parallel: 75
    # frames/s against 47 for one frame with OpenCV's own two threads); everything after it, the
    # tracker above all, sees the frames in order.
    # Frames then wait in ``pending`` (with the boxes to mask in them) so that a face first
    # detected now can also be covered in the few frames before, where the detector was
    # probably just short of it.
    pending: collections.deque[tuple[np.ndarray, list[Box]]] = collections.deque()
    inflight: collections.deque[tuple[np.ndarray, Future[list[detector.Face]]]] = collections.deque()
    total = max(expected, 1)

    def emit(item: tuple[np.ndarray, list[Box]]) -> None:
        bgr, boxes = item
        if boxes:
            mask(bgr, boxes)
            stats["masked_frames"] += 1
        try:
            encoder.write(bgr)
        except (BrokenPipeError, OSError):
            ctx.check()  # killed by a cancel: report that, not the pipe
            encoder.finish(timeout=10)  # raises with ffmpeg's own message
            raise TaskError("The video encoder stopped unexpectedly.") from None

    def track(frame: np.ndarray, faces: list[detector.Face]) -> None:
        nonlocal total
        result = tracker.update([(face.box, face.score) for face in faces])
        stats["held_boxes"] += result.held
        for box in result.started:
            for age, (_, earlier) in enumerate(reversed(pending), start=1):
                earlier.append(grow(box, 1.0 + 0.03 * age))
                stats["backfilled"] += 1
        pending.append((frame, list(result.boxes)))
        if len(pending) > lookback:
            emit(pending.popleft())
        stats["frames"] += 1
        count = stats["frames"]
        if count >= total:
            total = count + 1
        ctx.progress(count / total, f"frame {count} of {max(expected, count)}")

    pool = ThreadPoolExecutor(max_workers=DETECT_THREADS, thread_name_prefix="video-detect")
    try:
        frame: np.ndarray | None = first
        while frame is not None or inflight:
            ctx.check()
            if frame is not None:
                inflight.append((frame, pool.submit(detect, frame)))
                frame = reader.next(ctx.check)
            if len(inflight) > DETECT_THREADS or (frame is None and inflight):
                done_frame, future = inflight.popleft()
                track(done_frame, _result(future, ctx.check))
        while pending:
            ctx.check()
            emit(pending.popleft())
    finally:
        for _, future in inflight:
            future.cancel()
        pool.shutdown(wait=True)  # at most one detection per thread is still running: ~20 ms


def _result(future: Future[list[detector.Face]], check: Callable[[], None]) -> list[detector.Face]:
    while True:
        check()
        try:
            return future.result(timeout=0.05)
        except FutureTimeout:
            continue


def is_video(path: str | os.PathLike[str]) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES

