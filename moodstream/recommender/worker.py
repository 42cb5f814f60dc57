"""The recommender loop: smoothed emotion events in, recommendation events out.

A camera's mood is the dominant emotion of its faces' smoothed probabilities
over the last ``mood_window_s``: a face whose expression changes every second
or two still has a mood. Its first suggestion comes ``first_after_s`` after it
first shows a face; a change of suggestion needs the mood to hold for
``cooldown_s``: music should not switch with every glance. Tracks suggested
recently to the same camera are not repeated while others are available.
State is per camera in Redis, committed with the outputs and acks.
"""

from __future__ import annotations

import logging

from moodstream.config import Settings
from moodstream.recommender.provider import MusicProvider, build_provider
from moodstream.recommender.strategies import mood_for
from moodstream.runtime.worker import Stopper, StreamWorker, setup_logging
from moodstream.streams.bus import Entry
from moodstream.streams.client import Client
from moodstream.streams.schemas import (
    EMOTIONS,
    EmotionEvent,
    RecommendationEvent,
    RecommenderState,
    RecommenderStatus,
    TrackMood,
)

log = logging.getLogger(__name__)
SUGGESTION_TTL_S = 24 * 3600  # how long a camera's last suggestion stays retained (as its state)
MAX_WINDOW = 1024  # samples kept per camera, however many faces and events: the oldest go first


def observe(state: RecommenderState, event: EmotionEvent, window_s: float) -> str:
    """Fold one face's smoothed emotion into its camera's window; returns the camera's mood now."""
    if state.first_ts == 0.0:
        state.first_ts = event.ts
    state.window.append(TrackMood(ts=event.ts, probs=[event.probs[e] for e in EMOTIONS]))
    newest = max(m.ts for m in state.window)
    state.window = [m for m in state.window if newest - m.ts <= window_s][-MAX_WINDOW:]
    totals = [sum(m.probs[i] for m in state.window) for i in range(len(EMOTIONS))]
    emotion = EMOTIONS[max(range(len(EMOTIONS)), key=totals.__getitem__)]
    if emotion != state.emotion:
        state.emotion, state.since = emotion, event.ts
    return emotion


def due(state: RecommenderState, ts: float, first_after_s: float, cooldown_s: float) -> bool:
    """Whether the camera gets a suggestion now: its first once it has shown a face for
    ``first_after_s``; another once a new mood has held for ``cooldown_s``."""
    if not state.suggested:
        return ts - state.first_ts >= first_after_s
    return state.emotion != state.suggested and ts - state.since >= cooldown_s


class RecommenderWorker(StreamWorker):
    stage = "recommender"
    read_count = 64

    def __init__(
        self,
        settings: Settings,
        client: Client | None = None,
        stopper: Stopper | None = None,
        provider: MusicProvider | None = None,
    ):
        super().__init__(settings, client, stopper)
        self.cfg = settings.recommender
        self.provider = provider

    def setup(self) -> None:
        if self.provider is None:
            self.provider = build_provider(self.settings, self.bus)
        self.rt.detail = RecommenderStatus(
            provider=self.provider.name, strategy=self.cfg.strategy, music=None
        )

    def idle(self) -> None:
        # The Spotify provider's circuit state and counters travel in the heartbeat (status --json).
        assert self.provider is not None and isinstance(self.rt.detail, RecommenderStatus)
        self.rt.detail.music = self.provider.status()

    def _suggest(self, camera: str, state: RecommenderState, ts: float) -> RecommendationEvent:
        assert self.provider is not None
        mood = mood_for(self.cfg.strategy, state.emotion)
        recent = (
            {sid for ids in state.history[-self.cfg.no_repeat :] for sid in ids}
            if self.cfg.no_repeat
            else set()
        )
        tracks = self.provider.suggest(mood, state.emotion, self.cfg.tracks, recent)
        state.suggested = state.emotion
        state.history = (state.history + [[t.spotify_id for t in tracks]])[-max(self.cfg.no_repeat, 1) :]
        return RecommendationEvent(
            camera=camera, ts=ts, emotion=state.emotion, strategy=self.cfg.strategy, mood=mood, tracks=tracks
        )

    def process(self, entries: list[Entry]) -> None:
        for camera, items, saved in self.per_camera(entries, EmotionEvent):
            state = self.camera_state(camera, saved, RecommenderState)
            outputs: list[bytes] = []
            for _, event in sorted(items, key=lambda item: item[1].ts):
                observe(state, event, self.cfg.mood_window_s)
                if due(state, event.ts, self.cfg.first_after_s, self.cfg.cooldown_s):
                    reco = self._suggest(camera, state, event.ts)
                    outputs.append(reco.encode())
                    log.info("camera %s: %s -> %s", camera, reco.emotion, reco.mood)
            # The camera's newest suggestion stays retained, with its stream id, for late subscribers.
            retain = (
                [(self.keys.latest_recommendation(camera), len(outputs) - 1, SUGGESTION_TTL_S)]
                if outputs
                else []
            )
            out = self.out_stream(items[0][0])
            self.commit_camera(
                camera, state.encode(), [e for e, _ in items], [(out, p) for p in outputs], retain=retain
            )
            self.count_processed([event for _, event in items])


def run(settings: Settings, client: Client | None = None, stopper: Stopper | None = None) -> int:
    setup_logging(settings.runtime.log_level)
    return RecommenderWorker(settings, client, stopper or Stopper().install()).run()
