"""``moodstream record`` and ``moodstream replay``: reproduce problems with real footage."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from moodstream.capture.recording import RecordingReader, RecordingWriter
from moodstream.capture.sources import RecordingSource
from moodstream.capture.worker import CaptureLoop, CaptureOptions
from moodstream.runtime.worker import Runtime, Stopper
from moodstream.streams.bus import Bus
from moodstream.streams.schemas import Frame, SchemaError

log = logging.getLogger(__name__)


def record(bus: Bus, camera: str, out: Path, seconds: float, stopper: Stopper, max_frames: int = 0) -> int:
    """Append a camera's frames, as they are published from now on, to a recording."""
    frames = bus.keys.camera_stream("frames", camera)
    last = bus.last_id(frames)
    deadline = time.monotonic() + seconds if seconds > 0 else None
    with RecordingWriter(out, camera) as writer:
        while not stopper.is_set():
            if deadline is not None and time.monotonic() >= deadline:
                break
            if max_frames and writer.frames >= max_frames:
                break
            for entry in bus.tail({frames: last}, block_ms=500):
                last = entry.id
                if entry.payload is None:
                    continue
                try:
                    frame = Frame.decode(entry.payload)
                except SchemaError:
                    continue
                if frame.camera == camera:
                    writer.write(frame.ts, frame.width, frame.height, frame.jpeg, frame.seq)
        return writer.frames


def replay(
    rt: Runtime,
    path: Path,
    camera: str | None,
    speed: float = 1.0,
    loop: bool = False,
    every_frame: bool = True,
    max_frames: int = 0,
) -> int:
    reader = RecordingReader(path)
    cam = camera or reader.camera
    opts = CaptureOptions(camera=cam, speed=speed, loop=loop, every_frame=every_frame, max_frames=max_frames)
    return CaptureLoop(rt, RecordingSource(str(path)), opts).run()
