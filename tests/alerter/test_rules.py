"""Alert rules over a camera's smoothed emotions: pure logic, with the events' own time."""

from __future__ import annotations

from moodstream.alerter.rules import evaluate
from moodstream.config import AlertRule
from moodstream.streams.schemas import AlertHold
from tests.dashboard.test_feed import emotion

RULE = AlertRule(emotions=["angry", "fear"], min_confidence=0.6, for_s=10, cooldown_s=60)


def run(events, rules=(RULE,), holds=None):
    holds = {} if holds is None else holds
    return [alert for event in events for alert in evaluate(list(rules), holds, event)], holds


def test_fires_once_when_held_for_for_s_then_not_within_the_cooldown() -> None:
    angry = [emotion("lobby", label="angry", ts=100 + i * 0.5) for i in range(60)]  # 30 s of anger
    fired, holds = run(angry)
    assert [(a.rule, a.ts, a.since, a.emotion) for a in fired] == [("angry-fear-10s", 110.0, 100.0, "angry")]
    # Then fear (the rule's other emotion) without a break: once the cooldown is over, it fires again.
    fear = [emotion("lobby", label="fear", ts=130 + i * 0.5) for i in range(90)]
    again, _ = run(fear, holds=holds)
    assert [(a.ts, a.since, a.emotion) for a in again] == [(170.0, 100.0, "fear")]


def test_another_emotion_a_weak_one_or_a_gap_starts_the_hold_again() -> None:
    for breaker in (
        emotion("lobby", label="happy", ts=105),
        emotion("lobby", label="angry", ts=105),  # confidence 0.7, but see below
    ):
        events = [emotion("lobby", label="angry", ts=100 + i * 0.5) for i in range(10)]
        events.append(breaker)
        events += [emotion("lobby", label="angry", ts=105.5 + i * 0.5) for i in range(12)]
        fired, _ = run(events, rules=(AlertRule(emotions=["angry"], for_s=10, min_confidence=0.8),))
        assert fired == []  # 0.7 never reaches 0.8
    events = [emotion("lobby", label="angry", ts=100 + i * 0.5) for i in range(10)]
    events.append(emotion("lobby", label="happy", ts=105))
    events += [emotion("lobby", label="angry", ts=105.5 + i * 0.5) for i in range(19)]  # 9 s more
    assert run(events)[0] == []
    gap = [emotion("lobby", label="angry", ts=t) for t in (100, 101, 102, 106, 107, 108, 109, 110, 111, 112)]
    assert run(gap)[0] == []  # 4 s unheard of: the hold began again at 106


def test_tracks_hold_on_their_own_and_rules_apply_to_their_cameras() -> None:
    one = [emotion("lobby", track=1, label="angry", ts=100 + i) for i in range(8)]
    other = [emotion("lobby", track=2, label="angry", ts=104 + i) for i in range(8)]
    merged = sorted(one + other, key=lambda e: e.ts)
    assert run(merged)[0] == []  # neither track held 10 s
    desk_only = AlertRule(name="desk", cameras=["desk"], emotions=["angry"], for_s=1)
    assert run([emotion("lobby", label="angry", ts=100 + i) for i in range(5)], rules=(desk_only,))[0] == []
    assert (
        len(run([emotion("desk", label="angry", ts=100 + i) for i in range(5)], rules=(desk_only,))[0]) == 1
    )


def test_a_rule_taken_out_of_the_config_leaves_no_state() -> None:
    holds = {"old-rule": AlertHold(fired=5.0)}
    run([emotion("lobby", label="angry", ts=100)], holds=holds)
    assert set(holds) == {"angry-fear-10s"}
