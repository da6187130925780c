"""Append generated raw batches to ``raw_db.<topic>``, one Iceberg snapshot per batch.

    python -m demo.generate_raw --topic orders --batches 3 --rows-per-batch 1000 --seed 7
    python -m demo.generate_raw --topic all --warehouse lakehouse/warehouse

A second invocation continues the sequence: batch indexes go on after the table's
existing snapshots, and the generator state (which ids earlier batches sent) is rebuilt
by regenerating those batches. Each snapshot's summary records the batch index, seed and
row count it was generated with (``demo-generator.*``), so the replay is exact even if
``--seed`` or ``--rows-per-batch`` changed between invocations.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import reduce

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from demo.raw_events import DEFAULT_RATES, AnomalyRates, BatchSpec, RawEvent, generate_batch, replay_history
from demo.topics import TOPICS
from spark_jobs.tables import TopicTables

RAW_SCHEMA = T.StructType(
    [
        T.StructField("message_id", T.StringType()),
        T.StructField("idempotency_key", T.StringType()),
        T.StructField("event_ts", T.TimestampType()),
        T.StructField("ingest_ts", T.TimestampType()),
        T.StructField("payload", T.StringType()),
    ]
)
RAW_DDL = "message_id STRING, idempotency_key STRING, event_ts TIMESTAMP, ingest_ts TIMESTAMP, payload STRING"
SUMMARY_PREFIX = "demo-generator."
CHUNK_ROWS = 100_000
"""Rows per ``createDataFrame`` call: bounds the pickled chunk the driver ships at once."""


@dataclass(frozen=True)
class WrittenBatch:
    """One appended batch, with its timings (generation and Iceberg write, in seconds)."""

    topic: str
    batch_index: int
    rows: int
    snapshot_id: int
    generate_s: float
    write_s: float


def ensure_raw_table(spark: SparkSession, table: str) -> None:
    """Create the raw table (``docs/JOB_INTERFACE.md`` layout) and its namespace if missing."""
    namespace = table.rsplit(".", 1)[0]
    spark.sql(f"CREATE NAMESPACE IF NOT EXISTS {namespace}")
    spark.sql(
        f"CREATE TABLE IF NOT EXISTS {table} ({RAW_DDL}) USING iceberg "
        "PARTITIONED BY (days(ingest_ts)) TBLPROPERTIES ('format-version'='2')"
    )


def earlier_batches(spark: SparkSession, table: str, rows_per_batch: int, seed: int) -> list[BatchSpec]:
    """How each batch already in ``table`` was generated, by batch index.

    The count is the table's snapshot count (or one more than the highest recorded
    batch index, if snapshots were expired). Snapshots without our summary keys
    (written by something else, or expired) are assumed to use the current arguments.
    """
    summaries = [
        row[0] or {} for row in spark.sql(f"SELECT summary FROM {table}.snapshots ORDER BY committed_at").collect()
    ]
    recorded: dict[int, BatchSpec] = {}
    for summary in summaries:
        if SUMMARY_PREFIX + "batch-index" in summary:
            recorded[int(summary[SUMMARY_PREFIX + "batch-index"])] = BatchSpec(
                rows=int(summary[SUMMARY_PREFIX + "rows"]), seed=int(summary[SUMMARY_PREFIX + "seed"])
            )
    count = max([len(summaries), *(index + 1 for index in recorded)])
    return [recorded.get(index, BatchSpec(rows_per_batch, seed)) for index in range(count)]


def events_to_dataframe(spark: SparkSession, events: Sequence[RawEvent], chunk_rows: int = CHUNK_ROWS) -> DataFrame:
    """The events as a DataFrame with ``RAW_SCHEMA``, built from Python tuples in chunks."""
    chunks = [
        # verifySchema=False: the generator's types are known; per-row checks only cost time.
        spark.createDataFrame(
            [e.as_tuple() for e in events[start : start + chunk_rows]], RAW_SCHEMA, verifySchema=False
        )
        for start in range(0, max(len(events), 1), chunk_rows)
    ]
    return reduce(DataFrame.unionAll, chunks)


def append_snapshot(spark: SparkSession, table: str, df: DataFrame, summary: dict[str, str]) -> int:
    """Append ``df`` as one snapshot whose summary carries ``summary``; return its id."""
    writer = df.writeTo(table)
    for key, value in summary.items():
        writer = writer.option(f"snapshot-property.{key}", value)
    writer.append()
    # Found by our own summary key: committed_at has millisecond resolution and could tie.
    key, value = next(iter(summary.items()))
    row = spark.sql(
        f"SELECT snapshot_id FROM {table}.snapshots WHERE summary['{key}'] = '{value}' "
        "ORDER BY committed_at DESC LIMIT 1"
    ).first()
    if row is None:  # pragma: no cover - the append above just committed it
        raise RuntimeError(f"snapshot of {table} with {key}={value} not found after append")
    return int(row[0])


def iter_write_batches(
    spark: SparkSession,
    topic: str,
    batches: int,
    rows_per_batch: int,
    seed: int,
    *,
    table: str | None = None,
    rates: AnomalyRates = DEFAULT_RATES,
    chunk_rows: int = CHUNK_ROWS,
) -> Iterator[WrittenBatch]:
    """Append ``batches`` new batches of ``topic``, continuing the table's sequence."""
    table = table or TopicTables(topic).raw
    ensure_raw_table(spark, table)
    history_specs = earlier_batches(spark, table, rows_per_batch, seed)
    state = replay_history(topic, history_specs, rates)
    for index in range(len(history_specs), len(history_specs) + batches):
        started = time.perf_counter()
        events = generate_batch(topic, index, rows_per_batch, seed, state, rates)
        generated = time.perf_counter()
        summary = {
            f"{SUMMARY_PREFIX}batch-index": str(index),
            f"{SUMMARY_PREFIX}seed": str(seed),
            f"{SUMMARY_PREFIX}rows": str(rows_per_batch),
            f"{SUMMARY_PREFIX}topic": topic,
        }
        snapshot_id = append_snapshot(spark, table, events_to_dataframe(spark, events, chunk_rows), summary)
        yield WrittenBatch(topic, index, len(events), snapshot_id, generated - started, time.perf_counter() - generated)


def write_batches(
    spark: SparkSession,
    topic: str,
    batches: int,
    rows_per_batch: int,
    seed: int,
    *,
    table: str | None = None,
    rates: AnomalyRates = DEFAULT_RATES,
    on_batch: Callable[[WrittenBatch], None] | None = None,
) -> list[int]:
    """Append ``batches`` batches of ``topic`` to ``table`` (default ``raw_db.<topic>``).

    Returns the new snapshot ids, one per batch, oldest first.
    """
    snapshot_ids = []
    for written in iter_write_batches(spark, topic, batches, rows_per_batch, seed, table=table, rates=rates):
        if on_batch is not None:
            on_batch(written)
        snapshot_ids.append(written.snapshot_id)
    return snapshot_ids


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m demo.generate_raw", description="Append generated raw batches to raw_db.<topic>."
    )
    parser.add_argument(
        "--topic",
        action="append",
        choices=[*TOPICS, "all"],
        required=True,
        help="topic to generate (repeatable), or 'all'",
    )
    parser.add_argument("--batches", type=_positive, default=3, help="batches to append (default 3)")
    parser.add_argument("--rows-per-batch", type=_positive, default=1000, help="events per batch (default 1000)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument("--warehouse", default="lakehouse/warehouse", help="Iceberg warehouse")
    parser.add_argument("--catalog-type", choices=["hadoop", "glue"], default="hadoop")
    return parser.parse_args(argv)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _print_batch(written: WrittenBatch) -> None:
    rate = written.rows / max(written.generate_s + written.write_s, 1e-9)
    print(
        f"topic={written.topic} batch={written.batch_index} rows={written.rows} "
        f"snapshot_id={written.snapshot_id} generate_s={written.generate_s:.2f} "
        f"write_s={written.write_s:.2f} rows_per_s={rate:.0f}",
        flush=True,
    )


def main(argv: Sequence[str] | None = None) -> int:
    from spark_jobs.session import build_session

    args = parse_args(argv)
    topics = list(TOPICS) if "all" in args.topic else list(dict.fromkeys(args.topic))
    spark = build_session(args.catalog_type, args.warehouse, app_name="demo-generate-raw")
    try:
        for topic in topics:
            write_batches(spark, topic, args.batches, args.rows_per_batch, args.seed, on_batch=_print_batch)
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
