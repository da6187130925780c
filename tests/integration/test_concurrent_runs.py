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
import time
from pathlib import Path

import pytest

from spark_jobs.faults import BARRIER_DIR_ENV, BARRIER_ENV, BARRIER_PARTIES_ENV
from spark_jobs.tables import TopicTables

from .jobkit import (
    Row,
    append_raw,
    at,
    checkpoints,
    clean_layers,
    layer_rows,
    run_job,
    submit_command,
    topic_config,
)
from .test_unified_job import BATCHES, assert_invariants, order

pytestmark = [pytest.mark.spark, pytest.mark.slow]
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

    clean = clean_layers(spark, tmp_path, BATCHES[:2])
    assert layer_rows(spark, topic) == clean

    # the failed run's retry (same run id, as Airflow's retry would be): nothing left to do
    retry = run_job(spark, topic, (contracts, expectations), run_id=f"concurrent-{loser}")
    assert retry.outcome == "NO_NEW_DATA", retry.to_json()
    assert checkpoints(spark, topic) == (second, second)
    assert layer_rows(spark, topic) == clean


@pytest.mark.parametrize("held_before", ["semantic", "errors"])
def test_an_older_version_never_overwrites_a_newer_one_committed_meanwhile(
    spark, warehouse: Path, tmp_path: Path, hash_key: str, held_before: str
) -> None:
    """Run A takes version 1 of two keys, run B (started later) version 2. A is held after
    its validated append into ``held_before`` and before its MERGE there, while B runs to
    the end (issue 28, item 8): A's MERGE then finds version 2 stored and must keep it, in
    semantic (k1, valid) and in errors (k2, invalid)."""
    topic = f"shop_held_before_{held_before}_merge"
    t = TopicTables(topic)
    dirs = topic_config(tmp_path, topic)

    def versions(v: int) -> list[Row]:
        return [
            (f"m1v{v}", "k1", at(100 * v), at(100 * v + 1), order("o1", status=("new", "paid", "shipped")[v])),
            (f"m2v{v}", "k2", at(100 * v), at(100 * v + 1), order("o2", amount=-v - 1)),  # invalid: errors
        ]

    append_raw(spark, topic, versions(0))
    assert run_job(spark, topic, dirs, run_id="v0").outcome == "FULL_SUCCESS"
    append_raw(spark, topic, versions(1))

    barrier = tmp_path / "barrier"
    held = t.semantic if held_before == "semantic" else t.errors
    command, env = submit_command(topic, warehouse, dirs, tmp_path / "a.json", "--run-id", "a")
    # Iceberg's catalog cache keeps a table's metadata for 30 s after its last access: a
    # MERGE starting sooner after the append reads the snapshot the append left, and
    # Iceberg's commit validation then fails it on B's commit (a clean, retryable
    # CURATED_ONLY). One starting later (a large MERGE source is materialised in between)
    # reads B's version as the current one: no conflict to find. A runs without the cache,
    # as in that case.
    command[1:1] = ["--conf", "spark.sql.catalog.lakehouse.cache-enabled=false"]
    env.update({BARRIER_ENV: f"before_merge:{held}", BARRIER_DIR_ENV: str(barrier), BARRIER_PARTIES_ENV: "2"})
    run_a = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 600
        while not list(barrier.glob("*.arrived")):
            assert run_a.poll() is None, run_a.communicate()[0][-5000:]
            assert time.monotonic() < deadline, "run A never reached its MERGE"
            time.sleep(0.2)
        third = append_raw(spark, topic, versions(2))
        run_b = run_job(spark, topic, dirs, run_id="b")  # the whole run, while A waits
        assert run_b.outcome == "FULL_SUCCESS", run_b.to_json()
        (barrier / "test.arrived").write_text("release run A")  # the barrier's second party
        output = run_a.communicate(timeout=600)[0]
    finally:
        if run_a.poll() is None:
            run_a.kill()
    report_a = json.loads((tmp_path / "a.json").read_text())
    # Held before semantic's MERGE, A ends with nothing to change there; held before the
    # errors' MERGE, A's semantic append then fails validation on B's semantic commit.
    expected = "FULL_SUCCESS" if held_before == "semantic" else "CURATED_ONLY"
    assert report_a["outcome"] == expected, (report_a["outcome"], report_a.get("reason"), output[-3000:])

    assert _held_versions(spark, t) == ({"k1": "m1v2"}, {"k2": "m2v2"})

    # Whatever checkpoint A's commit left, the next run converges without changing a row.
    again = run_job(spark, topic, dirs, run_id="after")
    assert again.outcome in ("FULL_SUCCESS", "NO_NEW_DATA"), again.to_json()
    assert checkpoints(spark, topic) == (third, third)
    assert _held_versions(spark, t) == ({"k1": "m1v2"}, {"k2": "m2v2"})


def _held_versions(spark, t: TopicTables) -> tuple[dict[str, str], dict[str, str]]:
    """The message id of the version semantic and errors hold per key, as committed by now."""
    held = []
    for table in (t.semantic, t.errors):
        spark.sql(f"REFRESH TABLE {table}")  # another process committed
        held.append({r["_idempotency_key"]: r["_message_id"] for r in spark.table(table).collect()})
    return held[0], held[1]
