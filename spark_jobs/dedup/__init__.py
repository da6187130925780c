"""Step 2: deduplicate once (network retries, then application corrections)."""
