"""alerter: `[[alerts]]` rules over each camera's smoothed emotions, and webhook delivery of each firing."""
