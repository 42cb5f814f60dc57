"""Typed settings: one model per TOML section, unknown keys rejected.

Settings come from a TOML file, then environment overrides of the form
``MOODSTREAM__SECTION__KEY=value`` (values parsed as TOML scalars, so ``true``
and ``12`` keep their types). A mistake in the file fails at start with the
offending key named, rather than half-way through a run.
"""

from __future__ import annotations

import contextlib
import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from moodstream.errors import UserError
from moodstream.streams.schemas.messages import EMOTIONS

ENV_PREFIX = "MOODSTREAM__"
DEFAULT_CONFIG = "moodstream.toml"
CAMERA_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class ConfigError(UserError):
    """Raised for a config file or override that cannot be used; the message names the key."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class RedisSettings(_Section):
    # Empty: redis://127.0.0.1:6379/0 if it answers, else an embedded server; "embedded" always embeds.
    url: str = ""
    prefix: str = Field(default="ms", pattern=r"^[A-Za-z0-9_.-]{1,32}$")
    socket_timeout_s: float = Field(default=5.0, gt=0, le=60)
    embedded_port: int = Field(default=0, ge=0, le=65535)
    # Used when the URL carries none; best set with $MOODSTREAM_REDIS_PASSWORD rather than in the file.
    password: str = ""
    # The URL is any node of a Redis Cluster (redis-py's RedisCluster finds the rest).
    cluster: bool = False

    @model_validator(mode="after")
    def _cluster_needs_a_node(self) -> RedisSettings:
        if self.cluster and self.url in ("", "embedded"):
            raise ValueError(
                "cluster = true needs url: any node of the cluster, e.g. redis://10.0.0.5:7000/0"
            )
        return self


class CameraSettings(_Section):
    id: str
    # A video file path, a webcam index ("0"), an rtsp:// / http(s):// URL, or a .msrec recording.
    source: str
    # Frames per second to publish; 0 means the source's own rate (files) or as fast as it delivers.
    fps: float = Field(default=0.0, ge=0, le=240)
    loop: bool = False
    # Ask the detector to process every frame (files and recordings only); live sources drop stale frames.
    every_frame: bool = False
    # Longest side of the published frame in pixels; larger frames are downscaled at capture.
    max_width: int = Field(default=1280, ge=64, le=7680)
    jpeg_quality: int = Field(default=80, ge=10, le=100)

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not CAMERA_ID_RE.match(value):
            raise ValueError("camera id must be 1-64 letters, digits, '_' or '-'")
        return value


class CaptureSettings(_Section):
    reconnect_initial_s: float = Field(default=0.5, gt=0)
    reconnect_max_s: float = Field(default=15.0, gt=0)


class DetectorSettings(_Section):
    instances: int = Field(default=1, ge=0, le=64)
    # Haar detection runs on a frame downscaled to this width; boxes are mapped back to full resolution.
    detect_width: int = Field(default=320, ge=80, le=4096)
    scale_factor: float = Field(default=1.25, gt=1.0, le=2.0)
    min_neighbors: int = Field(default=5, ge=1, le=20)
    # Smallest face considered, as a fraction of the detection frame's width.
    min_face_frac: float = Field(default=0.08, gt=0, lt=1)
    # Live frames older than this are skipped in favour of newer ones.
    max_frame_age_ms: int = Field(default=500, ge=10, le=60_000)
    max_faces: int = Field(default=16, ge=1, le=256)
    batch: int = Field(default=8, ge=1, le=256)
    # Scan a camera's frames in full every this many (by seq); in between, only around the faces last
    # found. 1: every frame in full. A new face is found at the latest at the next full scan.
    full_scan_every: int = Field(default=8, ge=1, le=100)
    # How far around a known face a region search looks, as a fraction of the face's size on each side.
    region_margin: float = Field(default=0.5, ge=0.1, le=3.0)
    # Between full scans, a camera with no known face is scanned in full only when its frame differs from
    # the last fully scanned one by this much (mean absolute difference, 0-255, of a 32x18 thumbnail). 0: always.
    motion_threshold: float = Field(default=3.0, ge=0, le=255)


class ClassifierSettings(_Section):
    instances: int = Field(default=1, ge=0, le=64)
    max_batch: int = Field(default=32, ge=1, le=1024)
    max_wait_ms: int = Field(default=20, ge=0, le=10_000)
    # A model folder path, or the name of a folder under models/ or the asset cache.
    model: str = "fer-vgg32"
    # Live detections older than this are skipped (catching up after a stall beats classifying the past).
    max_age_ms: int = Field(default=2000, ge=10, le=600_000)
    # "auto" uses a GPU when the backend sees one.
    device: Literal["auto", "cpu", "gpu"] = "auto"
    # "auto": the model's TFLite file (int8, ~4x faster on a CPU) when it runs on the CPU, else Keras.
    runtime: Literal["auto", "keras", "tflite"] = "auto"


class SmootherSettings(_Section):
    instances: int = Field(default=1, ge=0, le=64)
    window: int = Field(default=10, ge=1, le=256)
    min_confidence: float = Field(default=0.4, ge=0, le=1)
    ema_alpha: float = Field(default=0.3, gt=0, le=1)
    # A new label must beat the current one's smoothed probability by this margin.
    hysteresis: float = Field(default=0.1, ge=0, le=1)
    iou_match: float = Field(default=0.3, gt=0, le=1)
    track_ttl_s: float = Field(default=2.0, gt=0, le=600)
    emit_interval_s: float = Field(default=1.0, gt=0, le=600)


class RecommenderSettings(_Section):
    instances: int = Field(default=1, ge=0, le=64)
    strategy: Literal["uplift", "match"] = "uplift"
    tracks: int = Field(default=5, ge=1, le=50)
    # The camera's emotion must hold this long before its suggestion changes.
    cooldown_s: float = Field(default=5.0, ge=0, le=3600)
    # Tracks suggested to a camera are not repeated within this many suggestions.
    no_repeat: int = Field(default=3, ge=0, le=100)
    catalog: str = ""  # empty: the catalog shipped with moodstream
    provider: Literal["catalog", "spotify"] = "catalog"


# The classifier's seven classes, as schemas says them (a tuple subscript makes a Literal of each).
Emotion = Literal[EMOTIONS]  # type: ignore[valid-type]


class AlertRule(_Section):
    """One `[[alerts]]` rule: fire when a face on a camera shows one of `emotions` at `min_confidence` or
    more for `for_s` seconds, then stay quiet on that camera for `cooldown_s`."""

    name: str = Field(default="", pattern=r"^[A-Za-z0-9_.-]{0,64}$")  # empty: made from the emotions
    cameras: Literal["*"] | list[str] = "*"
    emotions: list[Emotion] = Field(min_length=1)
    min_confidence: float = Field(default=0.5, ge=0, le=1)
    for_s: float = Field(default=10.0, ge=0, le=24 * 3600)
    cooldown_s: float = Field(default=300.0, ge=0, le=7 * 24 * 3600)
    # Where each firing is POSTed as JSON. It may hold a secret: better name an environment variable
    # that holds it (webhook_url_env); it is never logged or shown.
    webhook_url: str = ""
    webhook_url_env: str = Field(default="", pattern=r"^([A-Za-z_][A-Za-z0-9_]*)?$")

    @model_validator(mode="after")
    def _defaults(self) -> AlertRule:
        if not self.name:
            self.name = "-".join(self.emotions) + f"-{self.for_s:g}s"
        if isinstance(self.cameras, list):
            bad = [c for c in self.cameras if not CAMERA_ID_RE.match(c)]
            if bad:
                raise ValueError(f"bad camera id(s) {bad}: letters, digits, '_' and '-', at most 64")
        if self.webhook_url and not self.webhook_url.startswith(("http://", "https://")):
            raise ValueError("webhook_url must be an http:// or https:// URL")
        return self

    def applies_to(self, camera: str) -> bool:
        return self.cameras == "*" or camera in self.cameras

    def webhook(self) -> str:
        """The URL firings are POSTed to ("" for none), from the environment where it is named there."""
        return os.environ.get(self.webhook_url_env, "") if self.webhook_url_env else self.webhook_url


class WebhookSettings(_Section):
    # Each POST's timeout, and how many tries before an alert's delivery is given up (and logged).
    timeout_s: float = Field(default=5.0, gt=0, le=120)
    attempts: int = Field(default=5, ge=1, le=100)
    backoff_s: float = Field(default=1.0, gt=0, le=300)  # doubles after each failure, up to 60 s


class StreamSettings(_Section):
    # Approximate MAXLEN per stream, so no stream grows without bound.
    frames_maxlen: int = Field(default=600, ge=10)
    events_maxlen: int = Field(default=20_000, ge=10)
    dead_maxlen: int = Field(default=10_000, ge=10)
    # Buckets (10 s each) kept per camera in its timeline stream, for the dashboard's 1 h and 24 h
    # views: the default keeps three days.
    timeline_maxlen: int = Field(default=25_920, ge=10)
    # A dead letter keeps this much of the message (whole, and replayable, when it fits).
    dead_payload_bytes: int = Field(default=4096, ge=0, le=16 * 1024 * 1024)
    max_frame_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    max_frame_pixels: int = Field(default=4096 * 4096, ge=64 * 64)
    # Pending entries idle this long are taken over from their (presumably dead) consumer.
    claim_idle_ms: int = Field(default=10_000, ge=100)
    max_deliveries: int = Field(default=5, ge=1)
    # Every stream is split into this many partitions (a camera's is CRC-32 of its id mod N), each under
    # its own Redis Cluster hash tag: partitions spread a deployment over a cluster's shards.
    partitions: int = Field(default=1, ge=1, le=1024)
    # The partitions this host's consuming workers read; empty: all (`moodstream worker --partitions`).
    read_partitions: list[int] = []

    @model_validator(mode="after")
    def _owned(self) -> StreamSettings:
        bad = [p for p in self.read_partitions if not 0 <= p < self.partitions]
        if bad:
            raise ValueError(f"read_partitions {bad} out of range: partitions run 0..{self.partitions - 1}")
        return self

    def owned(self) -> list[int]:
        return sorted(set(self.read_partitions)) or list(range(self.partitions))


class RuntimeSettings(_Section):
    # Empty: derived from the config file, so two configs in one folder never share supervisord, logs or
    # the token: .moodstream beside moodstream.toml, .moodstream-<name> beside <name>.toml.
    dir: str = ""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    heartbeat_s: float = Field(default=2.0, gt=0, le=60)
    # A loop (a worker's, the dashboard's bridge, frames and stats) that has not completed a pass this long
    # is stalled: its heartbeat says so, and the dashboard's /healthz answers 503.
    loop_stall_s: float = Field(default=10.0, ge=1, le=600)
    # A local file each worker rewrites on every heartbeat and every failed attempt to reach Redis, for
    # `moodstream health` (a container's readiness and liveness probe). Empty: none is written.
    health_file: str = ""


class DashboardSettings(_Section):
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=8050, ge=0, le=65535)
    # Required (16+ characters) when host is not a loopback address; best set with $MOODSTREAM_DASHBOARD_TOKEN.
    token: str = ""
    # Several dashboard processes share events through a Socket.IO message queue: "" (one process),
    # "redis" (the pipeline's Redis), or a redis:// URL.
    message_queue: str = ""
    # The most video frames per second sent to a client for one camera.
    max_fps: float = Field(default=10.0, gt=0, le=30)
    # What the timeline endpoint returns by default; the page opens each tile on the shortest of its
    # ranges (5 min, 1 h, 24 h) that covers it.
    timeline_s: int = Field(default=300, ge=10, le=24 * 3600)
    stats_interval_s: float = Field(default=2.0, ge=0.2, le=60)
    # A frame not acknowledged by the client within this time no longer holds back the next one.
    frame_ack_timeout_s: float = Field(default=5.0, gt=0, le=120)
    # The most missed events a feed client that resubscribes with `since` gets replayed (older: `gap`).
    resume_max: int = Field(default=1000, ge=0, le=100_000)
    # Browser origins other than the dashboard's own allowed to open the feed (e.g. "https://app.example").
    cors_origins: list[str] = []
    # Niceness under `moodstream up`: on a busy host the pipeline comes before the viewers.
    nice: int = Field(default=10, ge=0, le=19)
    # "idle": run the dashboard in Linux's SCHED_IDLE class under `moodstream up`, so it only ever gets CPU
    # the pipeline leaves unused (viewers then see fewer frames on a saturated host, never the reverse).
    scheduling: Literal["nice", "idle"] = "nice"

    def priority_prefix(self) -> list[str]:
        """The command prefix that gives the dashboard its CPU priority."""
        if self.scheduling == "idle":
            return ["chrt", "--idle", "0"]
        return ["nice", "-n", str(self.nice)] if self.nice else []


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


class SpotifySettings(_Section):
    enabled: bool = False
    api_url: str = "https://api.spotify.com/v1/"
    token_url: str = "https://accounts.spotify.com/api/token"
    market: str = Field(default="US", pattern=r"^[A-Z]{2}$")
    timeout_s: float = Field(default=3.0, gt=0, le=60)
    search_limit: int = Field(default=20, ge=1, le=50)
    cache_ttl_s: int = Field(default=6 * 3600, ge=10)
    # Consecutive failures (5xx, timeouts, bad replies) before the circuit opens, and how long it stays open.
    failures_to_open: int = Field(default=3, ge=1, le=100)
    open_s: float = Field(default=60.0, gt=0)
    backoff_initial_s: float = Field(default=1.0, gt=0)
    backoff_max_s: float = Field(default=30.0, gt=0)
    queries: dict[str, dict[str, list[str]]] = Field(default_factory=lambda: DEFAULT_SPOTIFY_QUERIES)

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


class Settings(_Section):
    redis: RedisSettings = RedisSettings()
    cameras: list[CameraSettings] = []
    capture: CaptureSettings = CaptureSettings()
    detector: DetectorSettings = DetectorSettings()
    classifier: ClassifierSettings = ClassifierSettings()
    smoother: SmootherSettings = SmootherSettings()
    recommender: RecommenderSettings = RecommenderSettings()
    streams: StreamSettings = StreamSettings()
    runtime: RuntimeSettings = RuntimeSettings()
    dashboard: DashboardSettings = DashboardSettings()
    spotify: SpotifySettings = SpotifySettings()
    alerts: list[AlertRule] = []
    webhook: WebhookSettings = WebhookSettings()
    # Where the settings came from, for messages and for relative paths.
    source_path: str | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _unique_cameras(self) -> Settings:
        seen: set[str] = set()
        for camera in self.cameras:
            if camera.id in seen:
                raise ValueError(f"camera id {camera.id!r} appears twice")
            seen.add(camera.id)
        names = [rule.name for rule in self.alerts]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"alert rule name(s) {twice} appear twice: give each rule its own name")
        return self

    def run_path(self) -> Path:
        """The run folder of ``up``: ``[runtime] dir``, else one derived from the config file's name."""
        if self.runtime.dir:
            return self.resolve_path(self.runtime.dir)
        stem = Path(self.source_path).stem if self.source_path else "moodstream"
        return self.resolve_path(".moodstream" if stem == "moodstream" else f".moodstream-{stem}")

    def secrets(self) -> list[str]:
        """Values that must never be shown: the dashboard token, the Redis password, Spotify's secret."""
        from urllib.parse import urlsplit

        values = [self.dashboard.token, self.redis.password, os.environ.get("SPOTIPY_CLIENT_SECRET", "")]
        values += [rule.webhook() for rule in self.alerts]  # a webhook URL often carries its own token
        with contextlib.suppress(ValueError):
            values.append(urlsplit(self.redis.url).password or "")
        return [v for v in values if v]

    def redacted_dump(self) -> dict[str, Any]:
        """The settings as ``moodstream config`` prints them: secrets and camera credentials as ``***``."""
        from moodstream.runtime.redact import MASK, redact

        data = self.model_dump()
        for section, key in (("dashboard", "token"), ("redis", "password")):
            if data[section][key]:
                data[section][key] = MASK
        data["redis"]["url"] = redact(data["redis"]["url"])
        for camera in data["cameras"]:
            camera["source"] = redact(camera["source"])
        for rule in data["alerts"]:
            if rule["webhook_url"]:
                rule["webhook_url"] = MASK
        return data

    def camera(self, camera_id: str) -> CameraSettings:
        for camera in self.cameras:
            if camera.id == camera_id:
                return camera
        raise ConfigError(f"no camera {camera_id!r} in config (cameras: {[c.id for c in self.cameras]})")

    def resolve_path(self, value: str) -> Path:
        """Relative paths in a config file are relative to that file, as users expect."""
        path = Path(value).expanduser()
        if path.is_absolute() or self.source_path is None:
            return path
        return Path(self.source_path).resolve().parent / path


def _format_error(exc: ValidationError, origin: str) -> str:
    lines = [f"invalid config ({origin}):"]
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            lines.append(f"  {key}: unknown key")
        else:
            lines.append(f"  {key}: {err['msg']}")
    return "\n".join(lines)


def _parse_env_value(raw: str) -> Any:
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def apply_env_overrides(data: dict[str, Any], environ: dict[str, str]) -> dict[str, Any]:
    """``MOODSTREAM__CLASSIFIER__MAX_BATCH=64`` sets ``[classifier] max_batch``."""
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        parts = [p.lower() for p in name[len(ENV_PREFIX) :].split("__") if p]
        if len(parts) != 2:
            raise ConfigError(f"environment override {name}: expected MOODSTREAM__SECTION__KEY")
        section, key = parts
        if section in ("cameras", "alerts"):
            raise ConfigError(f"environment override {name}: {section} are set in the config file")
        target = data.setdefault(section, {})
        if not isinstance(target, dict):
            raise ConfigError(f"environment override {name}: [{section}] is not a section")
        target[key] = _parse_env_value(raw)
    # Secrets that have well-known variables of their own.
    token = environ.get("MOODSTREAM_DASHBOARD_TOKEN")
    if token:
        data.setdefault("dashboard", {})["token"] = token
    url = environ.get("MOODSTREAM_REDIS_URL")
    if url:
        data.setdefault("redis", {})["url"] = url
    password = environ.get("MOODSTREAM_REDIS_PASSWORD")
    if password:
        data.setdefault("redis", {})["password"] = password
    return data


def config_path(explicit: str | None = None, environ: dict[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    return Path(explicit or env.get("MOODSTREAM_CONFIG") or DEFAULT_CONFIG)


def load_settings(
    path: str | Path | None = None,
    environ: dict[str, str] | None = None,
    *,
    required: bool = False,
) -> Settings:
    """Load settings from a TOML file plus environment overrides.

    A missing default file is fine (everything has a default); a missing file
    that was named explicitly is an error.
    """
    env = dict(os.environ if environ is None else environ)
    file = config_path(str(path) if path else None, env)
    data: dict[str, Any] = {}
    origin = "defaults"
    if file.exists():
        origin = str(file)
        try:
            data = tomllib.loads(file.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"invalid config ({file}): {exc}") from exc
    elif required or path is not None or "MOODSTREAM_CONFIG" in env:
        raise ConfigError(f"config file not found: {file}")
    data = apply_env_overrides(data, env)
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_error(exc, origin)) from exc
    settings.source_path = str(file) if file.exists() else None
    _register_secrets(settings)
    return settings


def _register_secrets(settings: Settings) -> None:
    from moodstream.runtime.redact import register_secret

    for value in settings.secrets():
        register_secret(value)


def settings_from_dict(data: dict[str, Any]) -> Settings:
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_error(exc, "dict")) from exc
    _register_secrets(settings)
    return settings
