"""Spotify's Web API as new apps still get it: client-credentials tokens and track search.

spotipy makes the calls, pointed at the configured URLs with its own retries off (the fetcher in
spotify.py decides when to retry); this module turns replies into ``FoundTrack``s and failures into a
reason and a Retry-After, rejecting any reply that is not the documented shape.
"""

from __future__ import annotations

import os
import re
from typing import Any

from moodstream.config import SpotifySettings
from moodstream.recommender.catalog import track_url
from moodstream.streams.schemas import FoundTrack

SPOTIFY_ID = re.compile(r"^[0-9A-Za-z]{22}$")


class SpotifyReplyError(Exception):
    """Spotify answered, but not with what the API documents (malformed JSON, missing fields)."""


def parse_search(reply: Any) -> list[FoundTrack]:
    """Tracks from a ``GET /search?type=track`` reply; raises SpotifyReplyError on anything else."""
    if not isinstance(reply, dict) or not isinstance(reply.get("tracks"), dict):
        raise SpotifyReplyError("search reply has no 'tracks' object (malformed JSON or an unexpected shape)")
    items = reply["tracks"].get("items")
    if not isinstance(items, list):
        raise SpotifyReplyError("search reply has no 'tracks.items' list")
    out = []
    for item in items:
        if not isinstance(item, dict):
            continue
        sid = item.get("id")
        if not isinstance(sid, str) or not SPOTIFY_ID.match(sid) or not item.get("name"):
            continue
        artists = item.get("artists") or []
        artist = ", ".join(a.get("name", "") for a in artists if isinstance(a, dict) and a.get("name"))
        album = item.get("album") if isinstance(item.get("album"), dict) else {}
        urls = item.get("external_urls") if isinstance(item.get("external_urls"), dict) else {}
        popularity = item.get("popularity")
        out.append(
            FoundTrack(
                spotify_id=sid,
                title=str(item["name"]),
                artist=artist or "unknown artist",
                album=str(album.get("name", "")),
                popularity=popularity if isinstance(popularity, int) and 0 <= popularity <= 100 else 0,
                preview_url=str(item.get("preview_url") or ""),
                url=str(urls.get("spotify") or track_url(sid)),
            )
        )
    return out


def credentials(environ: dict[str, str] | None = None) -> tuple[str, str] | None:
    env = os.environ if environ is None else environ
    cid, secret = env.get("SPOTIPY_CLIENT_ID", ""), env.get("SPOTIPY_CLIENT_SECRET", "")
    return (cid, secret) if cid and secret else None


def make_client(cfg: SpotifySettings, client_id: str, client_secret: str) -> Any:
    """spotipy, pointed at ``api_url``/``token_url``, with its own retries off: we decide when to retry."""
    import requests
    import spotipy
    from spotipy.cache_handler import MemoryCacheHandler
    from spotipy.oauth2 import SpotifyClientCredentials

    auth = SpotifyClientCredentials(
        client_id=client_id,
        client_secret=client_secret,
        cache_handler=MemoryCacheHandler(),
        requests_timeout=cfg.timeout_s,
    )
    auth.OAUTH_TOKEN_URL = cfg.token_url
    # A plain session: spotipy's own mounts urllib3 retries that sleep through 429s and drop Retry-After.
    sp = spotipy.Spotify(
        auth_manager=auth, requests_session=requests.Session(), requests_timeout=cfg.timeout_s
    )
    sp.prefix = cfg.api_url.rstrip("/") + "/"
    return sp


def classify_error(exc: BaseException) -> tuple[str, float | None]:
    """(reason, Retry-After seconds or None) for a failed call."""
    import requests
    from spotipy.exceptions import SpotifyException
    from spotipy.oauth2 import SpotifyOauthError

    if isinstance(exc, SpotifyException):
        retry_after = None
        if exc.http_status == 429:
            headers = exc.headers or {}
            raw = headers.get("Retry-After") or headers.get("retry-after")
            try:
                retry_after = float(raw) if raw is not None else 5.0
            except ValueError:
                retry_after = 5.0
            return f"rate limited (429), retry after {retry_after:g}s", retry_after
        return f"HTTP {exc.http_status}: {str(exc.msg)[:200]}", None
    if isinstance(exc, SpotifyOauthError):
        return f"token request failed: {exc}"[:300], None
    if isinstance(exc, requests.exceptions.Timeout):
        return "timed out", None
    if isinstance(exc, requests.exceptions.RequestException):
        return f"connection failed: {exc.__class__.__name__}", None
    if isinstance(exc, SpotifyReplyError | ValueError):
        return f"bad reply: {exc}"[:300], None
    return f"{exc.__class__.__name__}: {exc}"[:300], None
