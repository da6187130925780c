"""Step 1: read the raw table's new snapshots, once."""
