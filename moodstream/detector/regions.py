"""Which frames to scan in full, and where to look in the others.

A full Haar scan of a 320-wide frame costs ~10–20 ms on one core; the same cascade run around a known
face, on a region scaled so the face is ~64 px wide and over a narrow range of sizes, costs under 1 ms.
So a camera is scanned in full every ``full_scan_every`` frames (by seq, so any number of instances
agree which ones), and in between only around the faces it last found. A new face therefore shows up
at the latest at the next full scan. A region search that loses a face falls back to a full scan of
that same frame, so a tracked face is never dropped for want of looking.
"""

from __future__ import annotations

from moodstream.geometry import iou
from moodstream.streams.schemas import DetectorState

Box = tuple[int, int, int, int]  # x, y, w, h


def needs_full_scan(seq: int, state: DetectorState | None, every: int) -> bool:
    """Whether frame ``seq`` is scanned in full rather than searched around ``state``'s faces."""
    if every <= 1 or state is None or state.full_seq < 0 or seq % every == 0:
        return True  # (a camera never scanned in full has no state worth searching around)
    if abs(seq - state.seq) > every:
        return True  # too old to trust, or far in this frame's future (a camera that restarted)
    return seq - state.full_seq >= 2 * every  # full scans were skipped (live frames dropped)


def region(box: Box, margin: float, width: int, height: int) -> Box:
    """``box`` grown by ``margin`` of its size on every side, clipped to the frame."""
    x, y, w, h = box
    mx, my = round(w * margin), round(h * margin)
    x0, y0 = max(0, x - mx), max(0, y - my)
    x1, y1 = min(width, x + w + mx), min(height, y + h + my)
    return x0, y0, max(0, x1 - x0), max(0, y1 - y0)


def closest(prior: Box, candidates: list[Box]) -> Box | None:
    """The candidate that overlaps ``prior`` most (the same face, moved a little)."""
    if not candidates:
        return None
    best = max(candidates, key=lambda c: iou(prior, c))
    return best if iou(prior, best) > 0 else None


def distinct(boxes: list[Box], threshold: float = 0.5) -> list[Box]:
    """Boxes with near-duplicates dropped (two tracks' regions that found the same face), largest first."""
    out: list[Box] = []
    for box in sorted(boxes, key=lambda b: -b[2] * b[3]):
        if all(iou(box, kept) < threshold for kept in out):
            out.append(box)
    return out
