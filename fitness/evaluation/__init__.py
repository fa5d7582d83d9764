"""Walk-forward evaluation: folds, markets, objectives, penalties, semantic cache, evaluators."""
