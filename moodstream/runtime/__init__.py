"""What every worker process shares: the run loop, health, liveness, metrics, backoff and redaction."""
