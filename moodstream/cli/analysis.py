"""``moodstream analyze``: a recorded session's faces and emotions, frame by frame, without Redis."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from moodstream.cli import common

if TYPE_CHECKING:
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]


def cmd_analyze(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from moodstream.analysis.inputs import fps_of, frame_count, kind_of
    from moodstream.analysis.outputs import Annotator, RowWriter
    from moodstream.analysis.run import Analyzer
    from moodstream.config.privacy import Protection

    settings = common.load(args, required=False)
    kind_of(args.input)  # a missing input fails before the model loads
    writer = RowWriter(args.out)
    blur = Protection(margin=settings.privacy.blur_margin) if settings.privacy.blur_faces else None
    annotator = Annotator(args.annotate, fps_of(args.input), blur) if args.annotate else None
    analyzer = Analyzer(settings)
    frames = faces = 0
    try:
        progress = tqdm(
            analyzer.rows(args.input),
            total=frame_count(args.input),
            unit="frame",
            disable=not sys.stderr.isatty(),
        )
        for frame, rows in progress:
            writer.write(rows)
            if annotator is not None and frame.image.bgr is not None:
                annotator.write(frame.image.bgr, rows)
            frames, faces = frames + 1, faces + len(rows)
    finally:
        writer.close()
        if annotator is not None:
            annotator.close()
    print(f"{frames} frames, {faces} faces -> {args.out}" + (f", {args.annotate}" if args.annotate else ""))
    return 0


def register(sub: Subparsers, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "analyze",
        parents=[parent],
        help="faces and emotions of a video, a .msrec recording, an image or a folder of images, frame by frame (no Redis)",
    )
    p.add_argument(
        "input", type=Path, help="a video file, a .msrec recording, an image, or a folder of images"
    )
    p.add_argument(
        "--out",
        type=Path,
        required=True,
        help="where the rows go: .csv, .jsonl or .parquet (frame, t, track, box, landmarks, probs, label, smoothed)",
    )
    p.add_argument("--annotate", type=Path, help="also write the video with boxes and labels, as this .mp4")
    p.set_defaults(fn=cmd_analyze)
