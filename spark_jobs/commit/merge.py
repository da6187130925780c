"""Sequence-aware upserts (MERGE INTO) whose snapshot carries commit properties.

Spark SQL has no syntax for snapshot properties on a MERGE; Iceberg's
``CommitMetadata.withCommitProperties`` sets them for commits made inside a callable
on the same thread. The callable is a Python object called back through py4j
(PySpark 3.5's pinned-thread mode keeps the JVM thread the same).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence

from pyspark.sql import DataFrame, SparkSession

from spark_jobs.dedup.deduplicate import ahead_sql
from spark_jobs.faults import maybe_block_merge_source
from spark_jobs.tables import quote, sql_string

_EPOCH = "TIMESTAMP '0001-01-01 00:00:00'"


def ordering_event_ts(alias: str | None, max_ahead_minutes: int) -> str:
    """SQL: the event_ts a version is ordered by. Null is the oldest; an event_ts later
    than ingest_ts by more than the tolerance (a row stored before the job quarantined
    such versions) is the oldest too, so that it never blocks a later correction."""
    prefix = f"{alias}." if alias else ""
    event, ingest = f"{prefix}_event_ts", f"{prefix}_ingest_ts"
    return f"CASE WHEN {ahead_sql(event, ingest, max_ahead_minutes)} THEN {_EPOCH} ELSE coalesce({event}, {_EPOCH}) END"


def version_at_least(new: str, old: str, max_ahead_minutes: int) -> str:
    """SQL: version of ``new`` >= version of ``old`` (event_ts, ingest_ts, message_id)."""
    n = [
        ordering_event_ts(new, max_ahead_minutes),
        f"coalesce({new}._ingest_ts, {_EPOCH})",
        f"coalesce({new}._message_id, '')",
    ]
    o = [
        ordering_event_ts(old, max_ahead_minutes),
        f"coalesce({old}._ingest_ts, {_EPOCH})",
        f"coalesce({old}._message_id, '')",
    ]
    return f"({n[0]} > {o[0]} OR ({n[0]} = {o[0]} AND ({n[1]} > {o[1]} OR ({n[1]} = {o[1]} AND {n[2]} >= {o[2]}))))"


class _Callable:
    """A ``java.util.concurrent.Callable`` implemented in Python for py4j."""

    def __init__(self, body: Callable[[], None]) -> None:
        self._body = body
        self.error: BaseException | None = None

    def call(self) -> None:
        try:
            self._body()
        except BaseException as exc:  # re-raised on the Python side with its type
            self.error = exc
            raise
        return None

    class Java:
        implements = ["java.util.concurrent.Callable"]


def run_with_commit_properties(spark: SparkSession, properties: Mapping[str, str], body: Callable[[], None]) -> None:
    """Run ``body``; every Iceberg commit it makes carries ``properties``."""
    if not properties:
        body()
        return
    from pyspark.java_gateway import ensure_callback_server_started

    gateway = spark.sparkContext._gateway
    assert gateway is not None
    ensure_callback_server_started(gateway)
    jvm = spark._jvm
    assert jvm is not None
    jprops = jvm.java.util.HashMap()
    for key, value in properties.items():
        jprops.put(key, value)
    callable_ = _Callable(body)
    runtime_exception = jvm.java.lang.Class.forName("java.lang.RuntimeException")
    try:
        jvm.org.apache.iceberg.spark.CommitMetadata.withCommitProperties(jprops, callable_, runtime_exception)
    except Exception:
        if callable_.error is not None:
            raise callable_.error from None
        raise


def merge_sql(
    target: str,
    columns: Sequence[str],
    when_matched: str,
    update: bool = True,
    delete_when: str | None = None,
    insert_when: str | None = None,
    insert: bool = True,
) -> str:
    """MERGE on ``_idempotency_key`` with explicit, quoted column lists.

    ``insert=False`` leaves out WHEN NOT MATCHED: the join becomes an inner join in
    which a small source can be broadcast (see ``commit/upsert.py``).
    """
    cols = [quote(c) for c in columns]
    set_clause = ", ".join(f"t.{c} = s.{c}" for c in cols)
    clauses = []
    if delete_when:
        clauses.append(f"WHEN MATCHED AND ({delete_when}) THEN DELETE")
    if update:
        clauses.append(f"WHEN MATCHED AND ({when_matched}) THEN UPDATE SET {set_clause}")
    if insert:
        insert_cond = f" AND ({insert_when})" if insert_when else ""
        values = ", ".join("s." + c for c in cols)
        clauses.append(f"WHEN NOT MATCHED{insert_cond} THEN INSERT ({', '.join(cols)}) VALUES ({values})")
    on = f"t.`_idempotency_key` = s.`_idempotency_key`{TARGET_KEYS}"
    return f"MERGE INTO {target} t USING {SOURCE} s ON {on} " + " ".join(clauses)


SOURCE = "{source}"
"""Placeholder for the source view in MERGE statements built by ``merge_sql``."""
TARGET_KEYS = "{target_keys}"
"""Placeholder for an optional ``AND t._idempotency_key IN (...)`` (``merge_with_checkpoint``)."""
PRUNE_MAX_KEYS = 1_000
"""Up to this many source keys are also listed as literals in the ON clause (see ``merge_with_checkpoint``)."""


def target_keys_sql(keys: Sequence[str]) -> str:
    """``AND t._idempotency_key IN (...)``: a condition on the target alone, which Spark pushes
    into the MERGE's scan of it, so Iceberg reads only the buckets (partitions) of these keys."""
    return f" AND t.`_idempotency_key` IN ({', '.join(sql_string(k) for k in sorted(keys))})" if keys else ""


def merge_with_checkpoint(
    spark: SparkSession,
    source: DataFrame,
    sql: str,
    properties: Mapping[str, str],
    keys: Sequence[str] = (),
) -> None:
    """Register ``source`` under a unique view name and run the MERGE with properties.

    The unique name keeps two runs sharing a session from reading each other's rows.
    ``keys``: the source's keys when few (``PRUNE_MAX_KEYS``), listed in the ON clause
    so that the MERGE reads only their buckets of the target (the join on the source
    alone gives the scan no filter: it reads every file of the table).
    """
    view_name = f"increment_{uuid.uuid4().hex}"
    sql = sql.replace(SOURCE, view_name).replace(TARGET_KEYS, target_keys_sql(keys))
    source = maybe_block_merge_source(source, sql)  # test-only (faults.py): ``source`` unless its env var is set
    source.createOrReplaceTempView(view_name)

    def run_merge() -> None:
        spark.sql(sql)  # a MERGE runs when the statement is issued

    try:
        run_with_commit_properties(spark, properties, run_merge)
    finally:
        spark.catalog.dropTempView(view_name)
