"""Every benchmark and load tool behind ``moodstream bench``, in one place."""
