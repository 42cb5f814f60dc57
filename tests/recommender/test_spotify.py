"""The Spotify provider against a stand-in Web API: a real HTTP server on loopback, spotipy pointed at it."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest

from moodstream.config import ConfigError, SpotifySettings, settings_from_dict
from moodstream.recommender.catalog import Catalog
from moodstream.recommender.spotify import SearchCache, SpotifyProvider
from moodstream.recommender.spotify_api import make_client
from moodstream.streams.bus import Bus
from tests.helpers import SpotifyStandIn, spotify_track, wait_for

CATALOG = Catalog.load()
HAPPY = CATALOG.by_mood["Happy"]
# Two tracks Spotify knows and the catalog does not, one it shares with the catalog.
NEW_A = spotify_track("1" * 22, "Brand New Day", "The Testers", popularity=95)
NEW_B = spotify_track("2" * 22, "Sunny Test", "Fixture Band", popularity=90)
SHARED = spotify_track(HAPPY[0].spotify_id, HAPPY[0].title, HAPPY[0].artist, popularity=HAPPY[0].popularity)


@pytest.fixture
def stand_in() -> Iterator[SpotifyStandIn]:
    server = SpotifyStandIn([NEW_A, SHARED, NEW_B])
    server.start()
    yield server
    server.stop()


class Clock:
    """The breaker's clock, stepped by the test: Retry-After and open circuits without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def provider(stand_in: SpotifyStandIn, bus: Bus, clock: Clock | None = None, **cfg) -> SpotifyProvider:
    settings = SpotifySettings(
        enabled=True,
        api_url=stand_in.api_url,
        token_url=stand_in.token_url,
        timeout_s=cfg.pop("timeout_s", 2.0),
        backoff_initial_s=cfg.pop("backoff_initial_s", 0.2),
        **cfg,
    )
    return SpotifyProvider(CATALOG, bus, settings, "uplift", environ=stand_in.env, clock=clock or Clock())


def settled(p: SpotifyProvider) -> bool:
    """Every search the provider asked for has been answered or skipped."""
    assert p.fetcher is not None
    return p.fetcher.idle()


def sources(tracks) -> list[str]:
    return [t.source for t in tracks]


def test_token_search_cache_and_merge(stand_in: SpotifyStandIn, bus: Bus) -> None:
    p = provider(stand_in, bus)
    first = p.suggest("Happy", "sad", 5, set())  # nothing cached yet: the catalog answers at once
    assert sources(first) == ["catalog"] * 5
    queries = p.queries("sad")  # uplift: sad -> Happy
    wait_for(lambda: len(stand_in.searches) == len(queries), 10, what="the searches")
    assert stand_in.token_requests == 1
    assert {s["q"] for s in stand_in.searches} == set(queries)
    assert all(s["type"] == "track" and s["market"] == "US" for s in stand_in.searches)
    wait_for(lambda: all(v is not None for v in p.cache.get_many(queries).values()), 10, what="the cache")

    tracks = p.suggest("Happy", "sad", 5, set())
    ids = [t.spotify_id for t in tracks]
    assert NEW_A["id"] in ids and NEW_B["id"] in ids
    assert len(ids) == len(set(ids))  # the shared track once, though both sources have it
    spotify = [t for t in tracks if t.source == "spotify"]
    for t in spotify:
        assert t.url == f"https://open.spotify.com/track/{t.spotify_id}"
        assert t.embed_url == f"https://open.spotify.com/embed/track/{t.spotify_id}"
        assert 'Spotify search "' in t.reason and "sad → Happy" in t.reason
    everything = p.suggest("Happy", "sad", 200, set())
    shared = [t for t in everything if t.spotify_id == SHARED["id"]]
    assert len(shared) == 1 and shared[0].source == "spotify"  # found by both: listed once
    assert "valence" in shared[0].reason  # the catalog's features score a track Spotify found
    assert len({t.spotify_id for t in everything}) == len(everything)

    # Cached: suggesting again asks Spotify nothing; recent tracks are not repeated.
    again = p.suggest("Happy", "sad", 5, set(ids))
    assert not set(ids) & {t.spotify_id for t in again}
    assert len(stand_in.searches) == len(queries)


def test_429_waits_for_retry_after(stand_in: SpotifyStandIn, bus: Bus) -> None:
    stand_in.replies = ["429:2", "ok"]
    clock = Clock()
    p = provider(stand_in, bus, clock)
    p.suggest("Happy", "sad", 5, set())
    wait_for(lambda: p.breaker.last_reason.startswith("rate limited"), 10, what="the 429")
    wait_for(lambda: settled(p), 10, what="the first searches to be answered or skipped")
    assert "retry after 2s" in p.breaker.last_reason
    assert p.breaker.state() == "waiting"
    asked = len(stand_in.searches)
    clock.now += 1.9
    for _ in range(5):
        skipped = p.fetcher.counters["skipped_while_open"]
        assert sources(p.suggest("Happy", "sad", 5, set())) == ["catalog"] * 5
        wait_for(lambda s=skipped: p.fetcher.counters["skipped_while_open"] > s, 10, what="a skipped search")
    assert len(stand_in.searches) == asked  # nothing sent before Retry-After ran out
    clock.now += 0.1
    wait_for(
        lambda: "spotify" in sources(p.suggest("Happy", "sad", 5, set())), 10, what="Spotify after the wait"
    )


def test_server_errors_back_off_then_open_the_circuit(stand_in: SpotifyStandIn, bus: Bus) -> None:
    stand_in.replies = ["500"]
    clock = Clock()
    p = provider(stand_in, bus, clock, failures_to_open=3, open_s=30.0)

    def fail_once_more() -> bool:
        assert sources(p.suggest("Calm", "angry", 3, set())) == ["catalog"] * 3
        wait_for(lambda: settled(p), 10, what="the searches to be answered")
        clock.now += 30.0  # past any backoff, so the next request is sent
        return p.breaker.state() == "open" or p.breaker.failures >= 3

    wait_for(fail_once_more, 30, what="the circuit to open")
    clock.now -= 30.0  # back to the moment it opened
    assert p.breaker.state() == "open" and p.breaker.failures == 3
    assert "HTTP 500" in p.breaker.last_reason
    asked = len(stand_in.searches)
    for _ in range(10):
        p.suggest("Calm", "angry", 3, set())
    wait_for(lambda: settled(p), 10, what="the requests to be skipped")
    assert p.fetcher.counters["skipped_while_open"] >= 1
    assert len(stand_in.searches) == asked  # open: no calls, and the pipeline never waited


def test_timeouts_count_as_failures(stand_in: SpotifyStandIn, bus: Bus) -> None:
    stand_in.replies = ["slow:2"]
    p = provider(stand_in, bus, timeout_s=0.3)
    started = time.monotonic()
    assert sources(p.suggest("Calm", "fear", 3, set())) == ["catalog"] * 3
    assert time.monotonic() - started < 0.2  # suggest never waits on Spotify
    wait_for(lambda: p.breaker.last_reason == "timed out", 10, what="the timeout")
    assert p.breaker.failures >= 1


@pytest.mark.parametrize(("reply", "logged"), [("malformed", "bad reply"), ("empty", "no tracks")])
def test_malformed_and_empty_replies_fall_back_with_a_reason(
    stand_in: SpotifyStandIn, bus: Bus, caplog: pytest.LogCaptureFixture, reply: str, logged: str
) -> None:
    stand_in.replies = [reply]
    p = provider(stand_in, bus)
    with caplog.at_level(logging.INFO, logger="moodstream.recommender.spotify"):
        p.suggest("Energetic", "surprise", 5, set())
        wait_for(lambda: logged in caplog.text, 10, what=f"the {reply} reply to be logged")
        wait_for(lambda: settled(p), 10, what="every search to be answered")
        assert sources(p.suggest("Energetic", "surprise", 5, set())) == ["catalog"] * 5
    assert "suggesting from the catalog" in caplog.text


def test_without_credentials_everything_comes_from_the_catalog(
    bus: Bus, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        p = SpotifyProvider(CATALOG, bus, SpotifySettings(enabled=True), "uplift", environ={})
    assert "SPOTIPY_CLIENT_ID" in caplog.text and p.fetcher is None
    assert sources(p.suggest("Sad", "disgust", 5, set())) == ["catalog"] * 5


def test_a_wrong_secret_is_a_failure_not_a_crash(stand_in: SpotifyStandIn, bus: Bus) -> None:
    cfg = SpotifySettings(enabled=True, api_url=stand_in.api_url, token_url=stand_in.token_url)
    client = make_client(cfg, stand_in.CLIENT_ID, "wrong-secret")
    p = SpotifyProvider(CATALOG, bus, cfg, "uplift", client=client)
    p.suggest("Happy", "happy", 5, set())
    wait_for(lambda: p.breaker.last_reason.startswith("token request failed"), 10, what="the token failure")


def test_query_tables_are_configurable_and_checked() -> None:
    s = settings_from_dict({"spotify": {"queries": {"match": {"sad": ["rainy day songs"]}}}})
    assert s.spotify.queries["match"]["sad"] == ["rainy day songs"]
    assert s.spotify.queries["uplift"]["sad"]  # the rest keeps its defaults
    with pytest.raises(ConfigError, match="unknown emotion"):
        settings_from_dict({"spotify": {"queries": {"match": {"bored": ["x"]}}}})
    with pytest.raises(ConfigError, match="http"):
        settings_from_dict({"spotify": {"api_url": "ftp://example"}})


def test_recommender_worker_process_suggests_spotify_tracks(
    stand_in: SpotifyStandIn, bus: Bus, tmp_path, redis_base_url: str, prefix: str
) -> None:
    """A real recommender process, configured by [spotify], credentials from its environment."""
    from moodstream.streams.schemas import EMOTIONS, EmotionEvent, RecommendationEvent
    from tests.helpers import CliProcess, write_config

    config = write_config(
        tmp_path / "moodstream.toml",
        {
            "redis": {"url": redis_base_url, "prefix": prefix},
            "runtime": {"dir": str(tmp_path / "run"), "heartbeat_s": 0.5},
            "recommender": {"cooldown_s": 0.0, "first_after_s": 0.0, "mood_window_s": 0.5, "no_repeat": 0},
            "spotify": {"enabled": True, "api_url": stand_in.api_url, "token_url": stand_in.token_url},
        },
    )
    worker = CliProcess(
        config, "worker", "recommender", log_dir=tmp_path, name="recommender", env=stand_in.env
    )

    def recommendations() -> list[RecommendationEvent]:
        return [RecommendationEvent.decode(e.payload) for e in bus.history(bus.keys.recommendations)]

    cfg = SpotifySettings(enabled=True, api_url=stand_in.api_url, token_url=stand_in.token_url)
    cache = SearchCache(bus, cfg)
    t0 = time.time()

    def feel(i: int, label: str) -> RecommendationEvent:
        """One emotion event (no cooldown, so a changed emotion is suggested for at once)."""
        probs = {e: (0.9 if e == label else 0.1 / 6) for e in EMOTIONS}
        bus.publish(
            bus.keys.emotions, EmotionEvent("lobby", t0 + i, 1, label, 0.9, probs, (0, 0, 10, 10), i).encode()
        )
        wait_for(lambda: len(recommendations()) == i + 1, 30, what=f"suggestion {i + 1}")
        return recommendations()[-1]

    try:
        feel(0, "sad")  # Spotify is asked in the background; this one need not wait for it
        queries = cfg.queries["uplift"]["sad"]
        wait_for(lambda: None not in cache.get_many(queries).values(), 30, what="the searches cached")
        feel(1, "happy")
        assert "spotify" in sources(feel(2, "sad").tracks)
        assert stand_in.token_requests >= 1 and stand_in.searches
    finally:
        worker.stop()
    assert "Traceback" not in worker.output(), worker.output()


def test_saving_a_suggestion_to_the_users_playlist(stand_in: SpotifyStandIn, bus: Bus, tmp_path) -> None:
    """The optional user sign-in: a cached user token, the user's own playlists, no duplicates."""
    import json

    from moodstream.recommender.playlist import SCOPES, save_suggestion, user_client
    from moodstream.streams.schemas import RecommendationEvent

    token = tmp_path / "token.json"
    token.write_text(
        json.dumps(
            {
                "access_token": stand_in.USER_TOKEN,
                "token_type": "Bearer",
                "expires_in": 3600,
                "expires_at": int(time.time()) + 3600,
                "refresh_token": "refresh",
                "scope": SCOPES,
            }
        )
    )
    cfg = SpotifySettings(enabled=True, api_url=stand_in.api_url, token_url=stand_in.token_url)
    env = {**stand_in.env, "SPOTIPY_REDIRECT_URI": "http://127.0.0.1:8888/callback"}
    sp = user_client(cfg, token, environ=env)
    tracks = SpotifyProvider(CATALOG, bus, cfg, "uplift", environ={}).suggest("Happy", "sad", 3, set())
    reco = RecommendationEvent("lobby", time.time(), "sad", "uplift", "Happy", tracks)
    playlist_id, added = save_suggestion(sp, reco)
    assert added == 3
    assert stand_in.playlists[playlist_id]["name"] == "moodstream suggestions"
    assert stand_in.playlists[playlist_id]["public"] is False
    assert save_suggestion(sp, reco) == (playlist_id, 0)  # found again, nothing added twice
    assert stand_in.playlists[playlist_id]["tracks"] == [t.spotify_id for t in tracks]
    with pytest.raises(ConfigError, match="SPOTIPY_REDIRECT_URI"):
        user_client(cfg, token, environ=stand_in.env)


def test_every_mood_is_fetched_at_start_and_refreshed_before_it_expires(
    stand_in: SpotifyStandIn, bus: Bus
) -> None:
    p = provider(stand_in, bus, clock=time.monotonic, cache_ttl_s=10)
    every = {q for qs in p.cfg.queries["uplift"].values() for q in qs}
    p.prefetch()
    wait_for(lambda: {s["q"] for s in stand_in.searches} == every and settled(p), 15, what="every search")
    first = p.suggest("Happy", "sad", 5, set())  # the camera's very first suggestion
    assert "spotify" in sources(first), "it already draws on Spotify"
    fetched = len(stand_in.searches)
    assert fetched == len(every)
    # Refreshed when a fifth of the 10 s life is left, before the cached results expire: never missing.
    wait_for(lambda: len(stand_in.searches) >= 2 * fetched, 20, interval=0.2, what="the refresh")
    assert all(v is not None for v in p.cache.get_many(sorted(every)).values())
