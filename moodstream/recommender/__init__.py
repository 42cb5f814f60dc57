"""recommender: turns each camera's smoothed emotion into a music suggestion."""
