"""moodstream: multi-camera facial emotion recognition over Redis Streams.

Each pipeline stage is its own package (capture, detector, classifier, smoother,
recommender); everything they share lives in ``services.common``.
"""

__version__ = "0.1.0"
