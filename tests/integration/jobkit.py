"""Helpers for integration tests: write raw batches, run the job, read the layers."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession

from spark_jobs.commit.checkpoints import read_checkpoints
from spark_jobs.config.job_args import JobArgs
from spark_jobs.read.snapshots import current_ancestry
from spark_jobs.report.run_report import RunReport
from spark_jobs.tables import TopicTables
from spark_jobs.unified_job import run

FIXTURES = Path(__file__).parent / "fixtures"
RAW_SCHEMA = "message_id string, idempotency_key string, event_ts timestamp, ingest_ts timestamp, payload string"
T0 = datetime(2024, 3, 1, 9, 0, 0)
Row = tuple[str | None, str | None, datetime | None, datetime | None, str | None]


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def topic_config(tmp_path: Path, topic: str, template: str = "shop") -> tuple[str, str]:
    """Copy the fixture contract and suite under the test's topic name."""
    contracts, expectations = tmp_path / "contracts", tmp_path / "expectations"
    contracts.mkdir(exist_ok=True)
    expectations.mkdir(exist_ok=True)
    text = (FIXTURES / f"{template}.yaml").read_text().replace(f"topic: {template}", f"topic: {topic}")
    (contracts / f"{topic}.yaml").write_text(text)
    shutil.copy(FIXTURES / f"{template}.json", expectations / f"{topic}.json")
    return str(contracts), str(expectations)


def append_raw(spark: SparkSession, topic: str, rows: list[Row]) -> int:
    """Append one raw batch (one snapshot); returns its snapshot id."""
    spark.sql("CREATE NAMESPACE IF NOT EXISTS raw_db")
    spark.sql(
        f"CREATE TABLE IF NOT EXISTS raw_db.{topic} ({RAW_SCHEMA}) USING iceberg "
        "PARTITIONED BY (days(ingest_ts)) TBLPROPERTIES ('format-version'='2')"
    )
    spark.createDataFrame(rows, RAW_SCHEMA).writeTo(f"raw_db.{topic}").append()
    return int(
        spark.sql(f"SELECT snapshot_id FROM raw_db.{topic}.snapshots ORDER BY committed_at DESC LIMIT 1").first()[0]
    )


def run_job(spark: SparkSession, topic: str, dirs: tuple[str, str], run_id: str = "r", **options: Any) -> RunReport:
    args = JobArgs(topic=topic, contracts_dir=dirs[0], expectations_dir=dirs[1], run_id=run_id)
    return run(spark, replace(args, **options))


def submit_command(
    topic: str, warehouse: Path, dirs: tuple[str, str], report: Path, *extra: str
) -> tuple[list[str], dict[str, str]]:
    """The job as a separate ``spark-submit`` process (as EMR or the local runtime runs it)."""
    from spark_jobs.local_submit import spark_submit_command

    args = [
        "--topic",
        topic,
        "--warehouse",
        str(warehouse),
        "--contracts-dir",
        dirs[0],
        "--expectations-dir",
        dirs[1],
        "--run-report",
        str(report),
        *extra,
    ]
    return spark_submit_command(args, master="local[1]", extra_conf={"spark.driver.memory": "1g"})


_CLEAN_RUNS: dict[tuple[str, str, int], dict[str, list[dict[str, Any]]]] = {}
LINEAGE = ("_run_id", "_raw_snapshot_id")


def layer_rows(spark: SparkSession, topic: str) -> dict[str, list[dict[str, Any]]]:
    """Curated, semantic and errors rows of ``topic`` as committed by now (another process
    may have committed), lineage columns left out: what a clean run is compared on."""
    t = TopicTables(topic)
    layers = {"curated": t.curated, "semantic": t.semantic, "errors": t.errors}
    for table in layers.values():
        spark.sql(f"REFRESH TABLE {table}")
    return {layer: table_rows(spark, table, LINEAGE) for layer, table in layers.items()}


def clean_layers(spark: SparkSession, tmp_root: Path, batches: list[list[Row]], mode: str = "tiered") -> dict[str, Any]:
    """``layer_rows`` of runs that never fail, one per batch (the shop fixture, this
    process's PII_HASH_KEY).

    Computed once per process for the same batches, mode and key: the fault-injection,
    killed-mid-write and concurrency tests compare their tables with it."""
    key = (mode, os.environ.get("PII_HASH_KEY", ""), hash(repr(batches)))
    if key not in _CLEAN_RUNS:
        topic = f"clean_{mode}_{len(_CLEAN_RUNS)}"
        dirs = topic_config(tmp_root, topic)
        for batch in batches:
            append_raw(spark, topic, batch)
            report = run_job(spark, topic, dirs, checkpoint_mode=mode)
            assert report.outcome == "FULL_SUCCESS", report.to_json()
        _CLEAN_RUNS[key] = layer_rows(spark, topic)
    return _CLEAN_RUNS[key]


def table_rows(spark: SparkSession, table: str, ignore: tuple[str, ...] = ("_run_id",)) -> list[dict[str, Any]]:
    """All rows as dicts, sorted, without the columns that differ run to run."""
    df = spark.table(table)
    rows = [{k: v for k, v in r.asDict(recursive=True).items() if k not in ignore} for r in df.collect()]
    return sorted(rows, key=lambda r: repr(sorted(r.items(), key=lambda kv: kv[0])))


def checkpoints(spark: SparkSession, topic: str) -> tuple[int | None, int | None]:
    t = TopicTables(topic)
    # Another process may have committed (a submitted or killed job): Iceberg's catalog cache
    # in this session (30 s after the last access) would return the tables as last loaded.
    for table in (t.raw, t.curated, t.semantic):
        if spark.catalog.tableExists(table.replace("`", "")):
            spark.sql(f"REFRESH TABLE {table}")
    checkpoints = read_checkpoints(spark, t, [s.snapshot_id for s in current_ancestry(spark, t.raw)])
    return checkpoints.curated, checkpoints.semantic


MAX_AHEAD = timedelta(minutes=5)  # the contracts' default dedup.max_event_ts_ahead_minutes


def first_arrivals(rows: list[Row]) -> dict[tuple[str, str], Row]:
    """Reference model, rule 1: first arrival per (message_id, idempotency_key); keyless rows aside."""
    first: dict[tuple[str, str], Row] = {}
    for row in sorted((r for r in rows if r[0] and r[1] and r[0].strip() and r[1].strip()), key=lambda r: r[3] or T0):
        first.setdefault((str(row[0]), str(row[1])), row)
    return first


def in_future(row: Row) -> bool:
    return row[2] is not None and row[3] is not None and row[2] > row[3] + MAX_AHEAD


def expected_latest(rows: list[Row]) -> dict[str, str]:
    """Reference model: first arrival per (message_id, key), future-dated versions out,
    then latest version per key (a null event_ts is the oldest)."""
    latest: dict[str, Row] = {}
    for row in first_arrivals(rows).values():
        if in_future(row):
            continue
        key = str(row[1])
        version = (row[2] or datetime.min, row[3] or datetime.min, row[0] or "")
        current = latest.get(key)
        if current is None or version > (current[2] or datetime.min, current[3] or datetime.min, current[0] or ""):
            latest[key] = row
    return {k: str(r[0]) for k, r in latest.items()}
