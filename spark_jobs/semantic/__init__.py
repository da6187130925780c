"""Step 4b: the semantic layer: contract fields, typed, validated, PII masked."""
