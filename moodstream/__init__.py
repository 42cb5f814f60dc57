"""moodstream: multi-camera facial emotion recognition over Redis Streams.

The one import namespace the distribution installs, and its folders are its architecture: one package
per pipeline stage (``capture``, ``detector``, ``classifier``, ``smoother``, ``recommender``), what they
share (``config``, ``streams``, ``runtime``), the ``dashboard``, ``training``, the ``cli``, running a
deployment (``ops``) and measuring it (``bench``). docs/architecture.md has the tree.
"""

__version__ = "0.1.0"
