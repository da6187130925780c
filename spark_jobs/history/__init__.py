"""The lakehouse's own record of the runs: run history and drift history as Iceberg tables."""
