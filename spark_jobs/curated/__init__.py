"""Step 4a: the curated layer: every payload field, flattened, all STRING."""
