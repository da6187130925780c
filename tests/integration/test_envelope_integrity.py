"""Envelope integrity: a reused message_id never drops another key's event, a future event_ts never freezes a key."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from spark_jobs.semantic.typed_rows import FUTURE_KEY_PREFIX
from spark_jobs.tables import TopicTables

from .jobkit import Row, append_raw, at, run_job, table_rows, topic_config
from .test_unified_job import assert_invariants, order

pytestmark = pytest.mark.spark
FAR_FUTURE = at(0).replace(year=9999, month=12, day=31)

BATCHES: list[list[Row]] = [
    [
        ("e11", "k11", at(0), at(1), order("o11")),
        ("e11", "k12", at(0), at(2), order("o12", status="paid")),  # same id, other key: a real event
        ("g0", "kg", at(0), at(1), order("og")),
        ("g9", "kg", FAR_FUTURE, at(2), order("og", status="shipped")),  # a producer clock bug
    ],
    [
        ("e11", "k13", at(60), at(61), order("o13")),  # the id reused again, in a later run
        ("e11", "k11", at(0), at(70), order("o11", amount=999)),  # a real retry of k11's message: dropped
        ("g1", "kg", at(50), at(60), order("og", status="paid")),  # the real correction: applies
    ],
]


def _by_key(spark, table: str) -> dict[str, dict]:
    return {r["_idempotency_key"]: r for r in table_rows(spark, table)}


@pytest.mark.parametrize("mode", ["tiered", "unified"])
def test_reused_ids_and_future_versions_within_and_across_runs(spark, tmp_path: Path, hash_key: str, mode: str) -> None:
    topic = f"envelope_{mode}"
    t = TopicTables(topic)
    dirs = topic_config(tmp_path, topic)
    first = append_raw(spark, topic, BATCHES[0])
    one = run_job(spark, topic, dirs, checkpoint_mode=mode, run_id="one")
    assert one.outcome == "FULL_SUCCESS", one.to_json()
    assert one.dedup.network_duplicates == 0 and one.dedup.reused_message_ids == 2
    assert one.dedup.event_ts_in_future == 1 and one.dedup.rows_out == 3
    assert_invariants(spark, topic, BATCHES[0], first)
    curated, semantic, errors = _by_key(spark, t.curated), _by_key(spark, t.semantic), _by_key(spark, t.errors)
    assert {k: r["_message_id"] for k, r in curated.items()} == {"k11": "e11", "k12": "e11", "kg": "g0"}
    assert semantic["k12"]["status"] == "paid" and semantic["kg"]["_message_id"] == "g0"
    quarantined = errors[f"{FUTURE_KEY_PREFIX}kg:g9"]
    assert [e["rule"] for e in quarantined["_errors"]] == ["envelope:event_ts_in_future"]
    assert "9999-12-31" in quarantined["_errors"][0]["reason"] and quarantined["status"] == "shipped"

    second = append_raw(spark, topic, BATCHES[1])
    two = run_job(spark, topic, dirs, checkpoint_mode=mode, run_id="two")
    assert two.outcome == "FULL_SUCCESS", two.to_json()
    assert two.dedup.already_consumed == 1 and two.dedup.network_duplicates == 0
    assert two.dedup.reused_message_ids == 2 and two.dedup.rows_out == 2
    assert_invariants(spark, topic, BATCHES[0] + BATCHES[1], second)
    curated, semantic = _by_key(spark, t.curated), _by_key(spark, t.semantic)
    assert curated["k13"]["_message_id"] == "e11" and semantic["k11"]["amount"] != 999  # the retry dropped
    assert curated["kg"]["_message_id"] == semantic["kg"]["_message_id"] == "g1"
    assert semantic["kg"]["status"] == "paid"


def test_a_key_frozen_before_the_rule_is_released(spark, tmp_path: Path, hash_key: str) -> None:
    """The way out for existing tables: a version stored while the tolerance allowed it
    no longer wins; the next correction applies, and a reprocess restores the others."""
    topic = "envelope_frozen"
    t = TopicTables(topic)
    dirs = topic_config(tmp_path, topic)
    contract = Path(dirs[0]) / f"{topic}.yaml"
    default = contract.read_text()
    contract.write_text(default + "dedup: {max_event_ts_ahead_minutes: 525600}\n")  # a year: lets them in
    month_ahead = at(1) + timedelta(days=30)
    frozen: list[Row] = [
        ("h0", "kh", at(0), at(1), order("oh")),
        ("h9", "kh", month_ahead, at(2), order("oh", status="shipped")),
        ("i0", "ki", at(0), at(1), order("oi")),
        ("i9", "ki", month_ahead, at(2), order("oi", status="shipped")),
    ]
    append_raw(spark, topic, frozen)
    assert run_job(spark, topic, dirs, run_id="lenient").outcome == "FULL_SUCCESS"
    assert {k: r["_message_id"] for k, r in _by_key(spark, t.semantic).items()} == {"kh": "h9", "ki": "i9"}

    contract.write_text(default)  # the default tolerance (5 minutes) from now on
    correction: list[Row] = [("h1", "kh", at(100), at(101), order("oh", status="paid"))]
    latest = append_raw(spark, topic, correction)
    assert run_job(spark, topic, dirs, run_id="correction").outcome == "FULL_SUCCESS"
    curated, semantic = _by_key(spark, t.curated), _by_key(spark, t.semantic)
    assert curated["kh"]["_message_id"] == semantic["kh"]["_message_id"] == "h1"  # released by the correction
    assert semantic["ki"]["_message_id"] == "i9"  # no correction yet: still the stored version

    # a reprocess of the history re-judges the stored future version: the latest real one wins
    reprocess = run_job(spark, topic, dirs, run_id="reprocess", reprocess_all=True)
    assert reprocess.outcome == "FULL_SUCCESS" and reprocess.dedup.event_ts_in_future == 2
    assert_invariants(spark, topic, frozen + correction, latest)
    curated, semantic = _by_key(spark, t.curated), _by_key(spark, t.semantic)
    assert curated["ki"]["_message_id"] == semantic["ki"]["_message_id"] == "i0"
    assert semantic["kh"]["_message_id"] == "h1"
