"""Demo data: a deterministic generator of realistic raw events and a CLI that appends
them to the raw Iceberg tables (``python -m demo.generate_raw``)."""
