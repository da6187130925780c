"""Iceberg's own maintenance procedures, called through Spark SQL (``CALL lakehouse.system.*``).

This package only decides *what* to ask for (bounds, thresholds); Iceberg does the work.
Table names reach SQL as string literals without backticks: topic names are validated
(``spark_jobs.tables``), so they never need quoting inside the procedure's argument.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from pyspark.sql import SparkSession

from spark_jobs.session import CATALOG
from spark_jobs.tables import sql_string


@dataclass(frozen=True)
class ExpiryPlan:
    """What may be expired in one table: snapshots committed before ``older_than`` (None: nothing)."""

    topic: str
    table: str
    requested_older_than: datetime
    older_than: datetime | None
    kept_snapshot: int | None
    reason: str


def as_utc(moment: datetime) -> datetime:
    """A commit time: naive means this process's local time (PySpark's conversion of timestamps)."""
    return moment.astimezone(UTC)


def requested_utc(requested: datetime) -> datetime:
    """A requested bound: naive means UTC (what the CLIs document)."""
    return requested.replace(tzinfo=UTC) if requested.tzinfo is None else requested


def expire_snapshots(spark: SparkSession, plan: ExpiryPlan, retain_last: int) -> dict[str, int]:
    """``expire_snapshots`` with the plan's bound; Iceberg's counts of removed files."""
    if plan.older_than is None:
        return {}
    # The session's time zone is UTC (spark_jobs.session), so a UTC wall-clock literal is exact.
    older_than = as_utc(plan.older_than).strftime("%Y-%m-%d %H:%M:%S.%f")
    row = spark.sql(
        f"CALL {CATALOG}.system.expire_snapshots(table => {_name(plan.table)}, "
        f"older_than => TIMESTAMP '{older_than}', retain_last => {int(retain_last)})"
    ).first()
    return row.asDict() if row is not None else {}


def rewrite_data_files(spark: SparkSession, table: str, options: Mapping[str, str]) -> dict[str, int]:
    """``rewrite_data_files`` (bin-pack) with Iceberg's file-selection options; its counts."""
    pairs = ", ".join(f"{sql_string(key)}, {sql_string(value)}" for key, value in options.items())
    row = spark.sql(
        f"CALL {CATALOG}.system.rewrite_data_files(table => {_name(table)}, options => map({pairs}))"
    ).first()
    return row.asDict() if row is not None else {}


def _name(table: str) -> str:
    return sql_string(table.replace("`", ""))
