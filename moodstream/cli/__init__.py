"""The ``moodstream`` command line."""
