"""The ``moodstream`` command line."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moodstream.cli.errors import Parser, UsageError, report
from moodstream.config import ConfigError, Settings, config_path, load_settings
from moodstream.runtime.redact import redact_log_handlers
from moodstream.streams import dead_letters, heartbeats, suggestions
from moodstream.streams.stages import NAMES as STAGE_NAMES
from moodstream.training import TENSORFLOW_COMMANDS, use_stable_kernels

if TYPE_CHECKING:
    from moodstream.streams.bus import Bus

    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]

log = logging.getLogger("moodstream")
NOTHING_RUNS = "moodstream: nothing is running (no worker reports to this Redis and prefix): start it with `moodstream up`"


def _settings(args: argparse.Namespace, required: bool = True) -> Settings:
    """The deployment's settings; says which file they come from. Commands that act on a deployment
    (``required``) refuse to run on defaults when no config file is there: that is rarely what was meant."""
    explicit = getattr(args, "config", None)
    path = config_path(explicit)
    if required and explicit is None and not path.exists():
        raise ConfigError(
            f"no config file {path} here: run where your moodstream.toml is, pass --config FILE, or set "
            "$MOODSTREAM_CONFIG (docs/configuration.md lists every key)"
        )
    settings = load_settings(explicit)
    # Said to people: not with --json (for scripts), nor by the processes supervisor or a pod runs.
    quiet = getattr(args, "json", False) or getattr(args, "command", "") in ("worker", "dashboard")
    if required and not quiet:
        print(f"moodstream: config {path}", file=sys.stderr)
    return settings


def _redis_url(settings: Settings) -> str:
    from moodstream.streams.connection import resolve_url

    url = resolve_url(settings)
    if url is None:
        raise ConfigError("no Redis answers: start the stack with `moodstream up`, or set [redis] url")
    return url


def _bus(settings: Settings):  # noqa: ANN202 - imported lazily to keep `--help` fast
    from moodstream.streams.bus import Bus

    return Bus.for_settings(settings, _redis_url(settings))


def cmd_worker(args: argparse.Namespace) -> int:
    from moodstream.streams.stages import stage as stage_def

    stage = stage_def(args.stage)
    if stage.per_camera and not args.camera:
        raise ConfigError(f"worker {stage.name} needs --camera ID")
    if not stage.per_camera and args.camera:
        raise ConfigError(f"worker {stage.name} takes no --camera (it serves every camera)")
    settings = _settings(args)
    if args.partitions is not None:
        if stage.per_camera:
            raise ConfigError(f"worker {stage.name} takes no --partitions (a camera has one partition)")
        count = settings.streams.partitions
        bad = [p for p in args.partitions if p >= count]
        if bad:
            raise ConfigError(
                f"--partitions {bad} out of range: [streams] partitions = {count} (0..{count - 1})"
            )
        settings.streams.read_partitions = args.partitions
    return stage.run(settings, args.camera)


def cmd_health(args: argparse.Namespace) -> int:
    from moodstream.runtime import health

    settings = _settings(args, required=False)
    file = args.file or settings.runtime.health_file
    if not file:
        raise ConfigError(
            "no health file: set [runtime] health_file (or its environment override) or pass --file"
        )
    max_age = args.max_age or 3 * settings.runtime.heartbeat_s + 5  # a Redis back-off is at most 5 s
    verdict = health.check(Path(file), max_age, live_only=args.live)
    print(verdict.line, file=sys.stdout if verdict.ok else sys.stderr)
    return 0 if verdict.ok else 1


def _number(
    kind: type[int] | type[float], minimum: float, inclusive: bool, expected: str
) -> Callable[[str], Any]:
    """An argparse type: ``kind`` at least (``inclusive``) or above ``minimum``, finite, said plainly."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            value = None
        ok = (
            value is not None
            and value < float("inf")
            and (value >= minimum if inclusive else value > minimum)
        )
        if not ok:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    return parse


_positive_int = _number(int, 0, False, "a whole number above 0")
_count = _number(int, 0, True, "a whole number, 0 or more")
_positive_seconds = _number(float, 0, False, "a number of seconds above 0")
_count_seconds = _number(float, 0, True, "a number of seconds, 0 or more")
_positive_number = _number(float, 0, False, "a number above 0")


def _camera_id(text: str) -> str:
    from moodstream.config import CAMERA_ID_RE

    if not CAMERA_ID_RE.match(text):
        raise argparse.ArgumentTypeError(
            f"bad camera id {text!r}: 1 to 64 letters, digits, '_' or '-' (as in [[cameras]] id)"
        )
    return text


def _port(text: str) -> int:
    value = _count(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"expected a port number 0-65535, got {text!r}")
    return value


def _partition_list(text: str) -> list[int]:
    try:
        parts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        parts = []
    if not parts or min(parts) < 0:
        raise argparse.ArgumentTypeError(f"expected partition numbers like 0,2, got {text!r}")
    return parts


def cmd_dashboard(args: argparse.Namespace) -> int:
    from moodstream.dashboard.server import run

    settings = _settings(args)
    if args.host:
        settings.dashboard.host = args.host
    if args.port is not None:
        settings.dashboard.port = args.port
    return run(settings)


def cmd_url(args: argparse.Namespace) -> int:
    from moodstream.ops import stack

    settings = _settings(args)
    url = stack.dashboard_url(settings)
    if url is None:
        print("moodstream: the dashboard is disabled ([dashboard] enabled = false)", file=sys.stderr)
        return 1
    if not _reporting(_bus(settings), "dashboard"):
        print("moodstream: the dashboard is not running: start it with `moodstream up`", file=sys.stderr)
        return 1
    print(url)
    return 0


def _reporting(bus: Bus, stage: str, within_s: float = 15.0) -> bool:
    """A process of ``stage`` ("*": any) beats; right after `up`, give them a few seconds to start."""
    deadline = time.monotonic() + within_s
    while not heartbeats.live(bus, stage):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.25)  # polling a condition, with a deadline
    return True


def cmd_up(args: argparse.Namespace) -> int:
    from moodstream.ops import stack

    settings = _settings(args)
    path = config_path(getattr(args, "config", None))
    url = stack.up(
        settings,
        path,
        join=args.join,
        progress=lambda message: print(f"moodstream: {message}…", file=sys.stderr),
    )
    from moodstream.runtime.redact import redact

    print(f"moodstream is up: {len(settings.cameras)} camera(s), Redis at {redact(url)}")
    dashboard = stack.dashboard_url(settings)
    if dashboard:
        print(f"  dashboard: {dashboard}")
    print(f"  logs:    {stack.run_dir(settings) / 'logs'}")
    print(f"  watch:   moodstream watch --config {path}")
    print(f"  status:  moodstream status --config {path}")
    print(f"  stop:    moodstream down --config {path}")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    from moodstream.ops import stack

    if stack.down(_settings(args)):
        print("moodstream stopped")
    else:
        print("moodstream is not running")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from moodstream.ops import stack
    from moodstream.ops.observe import collect_status, format_status

    settings = _settings(args)
    bus = _bus(settings)
    status = collect_status(bus)
    status.processes = stack.describe(settings)
    print(json.dumps(status.to_json()) if args.json else format_status(status))
    if not heartbeats.live(bus):
        print(NOTHING_RUNS, file=sys.stderr)
        return 1
    return 0


def cmd_watch(args: argparse.Namespace) -> int:
    from moodstream.ops.observe import follow

    bus = _bus(_settings(args))
    if not _reporting(bus, "*"):
        print(f"{NOTHING_RUNS}: no events will come", file=sys.stderr)
        return 1
    deadline = time.monotonic() + args.seconds if args.seconds else None
    count = 0
    for event in follow(bus, camera=args.camera, from_start=args.from_start):
        if deadline is not None and time.monotonic() >= deadline:
            break
        if event is None:
            continue
        if args.json:
            print(json.dumps(event), flush=True)
        elif event["type"] == "emotion":
            print(
                f"{event['camera']} track {event['track']}: {event['label']} ({event['confidence']:.2f})",
                flush=True,
            )
        elif event["type"] == "alert":
            print(
                f"{event['camera']} ALERT {event['rule']}: {event['emotion']} on track {event['track']} "
                f"for {event['held_s']:.0f} s",
                flush=True,
            )
        else:
            tracks = ", ".join(f"{t['title']} - {t['artist']}" for t in event["tracks"])
            print(f"{event['camera']}: {event['emotion']} -> {event['mood']}: {tracks}", flush=True)
        count += 1
        if args.count and count >= args.count:
            break
    return 0


def cmd_record(args: argparse.Namespace) -> int:
    from moodstream.ops.recording import record
    from moodstream.runtime.worker import Stopper

    bus = _bus(_settings(args))
    out = Path(args.out)
    if out.is_dir():
        raise UsageError(
            f"--out {out} is a folder: name the .msrec file to write, e.g. {out / 'lobby.msrec'}"
        )
    n = record(bus, args.camera, out, args.seconds, Stopper().install())
    if n == 0:
        print(
            f"moodstream: recorded no frames: camera {args.camera} published none (is its capture running? "
            "`moodstream status` lists the cameras)",
            file=sys.stderr,
        )
        return 1
    print(f"recorded {n} frames of camera {args.camera} to {out}")
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from moodstream.ops.recording import RecordingReader, replay
    from moodstream.runtime.worker import Runtime, Stopper, setup_logging
    from moodstream.streams.client import connect

    settings = _settings(args)
    camera = args.camera or RecordingReader(Path(args.file)).camera  # a missing or foreign file fails here
    setup_logging(settings.runtime.log_level)
    client = connect(_redis_url(settings), settings.redis.socket_timeout_s, settings.redis.cluster)
    rt = Runtime("capture", settings, client, Stopper().install(), name_suffix=camera)
    if not args.force and camera in _live_cameras(rt.bus):
        raise UsageError(
            f"camera {camera} is live (its capture is running): the recording's frames would mix with its "
            "own. Replay as another camera (--camera ID), or pass --force"
        )
    return replay(rt, Path(args.file), camera, speed=args.speed, loop=args.loop, every_frame=not args.live)


def _live_cameras(bus: Bus) -> set[str]:
    """Cameras whose capture worker is running now (it beats)."""

    return {b.detail.camera for b in heartbeats.live(bus) if b.stage == "capture" and b.detail is not None}


def cmd_assets(args: argparse.Namespace) -> int:
    from moodstream import assets

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    redact_log_handlers()
    paths = assets.fetch_all()
    for name, path in paths.items():
        print(f"{name}: {path}")
    return 0


def cmd_dead(args: argparse.Namespace) -> int:
    bus = _bus(_settings(args))
    if args.replay:
        replayed, left = dead_letters.replay(bus, args.count)
        print(f"replayed {replayed} dead letter(s); {left} left (kept in part, or unreadable)")
        return 0
    letters = dead_letters.newest(bus, args.count)
    for letter in letters:
        item = {k: v for k, v in asdict(letter).items() if k != "payload"}
        print(json.dumps({**item, "payload_bytes": len(letter.payload)}))
    if not letters:
        print("moodstream: no dead letters", file=sys.stderr)
    return 0


def cmd_reset(args: argparse.Namespace) -> int:
    n = _bus(_settings(args)).delete_all()
    print(f"deleted {n} keys")
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    settings = _settings(args, required=False)
    data = settings.model_dump() if args.show_secrets else settings.redacted_dump()
    print(json.dumps(data, indent=2))
    return 0


def _batch_sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"expected batch sizes like 1,8,32, got {text!r}")
    return sizes


def cmd_bench_classifier(args: argparse.Namespace) -> int:
    from moodstream.bench.classifier import classifier_micro, format_classifier

    result = classifier_micro(args.model, args.batch_sizes, rounds=args.rounds, runtime=args.runtime)
    print(json.dumps(result) if args.json else format_classifier(result))
    return 0


def cmd_bench_recall(args: argparse.Namespace) -> int:
    from moodstream.assets import fetch_samples
    from moodstream.bench.detector_recall import RECALL_VIDEOS, detector_recall, format_recall

    cfg = _settings(args, required=False).detector
    samples = fetch_samples()
    result = detector_recall(cfg, [samples / name for name in RECALL_VIDEOS])
    print(json.dumps(result) if args.json else format_recall(result, cfg.full_scan_every))
    return 0


def cmd_bench_timeline(args: argparse.Namespace) -> int:
    from moodstream.bench.timeline import format_timeline, run_timeline_bench

    settings = _settings(args, required=False)
    result = run_timeline_bench(settings, _redis_url(settings), rounds=args.rounds)
    print(json.dumps(result) if args.json else format_timeline(result))
    return 0


def cmd_bench_endurance(args: argparse.Namespace) -> int:
    from moodstream.bench import endurance

    if args.soak:
        result = endurance.run_soak(_settings(args, required=False), args.soak, args.cameras, args.fps)
        print(json.dumps(result) if args.json else endurance.format_soak(result))
    else:
        result = endurance.run_fuzz(_settings(args), args.fuzz)
        print(json.dumps(result) if args.json else endurance.format_fuzz(result))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    if args.classifier_only:
        return cmd_bench_classifier(args)
    if args.soak or args.fuzz:
        return cmd_bench_endurance(args)
    if args.detector_recall:
        return cmd_bench_recall(args)
    if args.timeline:
        return cmd_bench_timeline(args)
    from moodstream.bench.pipeline import format_ab, format_result, run_bench

    viewers = args.dashboard_clients
    result: dict[str, Any] = run_bench(
        _settings(args, required=False),
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
    )
    if args.json:
        print(json.dumps(result))
    else:
        print(format_ab(result) if viewers else format_result(result))
    return 0


def _train_config(args: argparse.Namespace):  # noqa: ANN202 - training imports Keras lazily
    import tomllib

    from moodstream.training.train import TrainConfig

    data: dict[str, Any] = {}
    if args.train_config:
        data = tomllib.loads(Path(args.train_config).read_text())
    keys = (
        "model",
        "data",
        "epochs",
        "batch_size",
        "lr",
        "input_size",
        "max_train",
        "max_val",
        "seed",
        "init_from",
    )
    for key in keys:
        value = getattr(args, key, None)
        if value is not None:
            data[key] = value
    try:
        return TrainConfig.model_validate(data)
    except Exception as exc:  # pydantic's ValidationError, with the keys named
        raise ConfigError(f"invalid training config: {exc}") from exc


def cmd_train(args: argparse.Namespace) -> int:
    from moodstream.training.train import train

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    redact_log_handlers()
    cfg = _train_config(args)
    summary = train(cfg, args.run_dir, verbose=2, time_limit=args.time_limit or 0.0)
    print(json.dumps(summary["val"]))
    if not summary["finished"]:
        print(f"stopped at the time limit: run the same command again to resume {args.run_dir}")
    print(f"run: {args.run_dir}  (export it with `moodstream export {args.run_dir} --out models/NAME`)")
    return 0


def cmd_pack_data(args: argparse.Namespace) -> int:
    from moodstream.training import data as fer

    splits = tuple(s.strip() for s in args.splits.split(",") if s.strip())
    try:
        out = fer.pack(args.data, args.out, splits)
    except fer.DataError as exc:
        raise ConfigError(str(exc)) from exc
    print(f"packed {', '.join(splits)} of {args.data} into {out} ({out.stat().st_size / 1e6:.1f} MB)")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from moodstream.modelspec import resolve_model_dir
    from moodstream.training.evaluate import evaluate_model, format_report, write_report

    folders: list[str | Path] = [resolve_model_dir(m) for m in args.model]
    report = evaluate_model(folders, args.data, args.split, tta=args.tta, runtime=args.runtime)
    print(format_report(report))
    if args.out:
        write_report(report, Path(args.out))
        print(f"report, metrics and confusion matrix in {args.out}")
    return 0


def cmd_quantize(args: argparse.Namespace) -> int:
    from moodstream.modelspec import resolve_model_dir
    from moodstream.training.export import add_tflite

    folder = resolve_model_dir(args.model)
    data = args.data if Path(args.data).exists() else None
    entry = add_tflite(folder, args.mode, data)
    val = entry.get("metrics", {}).get("val")
    figures = f": PublicTest accuracy {val['accuracy']:.4f}, macro-F1 {val['macro_f1']:.4f}" if val else ""
    print(f"wrote {folder / entry['file']} and named it in model.json{figures}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from moodstream.training.export import export

    representative = None
    if args.tflite == "int8":
        import json as _json

        from moodstream.training import data as fer

        cfg = _json.loads((Path(args.run_dir) / "config.json").read_text())
        representative = fer.as_inputs(fer.load(cfg["data"], "train", int(cfg.get("input_size", 48))).x[:500])
    out = export(
        args.run_dir,
        args.out,
        name=args.name,
        tflite=args.tflite,
        representative=representative,
        mirror_average=args.mirror_average,
    )
    print(f'exported to {out}: set [classifier] model = "{out}"')
    return 0


def cmd_spotify_save(args: argparse.Namespace) -> int:
    from moodstream.ops import stack
    from moodstream.recommender.playlist import save_suggestion, user_client
    from moodstream.streams.schemas import RecommendationEvent

    settings = _settings(args)
    bus = _bus(settings)
    raw = suggestions.latest(bus, args.camera)
    if raw is None:
        print(f"moodstream: no suggestion yet for camera {args.camera}", file=sys.stderr)
        return 1
    reco = RecommendationEvent.decode(raw)
    sp = user_client(settings.spotify, stack.run_dir(settings) / "spotify-user-token.json")
    playlist_id, added = save_suggestion(sp, reco, args.playlist)
    print(
        f"added {added} of {len(reco.tracks)} tracks to {args.playlist!r} (https://open.spotify.com/playlist/{playlist_id})"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    common = Parser(add_help=False)
    common.add_argument(
        "--config",
        default=argparse.SUPPRESS,
        help="config file (default: ./moodstream.toml, or $MOODSTREAM_CONFIG)",
    )
    common.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show the traceback of a failure"
    )
    parser = Parser(prog="moodstream", description=__doc__, parents=[common])
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_stack_commands, _observing_commands, _recording_commands, _bench_command):
        add(sub, common)
    for add in (_training_commands, _model_commands, _maintenance_commands):
        add(sub, common)
    return parser


def _stack_commands(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("up", parents=[common], help="start the whole stack under supervisor")
    p.add_argument(
        "--join",
        action="store_true",
        help="add this host's workers to a deployment running elsewhere on the same Redis and prefix",
    )
    p.set_defaults(fn=cmd_up)
    p = sub.add_parser("down", parents=[common], help="stop the stack")
    p.set_defaults(fn=cmd_down)
    p = sub.add_parser("dashboard", parents=[common], help="run the web dashboard and Socket.IO feed alone")
    p.add_argument("--host", help="override [dashboard] host")
    p.add_argument("--port", type=_port, help="override [dashboard] port")
    p.set_defaults(fn=cmd_dashboard)
    p = sub.add_parser("url", parents=[common], help="print the dashboard URL, with its token")
    p.set_defaults(fn=cmd_url)
    p = sub.add_parser("worker", parents=[common], help="run one pipeline worker (what supervisor runs)")
    p.add_argument("stage", choices=STAGE_NAMES, help="the stage this process runs")
    p.add_argument(
        "--camera", type=_camera_id, help="the camera, for stages that run one process per camera (capture)"
    )
    p.add_argument(
        "--partitions",
        type=_partition_list,
        help="read only these stream partitions, e.g. 0,2 (default: [streams] read_partitions, else all)",
    )
    p.set_defaults(fn=cmd_worker)
    p = sub.add_parser(
        "health", parents=[common], help="probe a worker through its health file (exit 0: alive or ready)"
    )
    p.add_argument("--file", help="the worker's health file (default: [runtime] health_file)")
    p.add_argument(
        "--live",
        action="store_true",
        help="only ask whether the worker still loops (liveness), not whether it can work (readiness)",
    )
    p.add_argument(
        "--max-age",
        type=_positive_seconds,
        help="seconds since the worker's last report (default: 3 x [runtime] heartbeat_s + 5)",
    )
    p.set_defaults(fn=cmd_health)


def _observing_commands(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "status", parents=[common], help="per-stage rates, pending/lag, skipped and dead letters"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object (for scripts)")
    p.set_defaults(fn=cmd_status)
    p = sub.add_parser("watch", parents=[common], help="print emotion, recommendation and alert events")
    p.add_argument("--camera", type=_camera_id, help="only this camera's events (default: every camera)")
    p.add_argument("--json", action="store_true", help="one JSON object per event, as the feed sends it")
    p.add_argument("--count", type=_count, default=0, help="exit after this many events (0: never)")
    p.add_argument(
        "--seconds", type=_count_seconds, default=0, help="exit after this many seconds (0: never)"
    )
    p.add_argument("--from-start", action="store_true", help="begin with the events still in the stream")
    p.set_defaults(fn=cmd_watch)
    p = sub.add_parser("dead", parents=[common], help="list dead-lettered messages with their reasons")
    p.add_argument("--count", type=_positive_int, default=20, help="how many letters to list or replay")
    p.add_argument(
        "--replay",
        action="store_true",
        help="put the oldest letters that were kept whole back on their streams (after fixing the cause)",
    )
    p.set_defaults(fn=cmd_dead)


def _recording_commands(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("record", parents=[common], help="record a camera's frames to a file")
    p.add_argument("--camera", type=_camera_id, required=True, help="the camera to record")
    p.add_argument("--out", required=True, help="the .msrec file to write")
    p.add_argument(
        "--seconds", type=_count_seconds, default=0, help="stop after this many seconds (0: at Ctrl-C)"
    )
    p.set_defaults(fn=cmd_record)
    p = sub.add_parser("replay", parents=[common], help="publish a recording with its original timing")
    p.add_argument("file", help="a .msrec recording (from `moodstream record`)")
    p.add_argument(
        "--camera", type=_camera_id, help="publish as this camera (default: the recording's own camera id)"
    )
    p.add_argument("--speed", type=_positive_number, default=1.0, help="playback speed: 2 is twice as fast")
    p.add_argument("--loop", action="store_true", help="start again at the end, until Ctrl-C")
    p.add_argument(
        "--force",
        action="store_true",
        help="publish even if that camera's live capture is running (mixes both)",
    )
    p.add_argument(
        "--live", action="store_true", help="let the detector skip stale frames, as for a live camera"
    )
    p.set_defaults(fn=cmd_replay)


def _bench_command(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("bench", parents=[common], help="benchmark the pipeline on replayed sample video")
    p.add_argument("--cameras", type=_positive_int, default=4, help="replayed cameras")
    p.add_argument("--seconds", type=_positive_seconds, default=30, help="how long to measure")
    p.add_argument("--fps", type=_positive_number, default=15, help="frames per second per camera")
    p.add_argument("--detectors", type=int, default=0, help="detector instances (0: one per core)")
    p.add_argument("--classifiers", type=_positive_int, default=1, help="classifier instances")
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
        "--ab-rounds",
        type=int,
        default=3,
        help="with --dashboard-clients: how many pairs of --seconds windows (without, then with viewers)",
    )
    _bench_modes(p)
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(fn=cmd_bench)


def _bench_modes(p: argparse.ArgumentParser) -> None:
    """The bench's other measurements: against fer, detector recall, fuzz and soak."""
    p.add_argument(
        "--compare-fer",
        action="store_true",
        help="after the window, run the fer library's own frame-by-frame loop on the same video; report the ratio",
    )
    p.add_argument(
        "--detector-recall",
        action="store_true",
        help="region search against a full scan of every frame, over the sample videos (no Redis)",
    )
    p.add_argument(
        "--timeline",
        action="store_true",
        help="time the dashboard's timeline ranges over a day of one camera's history (--rounds each)",
    )
    p.add_argument(
        "--soak",
        type=_positive_seconds,
        metavar="SECONDS",
        help="run --cameras at --fps this long; report each worker's memory and each stream's length a minute apart",
    )
    p.add_argument(
        "--fuzz",
        type=_positive_int,
        metavar="N",
        help="write N hostile entries into each stage's input stream; report memory before and after",
    )


def _training_commands(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("train", parents=[common], help="train a FER model (resumes an unfinished run)")
    p.add_argument("--run-dir", required=True, help="the run directory (config, history, checkpoints)")
    p.add_argument("--train-config", help="a TOML file of training settings (docs/training.md)")
    p.add_argument(
        "--model", help="vgg_fer, baseline_cnn, resemotenet, mini_xception, resnet50, resnet50v2, hybrid"
    )
    p.add_argument("--data", help="FER2013 CSV or image folder (default ../shared/data/fer2013)")
    for flag, kind, what in (
        ("--epochs", _positive_int, "epochs"),
        ("--batch-size", _positive_int, "images per batch"),
        ("--lr", _positive_number, "peak learning rate"),
        ("--input-size", _positive_int, "input side in pixels (48 for FER2013)"),
    ):
        p.add_argument(flag, type=kind, help=f"{what} (default: the training config's)")
    p.add_argument("--max-train", type=_positive_int, help="train on the first N images only (smoke runs)")
    p.add_argument("--max-val", type=_positive_int, help="validate on the first N images only (smoke runs)")
    p.add_argument("--seed", type=int, help="random seed (default: the training config's)")
    p.add_argument(
        "--init-from", help="start from this exported model's weights (folder, name or .keras file)"
    )
    p.add_argument(
        "--time-limit",
        type=_positive_seconds,
        help="stop at the last epoch end before this many seconds; the same command resumes (default: none)",
    )
    p.set_defaults(fn=cmd_train)
    p = sub.add_parser("pack-data", parents=[common], help="pack a FER2013 dataset into one .npz file")
    p.add_argument("--data", default="../shared/data/fer2013", help="FER2013 CSV or image folder")
    p.add_argument("--out", required=True, help="the .npz file to write (e.g. data/fer2013-48.npz)")
    p.add_argument("--splits", default="train,val", help="comma-separated splits (default train,val)")
    p.set_defaults(fn=cmd_pack_data)


def _model_commands(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("evaluate", parents=[common], help="evaluate a model folder on FER2013")
    p.add_argument(
        "model",
        nargs="+",
        help="a model folder (with model.json) or a name under models/; several: evaluated as an ensemble",
    )
    p.add_argument(
        "--data", default="../shared/data/fer2013", help="FER2013 CSV, image folder or packed .npz"
    )
    p.add_argument(
        "--split", default="val", choices=["train", "val", "test"], help="which split (val is PublicTest)"
    )
    p.add_argument("--tta", action="store_true", help="average with horizontally flipped faces")
    p.add_argument(
        "--runtime",
        choices=["keras", "tflite"],
        default="keras",
        help="evaluate the Keras model (default) or the TFLite file its model.json names",
    )
    p.add_argument("--out", help="write metrics.json, report.txt and confusion.png here")
    p.set_defaults(fn=cmd_evaluate)
    p = sub.add_parser(
        "quantize", parents=[common], help="add an int8 TFLite file to a model folder, for the CPU"
    )
    p.add_argument("model", help="a model folder (with model.json) or a name under models/")
    p.add_argument("--mode", choices=["dynamic", "float16"], default="dynamic", help="default dynamic")
    p.add_argument(
        "--data",
        default="../shared/data/fer2013",
        help="FER2013, to record the file's PublicTest figures in model.json (skipped if missing)",
    )
    p.set_defaults(fn=cmd_quantize)
    p = sub.add_parser("export", parents=[common], help="export a finished run for the classifier")
    p.add_argument("run_dir", help="a finished training run (from `moodstream train --run-dir`)")
    p.add_argument("--out", required=True, help="the model folder to write (e.g. models/fer-resnet)")
    p.add_argument("--name", help="the model's name in model.json (default: the folder's name)")
    p.add_argument(
        "--tflite",
        default="",
        choices=["", "dynamic", "float16", "int8"],
        help="also write a TFLite file and name it in model.json (dynamic: int8 weights, what the CPU runs)",
    )
    p.add_argument(
        "--mirror-average",
        action="store_true",
        help="bake test-time augmentation into the graph: average each face with its mirror image (2x cost)",
    )
    p.set_defaults(fn=cmd_export)


def _maintenance_commands(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("assets", parents=[common], help="download and verify the model and sample videos")
    p.add_argument("action", choices=["fetch"], help="fetch: download what is missing and check every file")
    p.set_defaults(fn=cmd_assets)
    p = sub.add_parser(
        "spotify-save", parents=[common], help="save a camera's current suggestion to your Spotify playlist"
    )
    p.add_argument("--camera", type=_camera_id, required=True, help="whose current suggestion to save")
    p.add_argument("--playlist", default="moodstream suggestions", help="your Spotify playlist's name")
    p.set_defaults(fn=cmd_spotify_save)
    p = sub.add_parser("reset", parents=[common], help="delete all of this deployment's keys from Redis")
    p.set_defaults(fn=cmd_reset)
    p = sub.add_parser("config", parents=[common], help="validate the config and print it with defaults")
    p.add_argument(
        "--show-secrets",
        action="store_true",
        help="print the token, passwords and camera credentials as they are",
    )
    p.set_defaults(fn=cmd_config)


def _command(argv: list[str]) -> str | None:
    """The subcommand, found before parsing (``--config X`` may precede it)."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--config":
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up notes are not ours to print
    if _command(argv) in TENSORFLOW_COMMANDS:
        use_stable_kernels()
    if _command(argv) == "dashboard":
        # gevent must patch the standard library before redis, flask or socket are imported.
        from gevent import monkey

        monkey.patch_all()
    args = build_parser().parse_args(argv)
    try:
        return int(args.fn(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        if args.command != "watch":
            raise
        sys.stderr.close()  # `moodstream watch | head`
        return 0
    except Exception as exc:  # noqa: BLE001 - one line for every failure; --debug shows the traceback
        return report(exc, debug=getattr(args, "debug", False))


if __name__ == "__main__":
    sys.exit(main())
