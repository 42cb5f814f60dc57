"""Sample videos re-encoded as IP cameras send them, for the RTSP server of the tests and benchmarks.

Cameras stream H.264 at 25 fps with a keyframe every two seconds and no B-frames, at a constant bitrate
of about 0.5 Mbit/s for a 640x360 sub stream, 2 for 720p and 4 for 1080p main streams. Sensor noise
keeps the encoder spending that bitrate, and decoding cost follows bitrate as much as size, so a little
noise is added too: a clean upscaled clip decodes several times cheaper than any camera's stream.
Made once with PyAV (libx264, in its wheels: the ``bench`` extra) and kept in the assets cache.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from moodstream.assets import cache_dir, sample_video
from moodstream.errors import UserError

FPS = 25
SECONDS = 10
# (width, height, bits a second) per stream, as cameras' defaults set them
STREAMS = {
    "360p": (640, 360, 512_000),
    "720p": (1280, 720, 2_000_000),
    "1080p": (1920, 1080, 4_000_000),
}


def camera_video(stream: str, sample: str = "WolfgangLanger_Pexels.mp4", root: Path | None = None) -> Path:
    """The sample re-encoded as a camera's ``stream`` (``360p``, ``720p``, ``1080p``), made on first use."""
    width, height, bitrate = STREAMS[stream]
    out = (root or cache_dir()) / "samples" / "cameras" / f"{Path(sample).stem}-{stream}-{FPS}fps.mp4"
    if out.exists():
        return out
    try:
        import av
    except ImportError:
        raise UserError("camera videos are made with PyAV: pip install 'moodstream[bench]'") from None
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_suffix(".part.mp4")
    _encode(av, sample_video(sample, root), partial, width, height, bitrate)
    partial.replace(out)  # whole or not at all: a run stopped midway leaves nothing to trust
    return out


def _encode(av: Any, src: Path, out: Path, width: int, height: int, bitrate: int) -> None:
    rng = np.random.default_rng(0)
    with av.open(str(src)) as inp, av.open(str(out), "w") as dst:
        stream = dst.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt, stream.bit_rate = width, height, "yuv420p", bitrate
        rate = str(bitrate)
        stream.options = {
            "preset": "veryfast",
            "g": str(2 * FPS),
            "bf": "0",
            "maxrate": rate,
            "bufsize": rate,
        }
        for count, frame in enumerate(inp.decode(video=0), start=1):
            image = frame.to_ndarray(width=width, height=height, format="bgr24").astype(np.int16)
            image += rng.normal(0, 4, image.shape).astype(np.int16)  # sensor noise
            noisy = av.VideoFrame.from_ndarray(np.clip(image, 0, 255).astype(np.uint8), format="bgr24")
            for packet in stream.encode(noisy):
                dst.mux(packet)
            if count >= FPS * SECONDS:
                break
        for packet in stream.encode():
            dst.mux(packet)
