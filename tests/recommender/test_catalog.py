from moodstream.recommender.catalog import Catalog, CatalogProvider
from moodstream.recommender.strategies import STRATEGIES, mood_for


def test_research_uplift_mapping() -> None:
    assert mood_for("uplift", "disgust") == "Sad"
    assert mood_for("uplift", "happy") == mood_for("uplift", "sad") == "Happy"
    assert mood_for("uplift", "fear") == mood_for("uplift", "angry") == "Calm"
    assert mood_for("uplift", "surprise") == mood_for("uplift", "neutral") == "Energetic"
    assert set(STRATEGIES["match"]) == set(STRATEGIES["uplift"])


def test_shipped_catalog_top_five_by_popularity() -> None:
    catalog = Catalog.load()
    assert len(catalog.tracks) == 686
    assert catalog.moods() == ["Calm", "Energetic", "Happy", "Sad"]
    tracks = CatalogProvider(catalog).suggest("Happy", "sad", 5, set())
    pops = [t.popularity for t in tracks]
    assert len(tracks) == 5 and pops == sorted(pops, reverse=True)
    assert pops[0] == max(t.popularity for t in catalog.by_mood["Happy"])
    assert all(t.source == "catalog" and t.url.endswith(t.spotify_id) for t in tracks)


def test_recent_tracks_are_not_repeated() -> None:
    provider = CatalogProvider(Catalog.load())
    first = provider.suggest("Calm", "fear", 5, set())
    second = provider.suggest("Calm", "fear", 5, {t.spotify_id for t in first})
    assert not {t.spotify_id for t in first} & {t.spotify_id for t in second}
