"""Sensors of a topic DAG."""
