"""SIGKILL the job (JVM and Python driver) in the middle of a MERGE, then re-run.

The kill lands while Spark writes the MERGE's files; whatever it interrupted, the
re-run must leave the tables equal to a run that never died.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from spark_jobs.faults import ENV, KILL_DELAY_ENV

from .jobkit import append_raw, checkpoints, run_job, submit_command, table_rows, topic_config
from .test_unified_job import BATCHES, assert_invariants

pytestmark = [pytest.mark.spark, pytest.mark.slow]
IGNORED = ("_run_id", "_raw_snapshot_id")


# Seconds from the point to the kill: inside the MERGEs that follow it. The semantic
# layer's MERGEs are short on this tiny data, so its kill comes sooner.
KILL_DELAYS = {"before_curated_commit": "1.5", "before_semantic_write": "0.75"}


@pytest.mark.parametrize("point", sorted(KILL_DELAYS))
def test_kill_during_merge_then_rerun(spark, warehouse: Path, tmp_path: Path, hash_key: str, point: str) -> None:
    topic = f"killed_{point}"[:40]
    contracts, expectations = topic_config(tmp_path, topic)
    first = append_raw(spark, topic, BATCHES[0])
    assert run_job(spark, topic, (contracts, expectations)).outcome == "FULL_SUCCESS"
    second = append_raw(spark, topic, BATCHES[1])

    command, env = submit_command(topic, warehouse, (contracts, expectations), tmp_path / "killed.json")
    env.update({ENV: f"kill:{point}", KILL_DELAY_ENV: KILL_DELAYS[point]})
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, start_new_session=True)
    assert done.returncode in (-9, 137), done.stdout[-2000:] + done.stderr[-2000:]
    assert not (tmp_path / "killed.json").exists()
    assert checkpoints(spark, topic)[1] == first  # semantic never committed before the kill

    spark.catalog.clearCache()
    spark.sql(f"REFRESH TABLE curated_db.{topic}")
    rerun = run_job(spark, topic, (contracts, expectations))
    assert rerun.outcome == "FULL_SUCCESS", rerun.to_json()
    assert checkpoints(spark, topic) == (second, second)
    assert_invariants(spark, topic, BATCHES[0] + BATCHES[1], second)

    clean = f"clean_{topic}"[:40]
    clean_dirs = topic_config(tmp_path, clean)
    for batch in BATCHES[:2]:
        append_raw(spark, clean, batch)
        run_job(spark, clean, clean_dirs)
    for layer in ("curated_db.{}", "semantic_db.{}", "semantic_db.{}_errors"):
        assert table_rows(spark, layer.format(topic), IGNORED) == table_rows(spark, layer.format(clean), IGNORED)
