"""``ops_db.schema_drift``: one row per topic and drifting field path, with its state.

Read before a run's drift is compared with it (``drift/changes.py``), written by a MERGE
after the run's commits. Partitioned by topic and the MERGE condition names the topic,
so runs of different topics of the warehouse do not conflict on it.
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
    """Upsert ``rows`` (all of ``topic``) by path."""
    if not rows:
        return
    spark.sql(f"CREATE NAMESPACE IF NOT EXISTS {OPS_NAMESPACE}")
    spark.sql(
        f"CREATE TABLE IF NOT EXISTS {DRIFT_TABLE} ({SCHEMA}) USING iceberg PARTITIONED BY (topic) "
        "TBLPROPERTIES ('format-version'='2')"
    )
    updates = spark.createDataFrame([asdict(r) for r in rows], SCHEMA)
    updates.createOrReplaceTempView("drift_history_updates")
    spark.sql(
        f"""
        MERGE INTO {DRIFT_TABLE} t USING drift_history_updates s
        ON t.topic = {sql_string(topic)} AND t.topic = s.topic AND t.path = s.path
        WHEN MATCHED THEN UPDATE SET *
        WHEN NOT MATCHED THEN INSERT *
        """
    )
