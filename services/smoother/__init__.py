"""smoother: per-camera, per-track temporal smoothing of raw classifications."""

from .worker import run

__all__ = ["run"]
