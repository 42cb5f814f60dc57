"""Every Redis stream and key name moodstream uses, in one place.

All names hang off a configurable prefix, so several deployments (or test
runs) can share one Redis server without touching each other's data. Which
stage reads and writes which stream is the stage registry's (stages.py);
which process writes and reads each key, and in what format, is the
contracts table in docs/architecture.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from .stages import stage as stage_def

# The pipeline's streams, in order, and the dead letters: the names stages.py uses.
STREAMS = ("frames", "detections", "classified", "emotions", "recommendations", "dead")


@dataclass(frozen=True)
class Keys:
    prefix: str = "ms"

    # ----- streams ---------------------------------------------------------------------------------
    @property
    def frames(self) -> str:
        return f"{self.prefix}:frames"

    @property
    def detections(self) -> str:
        return f"{self.prefix}:detections"

    @property
    def classified(self) -> str:
        return f"{self.prefix}:classified"

    @property
    def emotions(self) -> str:
        """Public: smoothed emotion events (read by the recommender group, watch and the dashboard)."""
        return f"{self.prefix}:events:emotion"

    @property
    def recommendations(self) -> str:
        """Public: recommendation events."""
        return f"{self.prefix}:events:recommendation"

    @property
    def dead(self) -> str:
        return f"{self.prefix}:dead"

    def stream(self, name: str) -> str:
        if name not in STREAMS:
            raise ValueError(f"unknown stream {name!r}")
        return getattr(self, name)

    def input_stream(self, stage: str) -> str:
        reads = stage_def(stage).reads
        if reads is None:
            raise ValueError(f"stage {stage!r} reads no stream")
        return self.stream(reads)

    def output_stream(self, stage: str) -> str:
        return self.stream(stage_def(stage).writes)

    # ----- worker liveness: one key per worker, expiring when its heartbeats stop -------------------
    def heartbeat(self, stage: str, worker: str) -> str:
        return f"{self.prefix}:hb:{stage}:{worker}"

    def heartbeat_pattern(self, stage: str = "*") -> str:
        return f"{self.prefix}:hb:{stage}:*"

    # ----- per-camera state of stateful stages, so any instance can pick a camera up ----------------
    def state(self, stage: str, camera: str) -> str:
        return f"{self.prefix}:state:{stage}:{camera}"

    def capture_cursor(self, camera: str) -> str:
        """The seq of the next frame a camera that must not lose frames will publish, moved with each frame."""
        return f"{self.prefix}:state:capture:{camera}:next"

    def detector_tracks(self, camera: str) -> str:
        """Where the detector last found a camera's faces (a hash: ``seq``, and the state ``d``)."""
        return f"{self.prefix}:tracks:{camera}"

    def lock(self, stage: str, camera: str) -> str:
        return f"{self.prefix}:lock:{stage}:{camera}"

    # ----- what the dashboard shows ------------------------------------------------------------------
    def latest_frame(self, camera: str) -> str:
        """A camera's newest frame, overwritten by its capture worker (short TTL)."""
        return f"{self.prefix}:frame:{camera}"

    def overlay(self, camera: str) -> str:
        """The smoother's current face boxes and labels for a camera, drawn over the dashboard's video."""
        return f"{self.prefix}:overlay:{camera}"

    def latest_recommendation(self, camera: str) -> str:
        return f"{self.prefix}:reco:{camera}"

    def dashboard_lease(self) -> str:
        """Held by the one dashboard process that bridges streams into a shared Socket.IO message queue."""
        return f"{self.prefix}:lock:dashboard:bridge"

    def dashboard_cursor(self) -> str:
        """Where the bridging dashboard got to in the public streams, so a successor resumes there."""
        return f"{self.prefix}:state:dashboard:bridge"

    def dashboard_channel(self) -> str:
        """The pub/sub channel of the dashboards' shared Socket.IO message queue (Flask-SocketIO's)."""
        return f"{self.prefix}-dashboard"

    # ----- caches ------------------------------------------------------------------------------------
    def spotify_search(self, digest: str) -> str:
        """Cached results of one Spotify search (market, limit and phrase hashed into ``digest``)."""
        return f"{self.prefix}:spotify:search:{digest}"

    def all_pattern(self) -> str:
        return f"{self.prefix}:*"
