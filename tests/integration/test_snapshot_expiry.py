"""A checkpoint whose raw snapshot was expired stops the run with a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from spark_jobs.unified_job import exit_code

from .jobkit import append_raw, at, checkpoints, expected_latest, run_job, table_rows, topic_config

pytestmark = pytest.mark.spark


def test_expired_checkpoint_is_reported_and_resume_is_explicit(spark, tmp_path: Path, hash_key: str) -> None:
    topic = "shop_expired"
    dirs = topic_config(tmp_path, topic)
    batches = [
        [(f"m{b}{i}", f"k{b}{i}", at(b * 10 + i), at(b * 10 + i), '{"order_id": "o"}') for i in range(3)]
        for b in range(3)
    ]
    first = append_raw(spark, topic, batches[0])
    assert run_job(spark, topic, dirs).outcome == "FULL_SUCCESS"
    append_raw(spark, topic, batches[1])
    third = append_raw(spark, topic, batches[2])
    spark.sql(
        f"CALL lakehouse.system.expire_snapshots(table => 'raw_db.{topic}', "
        "older_than => TIMESTAMP '2999-01-01 00:00:00', retain_last => 1)"
    )

    stopped = run_job(spark, topic, dirs)
    assert stopped.outcome == "FAILED_BEFORE_WRITE" and stopped.retryable is False  # a retry cannot help
    assert exit_code(stopped) == 2
    message = stopped.reason or ""
    assert f"topic '{topic}'" in message and str(first) in message
    assert "--from-snapshot-exclusive" in message and str(third) in message
    assert checkpoints(spark, topic) == (first, first), "nothing may move on this error"

    # documented way out: reprocess all of what raw still holds (idempotent upserts)
    report = run_job(spark, topic, dirs, reprocess_all=True)
    assert report.outcome == "FULL_SUCCESS"
    assert checkpoints(spark, topic) == (third, third)
    curated = {r["_idempotency_key"]: r["_message_id"] for r in table_rows(spark, f"curated_db.{topic}")}
    assert curated == expected_latest(batches[0] + batches[1] + batches[2])
