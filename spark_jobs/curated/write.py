"""Create and evolve the curated table, then upsert the increment into it."""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from spark_jobs.commit.add_columns import add_columns_planned
from spark_jobs.commit.merge import merge_sql, version_at_least
from spark_jobs.commit.upsert import PinnedTable, join_stored, keys_to_probe, upsert_split
from spark_jobs.curated.column_names import Path, assign_names, path_comment, path_from_comment
from spark_jobs.curated.flatten import KEY, LINEAGE_COLUMNS, LINEAGE_NAMES, flatten_to_strings
from spark_jobs.parse.column_bounds import OVERFLOW
from spark_jobs.read.snapshots import table_exists
from spark_jobs.tables import OUTPUT_PARTITIONING, OUTPUT_TABLE_PROPERTIES, quote, sql_string


@dataclass(frozen=True)
class CuratedPlan:
    """What the curated write will do: column names, new columns."""

    column_for_path: dict[Path, str]
    table_columns: list[str]
    new_columns: list[str]


def ensure_table(spark: SparkSession, table: str) -> None:
    if table_exists(spark, table):
        return
    namespace = table.split(".")[0]
    spark.sql(f"CREATE NAMESPACE IF NOT EXISTS {namespace}")
    columns = ", ".join(f"{quote(n)} {t}" for n, t in LINEAGE_COLUMNS)
    spark.sql(
        f"CREATE TABLE IF NOT EXISTS {table} ({columns}) USING iceberg "
        f"{OUTPUT_PARTITIONING} TBLPROPERTIES ({OUTPUT_TABLE_PROPERTIES})"
    )


def existing_columns(spark: SparkSession, table: str) -> tuple[list[str], dict[Path, str]]:
    """The table's columns in order, and the payload path each payload column holds."""
    names: list[str] = []
    paths: dict[Path, str] = {}
    for f in spark.table(table).schema.fields:
        names.append(f.name)
        path = path_from_comment(f.metadata.get("comment"))
        if path is not None:
            paths[path] = f.name
    return names, paths


def known_paths(spark: SparkSession, table: str) -> set[Path]:
    """The payload paths curated has columns for (none before its first run)."""
    return set(existing_columns(spark, table)[1]) if table_exists(spark, table) else set()


def plan_columns(spark: SparkSession, table: str, paths: list[Path], overflow: bool = False) -> CuratedPlan:
    names, known = existing_columns(spark, table)
    column_for_path = assign_names(paths, known, reserved=(*LINEAGE_NAMES, OVERFLOW))
    batch_columns = {column_for_path[p] for p in paths} | ({OVERFLOW} if overflow else set())
    new_columns = sorted(batch_columns - set(names))
    return CuratedPlan(
        column_for_path={p: column_for_path[p] for p in paths},
        table_columns=names + new_columns,
        new_columns=new_columns,
    )


def new_column_specs(plan: CuratedPlan) -> list[str]:
    """DDL specs for the plan's new columns: STRING, commented with their payload path."""
    comments = {name: path_comment(path) for path, name in plan.column_for_path.items()}
    comments[OVERFLOW] = OVERFLOW_COMMENT
    return [f"{quote(name)} STRING COMMENT {sql_string(comments[name])}" for name in plan.new_columns]


OVERFLOW_COMMENT = "payload keys past the column bounds, as a JSON object (contracts/README.md)"


def evolve_columns(spark: SparkSession, table: str, paths: list[Path], overflow: bool = False) -> CuratedPlan:
    """DDL before the write: new payload paths become new STRING columns.

    Another run of the topic may add the same columns at the same moment; the plan
    returned is the one the table's schema matches after this call.
    """
    return add_columns_planned(spark, table, lambda: plan_columns(spark, table, paths, overflow), new_column_specs)


def build_curated_rows(parsed: DataFrame, plan: CuratedPlan, raw_snapshot_id: int, run_id: str) -> DataFrame:
    return flatten_to_strings(parsed, plan.column_for_path, plan.table_columns, raw_snapshot_id, run_id)


IN_CURATED = "_in_curated"


def stored_keys(spark: SparkSession, pinned: PinnedTable, rows: DataFrame, row_count: int) -> DataFrame:
    """The increment's keys the table held at the pinned snapshot (one narrow column read)."""
    return (
        pinned.read(spark)
        .select(KEY)
        .join(keys_to_probe(rows, KEY, row_count), KEY, "left_semi")
        .distinct()
        .withColumn(IN_CURATED, F.lit(True))
    )


def upsert_curated(
    spark: SparkSession,
    pinned: PinnedTable,
    rows: DataFrame,
    stored: DataFrame,
    stored_count: int,
    columns: list[str],
    properties: dict[str, str],
    max_event_ts_ahead_minutes: int,
) -> None:
    """Latest version wins, also against rows of earlier runs; same version = rewrite.

    New keys are appended, known keys MERGEd (``commit/upsert.py``).
    """
    flagged, laid_out = join_stored(rows, stored, KEY, stored_count)
    new_rows = flagged.where(F.col(IN_CURATED).isNull()).drop(IN_CURATED)
    existing_rows = flagged.where(F.col(IN_CURATED)).drop(IN_CURATED)
    sql = merge_sql(
        pinned.name, columns, when_matched=version_at_least("s", "t", max_event_ts_ahead_minutes), insert=False
    )
    upsert_split(spark, pinned, new_rows, existing_rows, stored_count, sql, properties, columns, laid_out)
