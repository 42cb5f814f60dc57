"""What leaves the pipeline, and for how long anything is kept: the ``[privacy]`` section and each
camera's own privacy settings (docs/privacy.md says which obligation each serves). Each key's
``Field(description=…)`` is its documentation."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pydantic import Field, field_validator

from moodstream.config.base import Section

DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}

# Where the EU AI Act (Art. 5(1)(f)) prohibits inferring emotions, save for medical or safety reasons.
PROHIBITED_CONTEXTS = ("workplace", "education")
Context = Literal[
    "public", "retail", "home", "research", "healthcare", "transport", "workplace", "education", "other"
]


def duration_s(text: str) -> float:
    """``"90s"``, ``"30m"``, ``"12h"``, ``"7d"`` in seconds; ValueError otherwise."""
    found = DURATION_RE.match(text)
    if found is None:
        raise ValueError(f"expected a duration like 90s, 30m, 12h or 7d, got {text!r}")
    return float(found.group(1)) * UNIT_S[found.group(2)]


class PrivacySettings(Section):
    """Faces protected in what leaves, how long anything is kept, who answers for it:
    [privacy.md](privacy.md)."""

    blur_faces: bool = Field(
        default=True,
        description="pixelate every face in the frames that leave the pipeline (the page's video, the feed's `frame` events); a camera's `blur_faces` overrides it",
    )
    blur_margin: float = Field(
        default=0.25,
        ge=0,
        le=2,
        description="the pixelated area grows by this share of the face box on each side",
    )
    allow_raw_recording: bool = Field(
        default=False,
        description="`record` keeps raw frames (re-analysis needs them), so it refuses a camera under blurring unless this is true",
    )
    retention: str = Field(
        default="",
        description='the oldest anything is kept: events, alerts, timeline buckets, dead letters, the Spotify cache and `record` files, e.g. `"7d"`, `"12h"`; empty: only the count caps of `[streams]`',
    )
    controller: str = Field(
        default="",
        description="who is responsible for the cameras (printed on notices), e.g. a company's name",
    )
    contact: str = Field(
        default="", description="where people filmed can ask (printed on notices): an address or email"
    )

    @field_validator("retention")
    @classmethod
    def _check_retention(cls, value: str) -> str:
        if value and duration_s(value) < 1:
            raise ValueError("retention must be at least 1s")
        return value

    def retention_s(self) -> float | None:
        return duration_s(self.retention) if self.retention else None


class MaskSettings(Section):
    """A privacy mask: a polygon in the frame's relative coordinates (0–1, from the top left)."""

    points: list[tuple[float, float]] = Field(
        description="the polygon's corners, `[[x, y], …]`, each 0–1 of the frame's width and height"
    )
    name: str = Field(default="", description="what it hides, shown with its outline on the page")

    @field_validator("points")
    @classmethod
    def _check_points(cls, value: list[tuple[float, float]]) -> list[tuple[float, float]]:
        if len(value) < 3:
            raise ValueError("a mask needs at least 3 points")
        if any(not (0.0 <= c <= 1.0) for point in value for c in point):
            raise ValueError("mask points are relative coordinates: each between 0 and 1")
        return value


@dataclass(frozen=True)
class Protection:
    """What a camera's frames and events must hide when they leave the pipeline (Settings.protection)."""

    blur: bool = True
    margin: float = 0.25
    masks: tuple[tuple[tuple[float, float], ...], ...] = ()
    aggregate: bool = False

    @property
    def frames_need_work(self) -> bool:
        """Raw frames may not be shown: the detector writes the viewers' frame (blurred, masked)."""
        return self.blur or bool(self.masks)

    @property
    def raw_frames_leave(self) -> bool:
        """The capture's own frame may be what viewers see."""
        return not (self.frames_need_work or self.aggregate)
