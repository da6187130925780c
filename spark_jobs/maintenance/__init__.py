"""Table maintenance that never overtakes a layer's checkpoint."""
