"""classifier: batched, GPU-capable emotion classification of face crops."""
