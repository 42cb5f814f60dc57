"""Every Redis stream and key name moodstream uses, in one place.

All names hang off a configurable prefix, so several deployments (or test
runs) can share one Redis server without touching each other's data.
"""

from __future__ import annotations

from dataclasses import dataclass

STAGES = ("capture", "detector", "classifier", "smoother", "recommender")


@dataclass(frozen=True)
class Keys:
    prefix: str = "ms"

    # Pipeline streams, in order. Each is read by one consumer group named after the reading stage.
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

    def input_stream(self, stage: str) -> str:
        return {
            "detector": self.frames,
            "classifier": self.detections,
            "smoother": self.classified,
            "recommender": self.emotions,
        }[stage]

    def output_stream(self, stage: str) -> str:
        return {
            "capture": self.frames,
            "detector": self.detections,
            "classifier": self.classified,
            "smoother": self.emotions,
            "recommender": self.recommendations,
        }[stage]

    @staticmethod
    def group(stage: str) -> str:
        return stage

    def pipeline_streams(self) -> list[str]:
        return [self.frames, self.detections, self.classified, self.emotions, self.recommendations]

    # Worker liveness: one key per worker, expiring when heartbeats stop.
    def heartbeat(self, stage: str, worker: str) -> str:
        return f"{self.prefix}:hb:{stage}:{worker}"

    def heartbeat_pattern(self, stage: str = "*") -> str:
        return f"{self.prefix}:hb:{stage}:*"

    # Per-camera state of stateful stages, so any instance can pick a camera up after a restart.
    def state(self, stage: str, camera: str) -> str:
        return f"{self.prefix}:state:{stage}:{camera}"

    def lock(self, stage: str, camera: str) -> str:
        return f"{self.prefix}:lock:{stage}:{camera}"

    def latest_recommendation(self, camera: str) -> str:
        return f"{self.prefix}:reco:{camera}"

    def latest_frame(self, camera: str) -> str:
        return f"{self.prefix}:frame:{camera}"

    def overlay(self, camera: str) -> str:
        """The smoother's current face boxes and labels for a camera, drawn over the dashboard's video."""
        return f"{self.prefix}:overlay:{camera}"

    def dashboard_lease(self) -> str:
        """Held by the one dashboard process that bridges streams into a shared Socket.IO message queue."""
        return f"{self.prefix}:lock:dashboard:bridge"

    def dashboard_cursor(self) -> str:
        """Where the bridging dashboard got to in the public streams, so a successor resumes there."""
        return f"{self.prefix}:state:dashboard:bridge"

    def cameras(self) -> str:
        """Hash: camera id -> msgpack of its capture status, written by capture workers."""
        return f"{self.prefix}:cameras"

    def all_pattern(self) -> str:
        return f"{self.prefix}:*"
