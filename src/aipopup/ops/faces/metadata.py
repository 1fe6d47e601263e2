"""What EXIF an anonymized copy may keep: an allow-list, so nothing identifying slips through.

Kept: camera make and model, lens, exposure, dates, colour space, copyright. Dropped: GPS, maker
notes (they hold serial numbers and sometimes locations), serial numbers, owner and artist names,
comments, the embedded thumbnail (it shows the faces unmasked). Orientation is reset to 1 because
the pixels are already turned. Videos keep the same kinds of tags (``video_tags``); their
location, title and comment tags are dropped.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

from PIL import Image

ORIENTATION = 0x0112
EXIF_IFD = 0x8769
# IFD0 tags
KEEP_IFD0 = frozenset({
    0x010F,  # Make
    0x0110,  # Model
    0x0131,  # Software
    0x0132,  # DateTime
    0x8298,  # Copyright
    0x011A, 0x011B, 0x0128,  # X/YResolution, ResolutionUnit
})
# Exif sub-IFD tags
KEEP_EXIF = frozenset({
    0x829A,  # ExposureTime
    0x829D,  # FNumber
    0x8822,  # ExposureProgram
    0x8827,  # ISOSpeedRatings
    0x9000,  # ExifVersion
    0x9003, 0x9004,  # DateTimeOriginal, DateTimeDigitized
    0x9010, 0x9011, 0x9012,  # OffsetTime, OffsetTimeOriginal, OffsetTimeDigitized
    0x9201, 0x9202, 0x9204, 0x9205, 0x9207, 0x9209, 0x920A,  # shutter, aperture, bias, metering...
    0xA001,  # ColorSpace
    0xA402, 0xA403, 0xA405, 0xA406,  # ExposureMode, WhiteBalance, FocalLength35, SceneCapture
    0xA433, 0xA434,  # LensMake, LensModel
})

# Global tags of a video (as ffmpeg names them) that an anonymized copy may keep.
KEEP_VIDEO_TAGS = frozenset({
    "creation_time", "date", "copyright", "make", "model", "software",
    "com.apple.quicktime.make", "com.apple.quicktime.model", "com.apple.quicktime.software",
    "com.apple.quicktime.creationdate",
})


def video_tags(tags: dict[str, str]) -> dict[str, str]:
    """The allow-listed part of a video's global tags."""
    kept = {key: value for key, value in tags.items() if key.lower() in KEEP_VIDEO_TAGS and value}
    if "creation_time" in kept:
        # ffmpeg joins a key found in two atoms with ";"; the muxer wants one date.
        kept["creation_time"] = kept["creation_time"].split(";")[0]
    return kept


def clean_exif(raw: bytes | None) -> bytes | None:
    """The allow-listed part of an EXIF block (as Pillow reads it), orientation 1; None if empty."""
    if not raw:
        return None
    try:
        source = Image.Exif()
        source.load(raw)
        exif_ifd = source.get_ifd(EXIF_IFD)
        out = Image.Exif()
        for tag, value in source.items():
            if tag in KEEP_IFD0:
                out[tag] = value
        sub = {tag: value for tag, value in exif_ifd.items() if tag in KEEP_EXIF}
        if not out and not sub:
            return None
        out[ORIENTATION] = 1
        if sub:
            out[EXIF_IFD] = sub
        data: bytes = out.tobytes()
        return data
    except Exception:  # a damaged EXIF block is dropped: keeping metadata is best effort
        return None


def embed(path: Path, exif: bytes) -> bool:
    """Put ``exif`` (``Exif\\0\\0`` + TIFF) into the encoded file at ``path``; False if the format
    cannot carry it here."""
    suffix = path.suffix.lower()
    data = path.read_bytes()
    if suffix in (".jpg", ".jpeg", ".jfif"):
        if not exif.startswith(b"Exif\x00\x00"):
            exif = b"Exif\x00\x00" + exif
        if len(exif) + 2 > 0xFFFF or not data.startswith(b"\xff\xd8"):
            return False
        segment = b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif
        path.write_bytes(data[:2] + segment + data[2:])
        return True
    if suffix == ".png":
        body = exif[6:] if exif.startswith(b"Exif\x00\x00") else exif
        chunk = struct.pack(">I", len(body)) + b"eXIf" + body
        chunk += struct.pack(">I", zlib.crc32(b"eXIf" + body) & 0xFFFFFFFF)
        end_of_ihdr = 8 + 8 + 13 + 4  # signature, IHDR length+type, IHDR data, CRC
        path.write_bytes(data[:end_of_ihdr] + chunk + data[end_of_ihdr:])
        return True
    return False
