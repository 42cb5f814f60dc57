"""Spotify search results, cached by the digest of their query, shared by every recommender."""

from __future__ import annotations

from collections.abc import Sequence

from moodstream.streams.bus import Bus


def load(bus: Bus, digests: Sequence[str]) -> list[bytes | None]:
    """Cached results by digest, in one round trip."""
    return bus.mget([bus.keys.spotify_search(d) for d in digests])


def save(bus: Bus, digest: str, payload: bytes, ttl_s: int) -> None:
    bus._client.set(bus.keys.spotify_search(digest), payload, ex=ttl_s)


def remaining_s(bus: Bus, digests: Sequence[str]) -> list[float]:
    """How long each cached result has left, in seconds (0 for one that is gone), in one round trip."""
    pipe = bus._client.pipeline(transaction=False)
    for d in digests:
        pipe.pttl(bus.keys.spotify_search(d))
    return [max(0.0, ms / 1000.0) if ms and ms > 0 else 0.0 for ms in pipe.execute()]
