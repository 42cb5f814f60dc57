"""Saving a camera's current suggestion to the signed-in user's own Spotify playlist.

This is the one place a user's account is involved, and only when they ask:
``moodstream spotify-save --camera ID``. Sign-in is Spotify's authorization
code flow (spotipy's ``SpotifyOAuth``): the first time, the command prints a
URL to open and asks for the address Spotify redirects to; the user token is
then kept in the run directory (mode 600) and refreshed as needed. Only the
current user's own playlists are read or written, which the Web API still
allows new apps.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from moodstream.config import ConfigError, SpotifySettings
from moodstream.streams.schemas import RecommendationEvent

SCOPES = "playlist-read-private playlist-modify-private"
DEFAULT_PLAYLIST = "moodstream suggestions"


def user_client(cfg: SpotifySettings, token_cache: Path, environ: dict[str, str] | None = None) -> Any:
    import spotipy
    from spotipy.cache_handler import CacheFileHandler
    from spotipy.oauth2 import SpotifyOAuth

    env = os.environ if environ is None else environ
    missing = [
        k for k in ("SPOTIPY_CLIENT_ID", "SPOTIPY_CLIENT_SECRET", "SPOTIPY_REDIRECT_URI") if not env.get(k)
    ]
    if missing:
        raise ConfigError(
            f"saving to a playlist needs {', '.join(missing)} in the environment (docs/spotify.md)"
        )
    token_cache.parent.mkdir(parents=True, exist_ok=True)
    if not token_cache.exists():
        token_cache.touch(mode=0o600)
    auth = SpotifyOAuth(
        client_id=env["SPOTIPY_CLIENT_ID"],
        client_secret=env["SPOTIPY_CLIENT_SECRET"],
        redirect_uri=env["SPOTIPY_REDIRECT_URI"],
        scope=SCOPES,
        open_browser=False,
        cache_handler=CacheFileHandler(cache_path=str(token_cache)),
        requests_timeout=cfg.timeout_s,
    )
    auth.OAUTH_TOKEN_URL = cfg.token_url
    sp = spotipy.Spotify(auth_manager=auth, requests_timeout=cfg.timeout_s, retries=1)
    sp.prefix = cfg.api_url.rstrip("/") + "/"
    return sp


def find_or_create_playlist(sp: Any, name: str) -> str:
    """The id of the current user's playlist called ``name``, created (private) if there is none."""
    offset = 0
    while True:
        page = sp.current_user_playlists(limit=50, offset=offset)
        for item in page.get("items") or []:
            if item and item.get("name") == name:
                return str(item["id"])
        if not page.get("next"):
            break
        offset += 50
    created = sp.current_user_playlist_create(name, public=False, description="Saved from moodstream")
    return str(created["id"])


def save_suggestion(sp: Any, reco: RecommendationEvent, playlist: str = DEFAULT_PLAYLIST) -> tuple[str, int]:
    """Add the suggestion's tracks (those not already there) to the playlist; returns (playlist id, added)."""
    playlist_id = find_or_create_playlist(sp, playlist)
    present: set[str] = set()
    offset = 0
    while True:
        page = sp.playlist_items(playlist_id, limit=100, offset=offset)
        for entry in page.get("items") or []:
            item = (entry or {}).get("item") or (entry or {}).get("track")  # "item" in the 2026 API
            if isinstance(item, dict) and item.get("id"):
                present.add(str(item["id"]))
        if not page.get("next"):
            break
        offset += 100
    new = [f"spotify:track:{t.spotify_id}" for t in reco.tracks if t.spotify_id not in present]
    if new:
        sp.playlist_add_items(playlist_id, new)
    return playlist_id, len(new)
