"""The classifier's micro-benchmark: one ``model.predict`` per face against the compiled batched call.

The per-face baseline is always the Keras model's ``predict`` (the research prototypes' way); the batched
call is the one the classifier runs (``runtime``: the model's TFLite file on a CPU, where it has one).

It needs only the model and Keras (no Redis, no workers), so it runs as it is on a GPU machine that has
nothing else of the stack (``moodstream bench --classifier-only``).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def _faces_per_s(
    calls: int, faces_each: int, run: Callable[[int], Any], cpu: list[float] | None = None
) -> float:
    """Faces per second of wall time; the CPU milliseconds per face (all threads) go to ``cpu``."""
    t, c = time.perf_counter(), time.process_time()
    for i in range(calls):
        run(i)
    if cpu is not None:
        cpu.append((time.process_time() - c) * 1000 / (calls * faces_each))
    return calls * faces_each / (time.perf_counter() - t)


def _spread(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 1),
        "min": round(min(values), 1),
        "max": round(max(values), 1),
    }


def classifier_micro(
    model: str | None = None,
    batch_sizes: tuple[int, ...] = (1, 8, 16, 32, 64),
    per_face_n: int = 40,
    rounds: int = 5,
    runtime: str = "auto",
) -> dict[str, Any]:
    """One ``model.predict`` per face against the compiled batched call, each measured ``rounds`` times.

    Why rounds: a single per-face timing swings by a quarter from run to run, and the speed-up with it;
    medians (with min and max) make the figures comparable between machines and commits.
    """
    import numpy as np

    from moodstream.classifier.predictor import Predictor
    from moodstream.config import ClassifierSettings
    from moodstream.modelspec import ModelSpec, resolve_model_dir

    spec = ModelSpec.load(resolve_model_dir(model or ClassifierSettings().model))
    predictor = Predictor(spec, max_batch=max(batch_sizes), runtime=runtime)
    predictor.warmup()
    pool = max(256, 2 * max(batch_sizes))
    crops = np.random.default_rng(0).integers(0, 255, (pool, spec.size, spec.size), dtype=np.uint8)
    predictor.predict_per_face(crops[:3])
    per_face = [
        _faces_per_s(1, per_face_n, lambda _: predictor.predict_per_face(crops[:per_face_n]))
        for _ in range(rounds)
    ]
    batched: dict[str, dict[str, float]] = {}
    cpu_ms: dict[str, float] = {}
    for size in batch_sizes:
        predictor.max_batch = size
        predictor.predict_crops(crops[:size])
        calls = max(5, 512 // size)
        chunks = [crops[(i * size) % (pool - size + 1) :][:size] for i in range(calls)]
        cpu: list[float] = []
        runs = [
            _faces_per_s(calls, size, lambda i, c=chunks: predictor.predict_crops(c[i]), cpu)
            for _ in range(rounds)
        ]
        batched[str(size)] = _spread(runs)
        cpu_ms[str(size)] = round(statistics.median(cpu), 3)
    per_face_spread = _spread(per_face)
    best = max(b["median"] for b in batched.values())
    return {
        "model": spec.name,
        "device": predictor.device,
        "backend": predictor.backend,
        "runtime": predictor.runtime,
        "rounds": rounds,
        "per_face_predict_faces_per_s": per_face_spread,
        "batched_faces_per_s": batched,
        "batched_cpu_ms_per_face": cpu_ms,
        "speedup_best": round(best / per_face_spread["median"], 1),
        # The compiled call at batch 1 against predict: what compiling alone gives, before any batching.
        "speedup_batch1": round(batched[str(min(batch_sizes))]["median"] / per_face_spread["median"], 1),
    }


def format_classifier(c: dict[str, Any]) -> str:
    def spread(s: dict[str, float]) -> str:
        return f"{s['median']} ({s['min']}-{s['max']})"

    cpu = c.get("batched_cpu_ms_per_face", {})
    batched = ", ".join(
        f"batch {k}: {spread(v)} ({cpu.get(k, '?')} ms CPU a face)"
        for k, v in c["batched_faces_per_s"].items()
    )
    return (
        f"classifier {c['model']} ({c.get('runtime', 'keras')}: {c['backend']}, {c['device']}), faces/s of wall time, "
        f"median (min-max) of {c['rounds']} rounds: per-face model.predict {spread(c['per_face_predict_faces_per_s'])}; "
        f"compiled {batched}; speed-up over model.predict (ratio of medians): compiled at batch 1 "
        f"x{c.get('speedup_batch1', '?')}, best batch x{c['speedup_best']}"
    )
