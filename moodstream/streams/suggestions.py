"""Each camera's current suggestion, as the recommender's commit retains it (with its stream id)."""

from __future__ import annotations

from moodstream.streams import camera_state
from moodstream.streams.bus import Bus


def current(bus: Bus, camera: str) -> tuple[str, bytes] | None:
    """The camera's newest suggestion: its stream id and payload, or None before the first."""
    return camera_state.retained(bus, bus.keys.latest_recommendation(camera))


def latest(bus: Bus, camera: str) -> bytes | None:
    """The payload alone."""
    found = current(bus, camera)
    return None if found is None else found[1]
