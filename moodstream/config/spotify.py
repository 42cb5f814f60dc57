"""The ``[spotify]`` section: music from Spotify's live catalogue, merged with the offline catalog."""

from __future__ import annotations

from pydantic import Field, field_validator

from moodstream.config.base import Section

# Search keywords per strategy and emotion: Spotify's search is what the Web API still gives new apps.
DEFAULT_SPOTIFY_QUERIES: dict[str, dict[str, list[str]]] = {
    "uplift": {
        "angry": ["calm acoustic", "chill piano"],
        "disgust": ["sad songs", "melancholy acoustic"],
        "fear": ["calm ambient", "soothing acoustic"],
        "happy": ["happy hits", "feel good pop"],
        "sad": ["happy upbeat", "feel good classics"],
        "surprise": ["energetic dance", "workout hits"],
        "neutral": ["energetic pop", "upbeat indie"],
    },
    "match": {
        "angry": ["energetic rock", "intense workout"],
        "disgust": ["sad songs", "melancholy acoustic"],
        "fear": ["calm ambient", "soothing acoustic"],
        "happy": ["happy hits", "feel good pop"],
        "sad": ["sad songs", "heartbreak ballads"],
        "surprise": ["energetic dance", "workout hits"],
        "neutral": ["calm acoustic", "chill lofi"],
    },
}


class SpotifySettings(Section):
    """Music from Spotify's live catalogue, merged with the offline catalog: [spotify.md](spotify.md).
    Credentials come from the environment only: `SPOTIPY_CLIENT_ID`, `SPOTIPY_CLIENT_SECRET`.
    """

    enabled: bool = Field(
        default=False,
        description='use Spotify search results (the same as `[recommender] provider = "spotify"`); without credentials the catalog answers alone',
    )
    api_url: str = Field(
        default="https://api.spotify.com/v1/",
        description="Web API base URL (point it at a proxy or a stand-in)",
    )
    token_url: str = Field(
        default="https://accounts.spotify.com/api/token", description="client-credentials token endpoint"
    )
    market: str = Field(default="US", pattern=r"^[A-Z]{2}$", description="search market (ISO 3166-1 alpha-2)")
    timeout_s: float = Field(
        default=3.0, gt=0, le=60, description="timeout of each Spotify request (made off the pipeline's path)"
    )
    search_limit: int = Field(default=20, ge=1, le=50, description="tracks asked for per search phrase")
    cache_ttl_s: int = Field(
        default=6 * 3600,
        ge=10,
        description="how long search results are cached in Redis (empty results: 5 minutes)",
    )
    failures_to_open: int = Field(
        default=3,
        ge=1,
        le=100,
        description="consecutive failures (5xx, timeouts, bad replies) that open the circuit",
    )
    open_s: float = Field(default=60.0, gt=0, description="how long an open circuit makes no calls")
    backoff_initial_s: float = Field(
        default=1.0, gt=0, description="first wait after a failure, doubled each time"
    )
    backoff_max_s: float = Field(
        default=30.0, gt=0, description="longest wait between failures before the circuit opens"
    )
    queries: dict[str, dict[str, list[str]]] = Field(
        default_factory=lambda: DEFAULT_SPOTIFY_QUERIES,
        description='search phrases per strategy and emotion, e.g. `[spotify.queries.uplift] sad = ["happy upbeat"]`',
    )

    @field_validator("api_url", "token_url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value

    @field_validator("queries")
    @classmethod
    def _queries(cls, value: dict[str, dict[str, list[str]]]) -> dict[str, dict[str, list[str]]]:
        from moodstream.streams.schemas import EMOTIONS

        merged = {k: dict(v) for k, v in DEFAULT_SPOTIFY_QUERIES.items()}
        for strategy, table in value.items():
            if strategy not in merged:
                raise ValueError(f"unknown strategy {strategy!r} (uplift or match)")
            for emotion, words in table.items():
                if emotion not in EMOTIONS:
                    raise ValueError(f"unknown emotion {emotion!r} under {strategy}")
                if not words or not all(isinstance(w, str) and w.strip() for w in words):
                    raise ValueError(f"{strategy}.{emotion}: give one or more search phrases")
                merged[strategy][emotion] = list(words)
        return merged
