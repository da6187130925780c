"""One run's plumbing: what every stage is handed (context), what it caches, and the outcome."""
