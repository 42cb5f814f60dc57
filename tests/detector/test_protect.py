"""The viewers' frame of a protected camera: faces blurred with a margin, masks black, the rest as is."""

from __future__ import annotations

import cv2
import numpy as np

from moodstream.config.privacy import Protection
from moodstream.detector.protect import mask_polygons, protect, protected_jpeg
from moodstream.detector.regions import region


def picture() -> np.ndarray:
    """Fine detail everywhere (a checkerboard of 2 px squares), in colour."""
    tile = (np.indices((240, 320)).sum(axis=0) // 2 % 2 * 255).astype(np.uint8)
    return cv2.cvtColor(tile, cv2.COLOR_GRAY2BGR)


def detail(pixels: np.ndarray) -> float:
    return float(cv2.Laplacian(cv2.cvtColor(pixels, cv2.COLOR_BGR2GRAY), cv2.CV_32F).var())


def test_a_face_box_and_its_margin_lose_their_detail_and_nothing_else_changes() -> None:
    image = picture()
    out = protect(image, [(100, 80, 40, 40)], Protection(blur=True, margin=0.25))
    x, y, w, h = region((100, 80, 40, 40), 0.25, 320, 240)
    assert (x, y, w, h) == (90, 70, 60, 60)
    assert detail(out[y : y + h, x : x + w]) < 0.01 * detail(image[y : y + h, x : x + w])
    outside = np.ones(image.shape[:2], bool)
    outside[y : y + h, x : x + w] = False
    assert np.array_equal(out[outside], image[outside])
    assert np.array_equal(image, picture()), "the decoded frame itself is left alone"


def test_boxes_at_the_edge_are_clipped_and_blurring_off_leaves_faces() -> None:
    image = picture()
    assert region((300, 220, 40, 40), 0.5, 320, 240) == (280, 200, 40, 40)
    assert np.array_equal(protect(image, [(100, 80, 40, 40)], Protection(blur=False)), image)


def test_masks_are_black_in_relative_coordinates() -> None:
    image = picture()
    square = ((0.5, 0.5), (1.0, 0.5), (1.0, 1.0), (0.5, 1.0))
    (polygon,) = mask_polygons([square], 320, 240)
    assert polygon.tolist() == [[160, 120], [319, 120], [319, 239], [160, 239]]
    out = protect(image, [], Protection(blur=False, masks=(square,)))
    assert out[120:, 160:].max() == 0 and np.array_equal(out[:100, :150], image[:100, :150])
    decoded = cv2.imdecode(
        np.frombuffer(protected_jpeg(image, [], Protection(masks=(square,)), 80), np.uint8), 1
    )
    assert decoded[130:, 170:].mean() < 3
