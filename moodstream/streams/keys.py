"""Every Redis stream and key name moodstream uses, in one place.

All names hang off a configurable prefix, so several deployments (or test
runs) can share one Redis server without touching each other's data. Streams
and per-camera keys also carry their partition's Redis Cluster hash tag
(``ms:{p3}:frames``, ``ms:{p3}:state:smoother:<camera>``): a camera's messages
and state live in one slot, and partitions spread over a cluster's shards. Which
stage reads and writes which stream is the stage registry's (stages.py);
which process writes and reads each key, and in what format, is the
contracts table in docs/architecture.md.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from moodstream.streams.stages import stage_named

# The pipeline's streams, in order, and the dead letters: the names stages.py uses, and each its key's
# last part (``ms:{p0}:emotions``).
STREAMS = ("frames", "detections", "classified", "emotions", "recommendations", "alerts", "dead")


def partition_of(camera: str, partitions: int) -> int:
    """A camera's partition: CRC-32 of its id (UTF-8) modulo the partition count. Stable across hosts,
    processes and Python versions (``hash()`` is salted per process), and documented in docs/scaling.md."""
    return zlib.crc32(camera.encode()) % partitions if partitions > 1 else 0


_TAGGED = re.compile(r"\{p(\d+)\}")


@dataclass(frozen=True)
class Keys:
    prefix: str = "ms"
    partitions: int = 1

    # ----- streams: one per pipeline stream and partition, under the partition's hash tag -----------
    def tag(self, partition: int) -> str:
        """The partition's key prefix. Its ``{pN}`` is a Redis Cluster hash tag: every stream and
        per-camera key of the partition lands in one slot, so a stage's publish-and-ack (and its state
        commit) stays one atomic command or transaction there."""
        if not 0 <= partition < self.partitions:
            raise ValueError(f"partition {partition} out of range (partitions: {self.partitions})")
        return f"{self.prefix}:{{p{partition}}}"

    def stream(self, name: str, partition: int = 0) -> str:
        if name not in STREAMS:
            raise ValueError(f"unknown stream {name!r}")
        return f"{self.tag(partition)}:{name}"

    def streams(self, name: str, partitions: Sequence[int] | None = None) -> list[str]:
        """The stream in each of ``partitions`` (default: all)."""
        return [self.stream(name, p) for p in (range(self.partitions) if partitions is None else partitions)]

    def partition_of(self, camera: str) -> int:
        return partition_of(camera, self.partitions)

    def camera_stream(self, name: str, camera: str) -> str:
        """The stream of ``name`` that carries ``camera``'s messages."""
        return self.stream(name, self.partition_of(camera))

    def partition_of_key(self, key: str) -> int:
        """The partition a stream or per-camera key belongs to (its hash tag)."""
        found = _TAGGED.search(key)
        if found is None:
            raise ValueError(f"{key!r} carries no partition tag")
        return int(found.group(1))

    def stream_name(self, stream: str) -> str:
        """Which pipeline stream ``stream`` is (``frames``, ``emotions``...), whatever its partition."""
        name = stream.rpartition("}:")[2]
        if name in STREAMS:
            return name
        raise ValueError(f"{stream!r} is not one of this deployment's streams")

    # Partition 0's streams: with one partition (the default), the streams.
    @property
    def frames(self) -> str:
        return self.stream("frames")

    @property
    def detections(self) -> str:
        return self.stream("detections")

    @property
    def classified(self) -> str:
        return self.stream("classified")

    @property
    def emotions(self) -> str:
        """Public: smoothed emotion events (read by the recommender group, watch and the dashboard)."""
        return self.stream("emotions")

    @property
    def recommendations(self) -> str:
        """Public: recommendation events."""
        return self.stream("recommendations")

    @property
    def alerts(self) -> str:
        """Public: alert events, published by the alerter when an `[[alerts]]` rule fires."""
        return self.stream("alerts")

    @property
    def dead(self) -> str:
        return self.stream("dead")

    def input_streams(self, stage: str, partitions: Sequence[int] | None = None) -> list[str]:
        reads = stage_named(stage).reads
        if reads is None:
            raise ValueError(f"stage {stage!r} reads no stream")
        return self.streams(reads, partitions)

    def output_stream(self, stage: str, partition: int = 0) -> str:
        return self.stream(stage_named(stage).writes, partition)

    def _camera(self, camera: str) -> str:
        return self.tag(self.partition_of(camera))

    # ----- worker liveness: one key per worker, expiring when its heartbeats stop -------------------
    def heartbeat(self, stage: str, worker: str) -> str:
        return f"{self.prefix}:hb:{stage}:{worker}"

    def heartbeat_pattern(self, stage: str = "*") -> str:
        return f"{self.prefix}:hb:{stage}:*"

    # ----- per-camera state of stateful stages, so any instance can pick a camera up ----------------
    def state(self, stage: str, camera: str) -> str:
        return f"{self._camera(camera)}:state:{stage}:{camera}"

    def capture_cursor(self, camera: str) -> str:
        """The seq of the next frame a camera that must not lose frames will publish, moved with each frame."""
        return f"{self._camera(camera)}:state:capture:{camera}:next"

    def detector_tracks(self, camera: str) -> str:
        """Where the detector last found a camera's faces (a hash: ``seq``, and the state ``d``)."""
        return f"{self._camera(camera)}:tracks:{camera}"

    def lock(self, stage: str, camera: str) -> str:
        return f"{self._camera(camera)}:lock:{stage}:{camera}"

    # ----- what the dashboard shows ------------------------------------------------------------------
    def latest_frame(self, camera: str) -> str:
        """A camera's newest frame as viewers may see it (short TTL): written by its capture worker, or,
        for a camera whose faces are blurred or areas masked, by the detector (viewable.py)."""
        return f"{self._camera(camera)}:frame:{camera}"

    def watched(self, camera: str) -> str:
        """Set (short TTL) by the dashboard while someone watches a camera's video: the detector then
        writes the viewers' frame of a camera whose faces or masked areas must not leave raw."""
        return f"{self._camera(camera)}:watched:{camera}"

    def overlay(self, camera: str) -> str:
        """The smoother's current face boxes and labels for a camera, drawn over the dashboard's video."""
        return f"{self._camera(camera)}:overlay:{camera}"

    def latest_recommendation(self, camera: str) -> str:
        return f"{self._camera(camera)}:reco:{camera}"

    def timeline(self, camera: str) -> str:
        """A camera's emotion history in ROLLUP_S-second buckets (a stream of TimelineBucket), kept for
        days where the emotion streams keep minutes; the recommender writes it."""
        return f"{self._camera(camera)}:timeline:{camera}"

    def timeline_pattern(self) -> str:
        """Every camera's timeline stream, in every partition (for SCAN)."""
        return f"{self.prefix}:{{p*}}:timeline:*"

    def is_timeline(self, key: str) -> bool:
        return key.startswith(f"{self.prefix}:{{p") and key.rpartition("}:")[2].startswith("timeline:")

    def dashboard_lease(self) -> str:
        """Held by the one dashboard process that bridges streams into a shared Socket.IO message queue."""
        return f"{self.prefix}:lock:dashboard:bridge"

    def dashboard_cursor(self) -> str:
        """Where the bridging dashboard got to in the public streams, so a successor resumes there."""
        return f"{self.prefix}:state:dashboard:bridge"

    def dashboard_channel(self) -> str:
        """The pub/sub channel of the dashboards' shared Socket.IO message queue (Flask-SocketIO's)."""
        return f"{self.prefix}-dashboard"

    def retention_lease(self) -> str:
        """Held by the one rollup worker that trims the deployment's streams by age, each period."""
        return f"{self.prefix}:lock:retention"

    def recordings(self) -> str:
        """``record``'s files, for deletion by age: a sorted set of ``host`` NUL ``path`` by finish time."""
        return f"{self.prefix}:recordings"

    # ----- caches ------------------------------------------------------------------------------------
    def spotify_search(self, digest: str) -> str:
        """Cached results of one Spotify search (market, limit and phrase hashed into ``digest``)."""
        return f"{self.prefix}:spotify:search:{digest}"

    def all_pattern(self) -> str:
        return f"{self.prefix}:*"
