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

from moodstream.config import SmootherSettings
from moodstream.geometry import iou
from moodstream.streams.schemas import (
    EMOTIONS,
    Classified,
    EmotionEvent,
    Overlay,
    OverlayFace,
    SmootherState,
    TrackState,
)

RECENT_SEQS = 512
N = len(EMOTIONS)


def overlay(state: SmootherState, msg: Classified, recent_s: float = 0.5) -> Overlay:
    """What the dashboard draws over a camera's video: current boxes with their smoothed labels.

    Tracks seen in the last ``recent_s`` are kept so that a face missed in one
    frame does not make its box flicker.
    """
    faces = [
        OverlayFace(
            track=t.id,
            box=(t.box[0], t.box[1], t.box[2], t.box[3]),
            label=EMOTIONS[t.label] if t.label >= 0 else "",
            confidence=round(_confidence(t), 3),
        )
        for t in state.tracks
        if msg.ts - t.last_ts <= recent_s
    ]
    return Overlay(seq=msg.seq, ts=msg.ts, width=msg.width, height=msg.height, faces=faces)


def _confidence(track: TrackState) -> float:
    if track.label < 0:
        return 0.0
    total = sum(track.ema) or 1.0
    return track.ema[track.label] / total


class Smoother:
    def __init__(self, cfg: SmootherSettings) -> None:
        self.cfg = cfg

    def seen_before(self, state: SmootherState, seq: int, ts: float) -> bool:
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

    def update(self, state: SmootherState, msg: Classified, now: float) -> list[EmotionEvent]:
        return self.update_tracks(state, msg, now)[0]

    def update_tracks(
        self, state: SmootherState, msg: Classified, now: float
    ) -> tuple[list[EmotionEvent], list[TrackState]]:
        """The frame's events, and the track each of its faces belongs to (``analyze`` writes both)."""
        state.recent.append(msg.seq)
        if len(state.recent) > RECENT_SEQS:
            del state.recent[: len(state.recent) - RECENT_SEQS]
        state.max_seq = max(state.max_seq, msg.seq)
        state.max_ts = max(state.max_ts, msg.ts)
        state.tracks = [t for t in state.tracks if msg.ts - t.last_ts <= self.cfg.track_ttl_s]
        assigned = self._associate(state, msg)
        events, tracks = [], []
        for fi, face in enumerate(msg.faces):
            track = assigned.get(fi)
            if track is None:
                track = TrackState(id=state.next_track, box=list(face.box), last_ts=msg.ts)
                state.next_track += 1
                state.tracks.append(track)
            if msg.ts >= track.last_ts:
                track.box, track.last_ts = list(face.box), msg.ts
            changed = self._observe(track, face.probs)
            tracks.append(track)
            if track.label >= 0 and (changed or msg.ts - track.last_emit >= self.cfg.emit_interval_s):
                track.last_emit = msg.ts
                events.append(_event(track, msg, changed, now))
        return events, tracks

    def _associate(self, state: SmootherState, msg: Classified) -> dict[int, TrackState]:
        """Faces to existing tracks, greedily by box overlap, best pairs first."""
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
            if score < self.cfg.iou_match:
                break
            if ti in used or fi in assigned:
                continue
            used.add(ti)
            assigned[fi] = state.tracks[ti]
        return assigned

    def _observe(self, track: TrackState, probs: list[float]) -> bool:
        """Add one prediction to the track's vote and average; True when its label changed."""
        cfg = self.cfg
        track.seen += 1
        best = max(range(N), key=probs.__getitem__)
        track.votes.append(best if probs[best] >= cfg.min_confidence else -1)
        if len(track.votes) > cfg.window:
            del track.votes[: len(track.votes) - cfg.window]
        a = cfg.ema_alpha
        track.ema = (
            list(probs)
            if track.seen == 1
            else [a * p + (1 - a) * e for p, e in zip(probs, track.ema, strict=True)]
        )
        candidate = self._vote(track)
        if (
            candidate >= 0
            and candidate != track.label
            and (track.label < 0 or track.ema[candidate] >= track.ema[track.label] + cfg.hysteresis)
        ):
            track.label = candidate
            return True
        return False


def _event(track: TrackState, msg: Classified, changed: bool, now: float) -> EmotionEvent:
    total = sum(track.ema) or 1.0
    probs = {e: p / total for e, p in zip(EMOTIONS, track.ema, strict=True)}
    return EmotionEvent(
        camera=msg.camera,
        ts=msg.ts,
        track=track.id,
        label=EMOTIONS[track.label],
        confidence=probs[EMOTIONS[track.label]],
        probs=probs,
        box=(track.box[0], track.box[1], track.box[2], track.box[3]),
        seq=msg.seq,
        changed=changed,
        latency_ms=(now - msg.ts) * 1000.0,
    )
