"""A camera's emotion history at a coarse grain, kept for days.

The public emotion streams are capped at ``[streams] events_maxlen`` entries per partition, which is
minutes of history on a busy deployment. The rollup stage therefore folds every emotion event of a
camera into ``ROLLUP_S``-second buckets and publishes each finished bucket to the camera's timeline
stream, in the same commit as its state and acks: the dashboard's 1 h and 24 h views read these.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from moodstream.streams.schemas.codec import Record
from moodstream.streams.schemas.events import EmotionEvent
from moodstream.streams.schemas.fields import EMOTIONS

ROLLUP_S = 10.0


@dataclass
class TimelineBucket(Record):
    """Every emotion event of one camera whose time falls in [ts, ts + ROLLUP_S)."""

    KIND = "timeline-bucket"
    camera: str
    ts: float  # the bucket's start, a multiple of ROLLUP_S
    sums: list[float] = field(default_factory=lambda: [0.0] * len(EMOTIONS))  # EMOTIONS order
    events: int = 0
    tracks: list[int] = field(default_factory=list)  # the face tracks heard from

    @staticmethod
    def start_of(ts: float) -> float:
        return (ts // ROLLUP_S) * ROLLUP_S

    def add(self, event: EmotionEvent) -> None:
        for i, emotion in enumerate(EMOTIONS):
            self.sums[i] += event.probs[emotion]
        self.events += 1
        if event.track not in self.tracks:
            self.tracks.append(event.track)

    def merge(self, other: TimelineBucket) -> None:
        """Add another bucket's events (a coarser view sums several rollups)."""
        for i, total in enumerate(other.sums):
            self.sums[i] += total
        self.events += other.events
        self.tracks += [track for track in other.tracks if track not in self.tracks]


def fold(current: TimelineBucket | None, event: EmotionEvent) -> tuple[TimelineBucket, TimelineBucket | None]:
    """Add ``event`` to the open bucket; returns the open bucket and the one it closed, if any.

    An event older than the open bucket (a late one) counts in the open bucket rather than reopening a
    published one: the history stays append-only, and a late event is rare and seconds late."""
    start = TimelineBucket.start_of(event.ts)
    closed = None
    if current is None or start > current.ts:
        closed = current if current is not None and current.events else None
        current = TimelineBucket(camera=event.camera, ts=start)
    current.add(event)
    return current, closed
