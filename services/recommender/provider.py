"""The seam between the recommender and music sources.

A provider turns a mood into tracks. The offline catalog is always there;
online providers (Spotify) plug in here and fall back to it.
"""

from __future__ import annotations

from typing import Protocol

from ..common.schemas import Track
from ..common.settings import Settings
from .catalog import Catalog, CatalogProvider


class MusicProvider(Protocol):
    name: str

    def suggest(self, mood: str, emotion: str, n: int, exclude: set[str]) -> list[Track]: ...


def build_provider(settings: Settings) -> MusicProvider:
    cfg = settings.recommender
    catalog = Catalog.load(settings.resolve_path(cfg.catalog) if cfg.catalog else None)
    if cfg.provider == "catalog":
        return CatalogProvider(catalog)
    raise NotImplementedError("the Spotify provider is not available yet; use provider = 'catalog'")
