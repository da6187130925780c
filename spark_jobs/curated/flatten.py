"""Build the curated rows: lineage columns plus one STRING column per payload path."""

from __future__ import annotations

from collections.abc import Mapping

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from spark_jobs.parse.column_bounds import OVERFLOW
from spark_jobs.parse.payload import Path, is_malformed, value_at

KEY = "_idempotency_key"
LINEAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_idempotency_key", "STRING"),
    ("_message_id", "STRING"),
    ("_event_ts", "TIMESTAMP"),
    ("_ingest_ts", "TIMESTAMP"),
    ("_raw_snapshot_id", "BIGINT"),
    ("_run_id", "STRING"),
    ("_malformed_payload", "STRING"),
)
LINEAGE_NAMES = tuple(name for name, _ in LINEAGE_COLUMNS)


def envelope_columns(raw_snapshot_id: int, run_id: str) -> dict[str, Column]:
    """The raw envelope and lineage, under their output names."""
    return {
        "_idempotency_key": F.col("idempotency_key"),
        "_message_id": F.col("message_id"),
        "_event_ts": F.col("event_ts"),
        "_ingest_ts": F.col("ingest_ts"),
        "_raw_snapshot_id": F.lit(raw_snapshot_id).cast("bigint"),
        "_run_id": F.lit(run_id),
    }


def flatten_to_strings(
    parsed: DataFrame,
    column_for_path: Mapping[Path, str],
    table_columns: list[str],
    raw_snapshot_id: int,
    run_id: str,
) -> DataFrame:
    """One row per kept event, projected onto ``table_columns`` (all of the table's).

    Columns of the table that this increment does not have are null: the newest
    version of a key replaces the whole row.
    """
    sources = envelope_columns(raw_snapshot_id, run_id)
    sources["_malformed_payload"] = F.when(is_malformed(), F.col("payload"))
    if OVERFLOW in parsed.columns:
        sources[OVERFLOW] = F.col(OVERFLOW)
    sources.update({name: value_at(path) for path, name in column_for_path.items()})
    return parsed.select(*[sources.get(name, F.lit(None).cast("string")).alias(name) for name in table_columns])
