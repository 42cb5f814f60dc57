"""Every contract between processes, in one place: typed, versioned, validated on the way in.

| module | contracts |
|---|---|
| fields | what every message shares: the schema version, the emotion order, the field checks, ``Message`` |
| messages | the per-frame messages (Frame, Detections, Classified) |
| events | the public events (emotion, recommendation, alert) |
| heartbeat | worker heartbeats and the per-kind detail they carry; a worker's local health file |
| overlay | the boxes and labels drawn over a camera's video |
| state | the smoother's and recommender's per-camera state, the dashboard bridge's cursor |
| timeline | a camera's emotion history in coarse buckets, kept for days |
| spotify | cached Spotify search results |
| recording | the ``.msrec`` file format |
| deadletter | dead-lettered messages |

This package is the only place that imports msgpack (tests/test_architecture.py checks it); which
process writes and reads each contract, and under which key, is docs/architecture.md's table.
"""

from moodstream.streams.schemas.codec import MAX_PAYLOAD_BYTES, Record, SchemaError
from moodstream.streams.schemas.deadletter import DeadLetter
from moodstream.streams.schemas.events import AlertEvent, EmotionEvent, RecommendationEvent, Track
from moodstream.streams.schemas.fields import EMOTIONS, MAX_CAMERA_LEN, MAX_FACES, SCHEMA_VERSION, Message
from moodstream.streams.schemas.heartbeat import (
    CaptureStatus,
    ClassifierStatus,
    DashboardStatus,
    Health,
    Heartbeat,
    MusicStatus,
    RecommenderStatus,
    StageDetail,
)
from moodstream.streams.schemas.messages import Classified, Detections, Face, Frame
from moodstream.streams.schemas.overlay import Overlay, OverlayFace
from moodstream.streams.schemas.recording import RecordedFrame, RecordingHeader, read_frames, read_header
from moodstream.streams.schemas.spotify import FoundTrack, SearchResults
from moodstream.streams.schemas.state import (
    AlerterState,
    AlertHold,
    BridgeCursor,
    DetectorState,
    RecommenderState,
    RollupState,
    SmootherState,
    TrackMood,
    TrackState,
)
from moodstream.streams.schemas.timeline import ROLLUP_S, TimelineBucket, fold

__all__ = [
    "EMOTIONS",
    "MAX_CAMERA_LEN",
    "MAX_FACES",
    "MAX_PAYLOAD_BYTES",
    "ROLLUP_S",
    "SCHEMA_VERSION",
    "AlertEvent",
    "AlerterState",
    "AlertHold",
    "BridgeCursor",
    "CaptureStatus",
    "Classified",
    "ClassifierStatus",
    "DashboardStatus",
    "DeadLetter",
    "DetectorState",
    "Detections",
    "EmotionEvent",
    "Face",
    "FoundTrack",
    "Frame",
    "Health",
    "Heartbeat",
    "Message",
    "MusicStatus",
    "Overlay",
    "OverlayFace",
    "RecommendationEvent",
    "RecommenderState",
    "RollupState",
    "RecommenderStatus",
    "Record",
    "RecordedFrame",
    "RecordingHeader",
    "SchemaError",
    "SearchResults",
    "SmootherState",
    "StageDetail",
    "TimelineBucket",
    "Track",
    "TrackMood",
    "TrackState",
    "fold",
    "read_frames",
    "read_header",
]
