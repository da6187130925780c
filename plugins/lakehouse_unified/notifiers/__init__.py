"""Notifiers: alerts of a topic DAG."""
