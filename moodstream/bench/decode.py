"""``bench --decode``: what taking in a camera's stream costs, by decoder and by how frames are dropped.

A camera sends 25 fps and capture keeps ``fps`` of them, yet every frame must be decoded (each depends
on the one before). What differs is what else a dropped frame costs. Measured on camera-like H.264
(``camera_video``: 25 fps, no B-frames, cameras' bitrates) at 360p, 720p and 1080p, keeping 5, 10 or
15 fps, as CPU (all threads) per second of video, i.e. the share of one core a camera costs:

- ``opencv read``: ``VideoCapture.read`` on every frame, each decoded and converted to BGR;
- ``opencv grab``: ``grab`` every frame, ``retrieve`` (the BGR conversion) only the kept ones; what
  capture does;
- ``pyav``: PyAV decoding every frame on one thread, converting the kept ones;
- ``pyav threads``: the same with FFmpeg's frame and slice threads;
- ``pyav skip nonref``: asking the decoder to skip non-reference frames while dropping;
- ``hwaccel``: OpenCV with FFmpeg's hardware decoders, where the machine has one.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import cv2

from moodstream.bench.camera_video import FPS, STREAMS, camera_video
from moodstream.errors import UserError

KEEP_FPS = (5, 10, 15)


def _keeper(fps: float) -> Callable[[], bool]:
    """True for the frames capture keeps out of FPS a second at ``fps``, evenly spread."""
    step, state = FPS / fps, {"n": 0, "next": 0.0}

    def keep() -> bool:
        n = state["n"]
        state["n"] = n + 1
        if n + 1e-9 >= state["next"]:
            state["next"] += step
            return True
        return False

    return keep


def opencv_read(path: str, fps: float, accel: int = cv2.VIDEO_ACCELERATION_NONE) -> int:
    cap = cv2.VideoCapture(path, cv2.CAP_FFMPEG, [cv2.CAP_PROP_HW_ACCELERATION, accel])
    n = 0
    while cap.read()[0]:
        n += 1
    return n


def opencv_grab(path: str, fps: float, accel: int = cv2.VIDEO_ACCELERATION_NONE) -> int:
    cap = cv2.VideoCapture(path, cv2.CAP_FFMPEG, [cv2.CAP_PROP_HW_ACCELERATION, accel])
    keep, n = _keeper(fps), 0
    while cap.grab():
        if keep():
            cap.retrieve()
        n += 1
    return n


def pyav(path: str, fps: float, threads: bool = False, skip_nonref: bool = False) -> int:
    import av

    keep, n = _keeper(fps), 0
    with av.open(path) as container:
        stream = container.streams.video[0]
        if threads:
            stream.thread_type = "AUTO"
        codec = stream.codec_context
        wanted = keep()
        for packet in container.demux(stream):
            if skip_nonref:
                codec.skip_frame = "DEFAULT" if wanted else "NONREF"
            for frame in codec.decode(packet):
                if wanted:
                    frame.to_ndarray(format="bgr24")
                n += 1
                wanted = keep()
    return n


def hardware_decoder() -> str:
    """The hardware decoder OpenCV's FFmpeg finds on this machine, or "" when it decodes in software."""
    from moodstream.capture.sources import decoder_name

    cap = cv2.VideoCapture(str(camera_video("360p")), cv2.CAP_FFMPEG, [cv2.CAP_PROP_HW_ACCELERATION, 1])
    name = decoder_name(cap.get(cv2.CAP_PROP_HW_ACCELERATION)) if cap.isOpened() else "software"
    cap.release()
    return "" if name == "software" else name


def _cpu_per_video_second(run: Callable[[], int], rounds: int) -> tuple[float, float]:
    """(CPU ms per frame, share of a core for a 25 fps camera), medians over ``rounds`` passes."""
    per_frame = []
    for _ in range(rounds):
        start = time.process_time()
        frames = run()
        per_frame.append((time.process_time() - start) * 1000.0 / max(frames, 1))
    ms = statistics.median(per_frame)
    return round(ms, 3), round(ms * FPS / 1000.0, 4)


def decode_costs(rounds: int = 3) -> dict[str, Any]:
    try:
        import av  # noqa: F401
    except ImportError:
        raise UserError("bench --decode measures PyAV too: pip install 'moodstream[bench]'") from None
    hw = hardware_decoder()
    methods: dict[str, Callable[[str, float], int]] = {
        "opencv read": opencv_read,
        "opencv grab": opencv_grab,
        "pyav": pyav,
        "pyav threads": lambda p, f: pyav(p, f, threads=True),
        "pyav skip nonref": lambda p, f: pyav(p, f, skip_nonref=True),
    }
    if hw:
        methods["hwaccel " + hw] = lambda p, f: opencv_grab(p, f, cv2.VIDEO_ACCELERATION_ANY)
    rows = []
    for stream in STREAMS:
        path = str(camera_video(stream))
        for name, method in methods.items():
            for fps in KEEP_FPS:
                ms, cores = _cpu_per_video_second(lambda m=method, p=path, f=fps: m(p, f), rounds)
                rows.append(
                    {"stream": stream, "method": name, "fps": fps, "ms_per_frame": ms, "cores": cores}
                )
    return {"input_fps": FPS, "hardware_decoder": hw or "none", "cv2": cv2.__version__, "rows": rows}


def format_decode(result: dict[str, Any]) -> str:
    lines = [
        f"camera input {result['input_fps']} fps H.264; CPU ms per input frame and % of one core per camera "
        f"(OpenCV {result['cv2']}; hardware decoder: {result['hardware_decoder']})",
        f"{'stream':<7}{'method':<18}" + "".join(f"{f'keep {f}':>18}" for f in KEEP_FPS),
    ]
    by_key = {(r["stream"], r["method"], r["fps"]): r for r in result["rows"]}
    for stream, method in dict.fromkeys((r["stream"], r["method"]) for r in result["rows"]):
        cells = [by_key[(stream, method, f)] for f in KEEP_FPS]
        text = [f"{c['ms_per_frame']:.2f} ms {100 * c['cores']:.1f}%" for c in cells]
        lines.append(f"{stream:<7}{method:<18}" + "".join(f"{t:>18}" for t in text))
    return "\n".join(lines)
