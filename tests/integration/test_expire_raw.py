"""Raw snapshot expiry stops at the slower layer's checkpoint, and the next run loses nothing."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from spark_jobs.maintenance.expire_raw import expire_raw
from spark_jobs.read.snapshots import current_ancestry

from .jobkit import append_raw, at, checkpoints, expected_latest, run_job, table_rows, topic_config

pytestmark = pytest.mark.spark

FAR_FUTURE = datetime(2999, 1, 1)


def test_expiry_keeps_the_slower_checkpoint_and_the_next_run_catches_up(spark, tmp_path: Path, hash_key: str) -> None:
    topic = "shop_expire_bound"
    dirs = topic_config(tmp_path, topic)
    batches = [
        [(f"m{b}{i}", f"k{i}", at(b * 10 + i), at(b * 10 + i), '{"order_id": "o"}') for i in range(3)] for b in range(4)
    ]
    first = append_raw(spark, topic, batches[0])
    assert run_job(spark, topic, dirs).outcome == "FULL_SUCCESS"
    second = append_raw(spark, topic, batches[1])
    assert run_job(spark, topic, dirs).outcome == "FULL_SUCCESS"
    third = append_raw(spark, topic, batches[2])
    assert run_job(spark, topic, dirs, layers="curated").outcome == "FULL_SUCCESS"
    fourth = append_raw(spark, topic, batches[3])
    assert checkpoints(spark, topic) == (third, second)

    planned = expire_raw(spark, topic, FAR_FUTURE, dry_run=True)
    assert planned["kept_snapshot"] == second and planned["expired"] == {}
    assert [s.snapshot_id for s in current_ancestry(spark, f"raw_db.{topic}")][-1] == first, "dry run expired"

    result = expire_raw(spark, topic, FAR_FUTURE)
    assert result["older_than"] is not None and result["older_than"] < FAR_FUTURE.astimezone()
    remaining = [s.snapshot_id for s in current_ancestry(spark, f"raw_db.{topic}")]
    assert remaining == [fourth, third, second], "only snapshots older than the slower checkpoint may go"

    report = run_job(spark, topic, dirs)
    assert report.outcome == "FULL_SUCCESS"
    assert checkpoints(spark, topic) == (fourth, fourth)
    everything = batches[0] + batches[1] + batches[2] + batches[3]
    curated = {r["_idempotency_key"]: r["_message_id"] for r in table_rows(spark, f"curated_db.{topic}")}
    # every key once, in semantic or (these payloads fail the suite) in errors
    validated = table_rows(spark, f"semantic_db.{topic}") + table_rows(spark, f"semantic_db.{topic}_errors")
    by_key = {r["_idempotency_key"]: r["_message_id"] for r in validated}
    assert len(validated) == len(by_key)
    assert curated == by_key == expected_latest(everything)


def test_nothing_expires_while_a_layer_has_no_checkpoint(spark, tmp_path: Path, hash_key: str) -> None:
    topic = "shop_expire_first"
    dirs = topic_config(tmp_path, topic)
    append_raw(spark, topic, [("m0", "k0", at(0), at(0), '{"order_id": "o"}')])
    append_raw(spark, topic, [("m1", "k1", at(1), at(1), '{"order_id": "o"}')])
    assert run_job(spark, topic, dirs, layers="curated").outcome == "FULL_SUCCESS"

    result = expire_raw(spark, topic, FAR_FUTURE)
    assert result["older_than"] is None and "semantic" in str(result["reason"])
    assert len(current_ancestry(spark, f"raw_db.{topic}")) == 2
