"""Step 5: commit each layer with its checkpoint in the same Iceberg snapshot."""
