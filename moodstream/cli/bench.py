"""``moodstream bench``: the pipeline, the classifier, detector recall, the timeline, soak and fuzz."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moodstream.cli import common
from moodstream.errors import UserError

if TYPE_CHECKING:
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]

log = logging.getLogger("moodstream")


def _positive_list(text: str, kind: type[int] | type[float], example: str) -> list[Any]:
    """A comma-separated list of positive numbers, or a one-line argparse error naming an example."""
    try:
        values = [kind(part) for part in text.split(",")]
    except ValueError:
        values = []
    if not values or min(values) <= 0:
        raise argparse.ArgumentTypeError(f"expected {example}, got {text!r}")
    return values


def _batch_sizes(text: str) -> tuple[int, ...]:
    return tuple(_positive_list(text, int, "batch sizes like 1,8,32"))


def cmd_bench_classifier(args: argparse.Namespace) -> int:
    from moodstream.bench.classifier import classifier_micro, format_classifier

    result = classifier_micro(args.model, args.batch_sizes, rounds=args.rounds, runtime=args.runtime)
    print(json.dumps(result) if args.json else format_classifier(result))
    return 0


def cmd_bench_recall(args: argparse.Namespace) -> int:
    from moodstream.assets import cache_dir, fetch_face_photos, fetch_samples
    from moodstream.bench.detector_recall import detector_recall, format_recall

    cfg = common.load(args, required=False).detector
    fetch_samples()
    fetch_face_photos()
    result = detector_recall(cfg, cache_dir())
    print(json.dumps(result) if args.json else format_recall(result, cfg.full_scan_every))
    return 0


def cmd_bench_framing(args: argparse.Namespace) -> int:
    from moodstream.assets import fetch_detector
    from moodstream.bench.fer_framing import fer_framing

    if not args.fer_framing.is_dir():
        raise UserError(
            f"--fer-framing {args.fer_framing}: no such folder (FER2013 with train/<class>/*.jpg)"
        )
    result = fer_framing(args.fer_framing, fetch_detector())
    print(json.dumps(result) if args.json else " ".join(f"{k} {v}" for k, v in result.items()))
    return 0


def cmd_bench_alignment(args: argparse.Namespace) -> int:
    from moodstream.assets import cache_dir, fetch_all, fetch_face_photos
    from moodstream.bench.alignment import alignment, format_alignment

    fetch_all()
    fetch_face_photos()
    result = alignment(common.load(args, required=False), cache_dir())
    print(json.dumps(result) if args.json else format_alignment(result))
    return 0


def cmd_bench_timeline(args: argparse.Namespace) -> int:
    from moodstream.bench.timeline import format_timeline, run_timeline_bench

    settings = common.load(args, required=False)
    result = run_timeline_bench(settings, common.redis_url(settings), rounds=args.rounds)
    print(json.dumps(result) if args.json else format_timeline(result))
    return 0


def cmd_bench_endurance(args: argparse.Namespace) -> int:
    from moodstream.bench import endurance

    if args.soak:
        result = endurance.run_soak(common.load(args, required=False), args.soak, args.cameras, args.fps)
        print(json.dumps(result) if args.json else endurance.format_soak(result))
    else:
        result = endurance.run_fuzz(common.load(args), args.fuzz)
        print(json.dumps(result) if args.json else endurance.format_fuzz(result))
    return 0


def cmd_bench_decode(args: argparse.Namespace) -> int:
    from moodstream.bench.decode import decode_costs, format_decode

    result = decode_costs(rounds=args.rounds)
    print(json.dumps(result) if args.json else format_decode(result))
    return 0


def _fps_list(text: str) -> list[float]:
    return _positive_list(text, float, "frame rates like 5,10,15")


def _streams(text: str) -> list[str]:
    from moodstream.bench.camera_video import STREAMS

    names = [part.strip() for part in text.split(",")]
    if not names or any(n not in STREAMS for n in names):
        raise argparse.ArgumentTypeError(f"expected streams among {', '.join(STREAMS)}, got {text!r}")
    return names


def cmd_bench_rtsp(args: argparse.Namespace) -> int:
    from moodstream.bench.rtsp import format_rtsp, rtsp_bench

    settings = common.load(args, required=False)
    result = rtsp_bench(settings, args.rtsp_streams, args.rtsp_fps, args.seconds, args.rtsp_max_cameras)
    print(json.dumps(result) if args.json else format_rtsp(result))
    return 0


def cmd_bench_browser_cameras(args: argparse.Namespace) -> int:
    from moodstream.bench.browser_cameras import browser_camera_bench, format_browser_cameras

    settings = common.load(args, required=False)
    result = browser_camera_bench(settings, args.browser_cameras, args.fps, args.seconds)
    print(json.dumps(result) if args.json else format_browser_cameras(result))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    if args.browser_cameras:
        return cmd_bench_browser_cameras(args)
    if args.rtsp:
        return cmd_bench_rtsp(args)
    if args.decode:
        return cmd_bench_decode(args)
    if args.classifier_only:
        return cmd_bench_classifier(args)
    if args.soak or args.fuzz:
        return cmd_bench_endurance(args)
    if args.detector_recall:
        return cmd_bench_recall(args)
    if args.fer_framing:
        return cmd_bench_framing(args)
    if args.alignment:
        return cmd_bench_alignment(args)
    if args.timeline:
        return cmd_bench_timeline(args)
    from moodstream.bench.pipeline import run_bench
    from moodstream.bench.report import format_ab, format_result

    viewers = args.dashboard_clients
    result: dict[str, Any] = run_bench(
        common.load(args, required=False),
        cameras=args.cameras,
        seconds=args.seconds,
        fps=args.fps,
        detectors=args.detectors,
        classifiers=args.classifiers,
        micro=not args.no_micro and not viewers,
        progress=not args.json,
        dashboard=bool(viewers),
        dashboard_clients=viewers,
        ab_rounds=args.ab_rounds if viewers else 0,
        compare_fer=args.compare_fer,
        blur_faces=None if args.blur_faces is None else args.blur_faces == "on",
        acl=args.acl,
    )
    if args.json:
        print(json.dumps(result))
    else:
        print(format_ab(result) if viewers else format_result(result))
    return 0


def _add_bench(sub: Subparsers, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("bench", parents=[parent], help="benchmark the pipeline on replayed sample video")
    p.add_argument("--cameras", type=common.positive_int, default=4, help="replayed cameras")
    p.add_argument("--seconds", type=common.positive_seconds, default=30, help="how long to measure")
    p.add_argument("--fps", type=common.positive_number, default=15, help="frames per second per camera")
    p.add_argument("--detectors", type=int, default=0, help="detector instances (0: one per core)")
    p.add_argument("--classifiers", type=common.positive_int, default=1, help="classifier instances")
    p.add_argument("--no-micro", action="store_true", help="skip the classifier micro-benchmark")
    p.add_argument(
        "--classifier-only",
        action="store_true",
        help="run only the classifier micro-benchmark (no Redis, no workers: e.g. on a GPU machine)",
    )
    p.add_argument(
        "--model", help="the micro-benchmark's model folder or name (default: the classifier's default model)"
    )
    p.add_argument(
        "--batch-sizes",
        type=_batch_sizes,
        default=(1, 8, 16, 32, 64),
        help="the micro-benchmark's batch sizes (default 1,8,16,32,64)",
    )
    p.add_argument(
        "--rounds", type=int, default=5, help="the micro-benchmark's rounds; medians are reported (default 5)"
    )
    p.add_argument(
        "--runtime",
        choices=["auto", "keras", "tflite"],
        default="auto",
        help="the micro-benchmark's batched runtime (default auto: the model's TFLite file on a CPU)",
    )
    p.add_argument(
        "--dashboard-clients",
        type=int,
        default=0,
        help="with the dashboard: alternate windows without and with this many video viewers, and compare",
    )
    p.add_argument(
        "--acl",
        action="store_true",
        help="create the role users on the server (the config's user must be allowed to) and run each worker as its role's",
    )
    p.add_argument(
        "--blur-faces",
        choices=["on", "off"],
        help="blur faces in the frames viewers get, or not (default: the config's [privacy] blur_faces)",
    )
    p.add_argument(
        "--ab-rounds",
        type=int,
        default=3,
        help="with --dashboard-clients: how many pairs of --seconds windows (without, then with viewers)",
    )
    _bench_modes(p)
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(fn=cmd_bench)


def _camera_modes(p: argparse.ArgumentParser) -> None:
    """Real cameras' costs: decoding, RTSP cameras held, viewers' webcams."""
    p.add_argument(
        "--decode",
        action="store_true",
        help="what a camera's H.264 costs to take in at 360p/720p/1080p, keeping 5/10/15 of 25 fps: OpenCV read vs grab, PyAV (threads, skip_frame), hardware decode if present (no Redis)",
    )
    p.add_argument(
        "--rtsp",
        action="store_true",
        help="cameras from a real RTSP server (25 fps H.264 sub and main streams, looping): the most one machine holds at each capture fps with <= 5%% skipped and p95 <= 250 ms",
    )
    p.add_argument(
        "--browser-cameras",
        type=common.positive_int,
        default=0,
        help="N viewers' webcams from N Chromium pages (a sample video as their camera) at --fps: the dashboard's and the pipeline's CPU",
    )
    p.add_argument(
        "--rtsp-streams",
        type=_streams,
        default=["360p", "720p"],
        help="with --rtsp: streams (default 360p,720p)",
    )
    p.add_argument(
        "--rtsp-fps",
        type=_fps_list,
        default=[15.0, 10.0, 5.0],
        help="with --rtsp: capture fps (default 15,10,5)",
    )
    p.add_argument(
        "--rtsp-max-cameras", type=common.positive_int, default=32, help="with --rtsp: most cameras tried"
    )


def _bench_modes(p: argparse.ArgumentParser) -> None:
    """The bench's other measurements: against fer, detector recall, fuzz and soak."""
    p.add_argument(
        "--compare-fer",
        action="store_true",
        help="after the window, run the fer library's own frame-by-frame loop on the same video; report the ratio",
    )
    _camera_modes(p)
    p.add_argument(
        "--detector-recall",
        action="store_true",
        help="each detection method against faces labelled by eye (the sample videos and photos of several people): recall, precision, CPU per frame (no Redis)",
    )
    p.add_argument(
        "--alignment",
        action="store_true",
        help="the classifier's accuracy on the labelled set's expressions with the box's crop, the FER2013-framed crop, and the framed crop turned level (no Redis)",
    )
    p.add_argument(
        "--fer-framing",
        type=Path,
        metavar="DATA",
        help="how FER2013 (DATA/train/<class>/*.jpg) frames a face relative to BlazeFace's landmarks: the constant aligned crops use",
    )
    p.add_argument(
        "--timeline",
        action="store_true",
        help="time the dashboard's timeline ranges over a day of one camera's history (--rounds each)",
    )
    p.add_argument(
        "--soak",
        type=common.positive_seconds,
        metavar="SECONDS",
        help="run --cameras at --fps this long; report each worker's memory and each stream's length a minute apart",
    )
    p.add_argument(
        "--fuzz",
        type=common.positive_int,
        metavar="N",
        help="write N hostile entries into each stage's input stream; report memory before and after",
    )


def register(sub: Subparsers, parent: argparse.ArgumentParser) -> None:
    _add_bench(sub, parent)
