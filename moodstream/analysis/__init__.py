"""``moodstream analyze``: the live pipeline's perception, in one process, over a recorded input."""
