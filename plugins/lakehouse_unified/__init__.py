"""Airflow side of the unified job: one DAG per topic, layered like the Amazon provider (see docs/AIRFLOW.md)."""
