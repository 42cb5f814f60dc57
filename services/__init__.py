"""The pipeline: one package per stage (capture, detector, classifier, smoother, recommender), what they
share in ``moodstream.services.common``, and the command line that runs them."""
