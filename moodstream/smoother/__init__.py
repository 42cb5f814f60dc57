"""smoother: per-camera, per-track temporal smoothing of raw classifications."""
