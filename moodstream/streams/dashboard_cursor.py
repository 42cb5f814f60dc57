"""Where the dashboards' bridge has got to on the event streams, so a restarted dashboard resumes there."""

from __future__ import annotations

from moodstream.streams.bus import Bus


def load(bus: Bus) -> bytes | None:
    return bus._client.get(bus.keys.dashboard_cursor())


def save(bus: Bus, payload: bytes, ttl_s: int = 3600) -> None:
    bus._client.set(bus.keys.dashboard_cursor(), payload, ex=ttl_s)
