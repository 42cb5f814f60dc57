"""Suggestions from Spotify's live catalogue, merged with the offline catalog, never waiting on Spotify.

Only what the Web API still gives new apps is used: client-credentials
tokens and track search (plus, for a signed-in user, their own playlists:
moodstream/recommender/playlist.py). Recommendations, audio features, related
artists and featured playlists are gone for new apps, so the mood fit of a
track comes from the offline catalog's valence, energy and tempo when the
catalog knows the track, and from the search phrase that found it otherwise.

The recommender never blocks on Spotify: ``suggest`` reads search results
cached in Redis and asks a background thread to fetch what is missing, so a
camera's first suggestion for a mood may come from the catalog alone. The
thread honours Retry-After on 429, backs off on timeouts and 5xx replies, and
a circuit breaker stops calls for a while after repeated failures; in all
those cases suggestions come from the catalog, and the reason is logged.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from moodstream.config import SpotifySettings
from moodstream.recommender.breaker import Breaker
from moodstream.recommender.catalog import Catalog, CatalogTrack, embed_url, track_url
from moodstream.recommender.spotify_api import (
    classify_error,
    credentials,
    make_client,
    parse_search,
)
from moodstream.runtime.backoff import OnceLog
from moodstream.streams import spotify_cache
from moodstream.streams.bus import Bus
from moodstream.streams.client import CONNECTION_ERRORS
from moodstream.streams.schemas import FoundTrack, MusicStatus, SchemaError, SearchResults, Track

log = logging.getLogger(__name__)

EMPTY_TTL_S = 300  # an empty result is asked again sooner than a full one


class SearchCache:
    """Search results in Redis, shared by every recommender instance, with a TTL.

    An entry that cannot be decoded (another version's) is logged once, counted, and treated as
    missing, so it is fetched again and replaced.
    """

    def __init__(self, bus: Bus, cfg: SpotifySettings) -> None:
        self.bus, self.cfg = bus, cfg
        self.bad_entries = 0
        self._bad = OnceLog(log)

    def digest(self, query: str) -> str:
        return hashlib.sha1(f"{self.cfg.market}|{self.cfg.search_limit}|{query}".encode()).hexdigest()[:20]

    def get_many(self, queries: list[str]) -> dict[str, list[FoundTrack] | None]:
        digests = [self.digest(q) for q in queries]
        out: dict[str, list[FoundTrack] | None] = {}
        for q, digest, raw in zip(queries, digests, spotify_cache.load(self.bus, digests), strict=True):
            out[q] = None if raw is None else self._decode(q, digest, raw)
        return out

    def _decode(self, query: str, digest: str, raw: bytes) -> list[FoundTrack] | None:
        try:
            return SearchResults.decode(raw).tracks
        except SchemaError as exc:
            self.bad_entries += 1
            key = self.bus.keys.spotify_search(digest)
            self._bad(
                key,
                "spotify: cached results %s for %r cannot be decoded (%s); fetching again",
                key,
                query,
                exc,
            )
            return None

    def remaining_s(self, queries: list[str]) -> list[float]:
        return spotify_cache.remaining_s(self.bus, [self.digest(q) for q in queries])

    def put(self, query: str, found: list[FoundTrack]) -> None:
        payload = SearchResults(query=query, tracks=found).encode()
        spotify_cache.save(
            self.bus, self.digest(query), payload, ttl_s=self.cfg.cache_ttl_s if found else EMPTY_TTL_S
        )


class Fetcher:
    """The one thread that talks to Spotify; ``request`` never blocks.

    Queries it is told to ``watch`` are searched at once and searched again before their cached results
    expire (when a fifth of their life is left), so suggestions never wait for a search; a result
    another recommender instance refreshed in the meantime is left alone."""

    def __init__(
        self,
        client: Any,
        cache: SearchCache,
        cfg: SpotifySettings,
        breaker: Breaker,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client, self.cache, self.cfg, self.breaker, self.clock = client, cache, cfg, breaker, clock
        self.jobs: queue.Queue[str] = queue.Queue(maxsize=256)
        self._queued: set[str] = set()
        self._watched: dict[str, float] = {}  # query -> when to look at its cached result again
        self._lock = threading.Lock()
        self.counters = {"searches": 0, "failures": 0, "skipped_while_open": 0, "empty": 0}
        self._once = OnceLog(log, logging.ERROR)
        self.thread = threading.Thread(target=self._run, name="spotify-fetcher", daemon=True)
        self.thread.start()

    def request(self, queries: list[str]) -> None:
        with self._lock:
            for q in queries:
                if q in self._queued:
                    continue
                try:
                    self.jobs.put_nowait(q)
                except queue.Full:
                    return
                self._queued.add(q)

    def watch(self, queries: list[str]) -> None:
        """Keep these queries' results cached: searched now (unless fresh), and again before they expire."""
        now = self.clock()
        with self._lock:
            for q in queries:
                self._watched.setdefault(q, now)

    def idle(self) -> bool:
        """Nothing waiting and nothing in progress: every search asked for has been answered or skipped."""
        with self._lock:
            return not self._queued

    def _refresh_due(self) -> None:
        now = self.clock()
        with self._lock:
            due = [q for q, at in self._watched.items() if at <= now]
        if not due:
            return
        margin = max(1.0, 0.2 * self.cfg.cache_ttl_s)
        for q, left in zip(due, self.cache.remaining_s(due), strict=True):
            if left > margin:  # fresh: fetched here or by another instance
                self._watched[q] = now + left - margin
            else:
                self.request([q])
                self._watched[q] = now + margin  # looked at again once this search has been answered

    def _run(self) -> None:
        while True:
            try:
                self._refresh_due()
            except Exception as exc:  # noqa: BLE001 - Redis away: the next turn tries again
                self._once(f"refresh:{type(exc).__name__}", "spotify: cannot check cached results: %s", exc)
            try:
                q = self.jobs.get(timeout=0.5)
            except queue.Empty:
                continue
            try:
                if not self.breaker.allow():
                    self.counters["skipped_while_open"] += 1
                    continue
                self.search(q)
            except Exception as exc:  # noqa: BLE001 - the thread must outlive any error (e.g. a cache key of the wrong type)
                self.counters["failures"] += 1
                self._once(
                    f"{type(exc).__name__}:{exc}",
                    "spotify: search %r failed: %s; going on",
                    q,
                    exc,
                    exc_info=exc,
                )
            finally:
                with self._lock:
                    self._queued.discard(q)

    def search(self, q: str) -> list[FoundTrack] | None:
        self.counters["searches"] += 1
        try:
            reply = self.client.search(q=q, type="track", limit=self.cfg.search_limit, market=self.cfg.market)
            found = parse_search(reply)
        except Exception as exc:  # noqa: BLE001 - every failure of a remote call is classified and survived
            reason, retry_after = classify_error(exc)
            self.counters["failures"] += 1
            delay = self.breaker.failure(reason, retry_after_s=retry_after)
            log.warning(
                "spotify: search %r failed (%s); suggesting from the catalog, next call in %.1fs (%s)",
                q,
                reason,
                delay,
                self.breaker.state(),
            )
            return None
        self.breaker.success()
        if not found:
            self.counters["empty"] += 1
            log.info("spotify: no tracks for %r; suggesting from the catalog for it", q)
        try:
            self.cache.put(q, found)
        except CONNECTION_ERRORS as exc:
            log.warning("spotify: could not cache results for %r: %s", q, exc)
        return found


@dataclass
class _Candidate:
    spotify_id: str
    title: str
    artist: str
    album: str
    popularity: int
    source: str
    preview_url: str
    url: str
    query: str = ""
    features: CatalogTrack | None = None
    score: float = 0.0


class SpotifyProvider:
    """Spotify search results and the catalog, ranked together by mood fit and popularity."""

    name = "spotify"

    def __init__(
        self,
        catalog: Catalog,
        bus: Bus,
        cfg: SpotifySettings,
        strategy: str,
        client: Any | None = None,
        environ: dict[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.catalog = catalog
        self.cfg = cfg
        self.strategy = strategy
        self.cache = SearchCache(bus, cfg)
        self.breaker = Breaker(
            cfg.failures_to_open, cfg.open_s, cfg.backoff_initial_s, cfg.backoff_max_s, clock=clock
        )
        self.by_id = {t.spotify_id: t for t in catalog.tracks}
        self.centroids = _mood_centroids(catalog)
        # A track only Spotify knows matched a search phrase chosen for the mood: count it as fitting a
        # little better than the mood's typical catalog track (its audio features are not available).
        self.prior = {
            mood: min(1.0, 0.1 + sum(self._fit(t, mood) for t in tracks) / len(tracks))
            for mood, tracks in catalog.by_mood.items()
            if tracks
        }
        self.fetcher: Fetcher | None = None
        if client is None:
            creds = credentials(environ)
            if creds is None:
                log.warning(
                    "spotify: SPOTIPY_CLIENT_ID / SPOTIPY_CLIENT_SECRET are not set; suggestions come from the "
                    "offline catalog only"
                )
            else:
                client = make_client(cfg, *creds)
        if client is not None:
            self.fetcher = Fetcher(client, self.cache, cfg, self.breaker, clock=clock)

    def queries(self, emotion: str) -> list[str]:
        return list(self.cfg.queries.get(self.strategy, {}).get(emotion, []))

    def prefetch(self) -> None:
        """Every emotion's searches, fetched now and kept fresh: a camera's first suggestion for any mood
        already draws on Spotify when it answers."""
        if self.fetcher is not None:
            every = dict.fromkeys(q for qs in self.cfg.queries.get(self.strategy, {}).values() for q in qs)
            self.fetcher.watch(list(every))

    def status(self) -> MusicStatus:
        counters = self.fetcher.counters if self.fetcher else {}
        return MusicStatus(
            breaker=self.breaker.state(),
            last_error=self.breaker.last_reason,
            searches=counters.get("searches", 0),
            failures=counters.get("failures", 0),
            skipped_while_open=counters.get("skipped_while_open", 0),
            empty=counters.get("empty", 0),
            bad_cache_entries=self.cache.bad_entries,
        )

    def suggest(self, mood: str, emotion: str, n: int, exclude: set[str]) -> list[Track]:
        queries = self.queries(emotion)
        try:
            cached = self.cache.get_many(queries)
        except CONNECTION_ERRORS as exc:
            log.warning("spotify: cache unavailable (%s); suggesting from the catalog", exc)
            cached = {}
        missing = [q for q in queries if cached.get(q) is None]
        if missing and self.fetcher is not None:
            self.fetcher.request(missing)  # for the next suggestion; this one does not wait
        candidates: list[_Candidate] = []
        for q in queries:
            for f in cached.get(q) or []:
                candidates.append(
                    _Candidate(
                        f.spotify_id,
                        f.title,
                        f.artist,
                        f.album,
                        f.popularity,
                        "spotify",
                        f.preview_url,
                        f.url,
                        query=q,
                        features=self.by_id.get(f.spotify_id),
                    )
                )
        for t in self.catalog.by_mood.get(mood, []):
            candidates.append(
                _Candidate(
                    t.spotify_id,
                    t.title,
                    t.artist,
                    t.album,
                    t.popularity,
                    "catalog",
                    "",
                    track_url(t.spotify_id),
                    features=t,
                )
            )
        for c in candidates:
            c.score = self._score(c, mood)
        ranked = _dedupe(sorted(candidates, key=lambda c: -c.score))
        fresh = [c for c in ranked if c.spotify_id not in exclude]
        if len(fresh) < n:
            fresh += [c for c in ranked if c.spotify_id in exclude][: n - len(fresh)]
        return [self._track(c, mood, emotion) for c in fresh[:n]]

    def _fit(self, features: CatalogTrack, mood: str) -> float:
        centre = self.centroids.get(mood)
        if centre is None:
            return 0.5
        v, e, t = centre
        d = (
            (features.valence - v) ** 2 + (features.energy - e) ** 2 + (features.tempo / 200.0 - t) ** 2
        ) ** 0.5
        return max(0.0, 1.0 - d)

    def _score(self, c: _Candidate, mood: str) -> float:
        if c.features is not None:
            fit = self._fit(c.features, mood)
            if c.source == "catalog" and c.features.mood != mood:
                fit *= 0.5
        else:
            fit = self.prior.get(mood, 0.6)
        bonus = 0.05 if c.source == "spotify" else 0.0  # live catalogue over the static table, all else equal
        return 0.6 * fit + 0.4 * (c.popularity / 100.0) + bonus

    def _track(self, c: _Candidate, mood: str, emotion: str) -> Track:
        if c.features is not None:
            fit = (
                f"fits {mood}: valence {c.features.valence:.2f}, energy {c.features.energy:.2f}, "
                f"tempo {c.features.tempo:.0f}"
            )
        else:
            fit = f"popularity {c.popularity}"
        origin = f'Spotify search "{c.query}"' if c.source == "spotify" else "offline catalog"
        return Track(
            title=c.title,
            artist=c.artist,
            spotify_id=c.spotify_id,
            url=c.url,
            source=c.source,
            album=c.album,
            popularity=c.popularity,
            embed_url=embed_url(c.spotify_id),
            preview_url=c.preview_url,
            reason=f"{emotion} → {mood}; {origin}; {fit}",
        )


def _mood_centroids(catalog: Catalog) -> dict[str, tuple[float, float, float]]:
    out = {}
    for mood, tracks in catalog.by_mood.items():
        if tracks:
            out[mood] = (
                sum(t.valence for t in tracks) / len(tracks),
                sum(t.energy for t in tracks) / len(tracks),
                sum(t.tempo / 200.0 for t in tracks) / len(tracks),
            )
    return out


def _dedupe(candidates: list[_Candidate]) -> list[_Candidate]:
    """One entry per Spotify id, and per title and artist (the same song is often on several albums)."""
    seen_ids: set[str] = set()
    seen_names: set[tuple[str, str]] = set()
    out = []
    for c in candidates:
        name = (re.sub(r"\W+", " ", c.title.lower()).strip(), c.artist.lower().split(",")[0].strip())
        if c.spotify_id in seen_ids or name in seen_names:
            continue
        seen_ids.add(c.spotify_id)
        seen_names.add(name)
        out.append(c)
    return out
