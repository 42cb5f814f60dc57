"""Face boxes (x, y, w, h in frame pixels), shared by the stages that compare them: the detector
(a region search finds the same face again) and the smoother (a face joins its track)."""

from __future__ import annotations

from collections.abc import Sequence


def iou(a: Sequence[int], b: Sequence[int]) -> float:
    """Intersection over union of two boxes; 0 when they do not overlap (or are empty)."""
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0
