"""Create the semantic and errors tables and upsert the increment into them.

Every key lives in exactly one of the two tables. For each key of the increment the
newest version among (increment, semantic, errors) wins, ties going to the increment
(a re-run recomputes the same row). Winners are upserted into the table their
validity picks and deleted from the other. The errors MERGE runs first; the semantic
MERGE, which carries the checkpoint, runs last: a crash in between leaves the
checkpoint where it was and the re-run converges to the same state.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from spark_jobs.commit.add_columns import add_columns_planned
from spark_jobs.commit.merge import merge_sql, merge_with_checkpoint
from spark_jobs.config.contract import FieldSpec, TopicContract
from spark_jobs.faults import maybe_fail
from spark_jobs.read.snapshots import table_exists
from spark_jobs.semantic.pii import mask, unless_looks_like_pii
from spark_jobs.semantic.typed_rows import ERRORS, VALID, text_column
from spark_jobs.tables import OUTPUT_TABLE_PROPERTIES, quote

ENVELOPE = ("_idempotency_key", "_message_id", "_event_ts", "_ingest_ts")
ENVELOPE_DDL = "`_idempotency_key` STRING, `_message_id` STRING, `_event_ts` TIMESTAMP, `_ingest_ts` TIMESTAMP"
LINEAGE_DDL = "`_raw_snapshot_id` BIGINT, `_run_id` STRING"
ERRORS_DDL = "`_errors` ARRAY<STRUCT<rule: STRING, column: STRING, reason: STRING>>"
_SQL_TYPES = {
    "string": "STRING",
    "int": "INT",
    "long": "BIGINT",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
}


def semantic_sql_type(spec: FieldSpec) -> str:
    """Masked PII is text whatever the declared type."""
    if spec.pii != "none":
        return "STRING"
    return _SQL_TYPES.get(spec.type, spec.type.upper())


def semantic_columns(contract: TopicContract) -> list[str]:
    return [*ENVELOPE, *contract.field_names, "_raw_snapshot_id", "_run_id"]


def errors_columns(contract: TopicContract) -> list[str]:
    return [*ENVELOPE, *contract.field_names, ERRORS, "_raw_snapshot_id", "_run_id"]


def ensure_tables(spark: SparkSession, semantic: str, errors: str, contract: TopicContract) -> None:
    spark.sql(f"CREATE NAMESPACE IF NOT EXISTS {semantic.split('.')[0]}")
    typed = ", ".join(f"{quote(s.name)} {semantic_sql_type(s)}" for s in contract.fields)
    text = ", ".join(f"{quote(s.name)} STRING" for s in contract.fields)
    for table, columns in ((semantic, typed), (errors, f"{text}, {ERRORS_DDL}")):
        if not table_exists(spark, table):
            spark.sql(
                f"CREATE TABLE IF NOT EXISTS {table} ({ENVELOPE_DDL}, {columns}, {LINEAGE_DDL}) USING iceberg "
                f"PARTITIONED BY (bucket(16, `_idempotency_key`)) TBLPROPERTIES ({OUTPUT_TABLE_PROPERTIES})"
            )
    _add_new_contract_fields(spark, semantic, errors, contract)


def _add_new_contract_fields(spark: SparkSession, semantic: str, errors: str, contract: TopicContract) -> None:
    """A field added to the contract becomes a new column (older rows: null)."""
    _add_missing_fields(spark, semantic, contract, typed=True)
    _add_missing_fields(spark, errors, contract, typed=False)


def _add_missing_fields(spark: SparkSession, table: str, contract: TopicContract, typed: bool) -> None:
    def missing() -> list[FieldSpec]:
        present = set(spark.table(table).columns)
        return [s for s in contract.fields if s.name not in present]

    def specs(fields: list[FieldSpec]) -> list[str]:
        return [f"{quote(s.name)} {semantic_sql_type(s) if typed else 'STRING'}" for s in fields]

    add_columns_planned(spark, table, missing, specs)


def _lineage(raw_snapshot_id: int, run_id: str) -> list[Column]:
    return [F.lit(raw_snapshot_id).cast("bigint").alias("_raw_snapshot_id"), F.lit(run_id).alias("_run_id")]


def _version(prefix: str = "") -> Column:
    epoch = F.lit("0001-01-01 00:00:00").cast("timestamp")
    return F.struct(
        F.coalesce(F.col(f"{prefix}_event_ts"), epoch),
        F.coalesce(F.col(f"{prefix}_ingest_ts"), epoch),
        F.coalesce(F.col(f"{prefix}_message_id"), F.lit("")),
    )


def select_winners(spark: SparkSession, typed: DataFrame, semantic: str, errors: str) -> DataFrame:
    """Rows of the increment at least as new as the key's version in either table."""
    keys = typed.select("_idempotency_key")
    stored = (
        spark.table(semantic)
        .select(*ENVELOPE)
        .unionByName(spark.table(errors).select(*ENVELOPE))
        .join(keys, "_idempotency_key", "left_semi")
        .groupBy("_idempotency_key")
        .agg(F.max(_version()).alias("_stored_version"))
    )
    return (
        typed.join(stored, "_idempotency_key", "left")
        .where(F.col("_stored_version").isNull() | (_version() >= F.col("_stored_version")))
        .drop("_stored_version")
    )


def masked_semantic_rows(
    winners: DataFrame, contract: TopicContract, key: bytes | None, raw_snapshot_id: int, run_id: str
) -> DataFrame:
    fields = [mask(F.col(s.name), s, key).cast(semantic_sql_type(s)).alias(s.name) for s in contract.fields]
    return winners.select(*ENVELOPE, *fields, *_lineage(raw_snapshot_id, run_id), VALID)


def masked_error_rows(
    winners: DataFrame, contract: TopicContract, key: bytes | None, raw_snapshot_id: int, run_id: str
) -> DataFrame:
    # Quarantined text is not trusted to match its classification: a value of a
    # non-PII field that looks like PII (an email in "status") is hidden too.
    fields = [
        (
            mask(F.col(text_column(s)), s, key) if s.pii != "none" else unless_looks_like_pii(F.col(text_column(s)))
        ).alias(s.name)
        for s in contract.fields
    ]
    return winners.select(*ENVELOPE, *fields, ERRORS, *_lineage(raw_snapshot_id, run_id), VALID)


def upsert_semantic(
    spark: SparkSession,
    semantic: str,
    errors: str,
    semantic_rows: DataFrame,
    error_rows: DataFrame,
    contract: TopicContract,
    properties: dict[str, str],
) -> None:
    """Errors first, then semantic with the checkpoint (see module docstring)."""
    errors_sql = merge_sql(
        errors,
        errors_columns(contract),
        when_matched=f"NOT s.{VALID}",
        delete_when=f"s.{VALID}",
        insert_when=f"NOT s.{VALID}",
    )
    merge_with_checkpoint(spark, error_rows, errors_sql, {})
    maybe_fail("between_errors_and_semantic_merge")
    semantic_sql = merge_sql(
        semantic,
        semantic_columns(contract),
        when_matched=f"s.{VALID}",
        delete_when=f"NOT s.{VALID}",
        insert_when=f"s.{VALID}",
    )
    merge_with_checkpoint(spark, semantic_rows, semantic_sql, properties)
