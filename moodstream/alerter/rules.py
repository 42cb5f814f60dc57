"""Alert rules (`[[alerts]]`) over each camera's smoothed emotions.

A rule fires when one face track on a camera shows one of its emotions, at its `min_confidence` or
more, for `for_s` seconds; it then stays quiet on that camera for `cooldown_s`. Time is the events'
own: a replayed recording fires as it did live.

The alerter stage keeps each camera's holds as its state, under a per-camera lease, and commits that
state with its alerts and acks in one transaction. So a firing is published once, however many alerter
instances run and whichever of them crashes.
"""

from __future__ import annotations

from moodstream.config import AlertRule
from moodstream.streams.schemas import AlertEvent, AlertHold, EmotionEvent

# A track not heard of for this long has left (or was lost): its hold starts again.
GAP_S = 2.0


def check(rule: AlertRule, hold: AlertHold, event: EmotionEvent) -> AlertEvent | None:
    """Fold one emotion event into one rule's hold on its camera; the alert, if the rule fires now."""
    key = str(event.track)
    hold.tracks = {k: v for k, v in hold.tracks.items() if event.ts - v[1] <= GAP_S}
    if event.label not in rule.emotions or event.confidence < rule.min_confidence:
        hold.tracks.pop(key, None)
        return None
    since = hold.tracks.get(key, [event.ts, event.ts])[0]
    hold.tracks[key] = [since, event.ts]
    quiet = hold.fired > 0 and event.ts - hold.fired < rule.cooldown_s
    if event.ts - since < rule.for_s or quiet:
        return None
    hold.fired = event.ts
    return AlertEvent(
        camera=event.camera,
        ts=event.ts,
        rule=rule.name,
        emotion=event.label,
        track=event.track,
        since=since,
        confidence=event.confidence,
    )


def evaluate(rules: list[AlertRule], holds: dict[str, AlertHold], event: EmotionEvent) -> list[AlertEvent]:
    """Every rule that applies to the event's camera; ``holds`` (the camera's, by rule) is updated."""
    fired = []
    for rule in rules:
        if rule.applies_to(event.camera):
            alert = check(rule, holds.setdefault(rule.name, AlertHold()), event)
            if alert is not None:
                fired.append(alert)
    for gone in set(holds) - {rule.name for rule in rules}:  # a rule removed from the config
        del holds[gone]
    return fired
