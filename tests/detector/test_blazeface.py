"""BlazeFace on LiteRT, on real pictures: anchors, decoding, suppression, tiles, region search, alignment."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from moodstream.config import DetectorSettings
from moodstream.detector.blazeface import (
    MODELS,
    BlazeFace,
    BlazeFaceMethod,
    anchor_centres,
    tile_squares,
    weighted_suppression,
)
from moodstream.detector.crops import aligned_crop, eye_angle, square_crop
from moodstream.detector.finder import FaceFinder
from moodstream.detector.methods import image_of
from moodstream.detector.regions import iou


@pytest.fixture(scope="module")
def folder(assets):
    return assets["detector"]


def test_the_anchor_grids_match_the_models_outputs() -> None:
    short, full = MODELS["short"], MODELS["full"]
    assert len(anchor_centres(short.size, short.strides, short.anchors_per_cell)) == 896
    assert len(anchor_centres(full.size, full.strides, full.anchors_per_cell)) == 2304
    first = anchor_centres(short.size, short.strides, short.anchors_per_cell)[:3]
    np.testing.assert_allclose(first, [[0.5 / 16, 0.5 / 16]] * 2 + [[1.5 / 16, 0.5 / 16]])


def test_weighted_suppression_merges_overlaps_by_score() -> None:
    rows = np.zeros((3, 17), np.float32)
    rows[0, :4], rows[0, 16] = (0, 0, 10, 10), 0.9
    rows[1, :4], rows[1, 16] = (1, 1, 11, 11), 0.3  # overlaps the first: merged into it
    rows[2, :4], rows[2, 16] = (50, 50, 60, 60), 0.8
    out = weighted_suppression(rows)
    assert len(out) == 2 and out[0, 16] == pytest.approx(0.9)
    assert out[0, 0] == pytest.approx(0.25)  # (0 * 0.9 + 1 * 0.3) / 1.2


def test_tiles_cover_the_whole_frame() -> None:
    assert tile_squares(640, 360, 1) == [(0, 0, 640)]
    squares = tile_squares(1280, 720, 3)
    covered = np.zeros((720, 1280), bool)
    for x, y, side in squares[1:]:
        covered[y : y + side, x : x + side] = True
    assert covered.all() and all(x + s <= 1280 and y + s <= 720 for x, y, s in squares[1:])


def test_finds_every_face_of_a_group_photo_with_landmarks_inside_each(folder, assets) -> None:
    image = cv2.imread(str(assets["samples"] / "multi_face.jpg"))
    found = BlazeFace(folder, "full").detect(image)
    assert len(found) == 5
    for face in found:
        x, y, w, h = face.box
        (rx, ry), (lx, ly), _, (mx, my) = face.landmarks[:4]
        assert all(x <= px <= x + w and y <= py <= y + h for px, py in face.landmarks[:4])
        assert rx < lx and max(ry, ly) < my, "the right eye left of the left eye, both above the mouth"


def test_the_short_range_model_finds_a_close_face(folder, assets) -> None:
    image = cv2.imread(str(assets["samples"] / "single_face.jpg"))
    (face,) = BlazeFace(folder, "short").detect(image)
    assert face.score > 0.8 and face.box[2] > image.shape[1] // 5


def test_a_region_search_follows_a_face_that_moved(folder, assets) -> None:
    cfg = DetectorSettings(method="blazeface")
    finder = FaceFinder(BlazeFaceMethod(cfg, folder), cfg)
    bgr = cv2.resize(cv2.imread(str(assets["samples"] / "single_face.jpg")), (640, 480))
    prior = finder.scan(image_of(bgr))[0].box
    moved = image_of(cv2.warpAffine(bgr, np.float32([[1, 0, 30], [0, 1, 12]]), (640, 480)))
    truth = finder.scan(moved)[0].box
    (found,) = finder.search(moved, [prior]) or []
    assert iou(found.box, truth) > 0.6 and found.landmarks is not None


def test_alignment_undoes_a_tilted_head(folder, assets) -> None:
    """The same face turned 25°: its landmarks say so, and its aligned crop looks like the upright one."""
    bgr = cv2.imread(str(assets["samples"] / "single_face.jpg"))
    h, w = bgr.shape[:2]
    tilted = cv2.warpAffine(bgr, cv2.getRotationMatrix2D((w / 2, h / 2), 25, 1.0), (w, h))
    detector = BlazeFace(folder, "short")
    (upright,), (turned,) = detector.detect(bgr), detector.detect(tilted)
    assert abs(eye_angle(upright.landmarks)) < 8
    assert abs(eye_angle(turned.landmarks) - eye_angle(upright.landmarks) + 25) < 6
    gray, gray_tilted = (cv2.cvtColor(x, cv2.COLOR_BGR2GRAY) for x in (bgr, tilted))
    reference = aligned_crop(gray, upright.landmarks, 64).astype(np.float32)
    aligned = aligned_crop(gray_tilted, turned.landmarks, 64).astype(np.float32)
    plain = square_crop(gray_tilted, turned.box, 64).astype(np.float32)

    def similarity(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])

    assert similarity(aligned, reference) > 0.8
    assert similarity(aligned, reference) > similarity(plain, reference) + 0.1
    assert math.isfinite(similarity(plain, reference))
