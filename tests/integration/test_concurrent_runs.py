"""Two runs of the same topic at once (e.g. a manual trigger while a backfill runs).

Each run is a separate spark-submit process, as two EMR Serverless job runs would be.
Iceberg's optimistic concurrency lets one MERGE commit; the other either commits after
a retry or fails cleanly (CURATED_FAILED / no checkpoint moved). Never duplicates or
loses rows: a following run converges to a clean result.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from spark_jobs.tables import TopicTables

from .jobkit import append_raw, checkpoints, run_job, submit_command, table_rows, topic_config
from .test_unified_job import BATCHES, assert_invariants

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def test_two_simultaneous_runs_never_duplicate_or_lose_rows(
    spark, warehouse: Path, tmp_path: Path, hash_key: str
) -> None:
    topic = "shop_concurrent"
    contracts, expectations = topic_config(tmp_path, topic)
    append_raw(spark, topic, BATCHES[0])
    assert run_job(spark, topic, (contracts, expectations)).outcome == "FULL_SUCCESS"
    second = append_raw(spark, topic, BATCHES[1])

    processes = []
    for name in ("a", "b"):
        command, env = submit_command(
            topic,
            warehouse,
            (contracts, expectations),
            tmp_path / f"{name}.json",
            "--run-id",
            f"concurrent-{name}",
        )
        processes.append(
            subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        )
    outputs = [p.communicate(timeout=900)[0] for p in processes]
    reports = [json.loads((tmp_path / f"{n}.json").read_text()) for n in ("a", "b")]
    outcomes = sorted(r["outcome"] for r in reports)
    assert outcomes in (
        ["FULL_SUCCESS", "FULL_SUCCESS"],
        ["CURATED_FAILED", "FULL_SUCCESS"],
        ["CURATED_ONLY", "FULL_SUCCESS"],
    ), outputs
    for report, process in zip(reports, processes, strict=True):
        assert process.returncode == (1 if report["outcome"] == "CURATED_FAILED" else 0)
        if report["outcome"] != "FULL_SUCCESS":
            error = report["curated"]["error"] or report["semantic"]["error"]
            assert topic in error and ("conflict" in error.lower() or "commit" in error.lower()), error

    # whatever interleaving happened, tables already hold each key once
    tables = TopicTables(topic)
    curated = table_rows(spark, tables.curated)
    assert len({r["_idempotency_key"] for r in curated}) == len(curated)
    follow_up = run_job(spark, topic, (contracts, expectations))
    assert follow_up.outcome in ("NO_NEW_DATA", "FULL_SUCCESS")
    assert checkpoints(spark, topic) == (second, second)
    assert_invariants(spark, topic, BATCHES[0] + BATCHES[1], second)
