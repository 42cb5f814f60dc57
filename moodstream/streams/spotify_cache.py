"""Spotify search results, cached by the digest of their query, shared by every recommender."""

from __future__ import annotations

from collections.abc import Sequence

from moodstream.streams.bus import Bus


def load(bus: Bus, digests: Sequence[str]) -> list[bytes | None]:
    """Cached results by digest, in one round trip."""
    return bus.mget([bus.keys.spotify_search(d) for d in digests])


def save(bus: Bus, digest: str, payload: bytes, ttl_s: int) -> None:
    bus._client.set(bus.keys.spotify_search(digest), payload, ex=ttl_s)
