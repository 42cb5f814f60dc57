"""Models: train, pack the data, evaluate, quantize and export."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moodstream.cli import common
from moodstream.config import ConfigError
from moodstream.runtime.redact import redact_log_handlers

if TYPE_CHECKING:
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]

log = logging.getLogger("moodstream")


def _train_config(args: argparse.Namespace):  # noqa: ANN202 - training imports Keras lazily
    import tomllib

    from moodstream.training.recipe import TrainConfig

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


def _add_train(sub: Subparsers, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("train", parents=[parent], help="train a FER model (resumes an unfinished run)")
    p.add_argument("--run-dir", required=True, help="the run directory (config, history, checkpoints)")
    p.add_argument("--train-config", help="a TOML file of training settings (docs/training.md)")
    p.add_argument(
        "--model", help="vgg_fer, baseline_cnn, resemotenet, mini_xception, resnet50, resnet50v2, hybrid"
    )
    p.add_argument("--data", help="FER2013 CSV or image folder (default ../shared/data/fer2013)")
    for flag, kind, what in (
        ("--epochs", common.positive_int, "epochs"),
        ("--batch-size", common.positive_int, "images per batch"),
        ("--lr", common.positive_number, "peak learning rate"),
        ("--input-size", common.positive_int, "input side in pixels (48 for FER2013)"),
    ):
        p.add_argument(flag, type=kind, help=f"{what} (default: the training config's)")
    p.add_argument(
        "--max-train", type=common.positive_int, help="train on the first N images only (smoke runs)"
    )
    p.add_argument(
        "--max-val", type=common.positive_int, help="validate on the first N images only (smoke runs)"
    )
    p.add_argument("--seed", type=int, help="random seed (default: the training config's)")
    p.add_argument(
        "--init-from", help="start from this exported model's weights (folder, name or .keras file)"
    )
    p.add_argument(
        "--time-limit",
        type=common.positive_seconds,
        help="stop at the last epoch end before this many seconds; the same command resumes (default: none)",
    )
    p.set_defaults(fn=cmd_train)


def cmd_pack_data(args: argparse.Namespace) -> int:
    from moodstream.training import data as fer

    splits = tuple(s.strip() for s in args.splits.split(",") if s.strip())
    try:
        out = fer.pack(args.data, args.out, splits)
    except fer.DataError as exc:
        raise ConfigError(str(exc)) from exc
    print(f"packed {', '.join(splits)} of {args.data} into {out} ({out.stat().st_size / 1e6:.1f} MB)")
    return 0


def _add_pack_data(sub: Subparsers, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("pack-data", parents=[parent], help="pack a FER2013 dataset into one .npz file")
    p.add_argument("--data", default="../shared/data/fer2013", help="FER2013 CSV or image folder")
    p.add_argument("--out", required=True, help="the .npz file to write (e.g. data/fer2013-48.npz)")
    p.add_argument("--splits", default="train,val", help="comma-separated splits (default train,val)")
    p.set_defaults(fn=cmd_pack_data)


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


def _add_evaluate(sub: Subparsers, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("evaluate", parents=[parent], help="evaluate a model folder on FER2013")
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


def _add_quantize(sub: Subparsers, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "quantize", parents=[parent], help="add an int8 TFLite file to a model folder, for the CPU"
    )
    p.add_argument("model", help="a model folder (with model.json) or a name under models/")
    p.add_argument("--mode", choices=["dynamic", "float16"], default="dynamic", help="default dynamic")
    p.add_argument(
        "--data",
        default="../shared/data/fer2013",
        help="FER2013, to record the file's PublicTest figures in model.json (skipped if missing)",
    )
    p.set_defaults(fn=cmd_quantize)


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


def _add_export(sub: Subparsers, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("export", parents=[parent], help="export a finished run for the classifier")
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


def register(sub: Subparsers, parent: argparse.ArgumentParser) -> None:
    _add_train(sub, parent)
    _add_pack_data(sub, parent)
    _add_evaluate(sub, parent)
    _add_quantize(sub, parent)
    _add_export(sub, parent)
