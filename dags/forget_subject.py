"""Airflow DAG ``forget_subject``: forget a person (GDPR erasure) in the topics a request names.

One DAG for every topic, not one per topic (``lakehouse_unified.forget_dag``): parsing lists
the names of the files in ``topics/`` and reads none of them, so a bad topic file fails
only the runs that name it.
"""

from pathlib import Path

from lakehouse_unified.forget_dag import build_forget_subject_dag

dag = build_forget_subject_dag(Path(__file__).parent / "topics")
