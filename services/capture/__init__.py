"""capture: one process per camera, publishing JPEG frames to the frames stream."""

from .worker import run

__all__ = ["run"]
