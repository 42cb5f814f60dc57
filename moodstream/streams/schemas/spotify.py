"""Spotify search results as cached in Redis, shared by every recommender instance."""

from __future__ import annotations

from dataclasses import dataclass

from moodstream.streams.schemas.codec import Record


@dataclass(frozen=True)
class FoundTrack(Record):
    """A track from a search reply, reduced to what a suggestion needs."""

    spotify_id: str
    title: str
    artist: str
    album: str
    popularity: int
    preview_url: str
    url: str


@dataclass
class SearchResults(Record):
    KIND = "spotify-search"
    query: str
    tracks: list[FoundTrack]
