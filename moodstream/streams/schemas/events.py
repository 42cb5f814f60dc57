"""The public events: a face's smoothed emotion, a camera's music suggestion, and an alert.

They are what leaves the pipeline (the feed, ``watch``, the webhook), so their maps are the JSON
shapes docs/streams.md documents; decoding checks them as strictly as the per-frame messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from moodstream.streams.schemas.codec import SchemaError
from moodstream.streams.schemas.fields import (
    EMOTIONS,
    Message,
    box_of,
    camera_of,
    check_range,
    probs_of,
    required,
)


@dataclass
class EmotionEvent(Message):
    """A smoothed emotion for one face track: the public ``emotion`` event."""

    TYPE: ClassVar[str] = "emotion"
    camera: str
    ts: float
    track: int
    label: str
    confidence: float
    probs: dict[str, float]
    box: tuple[int, int, int, int] = (0, 0, 1, 1)
    seq: int = 0
    changed: bool = False  # True when the label changed with this event
    latency_ms: float = 0.0  # capture -> smoothed, measured by the smoother

    def to_map(self) -> dict[str, Any]:
        return {
            "camera": self.camera,
            "ts": self.ts,
            "track": self.track,
            "label": self.label,
            "confidence": round(self.confidence, 4),
            "probs": {k: round(v, 4) for k, v in self.probs.items()},
            "box": list(self.box),
            "seq": self.seq,
            "changed": self.changed,
            "latency_ms": round(self.latency_ms, 2),
        }

    @classmethod
    def from_map(cls, data: dict[str, Any]) -> EmotionEvent:
        what = "emotion"
        label = required(data, "label", str, what)
        if label not in EMOTIONS:
            raise SchemaError(f"{what}: unknown label {label!r}")
        probs = required(data, "probs", dict, what)
        if set(probs) != set(EMOTIONS):
            raise SchemaError(f"{what}: probs must be keyed by the {len(EMOTIONS)} emotions")
        values = probs_of([probs[e] for e in EMOTIONS], what)
        return cls(
            camera=camera_of(data, what),
            ts=required(data, "ts", float, what),
            track=required(data, "track", int, what),
            label=label,
            confidence=required(data, "confidence", float, what),
            probs=dict(zip(EMOTIONS, values, strict=True)),
            box=box_of(required(data, "box", list, what), what),
            seq=required(data, "seq", int, what),
            changed=required(data, "changed", bool, what),
            latency_ms=required(data, "latency_ms", float, what),
        )

    def public(self) -> dict[str, Any]:
        """The JSON shape served by ``moodstream watch`` and the Socket.IO feed."""
        return {"type": "emotion", **self.to_map()}


# Where a suggestion's links may point: the provider's own pages, player and previews. A suggestion
# that Redis hands over with a link elsewhere (forged by whoever can write there) loses that link.
LINK_PREFIXES: dict[str, tuple[str, ...]] = {
    "url": ("https://open.spotify.com/",),
    "embed_url": ("https://open.spotify.com/embed/",),
    "preview_url": ("https://p.scdn.co/",),
}


def allowed_link(field_name: str, value: Any) -> str:
    """The link if it is a string under its field's allowed prefixes, else ""."""
    text = value if isinstance(value, str) else ""
    return text if text.startswith(LINK_PREFIXES[field_name]) else ""


@dataclass
class Track:
    title: str
    artist: str
    spotify_id: str
    url: str
    source: str  # "catalog" or "spotify"
    album: str = ""
    popularity: int = 0
    embed_url: str = ""
    preview_url: str = ""
    reason: str = ""

    def to_map(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "artist": self.artist,
            "spotify_id": self.spotify_id,
            "url": self.url,
            "source": self.source,
            "album": self.album,
            "popularity": self.popularity,
            "embed_url": self.embed_url,
            "preview_url": self.preview_url,
            "reason": self.reason,
        }

    @classmethod
    def from_map(cls, data: Any) -> Track:
        what = "track"
        if not isinstance(data, dict):
            raise SchemaError(f"{what}: must be a map")
        return cls(
            title=required(data, "title", str, what),
            artist=required(data, "artist", str, what),
            spotify_id=required(data, "spotify_id", str, what),
            url=allowed_link("url", required(data, "url", str, what)),
            source=required(data, "source", str, what),
            album=data.get("album", "") if isinstance(data.get("album", ""), str) else "",
            popularity=data.get("popularity", 0) if isinstance(data.get("popularity", 0), int) else 0,
            embed_url=allowed_link("embed_url", data.get("embed_url")),
            preview_url=allowed_link("preview_url", data.get("preview_url")),
            reason=str(data.get("reason", "")),
        )


@dataclass
class RecommendationEvent(Message):
    """A music suggestion for one camera: the public ``recommendation`` event."""

    TYPE: ClassVar[str] = "recommendation"
    camera: str
    ts: float
    emotion: str
    strategy: str
    mood: str
    tracks: list[Track]

    def to_map(self) -> dict[str, Any]:
        return {
            "camera": self.camera,
            "ts": self.ts,
            "emotion": self.emotion,
            "strategy": self.strategy,
            "mood": self.mood,
            "tracks": [t.to_map() for t in self.tracks],
        }

    @classmethod
    def from_map(cls, data: dict[str, Any]) -> RecommendationEvent:
        what = "recommendation"
        emotion = required(data, "emotion", str, what)
        if emotion not in EMOTIONS:
            raise SchemaError(f"{what}: unknown emotion {emotion!r}")
        return cls(
            camera=camera_of(data, what),
            ts=required(data, "ts", float, what),
            emotion=emotion,
            strategy=required(data, "strategy", str, what),
            mood=required(data, "mood", str, what),
            tracks=[Track.from_map(t) for t in required(data, "tracks", list, what)],
        )

    def public(self) -> dict[str, Any]:
        return {"type": "recommendation", **self.to_map()}


@dataclass
class AlertEvent(Message):
    """An alert rule fired for one camera: the public ``alert`` event (and the webhook's body).

    ``emotion`` held on face track ``track`` from ``since`` until ``ts``, at or above the rule's
    confidence; the rule then stays quiet on that camera for its cooldown."""

    TYPE: ClassVar[str] = "alert"
    camera: str
    ts: float  # when it fired: the time of the emotion event that completed the hold
    rule: str
    emotion: str
    track: int
    since: float
    confidence: float

    def to_map(self) -> dict[str, Any]:
        return {
            "camera": self.camera,
            "ts": self.ts,
            "rule": self.rule,
            "emotion": self.emotion,
            "track": self.track,
            "since": self.since,
            "held_s": round(self.ts - self.since, 3),
            "confidence": round(self.confidence, 4),
        }

    @classmethod
    def from_map(cls, data: dict[str, Any]) -> AlertEvent:
        what = "alert"
        emotion = required(data, "emotion", str, what)
        if emotion not in EMOTIONS:
            raise SchemaError(f"{what}: unknown emotion {emotion!r}")
        confidence = required(data, "confidence", float, what)
        check_range(confidence, 0.0, 1.0, "confidence", what)
        return cls(
            camera=camera_of(data, what),
            ts=required(data, "ts", float, what),
            rule=required(data, "rule", str, what),
            emotion=emotion,
            track=required(data, "track", int, what),
            since=required(data, "since", float, what),
            confidence=confidence,
        )

    def public(self) -> dict[str, Any]:
        return {"type": "alert", **self.to_map()}
