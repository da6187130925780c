"""Create the semantic and errors tables and upsert the increment into them.

Every key lives in exactly one of the two tables. For each key of the increment the
newest version among (increment, semantic, errors) wins, ties going to the increment
(a re-run recomputes the same row). Winners are upserted into the table their
validity picks and deleted from the other: keys a table did not hold at its pinned
snapshot are appended, the others MERGEd (``commit/upsert.py``). Errors are written
first; semantic's last commit carries the checkpoint: a crash in between leaves the
checkpoint where it was and the re-run converges to the same state.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from spark_jobs.commit.add_columns import add_columns_planned, lost_schema_race
from spark_jobs.commit.merge import merge_sql, ordering_event_ts, version_at_least
from spark_jobs.commit.upsert import PinnedTable, join_stored, keys_to_probe, upsert_split
from spark_jobs.config.contract import FieldSpec, TopicContract
from spark_jobs.exceptions import ContractError
from spark_jobs.faults import maybe_fail
from spark_jobs.read.snapshots import table_exists
from spark_jobs.semantic.pii import mask
from spark_jobs.semantic.typed_rows import ERRORS, VALID, text_column
from spark_jobs.tables import OUTPUT_PARTITIONING, OUTPUT_TABLE_PROPERTIES, quote

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


def ensure_tables(spark: SparkSession, semantic: str, errors: str, contract: TopicContract) -> list[dict[str, str]]:
    """Create the tables, widen semantic columns whose contract type Iceberg can promote,
    add new contract fields. Returns the promotions applied (``{"field", "from", "to"}``).
    A type change Iceberg cannot apply raises ``ContractError`` (the job checks it
    before writing anything: ``type_changes``; this is the guard at the ALTER)."""
    spark.sql(f"CREATE NAMESPACE IF NOT EXISTS {semantic.split('.')[0]}")
    typed = ", ".join(f"{quote(s.name)} {semantic_sql_type(s)}" for s in contract.fields)
    text = ", ".join(f"{quote(s.name)} STRING" for s in contract.fields)
    for table, columns in ((semantic, typed), (errors, f"{text}, {ERRORS_DDL}")):
        if not table_exists(spark, table):
            spark.sql(
                f"CREATE TABLE IF NOT EXISTS {table} ({ENVELOPE_DDL}, {columns}, {LINEAGE_DDL}) USING iceberg "
                f"{OUTPUT_PARTITIONING} TBLPROPERTIES ({OUTPUT_TABLE_PROPERTIES})"
            )
    promoted = _promote_changed_types(spark, semantic, contract)  # errors: every field is STRING
    _add_new_contract_fields(spark, semantic, errors, contract)
    return promoted


def _promote_changed_types(spark: SparkSession, semantic: str, contract: TopicContract) -> list[dict[str, str]]:
    from spark_jobs.semantic import type_changes  # it imports semantic_sql_type from here

    for attempt in (1, 2):
        plan = type_changes.check_type_changes(spark, semantic, contract)
        if plan.refusal:
            raise ContractError(contract.source, plan.refusal)
        try:
            return [change.to_dict() for change in type_changes.apply_promotions(spark, semantic, plan)]
        except Exception as error:
            if attempt == 2 or not lost_schema_race(error):
                raise
            spark.sql(f"REFRESH TABLE {semantic}")  # another run changed the schema first: plan again
    raise AssertionError("unreachable")  # pragma: no cover


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


def _version(max_ahead_minutes: int) -> Column:
    """A version's order (``commit.merge.ordering_event_ts``: null and future-dated event_ts are the oldest)."""
    epoch = F.lit("0001-01-01 00:00:00").cast("timestamp")
    return F.struct(
        F.expr(ordering_event_ts(None, max_ahead_minutes)),
        F.coalesce(F.col("_ingest_ts"), epoch),
        F.coalesce(F.col("_message_id"), F.lit("")),
    )


IN_SEMANTIC = "_in_semantic"
IN_ERRORS = "_in_errors"


def stored_versions(
    spark: SparkSession,
    typed: DataFrame,
    typed_count: int,
    semantic: PinnedTable,
    errors: PinnedTable,
    max_event_ts_ahead_minutes: int,
) -> DataFrame:
    """One row per increment key already stored: its newest version and the table(s) holding it.

    Read at the pinned snapshots the appends are validated against. Narrow (key,
    version, two flags), so it is cheap to cache; only envelope columns are read.
    """

    def envelopes(table: PinnedTable, name: str) -> DataFrame:
        return table.read(spark).select(*ENVELOPE, F.lit(name).alias("_table"))

    return (
        envelopes(semantic, "semantic")
        .unionByName(envelopes(errors, "errors"))
        .join(keys_to_probe(typed, "_idempotency_key", typed_count), "_idempotency_key", "left_semi")
        .groupBy("_idempotency_key")
        .agg(
            F.max(_version(max_event_ts_ahead_minutes)).alias("_stored_version"),
            F.max(F.col("_table") == "semantic").alias(IN_SEMANTIC),
            F.max(F.col("_table") == "errors").alias(IN_ERRORS),
        )
    )


@dataclass(frozen=True)
class StoredKeys:
    """How many of the increment's keys each table held at its pinned snapshot."""

    in_semantic: int
    in_errors: int
    keys: int  # of the increment stored in either table


def count_stored_keys(stored: DataFrame) -> StoredKeys:
    row = stored.agg(
        F.count(F.when(F.col(IN_SEMANTIC), 1)).alias("semantic"),
        F.count(F.when(F.col(IN_ERRORS), 1)).alias("errors"),
        F.count(F.lit(1)).alias("keys"),
    ).first()
    return StoredKeys(int(row["semantic"]), int(row["errors"]), int(row["keys"])) if row else StoredKeys(0, 0, 0)


def select_winners(
    typed: DataFrame, stored: DataFrame, stored_keys: StoredKeys, max_event_ts_ahead_minutes: int
) -> tuple[DataFrame, bool]:
    """Rows of the increment at least as new as the key's stored version, with where
    the key is stored now (``_in_semantic``, ``_in_errors``), and whether they kept the
    increment's layout (``upsert.join_stored``)."""
    joined, laid_out = join_stored(typed, stored, "_idempotency_key", stored_keys.keys)
    winners = (
        joined.where(
            F.col("_stored_version").isNull() | (_version(max_event_ts_ahead_minutes) >= F.col("_stored_version"))
        )
        .drop("_stored_version")
        .withColumn(IN_SEMANTIC, F.coalesce(F.col(IN_SEMANTIC), F.lit(False)))
        .withColumn(IN_ERRORS, F.coalesce(F.col(IN_ERRORS), F.lit(False)))
    )
    return winners, laid_out


def masked_semantic_rows(
    winners: DataFrame, contract: TopicContract, key: bytes | None, raw_snapshot_id: int, run_id: str
) -> DataFrame:
    """Valid winners, and invalid ones whose key semantic holds (the MERGE deletes those)."""
    fields = [mask(F.col(s.name), s, key).cast(semantic_sql_type(s)).alias(s.name) for s in contract.fields]
    relevant = winners.where(F.col(VALID) | F.col(IN_SEMANTIC))
    return relevant.select(*ENVELOPE, *fields, *_lineage(raw_snapshot_id, run_id), VALID, IN_SEMANTIC)


def masked_error_rows(
    winners: DataFrame,
    contract: TopicContract,
    key: bytes | None,
    raw_snapshot_id: int,
    run_id: str,
    errors: Column,
) -> DataFrame:
    """Invalid winners with their ``errors``, and valid ones whose key errors holds (the MERGE deletes those)."""
    # The contract classifies every field it lists: PII fields masked as in semantic,
    # the others shown as sent, so whoever fixes the row sees the value that failed.
    fields = [mask(F.col(text_column(s)), s, key).alias(s.name) for s in contract.fields]
    relevant = winners.where(~F.col(VALID) | F.col(IN_ERRORS))
    return relevant.select(
        *ENVELOPE, *fields, errors.alias(ERRORS), *_lineage(raw_snapshot_id, run_id), VALID, IN_ERRORS
    )


def upsert_semantic(
    spark: SparkSession,
    semantic: PinnedTable,
    errors: PinnedTable,
    semantic_rows: DataFrame,
    error_rows: DataFrame,
    contract: TopicContract,
    stored: StoredKeys,
    properties: dict[str, str],
    laid_out: bool = False,
) -> None:
    """Errors first, then semantic with the checkpoint (see module docstring).

    Per table: rows whose key it did not hold are appended (``laid_out``: see
    ``upsert.append_validated``), the others MERGEd (updated, or deleted when the row
    now belongs to the other table). A MERGE changes a row only for a version at least
    as new as the one the table holds when the statement runs: another run of the topic
    may have committed a newer one since the pin (between this run's validated append
    and its MERGE), and the older version must not overwrite or delete it (as curated's).
    """
    newer = version_at_least("s", "t", contract.max_event_ts_ahead_minutes)
    errors_sql = merge_sql(
        errors.name,
        errors_columns(contract),
        when_matched=f"NOT s.{VALID} AND {newer}",
        delete_when=f"s.{VALID} AND {newer}",
        insert=False,
    )
    new_errors = error_rows.where(~F.col(IN_ERRORS))  # all invalid (see masked_error_rows)
    existing_errors = error_rows.where(F.col(IN_ERRORS))
    columns = [*errors_columns(contract), VALID]
    upsert_split(spark, errors, new_errors, existing_errors, stored.in_errors, errors_sql, {}, columns, laid_out)
    maybe_fail("between_errors_and_semantic_merge")
    semantic_sql = merge_sql(
        semantic.name,
        semantic_columns(contract),
        when_matched=f"s.{VALID} AND {newer}",
        delete_when=f"NOT s.{VALID} AND {newer}",
        insert=False,
    )
    new_semantic = semantic_rows.where(~F.col(IN_SEMANTIC))  # all valid (see masked_semantic_rows)
    existing_semantic = semantic_rows.where(F.col(IN_SEMANTIC))
    columns = [*semantic_columns(contract), VALID]
    upsert_split(
        spark,
        semantic,
        new_semantic,
        existing_semantic,
        stored.in_semantic,
        semantic_sql,
        properties,
        columns,
        laid_out,
    )
