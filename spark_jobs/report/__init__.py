"""The run report: what a run read, dropped, found and wrote, as JSON."""
