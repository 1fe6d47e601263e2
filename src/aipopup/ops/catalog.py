"""The operations AI Popup offers: names, option schemas and where their code lives.

Declarations only: this module must stay cheap to import (no OpenCV, no httpx), because the
command line's help and the GUI's forms are built from it before any work starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aipopup.core.operation import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, Operation, register
from aipopup.core.params import Param, Schema

FORMATS = ("keep", "jpg", "png", "webp")


def _converted_ext(input_name: str, params: Mapping[str, Any]) -> str:
    fmt = params.get("format") or "keep"
    if fmt == "keep":
        ext = Path(input_name).suffix.lower()
        return ext if ext in IMAGE_EXTENSIONS else ".jpg"
    return ".jpg" if fmt == "jpg" else f".{fmt}"


QUALITY = Param("quality", "int", 90, "JPEG/WebP quality (1-100).", minimum=1, maximum=100)
MAX_SIDE = Param("max_side", "int", None, "Resize so the longest side is at most this many pixels.",
                 label="Longest side", minimum=16, maximum=100_000, optional=True)

CONVERT = register(Operation(
    name="convert",
    title="Convert and resize",
    summary="Apply EXIF orientation, resize to a longest side, and re-encode as JPEG, PNG or WebP.",
    schema=Schema((
        Param("format", "choice", "keep", "Output format.", choices=FORMATS),
        QUALITY,
        MAX_SIDE,
    )),
    runner="aipopup.ops.convert:run",
    output_ext=_converted_ext,
))

# --- face operations (anonymize, crop, detect): declared below by ops/faces ---
# Parameter names are shared with the video path (ops/faces/video.py): keep them stable.
# threshold / detection_size: None means the app's settings (detector_threshold, detector_size).

FACE_EXTENSIONS = IMAGE_EXTENSIONS | VIDEO_EXTENSIONS
THRESHOLD = Param("threshold", "float", None, "Face detector score threshold (default: Settings).",
                  minimum=0.05, maximum=0.99, optional=True)
DETECTION_SIZE = Param("detection_size", "int", None,
                       "Longest side of the copy the detector looks at (default: Settings).",
                       minimum=160, maximum=4096, optional=True, advanced=True)
MIN_FACE = Param("min_face", "int", 40, "Smallest face height (pixels) searched for in big photos.",
                 label="Smallest face (px)", minimum=8, maximum=2000, advanced=True)
THOROUGH = Param("thorough", "bool", False,
                 "Always search big photos for small faces, even when large ones were found (slower).",
                 advanced=True)
DETECTION = (THRESHOLD, DETECTION_SIZE, MIN_FACE, THOROUGH)
FACE_QUALITY = Param("quality", "int", 92, "JPEG/WebP quality of the outputs (1-100).",
                     minimum=1, maximum=100, advanced=True)
MASK = (
    Param("mode", "choice", "blur", "How faces are hidden.", choices=("blur", "pixelate", "solid")),
    Param("shape", "choice", "ellipse", "Shape of each mask.", choices=("ellipse", "box")),
    Param("mask_scale", "float", 1.3, "Mask size relative to the detected face box.",
          minimum=1.0, maximum=4.0),
)
KEEP_METADATA = Param("keep_metadata", "bool", False,
                      "Keep non-identifying EXIF (camera, exposure, date); GPS, serial numbers and "
                      "names are always removed.")
CROP = (
    Param("width", "int", 600, "Width of each crop (pixels).", minimum=16, maximum=20_000),
    Param("height", "int", 800, "Height of each crop (pixels).", minimum=16, maximum=20_000),
    Param("face_percent", "int", 50, "Face height as a percentage of the crop's height.",
          label="Face (% of height)", minimum=1, maximum=100),
    Param("padding", "str", "0", "Room around the face, in % of its height: P, or top,right,bottom,left.",
          optional=True),
    Param("all_faces", "bool", False, "One crop per face (otherwise only the largest face)."),
    Param("fill", "choice", "edge", "What fills a crop that runs past the photo's edge.",
          choices=("edge", "black", "white"), advanced=True),
    Param("no_face_dir", "path", "", "Copy photos without a face here (relative: in the output folder)."
          " Without it they are reported as failed.", label="No-face folder", optional=True),
)


def _keep_ext(input_name: str, params: Mapping[str, Any]) -> str:
    return Path(input_name).suffix.lower()


ANONYMIZE = register(Operation(
    name="anonymize",
    title="Anonymize faces",
    summary="Blur, pixelate or cover every face in photos and videos; metadata removed.",
    schema=Schema((
        *MASK,
        THRESHOLD,
        KEEP_METADATA,
        Param("hold_frames", "int", 10, "Videos: frames a face stays masked after the detector loses it.",
              minimum=0, maximum=300, advanced=True),
        DETECTION_SIZE, MIN_FACE, THOROUGH, FACE_QUALITY,
        # Set by the face review, per photo: part of the task's params, so journaled and hashed
        # for skip-done like any option.
        Param("boxes", "str", "", "Faces to mask as JSON [[x, y, w, h], ...] in the photo's pixels "
              "(EXIF orientation applied) instead of detecting; empty: detect.", hidden=True),
    )),
    runner="aipopup.ops.faces.anonymize:run",
    accepts=FACE_EXTENSIONS,
    output_ext=_keep_ext,
))

CROP_OP = register(Operation(
    name="crop",
    title="Crop portraits",
    summary="Crop photos to a fixed size centred on the face (or one crop per face).",
    schema=Schema((*CROP, *DETECTION, FACE_QUALITY)),
    runner="aipopup.ops.faces.crop:run",
    output_ext=_keep_ext,
))

DETECT = register(Operation(
    name="detect",
    title="Find faces",
    summary="Count and locate faces; a CSV or JSON report, and annotated copies with --draw.",
    schema=Schema((
        Param("report", "str", "faces.csv", "Report file (.csv or .json; relative: in the output folder)."),
        Param("draw", "bool", False, "Also write a copy of each photo with the faces marked."),
        *DETECTION, FACE_QUALITY,
    )),
    runner="aipopup.ops.faces.detect:run",
    output_ext=lambda name, params: _keep_ext(name, params) if params.get("draw") else None,
    finalizer="aipopup.ops.faces.report:finalize",
))

PROCESS = register(Operation(
    name="process",
    title="Several outputs in one pass",
    summary="From one decode of each photo: an anonymized copy, a portrait crop and a resized copy.",
    schema=Schema((
        Param("outputs", "str", "anonymize,crop,resize",
              "Which outputs to write: any of anonymize, crop, resize, comma-separated."),
        *MASK, KEEP_METADATA,
        *CROP,
        Param("max_side", "int", 1600, "Longest side of the resized copy.", label="Resize: longest side",
              minimum=16, maximum=100_000),
        Param("resize_from", "choice", "anonymized", "Resize the anonymized pixels or the original ones.",
              choices=("anonymized", "original")),
        *DETECTION, FACE_QUALITY,
    )),
    runner="aipopup.ops.faces.process:run",
    output_ext=lambda *_: None,  # every output is named by op: {stem}_anonymize, _crop, _resize
))


# --- download: declared below by ops/download ---

DOWNLOAD = register(Operation(
    name="download",
    title="Download",
    summary="Download URLs (or a .txt/.csv list of them) with resume, retry and checksum checks.",
    schema=Schema((
        Param("filename", "str", None, "Save under this file name (a list's 'filename' column).",
              optional=True, advanced=True),
        Param("sha256", "str", None, "The file's expected SHA-256; a mismatch fails the download.",
              label="SHA-256", optional=True, advanced=True),
        Param("stall_timeout", "float", None,
              "Retry a download that receives nothing for this many seconds (default: Settings).",
              label="Stall timeout (s)", minimum=0.1, maximum=3600.0, optional=True, advanced=True),
        Param("max_size_mb", "int", None, "Refuse files larger than this (default: Settings).",
              label="Size cap (MB)", minimum=1, maximum=10_000_000, optional=True, advanced=True),
    )),
    runner="aipopup.ops.download.fetch:run",
    resource="net",
    # what a folder given as input is searched for: URL lists
    accepts=frozenset({".txt", ".csv"}),
    output_ext=lambda *_: None,  # the name comes from the list, the server or the URL
    inputs_are_urls=True,
    # turns URLs and .txt/.csv lists into one item (url, filename, sha256) per download
    extra={"expand": "aipopup.ops.download.sources:expand"},
))
