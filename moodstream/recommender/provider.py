"""The seam between the recommender and music sources.

A provider turns a mood into tracks. The offline catalog is always there;
the Spotify provider (spotify.py) merges live search results with it and
falls back to it whenever Spotify cannot answer.
"""

from __future__ import annotations

from typing import Protocol

from moodstream.config import Settings
from moodstream.recommender.catalog import Catalog, CatalogProvider
from moodstream.streams.bus import Bus
from moodstream.streams.schemas import MusicStatus, Track


class MusicProvider(Protocol):
    name: str

    def suggest(self, mood: str, emotion: str, n: int, exclude: set[str]) -> list[Track]: ...

    def status(self) -> MusicStatus | None:
        """The remote service's circuit and counters, for the heartbeat; None when there is none."""
        ...


def build_provider(settings: Settings, bus: Bus | None = None) -> MusicProvider:
    """The catalog; or Spotify merged with it when ``[spotify] enabled`` (or ``provider = "spotify"``)."""
    cfg = settings.recommender
    catalog = Catalog.load(settings.resolve_path(cfg.catalog) if cfg.catalog else None)
    if not (settings.spotify.enabled or cfg.provider == "spotify"):
        return CatalogProvider(catalog)
    if bus is None:
        raise ValueError("the Spotify provider caches in Redis: pass the bus")
    from moodstream.recommender.spotify import SpotifyProvider

    spotify = settings.spotify
    retention_s = settings.privacy.retention_s()
    if retention_s is not None and retention_s < spotify.cache_ttl_s:  # nothing is kept longer
        spotify = spotify.model_copy(update={"cache_ttl_s": max(1, int(retention_s))})
    provider = SpotifyProvider(catalog, bus, spotify, cfg.strategy)
    provider.prefetch()
    return provider
