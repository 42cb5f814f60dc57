"""The circuit breaker on a clock the test steps by hand: no waiting, no wall clock."""

from moodstream.recommender.breaker import Breaker


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_failures_back_off_exponentially_then_open_the_circuit() -> None:
    clock = Clock()
    b = Breaker(failures_to_open=3, open_s=60.0, backoff_initial_s=1.0, backoff_max_s=30.0, clock=clock)
    assert b.allow() and b.state() == "closed"
    assert b.failure("HTTP 500") == 1.0
    assert not b.allow() and b.state() == "waiting"
    clock.now += 1.0
    assert b.allow() and b.state() == "half-open"
    assert b.failure("HTTP 500") == 2.0  # doubled
    clock.now += 1.9
    assert not b.allow()
    clock.now += 0.1
    assert b.failure("timed out") == 60.0  # the third in a row opens the circuit
    assert b.state() == "open" and b.last_reason == "timed out"
    clock.now += 59.9
    assert not b.allow()
    clock.now += 0.1
    assert b.allow() and b.state() == "half-open"
    b.success()
    assert b.state() == "closed" and b.failures == 0 and b.last_reason == ""


def test_retry_after_waits_exactly_and_is_not_a_failure_of_the_service() -> None:
    clock = Clock()
    b = Breaker(failures_to_open=1, clock=clock)
    assert b.failure("rate limited", retry_after_s=7.5) == 7.5
    assert b.failures == 0 and b.state() == "waiting"
    clock.now += 7.4
    assert not b.allow()
    clock.now += 0.1
    assert b.allow()


def test_backoff_is_capped() -> None:
    clock = Clock()
    b = Breaker(failures_to_open=100, backoff_initial_s=1.0, backoff_max_s=5.0, clock=clock)
    delays = [b.failure("HTTP 503") for _ in range(6)]
    assert delays == [1.0, 2.0, 4.0, 5.0, 5.0, 5.0]
