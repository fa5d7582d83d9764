"""Market data (DESIGN §1): bar series, validation, gaps, funding alignment, files and the store."""
