"""SIGKILL the job (JVM and Python driver) inside a MERGE, then re-run.

The kill is deterministic: a test-only hook (``spark_jobs/faults.py``,
``UNIFIED_JOB_BLOCK_IN_MERGE``) makes the MERGE into the chosen table block on the first
row of its source, inside the statement's own execution (its Spark jobs have started,
Iceberg has not committed), after creating a marker file. The test waits for the marker,
kills the process group there, checks that the MERGE left no snapshot, and that the
re-run leaves the tables equal to a run that never died.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from spark_jobs.faults import BLOCK_IN_MERGE_ENV, BLOCK_MARKER_ENV
from spark_jobs.tables import TopicTables

from .jobkit import append_raw, checkpoints, clean_layers, layer_rows, run_job, submit_command, table_rows, topic_config
from .test_unified_job import BATCHES, assert_invariants

pytestmark = [pytest.mark.spark, pytest.mark.slow]
MARKER_TIMEOUT_SECONDS = 420


def _ancestry(spark, table: str) -> list[dict[str, Any]]:
    """The table's current ancestry, newest first, read from Iceberg's metadata tables."""
    spark.sql(f"REFRESH TABLE {table}")
    rows = spark.sql(
        f"""
        SELECT s.snapshot_id, s.parent_id, s.operation, s.summary
        FROM {table}.history h JOIN {table}.snapshots s ON h.snapshot_id = s.snapshot_id
        WHERE h.is_current_ancestor ORDER BY h.made_current_at DESC
        """
    ).collect()
    return [r.asDict() for r in rows]


def _rows_by_key(spark, table: str) -> dict[str, dict[str, Any]]:
    spark.sql(f"REFRESH TABLE {table}")
    return {r["_idempotency_key"]: r for r in table_rows(spark, table, ())}


def _run_until_blocked(command: list[str], env: dict[str, str], marker: Path) -> subprocess.Popen[str]:
    """Start the job in its own process group; return once it blocks inside the MERGE."""
    log = marker.with_suffix(".log")
    with log.open("w") as out:  # the child keeps its own descriptor
        process = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, text=True, start_new_session=True
        )
    deadline = time.monotonic() + MARKER_TIMEOUT_SECONDS
    while not marker.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            tail = "\n".join(log.read_text().splitlines()[-40:])
            pytest.fail(f"the job never blocked in the MERGE (exit {process.wait()}):\n{tail}")
        time.sleep(0.1)
    return process


@pytest.mark.parametrize("layer", ["curated", "semantic"])
def test_kill_inside_merge_then_rerun(spark, warehouse: Path, tmp_path: Path, hash_key: str, layer: str) -> None:
    topic = f"killed_in_{layer}_merge"
    t = TopicTables(topic)
    target = t.curated if layer == "curated" else t.semantic
    contracts, expectations = topic_config(tmp_path, topic)
    first = append_raw(spark, topic, BATCHES[0])
    assert run_job(spark, topic, (contracts, expectations)).outcome == "FULL_SUCCESS"
    second = append_raw(spark, topic, BATCHES[1])
    ancestry_before = _ancestry(spark, target)
    rows_before = _rows_by_key(spark, target)

    marker = tmp_path / "blocked-in-merge"
    command, env = submit_command(topic, warehouse, (contracts, expectations), tmp_path / "killed.json")
    env.update({BLOCK_IN_MERGE_ENV: target, BLOCK_MARKER_ENV: str(marker)})
    process = _run_until_blocked(command, env, marker)
    try:
        os.killpg(process.pid, signal.SIGKILL)  # the JVM, the Python driver, no clean-up
        assert process.wait(timeout=60) == -signal.SIGKILL
    finally:
        Path(f"{marker}.release").touch()  # frees the blocked Python worker if anything survived
    assert not (tmp_path / "killed.json").exists()

    # The MERGE committed nothing: the table's ancestry is the one before the run plus the
    # run's validated append of the keys it did not hold (it always commits, just before the
    # MERGE: commit/upsert.py), which adds files only, deletes none and carries no
    # checkpoint; rows of the keys the table held are untouched (in the columns they had).
    spark.catalog.clearCache()
    ancestry_after = _ancestry(spark, target)
    assert ancestry_after[1:] == ancestry_before
    append = ancestry_after[0]
    assert append["parent_id"] == ancestry_before[0]["snapshot_id"]
    assert not [k for k in append["summary"] if "checkpoint" in k], append
    assert not [k for k in append["summary"] if k.startswith(("deleted-", "removed-", "added-delete"))], append
    rows_after = _rows_by_key(spark, target)  # the run may have added columns (DDL, before any write)
    assert {k: {c: rows_after[k][c] for c in row} for k, row in rows_before.items()} == rows_before
    expected_checkpoints = (second if layer == "semantic" else first, first)  # tiered: curated commits first
    assert checkpoints(spark, topic) == expected_checkpoints

    rerun = run_job(spark, topic, (contracts, expectations))
    assert rerun.outcome == "FULL_SUCCESS", rerun.to_json()
    assert checkpoints(spark, topic) == (second, second)
    assert_invariants(spark, topic, BATCHES[0] + BATCHES[1], second)
    merged = _rows_by_key(spark, target)  # the MERGE the kill stopped had work to do: the re-run did it
    assert [k for k, row in rows_before.items() if {c: merged.get(k, {}).get(c) for c in row} != row]

    clean = clean_layers(spark, tmp_path, BATCHES[:2])
    assert layer_rows(spark, topic) == clean
