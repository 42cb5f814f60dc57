"""classifier: batched, GPU-capable emotion classification of face crops."""

from .worker import run

__all__ = ["run"]
