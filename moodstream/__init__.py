"""moodstream: multi-camera facial emotion recognition over Redis Streams.

The one import namespace the distribution installs. The repository keeps its folders as they are
(``services/``, ``dashboard/``, ``training/``); pyproject maps them to ``moodstream.services``,
``moodstream.dashboard`` and ``moodstream.training``, so an install claims no generic top-level name.
"""

__version__ = "0.1.0"
