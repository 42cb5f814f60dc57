"""Face tracks and label smoothing, as plain data (no Redis), so they are easy to test.

The research prototypes smoothed by a majority vote over the last N
predictions, counting only predictions above a confidence threshold. We keep
that, and add an exponential moving average of the probabilities with
hysteresis: a new label must both win the vote and beat the current label's
smoothed probability by a margin, so that labels do not flap between two
close classes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import msgpack

from ..common.schemas import EMOTIONS, Classified, EmotionEvent
from ..common.settings import SmootherSettings

RECENT_SEQS = 512
N = len(EMOTIONS)


def iou(a: list[int] | tuple[int, ...], b: list[int] | tuple[int, ...]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


@dataclass
class TrackState:
    id: int
    box: list[int]
    last_ts: float
    votes: list[int] = field(default_factory=list)  # label index, or -1 below the confidence threshold
    ema: list[float] = field(default_factory=lambda: [0.0] * N)
    label: int = -1
    last_emit: float = 0.0
    seen: int = 0

    def to_wire(self) -> list[Any]:
        return [
            self.id,
            self.box,
            self.last_ts,
            self.votes,
            [round(p, 5) for p in self.ema],
            self.label,
            self.last_emit,
            self.seen,
        ]

    @classmethod
    def from_wire(cls, w: list[Any]) -> TrackState:
        return cls(
            id=w[0],
            box=list(w[1]),
            last_ts=w[2],
            votes=list(w[3]),
            ema=list(w[4]),
            label=w[5],
            last_emit=w[6],
            seen=w[7],
        )


@dataclass
class CameraState:
    next_track: int = 1
    max_seq: int = -1
    max_ts: float = 0.0  # newest capture time seen: tells a capture restart from a late frame
    recent: list[int] = field(default_factory=list)
    tracks: list[TrackState] = field(default_factory=list)

    def encode(self) -> bytes:
        return msgpack.packb(
            {
                "v": 1,
                "n": self.next_track,
                "m": self.max_seq,
                "x": self.max_ts,
                "r": self.recent,
                "t": [t.to_wire() for t in self.tracks],
            },
            use_bin_type=True,
        )

    @classmethod
    def decode(cls, data: bytes | None) -> CameraState:
        if not data:
            return cls()
        try:
            raw = msgpack.unpackb(data, raw=False)
            return cls(
                next_track=raw["n"],
                max_seq=raw["m"],
                max_ts=float(raw.get("x", 0.0)),
                recent=list(raw["r"]),
                tracks=[TrackState.from_wire(t) for t in raw["t"]],
            )
        except Exception:  # state from an incompatible version: start afresh rather than crash
            return cls()


def overlay(state: CameraState, msg: Classified, recent_s: float = 0.5) -> bytes:
    """What the dashboard draws over a camera's video: current boxes with their smoothed labels.

    Tracks seen in the last ``recent_s`` are kept so that a face missed in one
    frame does not make its box flicker.
    """
    faces = [
        [t.id, list(t.box), EMOTIONS[t.label] if t.label >= 0 else "", round(_confidence(t), 3)]
        for t in state.tracks
        if msg.ts - t.last_ts <= recent_s
    ]
    return msgpack.packb(
        {"v": 1, "seq": msg.seq, "ts": msg.ts, "w": msg.width, "h": msg.height, "faces": faces},
        use_bin_type=True,
    )


def _confidence(track: TrackState) -> float:
    if track.label < 0:
        return 0.0
    total = sum(track.ema) or 1.0
    return track.ema[track.label] / total


class Smoother:
    def __init__(self, cfg: SmootherSettings) -> None:
        self.cfg = cfg

    def seen_before(self, state: CameraState, seq: int, ts: float) -> bool:
        """Duplicates (a redelivery after a crash) and frames too late to matter are ignored.

        A restarted capture worker counts from 0 again: a sequence number at or
        below the newest one, but with a newer capture time, starts a new count
        rather than being taken for a duplicate or a straggler.
        """
        if seq <= state.max_seq and ts > state.max_ts:
            state.recent.clear()
            state.max_seq = -1
            return False
        return seq in state.recent or seq < state.max_seq - RECENT_SEQS

    def _vote(self, track: TrackState) -> int:
        valid = [v for v in track.votes if v >= 0]
        if len(valid) < min(3, self.cfg.window):
            return -1
        label, count = Counter(valid).most_common(1)[0]
        return label if count * 2 > len(valid) else -1

    def update(self, state: CameraState, msg: Classified, now: float) -> list[EmotionEvent]:
        cfg = self.cfg
        state.recent.append(msg.seq)
        if len(state.recent) > RECENT_SEQS:
            del state.recent[: len(state.recent) - RECENT_SEQS]
        state.max_seq = max(state.max_seq, msg.seq)
        state.max_ts = max(state.max_ts, msg.ts)
        state.tracks = [t for t in state.tracks if msg.ts - t.last_ts <= cfg.track_ttl_s]

        # Greedy association by box overlap, best pairs first.
        pairs = sorted(
            (
                (iou(t.box, f.box), ti, fi)
                for ti, t in enumerate(state.tracks)
                for fi, f in enumerate(msg.faces)
            ),
            reverse=True,
        )
        assigned: dict[int, TrackState] = {}
        used: set[int] = set()
        for score, ti, fi in pairs:
            if score < cfg.iou_match:
                break
            if ti in used or fi in assigned:
                continue
            used.add(ti)
            assigned[fi] = state.tracks[ti]
        events = []
        for fi, face in enumerate(msg.faces):
            track = assigned.get(fi)
            if track is None:
                track = TrackState(id=state.next_track, box=list(face.box), last_ts=msg.ts)
                state.next_track += 1
                state.tracks.append(track)
            if msg.ts >= track.last_ts:
                track.box, track.last_ts = list(face.box), msg.ts
            track.seen += 1
            best = max(range(N), key=face.probs.__getitem__)
            track.votes.append(best if face.probs[best] >= cfg.min_confidence else -1)
            if len(track.votes) > cfg.window:
                del track.votes[: len(track.votes) - cfg.window]
            a = cfg.ema_alpha
            track.ema = (
                list(face.probs)
                if track.seen == 1
                else [a * p + (1 - a) * e for p, e in zip(face.probs, track.ema, strict=True)]
            )
            candidate = self._vote(track)
            changed = False
            if (
                candidate >= 0
                and candidate != track.label
                and (track.label < 0 or track.ema[candidate] >= track.ema[track.label] + cfg.hysteresis)
            ):
                track.label = candidate
                changed = True
            if track.label < 0:
                continue
            if changed or msg.ts - track.last_emit >= cfg.emit_interval_s:
                track.last_emit = msg.ts
                total = sum(track.ema) or 1.0
                probs = {e: p / total for e, p in zip(EMOTIONS, track.ema, strict=True)}
                events.append(
                    EmotionEvent(
                        camera=msg.camera,
                        ts=msg.ts,
                        track=track.id,
                        label=EMOTIONS[track.label],
                        confidence=probs[EMOTIONS[track.label]],
                        probs=probs,
                        box=tuple(track.box),  # type: ignore[arg-type]
                        seq=msg.seq,
                        changed=changed,
                        latency_ms=(now - msg.ts) * 1000.0,
                    )
                )
        return events
