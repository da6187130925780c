"""``ops_db.schema_drift``: one row per topic and drifting field path, with its state.

Read before a run's drift is compared with it (``drift/changes.py``), written after the
run's commits by overwriting the topic's partition with the topic's whole history: one
write and commit, where a MERGE (the earlier design) scanned, joined and rewrote the
same partition (1.0 s against ~0.4 s per run, measured 2026-12-06). Runs of different
topics write different partitions and do not conflict.
"""

from __future__ import annotations

from dataclasses import asdict, fields

from pyspark.sql import SparkSession

from spark_jobs.drift.changes import FieldDrift
from spark_jobs.read.snapshots import table_exists
from spark_jobs.tables import DRIFT_TABLE, OPS_NAMESPACE, sql_string

SCHEMA = """
    topic string NOT NULL, path string NOT NULL, state string NOT NULL,
    json_type string, expected_type string, rows bigint NOT NULL, sample string, looks_like_pii boolean NOT NULL,
    first_seen_snapshot bigint NOT NULL, first_seen_at timestamp NOT NULL,
    last_seen_snapshot bigint NOT NULL, last_seen_at timestamp NOT NULL,
    state_since_snapshot bigint NOT NULL, state_since_at timestamp NOT NULL, run_id string NOT NULL
"""
COLUMNS = [f.name for f in fields(FieldDrift)]


def read_drift_history(spark: SparkSession, topic: str) -> list[FieldDrift]:
    """The topic's rows (none before its first run)."""
    if not table_exists(spark, DRIFT_TABLE):
        return []
    rows = spark.sql(f"SELECT {', '.join(COLUMNS)} FROM {DRIFT_TABLE} WHERE topic = {sql_string(topic)}").collect()
    return [FieldDrift(**row.asDict()) for row in rows]


def write_drift_history(spark: SparkSession, topic: str, rows: list[FieldDrift]) -> None:
    """Replace ``topic``'s rows with ``rows``, its whole history (``drift.changes.evolve``)."""
    if not rows:
        return
    strangers = sorted({r.topic for r in rows} - {topic})
    if strangers:
        raise ValueError(f"drift history of topic {topic!r}: rows of other topics {strangers} would be overwritten")
    spark.sql(f"CREATE NAMESPACE IF NOT EXISTS {OPS_NAMESPACE}")
    spark.sql(
        f"CREATE TABLE IF NOT EXISTS {DRIFT_TABLE} ({SCHEMA}) USING iceberg PARTITIONED BY (topic) "
        "TBLPROPERTIES ('format-version'='2')"
    )
    spark.createDataFrame([asdict(r) for r in rows], SCHEMA).writeTo(DRIFT_TABLE).overwritePartitions()
