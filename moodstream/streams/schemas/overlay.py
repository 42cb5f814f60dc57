"""The overlay: a camera's current face boxes and smoothed labels, drawn over its live video.

The smoother writes it beside each camera's newest classification (with a short TTL, so boxes of a
stopped pipeline do not hang over the video); the dashboard reads it with the newest frame.
"""

from __future__ import annotations

from dataclasses import dataclass

from moodstream.streams.schemas.codec import Record


@dataclass
class OverlayFace(Record):
    track: int
    box: tuple[int, int, int, int]  # x, y, w, h in frame pixels
    label: str  # "" until the track's label has settled
    confidence: float


@dataclass
class Overlay(Record):
    KIND = "overlay"
    seq: int  # of the classified frame the boxes come from
    ts: float
    width: int
    height: int
    faces: list[OverlayFace]
