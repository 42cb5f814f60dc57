"""What a run directory remembers between invocations: each phase's epochs, and which phases are done.

A run that stops (a time limit, a crash, a lost machine) is resumed by running the same command again:
finished phases load their weights instead of training, and the CSV logs carry the whole history.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


def read_histories(run: Path) -> dict[str, dict[str, list[float]]]:
    """Every phase's epochs from its CSV log: the whole run, over all the invocations that made it."""
    import csv

    histories: dict[str, dict[str, list[float]]] = {}
    for path in sorted(run.glob("history-*.csv")):
        with path.open(newline="") as f:
            rows = list(csv.DictReader(f))
        columns = [c for c in (rows[0] if rows else {}) if c != "epoch"]
        histories[path.stem.removeprefix("history-")] = {c: [float(r[c]) for r in rows] for c in columns}
    return histories


def best_so_far(run: Path) -> float | None:
    """The best val accuracy any earlier epoch of this run reached, or None."""
    values = [v for h in read_histories(run).values() for v in h.get("val_accuracy", [])]
    return max(values) if values else None


@dataclass
class RunState:
    """Phases an earlier invocation finished (their weights are loaded instead of retrained)."""

    path: Path
    done: list[str]
    seconds: float

    @classmethod
    def load(cls, run: Path) -> RunState:
        path = run / "state.json"
        data = json.loads(path.read_text()) if path.exists() else {"done": [], "seconds": 0.0}
        return cls(path, list(data["done"]), float(data.get("seconds", 0.0)))

    def save(self) -> None:
        self.path.write_text(json.dumps({"done": self.done, "seconds": self.seconds}))
