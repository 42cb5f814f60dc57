"""What the page is told of each camera's privacy: its notice for the people filmed (EU AI Act Art.
50(3)), its masks' outlines, whether faces are blurred, and whether it is aggregate-only (a tile with
the mood over time and the suggestion, and no video)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from moodstream.config import Settings


def camera_privacy(settings: Settings) -> dict[str, dict[str, Any]]:
    """Per configured camera, what its tile shows about privacy."""
    out: dict[str, dict[str, Any]] = {}
    for cam in settings.cameras:
        protection = settings.protection(cam.id)
        out[cam.id] = {
            "notice": cam.notice,
            "purpose": cam.purpose,
            "blurred": protection.blur,
            "aggregate": protection.aggregate,
            "masks": [{"name": m.name, "points": [list(p) for p in m.points]} for m in cam.masks],
        }
    return out


@dataclass(frozen=True)
class PageInfo:
    """The page's settings beyond the dashboard section: the viewers' webcams, the cameras' privacy."""

    browser_cameras: dict[str, Any] = field(default_factory=lambda: {"enabled": False})
    privacy: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def aggregate(self) -> frozenset[str]:
        return frozenset(camera for camera, p in self.privacy.items() if p["aggregate"])
