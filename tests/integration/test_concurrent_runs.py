"""Two runs of the same topic at once (e.g. a manual trigger while a backfill runs).

Each run is a separate spark-submit process, as two EMR Serverless job runs would be.
A test-only barrier (``spark_jobs/faults.py``, ``UNIFIED_JOB_BARRIER_AT``) holds each
run just before its first commit (``before_curated_commit``: the increment read, the
curated table pinned and its keys looked up) until both are there, so they really
overlap: both hold the same state when the first commits. Then exactly one commits; the
other's validated append (``commit/upsert.py``) fails on Iceberg's conflict validation,
cleanly (CURATED_FAILED, no checkpoint moved). Never duplicates or loses rows: the
tables equal a single clean run's, and the failed run's retry has nothing left to do.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from spark_jobs.faults import BARRIER_DIR_ENV, BARRIER_ENV, BARRIER_PARTIES_ENV
from spark_jobs.tables import TopicTables

from .jobkit import append_raw, checkpoints, run_job, submit_command, table_rows, topic_config
from .test_unified_job import BATCHES, assert_invariants

pytestmark = [pytest.mark.spark, pytest.mark.slow]
IGNORED = ("_run_id", "_raw_snapshot_id")
# What Iceberg raises when the loser's append, validated from the snapshot it pinned,
# finds the files the winner added since (BaseOverwriteFiles, serializable isolation).
# The filter is "true": the append is an overwrite of nothing, so any file added conflicts.
CONFLICT = (
    "Py4JJavaError: org.apache.iceberg.exceptions.ValidationException: "
    "Found conflicting files that can contain records matching true: ["
)


def test_two_simultaneous_runs_never_duplicate_or_lose_rows(
    spark, warehouse: Path, tmp_path: Path, hash_key: str
) -> None:
    topic = "shop_concurrent"
    t = TopicTables(topic)
    contracts, expectations = topic_config(tmp_path, topic)
    first = append_raw(spark, topic, BATCHES[0])
    assert run_job(spark, topic, (contracts, expectations)).outcome == "FULL_SUCCESS"
    second = append_raw(spark, topic, BATCHES[1])

    barrier = tmp_path / "barrier"
    processes = {}
    for name in ("a", "b"):
        command, env = submit_command(
            topic,
            warehouse,
            (contracts, expectations),
            tmp_path / f"{name}.json",
            "--run-id",
            f"concurrent-{name}",
        )
        env.update({BARRIER_ENV: "before_curated_commit", BARRIER_DIR_ENV: str(barrier), BARRIER_PARTIES_ENV: "2"})
        processes[name] = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
    outputs = {name: p.communicate(timeout=900)[0] for name, p in processes.items()}
    assert len(list(barrier.glob("*.arrived"))) == 2, "both runs must have waited at the barrier"
    reports = {name: json.loads((tmp_path / f"{name}.json").read_text()) for name in processes}

    outcomes = sorted(r["outcome"] for r in reports.values())
    assert outcomes == ["CURATED_FAILED", "FULL_SUCCESS"], outputs
    (loser,) = [name for name, r in reports.items() if r["outcome"] == "CURATED_FAILED"]
    (winner,) = [name for name in reports if name != loser]
    assert processes[winner].returncode == 0 and processes[loser].returncode == 1
    failed = reports[loser]
    assert failed["curated"]["status"] == "failed" and failed["semantic"]["status"] == "not_run", failed
    assert failed["retryable"] is True
    assert failed["reason"] == failed["curated"]["error"]
    assert failed["reason"].startswith(f"topic '{topic}': writing the curated layer ({t.curated}) failed: ")
    assert CONFLICT in failed["reason"], failed["reason"]
    assert f"/curated_db/{topic}/data/" in failed["reason"], failed["reason"]  # the winner's file
    assert (failed["curated"]["checkpoint_after"], failed["semantic"]["checkpoint_after"]) == (first, first)
    assert (reports[winner]["curated"]["checkpoint_after"], reports[winner]["semantic"]["checkpoint_after"]) == (
        second,
        second,
    )
    assert checkpoints(spark, topic) == (second, second)
    assert_invariants(spark, topic, BATCHES[0] + BATCHES[1], second)

    clean = "shop_concurrent_clean"
    clean_dirs = topic_config(tmp_path, clean)
    for batch in BATCHES[:2]:
        append_raw(spark, clean, batch)
        assert run_job(spark, clean, clean_dirs).outcome == "FULL_SUCCESS"
    layers = ("curated_db.{}", "semantic_db.{}", "semantic_db.{}_errors")
    for table in layers:
        spark.sql(f"REFRESH TABLE {table.format(topic)}")
        assert table_rows(spark, table.format(topic), IGNORED) == table_rows(spark, table.format(clean), IGNORED)

    # the failed run's retry (same run id, as Airflow's retry would be): nothing left to do
    retry = run_job(spark, topic, (contracts, expectations), run_id=f"concurrent-{loser}")
    assert retry.outcome == "NO_NEW_DATA", retry.to_json()
    assert checkpoints(spark, topic) == (second, second)
    for table in layers:
        assert table_rows(spark, table.format(topic), IGNORED) == table_rows(spark, table.format(clean), IGNORED)
