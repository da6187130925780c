"""Parse the JSON payload once; curated, drift and semantic all read the result."""
