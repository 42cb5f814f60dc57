"""Training, evaluating and exporting FER models for the classifier (see docs/training.md)."""
