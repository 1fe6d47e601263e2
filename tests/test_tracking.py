"""The box tracker on synthetic detections: what is held, for how long, and what is matched."""

from __future__ import annotations

import pytest

from aipopup.ops.faces.tracking import Box, BoxTracker, clip, grow, iou


def covers(outer: Box, inner: Box, slack: float = 0.0) -> bool:
    return (outer[0] <= inner[0] + slack and outer[1] <= inner[1] + slack
            and outer[0] + outer[2] >= inner[0] + inner[2] - slack
            and outer[1] + outer[3] >= inner[1] + inner[3] - slack)


def test_iou_basics() -> None:
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == pytest.approx(1.0)
    assert iou((0, 0, 10, 10), (20, 20, 5, 5)) == 0.0
    assert iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(50 / 150)
    assert grow((10, 10, 10, 10), 2.0) == (5.0, 5.0, 20.0, 20.0)
    assert clip((-5, -5, 10, 10), 100, 100) == (0.0, 0.0, 5.0, 5.0)
    assert clip((200, 0, 10, 10), 100, 100) is None


def test_missed_face_is_held_for_hold_frames_then_dropped() -> None:
    tracker = BoxTracker(hold_frames=3)
    face: Box = (100, 100, 50, 60)
    first = tracker.update([(face, 0.9)])
    assert first.boxes == [face] and first.started == [face]
    for _ in range(3):
        held = tracker.update([])
        assert len(held.boxes) == 1 and held.held == 1
        assert covers(held.boxes[0], face)  # a still face stays covered while unseen
    assert tracker.update([]).boxes == []


def test_hold_zero_means_no_carry_over() -> None:
    tracker = BoxTracker(hold_frames=0)
    tracker.update([((0, 0, 10, 10), 0.9)])
    assert tracker.update([]).boxes == []


def test_moving_face_is_extrapolated_along_its_motion() -> None:
    tracker = BoxTracker(hold_frames=5)
    for i in range(5):  # moving 10 px right per frame
        out = tracker.update([((100 + 10 * i, 50, 40, 40), 0.9)])
        assert len(out.boxes) == 1 and out.started == ([] if i else [(100, 50, 40, 40)])
    held = tracker.update([]).boxes[0]
    true_next: Box = (150, 50, 40, 40)
    assert covers(held, true_next, slack=3.0), held
    # the held box moved with the face rather than staying where it was last seen
    assert held[0] > 140


def test_weak_detection_keeps_a_track_but_does_not_start_one() -> None:
    tracker = BoxTracker(hold_frames=0, start_score=0.6, keep_score=0.3)
    assert tracker.update([((0, 0, 20, 20), 0.45)]).boxes == []  # too weak to open a track
    tracker.update([((100, 100, 20, 20), 0.9)])
    kept = tracker.update([((102, 101, 20, 20), 0.45)])  # same face, weaker: still tracked
    assert kept.boxes == [(102, 101, 20, 20)] and kept.started == []
    assert tracker.update([((104, 101, 20, 20), 0.1)]).boxes == []  # below keep_score: gone


def test_two_faces_keep_their_own_tracks() -> None:
    tracker = BoxTracker(hold_frames=2)
    a: Box = (10, 10, 30, 30)
    b: Box = (200, 10, 30, 30)
    tracker.update([(a, 0.9), (b, 0.8)])
    ids = {t.id for t in tracker.tracks}
    out = tracker.update([((12, 10, 30, 30), 0.9)])  # b missed this frame
    assert len(out.boxes) == 2 and out.held == 1
    out = tracker.update([((14, 10, 30, 30), 0.9), ((201, 11, 30, 30), 0.9)])
    assert {t.id for t in tracker.tracks} == ids  # no new track was opened for either face
    assert out.started == []


def test_fast_face_with_little_overlap_is_matched_by_its_centre() -> None:
    tracker = BoxTracker(hold_frames=2, iou_match=0.5)
    tracker.update([((100, 100, 40, 40), 0.9)])
    assert iou((100, 100, 40, 40), (115, 100, 40, 40)) < 0.5
    out = tracker.update([((115, 100, 40, 40), 0.9)])  # centre (135, 120) inside the old box
    assert out.started == [] and len(tracker.tracks) == 1


def test_held_box_grows_but_is_capped() -> None:
    tracker = BoxTracker(hold_frames=50, grow_per_frame=0.05, max_grow=0.2, frame_size=(120, 120))
    tracker.update([((105, 95, 20, 20), 0.9)])
    boxes = [tracker.update([]).boxes[0] for _ in range(20)]
    assert boxes[0][2] == pytest.approx(21.0)
    assert boxes[-1][2] == pytest.approx(24.0)  # 20 px * (1 + 0.2), no further
    # partly outside the frame, still reported whole (the mask keeps the face's centre)
    assert boxes[-1][0] + boxes[-1][2] > 120


def test_a_face_leaving_the_picture_stops_being_reported() -> None:
    tracker = BoxTracker(hold_frames=30, frame_size=(200, 100))
    for i in range(4):  # leaving to the right at 40 px per frame
        tracker.update([((120 + 40 * i, 40, 30, 30), 0.9)])
    remaining = [len(tracker.update([]).boxes) for _ in range(30)]
    assert remaining[-1] == 0


def test_far_detection_opens_a_new_track() -> None:
    tracker = BoxTracker(hold_frames=2)
    tracker.update([((100, 100, 40, 40), 0.9)])
    out = tracker.update([((300, 100, 40, 40), 0.9)])
    assert out.started == [(300, 100, 40, 40)] and len(out.boxes) == 2 and out.held == 1


def test_negative_hold_is_refused() -> None:
    with pytest.raises(ValueError):
        BoxTracker(hold_frames=-1)
