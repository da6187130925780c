"""Operators of a topic DAG: thin, IO through hooks built lazily."""
