"""Per-camera state of the stateful stages, and the dashboard bridge's cursor.

State lives in Redis so that any instance can take a camera over after a restart or a crash. A state
that does not decode (another version's, or damaged) is logged with its key and reason, counted as an
error, and only then replaced by a fresh one (moodstream/runtime/worker.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from moodstream.streams.schemas.codec import Record
from moodstream.streams.schemas.fields import EMOTIONS
from moodstream.streams.schemas.timeline import TimelineBucket

N_EMOTIONS = len(EMOTIONS)


@dataclass
class TrackState(Record):
    """One face track: its box, recent votes and smoothed probabilities (EMOTIONS order)."""

    id: int
    box: list[int]
    last_ts: float
    votes: list[int] = field(default_factory=list)  # label index, or -1 below the confidence threshold
    ema: list[float] = field(default_factory=lambda: [0.0] * N_EMOTIONS)
    label: int = -1
    last_emit: float = 0.0
    seen: int = 0


@dataclass
class SmootherState(Record):
    KIND = "smoother-state"
    next_track: int = 1
    max_seq: int = -1
    max_ts: float = 0.0  # newest capture time seen: tells a capture restart from a late frame
    recent: list[int] = field(default_factory=list)  # sequence numbers already counted
    tracks: list[TrackState] = field(default_factory=list)


@dataclass
class TrackMood(Record):
    ts: float
    probs: list[float]  # smoothed, EMOTIONS order


@dataclass
class AlertHold(Record):
    """One alert rule on one camera: since when each face track has held a matching emotion (and when it
    was last heard of), and when the rule last fired there."""

    tracks: dict[str, list[float]] = field(default_factory=dict)  # track -> [since, last seen]
    fired: float = 0.0


@dataclass
class RecommenderState(Record):
    KIND = "recommender-state"
    # The camera's faces' smoothed probabilities over the last [recommender] mood_window_s, oldest first.
    window: list[TrackMood] = field(default_factory=list)
    first_ts: float = 0.0  # when the camera first showed a face (its first suggestion waits first_after_s)
    emotion: str = ""  # the camera's mood now: the window's dominant emotion
    since: float = 0.0  # ... held since
    suggested: str = ""  # the emotion last suggested for
    history: list[list[str]] = field(default_factory=list)  # Spotify ids of recent suggestions


@dataclass
class AlerterState(Record):
    KIND = "alerter-state"
    holds: dict[str, AlertHold] = field(default_factory=dict)  # by alert rule name


@dataclass
class RollupState(Record):
    KIND = "rollup-state"
    open: TimelineBucket | None = None  # the camera's timeline bucket still open


@dataclass
class DetectorState(Record):
    """The faces the detector last found for a camera, where a region search looks next.

    Written only by a frame newer than the one it holds (moodstream/streams/bus.py), so instances that
    share a camera's frames never move it backwards."""

    KIND = "detector-state"
    seq: int = -1  # the frame these boxes come from
    full_seq: int = -1  # the newest frame scanned in full
    boxes: list[list[int]] = field(default_factory=list)  # x, y, w, h at full resolution
    thumb: bytes = b""  # the last fully scanned frame, tiny and gray: has anything moved since?
    lost: list[list[int]] = field(default_factory=list)  # the faces known before none were found ...
    lost_seq: int = -1  # ... in this frame: Haar misses a face now and then, and it is looked for there

    def priors(self, lost: bool = False) -> list[tuple[int, int, int, int]]:
        return [(b[0], b[1], b[2], b[3]) for b in (self.lost if lost else self.boxes)]


@dataclass
class BridgeCursor(Record):
    """How far the bridging dashboard got in each public stream, for a successor to resume from."""

    KIND = "bridge-cursor"

    positions: dict[str, str]
