"""Live video for dashboard clients: the latest frame wins.

The pump never reads the pipeline's streams. Every tick it probes the first
bytes of the newest frame each watched camera's capture worker (or, for a
camera whose faces are blurred or areas masked, the detector) left in Redis;
when one is new, and at most ``max_fps`` times a second per camera, it reads
the whole frame with the smoother's overlay and offers it to each client
watching that camera. It marks the cameras it shows every second: that mark
is what has the detector make a protected camera's frames at all
(streams/viewable.py). A client holds at most two frames in flight per
camera until it acknowledges them; anything newer that arrives meanwhile
replaces the one waiting instead of queueing behind it. A slow or stalled
browser therefore sees a lower frame rate, and costs neither the pipeline
nor this process any memory.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable
from typing import Any

from moodstream.dashboard.clients import WINDOW, Client, Clients, FrameSlot
from moodstream.runtime.backoff import Backoff, OnceLog
from moodstream.streams import capture_frames, viewable
from moodstream.streams.bus import Bus
from moodstream.streams.client import CONNECTION_ERRORS
from moodstream.streams.schemas import Frame, Overlay, OverlayFace, SchemaError

log = logging.getLogger(__name__)

# Boxes older than this relative to the frame are not drawn (the pipeline is behind or stopped).
MAX_OVERLAY_LAG_S = 2.0

# The first bytes of a frame message (version, type, camera, seq, ts) tell frames apart.
HEAD_BYTES = 128
# Frames arrive on the capture's clock, polls on ours: allow 10 % early so 10 fps stays 10 fps.
SLACK = 0.9

_bad_overlay = OnceLog(log)

SendFrame = Callable[[str, dict[str, Any], Callable[..., None]], None]


def _face(face: OverlayFace, sx: float = 1.0, sy: float = 1.0) -> dict[str, Any]:
    x, y, w, h = face.box
    return {
        "track": face.track,
        "box": [round(x * sx), round(y * sy), round(w * sx), round(h * sy)],
        "label": face.label or None,
        "confidence": face.confidence,
    }


def frame_payload(frame_bytes: bytes, overlay_bytes: bytes | None) -> dict[str, Any]:
    """The ``frame`` event: the capture's JPEG unchanged (no re-encoding) plus the boxes to draw, in
    this frame's pixels (a camera with a ``detect_source`` finds them on another stream's).

    Boxes that cannot be decoded (a smoother of another version) are left out, with a warning, and the
    video goes on; a frame that cannot be decoded raises SchemaError.
    """
    frame = Frame.decode(frame_bytes)
    faces: list[dict[str, Any]] = []
    overlay_seq = None
    if overlay_bytes:
        try:
            ov = Overlay.decode(overlay_bytes)
        except SchemaError as exc:
            _bad_overlay(
                frame.camera,
                "camera %s: overlay cannot be decoded (%s); video without boxes",
                frame.camera,
                exc,
            )
        else:
            if abs(frame.ts - ov.ts) <= MAX_OVERLAY_LAG_S:
                overlay_seq = ov.seq
                # Found on the detect stream (a sub stream, say), drawn on the viewers' (the main one).
                sx, sy = frame.width / max(ov.width, 1), frame.height / max(ov.height, 1)
                faces = [_face(f, sx, sy) for f in ov.faces]
    return {
        "camera": frame.camera,
        "seq": frame.seq,
        "ts": frame.ts,
        "width": frame.width,
        "height": frame.height,
        "jpeg": frame.jpeg,
        "faces": faces,
        "overlay_seq": overlay_seq,
    }


class FramePump:
    def __init__(
        self,
        bus: Bus,
        clients: Clients,
        send: SendFrame,
        known_cameras: Callable[[], list[str]],
        max_fps: float,
        ack_timeout_s: float,
        hidden: frozenset[str] = frozenset(),
    ) -> None:
        self.bus = bus
        self.hidden = hidden  # aggregate-only cameras: no frame of theirs is ever sent
        self._marked = float("-inf")
        self.clients = clients
        self.send = send
        self.known_cameras = known_cameras
        self.period = 1.0 / max_fps
        self.ack_timeout_s = ack_timeout_s
        self._polled: dict[str, float] = {}
        self._heads: dict[str, bytes] = {}
        self.counters = {"frames_sent": 0, "frames_acked": 0, "frames_dropped": 0, "ack_timeouts": 0}
        self.tick_s = min(0.02, self.period / 4)

    # ----- one step of the loop, testable without a server ------------------------------------------
    def poll(self, now: float) -> None:
        """Probe every tick with a few bytes per camera; fetch a whole frame only when there is a new one."""
        cameras = sorted(self.clients.video_cameras(self.known_cameras()) - self.hidden)
        if not cameras:
            return
        if now - self._marked >= viewable.MARK_EVERY_S:  # protected cameras' frames are made while marked
            viewable.mark_watched(self.bus, cameras)
            self._marked = now
        heads = capture_frames.heads(self.bus, cameras)
        due = [
            camera
            for camera, head in zip(cameras, heads, strict=True)
            if head
            and head != self._heads.get(camera)
            and now - self._polled.get(camera, 0.0) >= self.period * SLACK
        ]
        if not due:
            return
        for camera, (frame_bytes, overlay_bytes) in capture_frames.latest(self.bus, due).items():
            self._polled[camera] = now
            if frame_bytes is None:
                continue
            self._heads[camera] = frame_bytes[:HEAD_BYTES]
            try:
                payload = frame_payload(frame_bytes, overlay_bytes)
            except SchemaError as exc:
                log.warning("camera %s: unusable latest frame (%s)", camera, exc)
                continue
            self.offer(camera, payload)

    def offer(self, camera: str, payload: dict[str, Any]) -> None:
        as_text: dict[str, Any] | None = None
        for client in self.clients.watching_video():
            if not client.sub.wants(camera):
                continue
            slot = client.slots.setdefault(camera, FrameSlot())
            if slot.pending is not None:
                self.counters["frames_dropped"] += 1
            if client.sub.binary:
                slot.pending = payload
            else:
                if as_text is None:  # encoded once per frame, shared by every such client
                    as_text = {**payload, "jpeg": base64.b64encode(payload["jpeg"]).decode("ascii")}
                slot.pending = as_text

    def flush(self, now: float) -> None:
        for client in self.clients.watching_video():
            min_gap = SLACK / client.sub.max_fps
            for camera, slot in list(client.slots.items()):
                if slot.pending is None or now - slot.last_sent < min_gap:
                    continue
                while slot.in_flight and now - slot.in_flight[0] >= self.ack_timeout_s:
                    slot.in_flight.pop(0)
                    self.counters["ack_timeouts"] += 1
                if len(slot.in_flight) >= WINDOW:
                    continue
                self._send(client, camera, slot, now)

    def _send(self, client: Client, camera: str, slot: FrameSlot, now: float) -> None:
        payload, slot.pending = slot.pending, None
        assert payload is not None
        slot.in_flight.append(now)
        slot.last_sent = now
        sid = client.sid

        def acked(*_args: Any) -> None:
            self.counters["frames_acked"] += 1
            current = self.clients.get(sid)
            if current is not None and camera in current.slots and current.slots[camera].in_flight:
                current.slots[camera].in_flight.pop(0)

        self.counters["frames_sent"] += 1
        self.send(sid, payload, acked)

    # ----- the loop ---------------------------------------------------------------------------------
    def run(self, stopped: Callable[[], bool], wait: Callable[[float], Any]) -> None:
        backoff = Backoff()
        while not stopped():
            now = time.monotonic()
            try:
                self.poll(now)
                backoff.reset()
            except CONNECTION_ERRORS as exc:
                delay = backoff.next()
                log.warning("frames: Redis unavailable (%s); retrying in %.1fs", exc, delay)
                wait(delay)
                continue
            self.flush(now)
            wait(self.tick_s)
