"""recommender: turns each camera's smoothed emotion into a music suggestion."""

from .worker import run

__all__ = ["run"]
