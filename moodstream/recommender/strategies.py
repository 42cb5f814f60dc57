"""Emotion -> mood tables.

"uplift" is the research prototypes' mapping: counter a negative emotion with
music that lifts it. "match" reflects the emotion back, for people who want
music that fits how they feel.
"""

from __future__ import annotations

MOODS = ("Happy", "Sad", "Calm", "Energetic")

STRATEGIES: dict[str, dict[str, str]] = {
    "uplift": {
        "angry": "Calm",
        "disgust": "Sad",
        "fear": "Calm",
        "happy": "Happy",
        "sad": "Happy",
        "surprise": "Energetic",
        "neutral": "Energetic",
    },
    "match": {
        "angry": "Energetic",
        "disgust": "Sad",
        "fear": "Calm",
        "happy": "Happy",
        "sad": "Sad",
        "surprise": "Energetic",
        "neutral": "Calm",
    },
}


def mood_for(strategy: str, emotion: str) -> str:
    try:
        return STRATEGIES[strategy][emotion]
    except KeyError as exc:
        raise ValueError(f"no mood for emotion {emotion!r} under strategy {strategy!r}") from exc
