"""The offline catalog provider: a CSV of tracks labelled with moods.

The default catalog is the 686-track mood-labelled Spotify table used by
music-recommendation studies on FER (see README for attribution). The
research method ranks a mood's tracks by popularity and takes the top five;
we do the same, skipping tracks the camera heard recently.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from moodstream.errors import UserError
from moodstream.streams.schemas import MusicStatus, Track

DEFAULT_CATALOG = Path(__file__).parent / "data" / "data_moods.csv"
REQUIRED = ("name", "artist", "id", "popularity", "mood")


def track_url(spotify_id: str) -> str:
    return f"https://open.spotify.com/track/{spotify_id}"


def embed_url(spotify_id: str) -> str:
    """Spotify's embeddable player for one track (the dashboard's Preview)."""
    return f"https://open.spotify.com/embed/track/{spotify_id}"


class CatalogError(UserError):
    pass


@dataclass(frozen=True)
class CatalogTrack:
    spotify_id: str
    title: str
    artist: str
    album: str
    popularity: int
    mood: str
    valence: float
    energy: float
    tempo: float

    def to_track(self, reason: str) -> Track:
        return Track(
            title=self.title,
            artist=self.artist,
            spotify_id=self.spotify_id,
            url=track_url(self.spotify_id),
            embed_url=embed_url(self.spotify_id),
            source="catalog",
            album=self.album,
            popularity=self.popularity,
            reason=reason,
        )


def _float(value: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


class Catalog:
    def __init__(self, tracks: Iterable[CatalogTrack]) -> None:
        self.tracks = list(tracks)
        self.by_mood: dict[str, list[CatalogTrack]] = {}
        seen: set[str] = set()
        for t in sorted(self.tracks, key=lambda t: (-t.popularity, t.title)):
            if t.spotify_id in seen:
                continue
            seen.add(t.spotify_id)
            self.by_mood.setdefault(t.mood, []).append(t)

    @classmethod
    def load(cls, path: str | Path | None = None) -> Catalog:
        path = Path(path) if path else DEFAULT_CATALOG
        if not path.exists():
            raise CatalogError(f"catalog not found: {path}")
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
            if missing:
                raise CatalogError(f"{path}: missing columns {missing}")
            tracks = []
            for row in reader:
                if not row.get("id") or not row.get("mood"):
                    continue
                tracks.append(
                    CatalogTrack(
                        spotify_id=row["id"].strip(),
                        title=row["name"].strip(),
                        artist=row["artist"].strip(),
                        album=(row.get("album") or "").strip(),
                        popularity=int(_float(row["popularity"])),
                        mood=row["mood"].strip(),
                        valence=_float(row.get("valence", "")),
                        energy=_float(row.get("energy", "")),
                        tempo=_float(row.get("tempo", "")),
                    )
                )
        if not tracks:
            raise CatalogError(f"{path}: no tracks")
        return cls(tracks)

    def moods(self) -> list[str]:
        return sorted(self.by_mood)


class CatalogProvider:
    """Top tracks by popularity for a mood, avoiding the ones to exclude while others remain."""

    name = "catalog"

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def status(self) -> MusicStatus | None:
        return None  # nothing remote to report on

    def suggest(self, mood: str, emotion: str, n: int, exclude: set[str]) -> list[Track]:
        pool = self.catalog.by_mood.get(mood, [])
        fresh = [t for t in pool if t.spotify_id not in exclude]
        if len(fresh) < n:  # everything heard recently: repeat the least needed, most popular first
            fresh += [t for t in pool if t.spotify_id in exclude][: n - len(fresh)]
        reason = f"{emotion} → {mood}: top by popularity in the offline catalog"
        return [t.to_track(reason) for t in fresh[:n]]
