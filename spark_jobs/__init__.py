"""The unified dual-output Spark job: raw Iceberg -> curated + semantic, once."""
