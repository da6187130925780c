"""The unified job end to end on local Spark + Iceberg, over several batches.

After every run the invariants of the product are checked against a reference model
of the raw rows consumed so far.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from spark_jobs.faults import ENV
from spark_jobs.interface import CHECKPOINT_KEYS
from spark_jobs.interface import UNIFIED_CHECKPOINT_KEY as UNIFIED_KEY
from spark_jobs.read.snapshots import current_ancestry
from spark_jobs.semantic.typed_rows import FUTURE_KEY_PREFIX
from spark_jobs.tables import TopicTables
from spark_jobs.unified_job import exit_code

from .jobkit import (
    Row,
    append_raw,
    at,
    checkpoints,
    expected_latest,
    first_arrivals,
    in_future,
    run_job,
    table_rows,
    topic_config,
)

pytestmark = pytest.mark.spark

PII = ["alice@example.com", "bob@example.org", "+1 415 555 0199", "Alice Liddell", "Bob Builder"]


def order(oid: str, amount: Any = 10, status: str = "new", email: str = PII[0], **extra: Any) -> str:
    doc = {
        "order_id": oid,
        "customer": {"email": email, "phone": PII[2], "name": PII[3]},
        "amount": amount,
        "qty": 1,
        "status": status,
        "created_at": "2024-03-01T09:00:00Z",
        "order_date": "2024-03-01",
    }
    doc.update(extra)
    return json.dumps(doc)


BATCHES: list[list[Row]] = [
    [
        ("m1", "k1", at(0), at(1), order("o1")),
        ("m1", "k1", at(0), at(2), order("o1", amount=999)),  # network retry, different payload: dropped
        ("m2", "k2", at(0), at(1), order("o2", status="lost")),  # fails in_set -> errors
        ("m3", "k3", at(0), at(1), order("o3", amount="ten")),  # type mismatch -> errors
        ("m4", "k4", at(0), at(1), '{"order_id": "o4", "amount": '),  # malformed -> errors
        (None, "k5", at(0), at(1), order("o5")),  # no message_id -> quarantined
        ("m6", "k6", at(0), at(1), order("o6", email=PII[1])),
        ("m7", "k6", at(5), at(6), order("o6", email=PII[1], status="paid")),  # correction in the same batch
    ],
    [
        ("m1", "k1", at(0), at(50), order("o1", amount=1)),  # retry of a consumed message: dropped
        ("m8", "k2", at(40), at(50), order("o2", status="paid")),  # correction makes k2 valid: errors -> semantic
        ("m9", "k6", at(2), at(50), order("o6", status="shipped")),  # OLDER version arriving late: ignored
        ("m10", "k1", at(45), at(50), order("o1", status="lost", **{"Coupon Code": "X1"})),  # valid -> errors
        ("m11", "k11", at(45), at(50), order("o11", nested={"a": {"b": [1, 2]}})),
    ],
    [
        ("m12", "k3", at(90), at(100), order("o3", amount=3)),  # fixes k3
        ("m13", "k13", at(90), at(100), order("o13", amount=-5)),
        ("m13", "k13", at(90), at(101), order("o13", amount=-5)),
        # retry of k11's CURRENT latest version (m11, consumed by the previous run), another
        # payload, nothing newer for k11: only the cross-run rule drops it (it would win the MERGE)
        ("m11", "k11", at(45), at(100), order("o11", amount=77, nested={"a": {"b": [1, 2]}})),
    ],
]
ALREADY_CONSUMED = [0, 1, 1]
"""Per batch: its retries of messages consumed by earlier runs (m1/k1 in batch 1, m11/k11 in batch 2)."""


def _all_string_values(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, default=str)


def assert_invariants(spark, topic: str, consumed: list[Row], last_snapshot: int) -> None:
    tables = TopicTables(topic)
    expected = expected_latest(consumed)
    curated = {r["_idempotency_key"]: r for r in table_rows(spark, tables.curated)}
    assert len(curated) == len(table_rows(spark, tables.curated)), "a key is twice in curated"
    assert {k: r["_message_id"] for k, r in curated.items()} == expected
    semantic = table_rows(spark, tables.semantic)
    errors = table_rows(spark, tables.errors)
    semantic_keys = [r["_idempotency_key"] for r in semantic]
    error_keys = [r["_idempotency_key"] for r in errors]
    assert len(set(semantic_keys)) == len(semantic_keys) and len(set(error_keys)) == len(error_keys)
    assert not set(semantic_keys) & set(error_keys), "a key is in both semantic and errors"
    own_key = ("missing-key:", FUTURE_KEY_PREFIX)  # quarantined for the envelope, under a key of their own
    keyed = set(semantic_keys) | {k for k in error_keys if not k.startswith(own_key)}
    assert keyed == set(expected)
    future = sorted(f"{FUTURE_KEY_PREFIX}{k}:{m}" for (m, k), r in first_arrivals(consumed).items() if in_future(r))
    assert sorted(k for k in error_keys if k.startswith(FUTURE_KEY_PREFIX)) == future
    assert not [k for k in curated if k.startswith(own_key)]
    assert len([k for k in error_keys if k.startswith("missing-key:")]) == sum(
        1 for r in consumed if not r[0] or not r[1]
    )
    for r in semantic + errors:
        if r["_idempotency_key"] in expected:
            assert r["_message_id"] == expected[r["_idempotency_key"]]
    text = _all_string_values(semantic + errors)
    for value in PII:
        assert value not in text, f"clear PII {value!r} in semantic/errors"
    assert checkpoints(spark, topic) == (last_snapshot, last_snapshot)


def _assert_k11_is_its_first_arrival(spark, topic: str) -> None:
    """k11 holds m11 as first ingested (batch 1), not batch 2's retry of it (amount 77)."""
    tables = TopicTables(topic)
    curated = {r["_idempotency_key"]: r for r in table_rows(spark, tables.curated)}["k11"]
    semantic = {r["_idempotency_key"]: r for r in table_rows(spark, tables.semantic)}["k11"]
    for row in (curated, semantic):
        assert (row["_message_id"], row["_ingest_ts"]) == ("m11", at(50)), row
    assert curated["amount"] == "10" and str(semantic["amount"]) == "10.00"


def test_batches_keep_every_invariant_and_reruns_change_nothing(spark, tmp_path: Path, hash_key: str) -> None:
    topic = "shop_batches"
    dirs = topic_config(tmp_path, topic)
    consumed: list[Row] = []
    previous: int | None = None
    for index, batch in enumerate(BATCHES):
        snapshot = append_raw(spark, topic, batch)
        consumed += batch
        report = run_job(spark, topic, dirs, run_id=f"run{index}")
        assert report.outcome == "FULL_SUCCESS", report.to_json()
        assert report.raw.from_snapshot_exclusive == previous and report.raw.to_snapshot_inclusive == snapshot
        assert report.raw.rows_read == len(batch)
        assert report.dedup.already_consumed == ALREADY_CONSUMED[index], report.to_json()
        assert_invariants(spark, topic, consumed, snapshot)
        if index == 2:
            _assert_k11_is_its_first_arrival(spark, topic)

        tables = TopicTables(topic)
        before = {t: table_rows(spark, t) for t in (tables.curated, tables.semantic, tables.errors)}
        rerun = run_job(
            spark, topic, dirs, run_id=f"rerun{index}", from_snapshot_exclusive=previous, reprocess_all=previous is None
        )
        assert rerun.outcome == "FULL_SUCCESS"
        assert rerun.dedup.already_consumed == ALREADY_CONSUMED[index], rerun.to_json()
        after = {t: table_rows(spark, t) for t in before}
        assert after == before, f"re-running batch {index} changed the tables"
        assert_invariants(spark, topic, consumed, snapshot)
        previous = snapshot

    # counts of the first batch, rule by rule
    assert run_job(spark, topic, dirs).outcome == "NO_NEW_DATA"


def test_first_batch_counts_and_values(spark, tmp_path: Path, hash_key: str) -> None:
    topic = "shop_counts"
    dirs = topic_config(tmp_path, topic)
    append_raw(spark, topic, BATCHES[0])
    report = run_job(spark, topic, dirs).to_dict()
    assert report["dedup"] == {
        "network_duplicates": 1,
        "already_consumed": 0,
        "superseded_versions": 1,
        "missing_keys": 1,
        "event_ts_in_future": 0,
        "reused_message_ids": 0,
        "rows_out": 5,
    }
    assert report["semantic"]["rows_valid"] == 2 and report["semantic"]["rows_errors"] == 4
    assert report["drift"]["malformed_rows"] == 1
    assert {m["field"] for m in report["drift"]["type_mismatches"]} == {"amount"}
    assert _all_string_values([report]).count(PII[0]) == 0
    semantic = {r["_idempotency_key"]: r for r in table_rows(spark, TopicTables(topic).semantic)}
    assert str(semantic["k1"]["amount"]) == "10.00" and semantic["k1"]["qty"] == 1
    assert semantic["k1"]["phone"] == "***********0199" and semantic["k1"]["name"] == "[REDACTED]"
    assert len(semantic["k1"]["email"]) == 64
    assert semantic["k6"]["status"] == "paid"
    errors = {r["_idempotency_key"]: r for r in table_rows(spark, TopicTables(topic).errors)}
    assert [e["rule"] for e in errors["k2"]["_errors"]] == ["expect_column_values_to_be_in_set"]
    assert errors["k3"]["amount"] == "ten"
    # what Airflow announces: each output table's snapshot after the run, read by a consumer
    tables = TopicTables(topic)
    assert report["tables"] == {
        role: {
            "name": getattr(tables, role).replace("`", ""),
            "snapshot_id": current_ancestry(spark, getattr(tables, role))[0].snapshot_id,
        }
        for role in ("curated", "semantic", "errors")
    }
    from lakehouse_unified.assets import announcements  # the Airflow side reads this very report

    events = {a.role: a.extra for a in announcements(report)}
    assert {role: e["rows"] for role, e in events.items()} == {"curated": 5, "semantic": 2, "errors": 4}
    assert events["semantic"]["snapshot_id"] == str(report["tables"]["semantic"]["snapshot_id"])


def test_new_fields_become_curated_columns_with_their_paths(spark, tmp_path: Path, hash_key: str) -> None:
    topic = "shop_columns"
    dirs = topic_config(tmp_path, topic)
    append_raw(spark, topic, [("a1", "k1", at(0), at(0), order("o1"))])
    run_job(spark, topic, dirs)
    append_raw(spark, topic, [("a2", "k2", at(9), at(9), order("o2", **{"Coupon Code": "X", "coupon_code": "Y"}))])
    report = run_job(spark, topic, dirs)
    assert report.curated.details["new_columns"] == ["coupon_code", "coupon_code_2"]
    fields = {f.name: f.metadata.get("comment") for f in spark.table(TopicTables(topic).curated).schema.fields}
    assert fields["coupon_code"] == 'payload:["coupon_code"]' and fields["coupon_code_2"] == 'payload:["Coupon Code"]'
    assert all(
        f.dataType.simpleString() == "string"
        for f in spark.table(TopicTables(topic).curated).schema.fields
        if not f.name.startswith("_")
    )
    rows = {r["_idempotency_key"]: r for r in table_rows(spark, TopicTables(topic).curated)}
    assert rows["k2"]["coupon_code"] == "Y" and rows["k2"]["coupon_code_2"] == "X" and rows["k1"]["coupon_code"] is None


def test_tiered_semantic_failure_keeps_curated_moving_then_catches_up(spark, tmp_path: Path, monkeypatch) -> None:
    topic = "shop_tiered"
    dirs = topic_config(tmp_path, topic)
    monkeypatch.delenv("PII_HASH_KEY", raising=False)
    first = append_raw(spark, topic, BATCHES[0])
    report = run_job(spark, topic, dirs)
    assert report.outcome == "CURATED_ONLY"
    assert "PII_HASH_KEY" in (report.reason or "") and report.semantic.status == "failed"
    assert checkpoints(spark, topic) == (first, None)
    second = append_raw(spark, topic, BATCHES[1])
    monkeypatch.setenv("PII_HASH_KEY", "now-configured-key-123456")
    report = run_job(spark, topic, dirs)
    assert report.outcome == "FULL_SUCCESS"
    assert report.raw.from_snapshot_exclusive is None  # semantic never ran: read from the start
    assert_invariants(spark, topic, BATCHES[0] + BATCHES[1], second)


def test_unified_mode_semantic_failure_moves_neither_layer(spark, tmp_path: Path, monkeypatch) -> None:
    topic = "shop_unified"
    dirs = topic_config(tmp_path, topic)
    monkeypatch.setenv("PII_HASH_KEY", "unified-mode-key-123456")
    first = append_raw(spark, topic, BATCHES[0])
    assert run_job(spark, topic, dirs, checkpoint_mode="unified").outcome == "FULL_SUCCESS"
    append_raw(spark, topic, BATCHES[1])
    curated_before = table_rows(spark, TopicTables(topic).curated)
    monkeypatch.delenv("PII_HASH_KEY")
    report = run_job(spark, topic, dirs, checkpoint_mode="unified")
    assert report.outcome == "SEMANTIC_FAILED" and report.failed
    assert report.curated.status == "not_run"
    assert checkpoints(spark, topic) == (first, first)
    assert table_rows(spark, TopicTables(topic).curated) == curated_before


def test_unified_mode_is_one_checkpoint_moved_once_in_the_last_commit(spark, tmp_path: Path, monkeypatch) -> None:
    """Semantic's commits carry no checkpoint; curated's last commit carries the one value."""
    topic = "shop_one_checkpoint"
    dirs = topic_config(tmp_path, topic)
    monkeypatch.setenv("PII_HASH_KEY", "unified-mode-key-123456")
    t = TopicTables(topic)
    first = append_raw(spark, topic, BATCHES[0])
    assert run_job(spark, topic, dirs, checkpoint_mode="unified").outcome == "FULL_SUCCESS"
    curated_commits, semantic_commits = current_ancestry(spark, t.curated), current_ancestry(spark, t.semantic)
    assert curated_commits[0].summary[UNIFIED_KEY] == str(first)
    assert [s for s in curated_commits if UNIFIED_KEY in s.summary] == curated_commits[:1]
    keys = (UNIFIED_KEY, *CHECKPOINT_KEYS.values())
    assert not [s for s in semantic_commits + current_ancestry(spark, t.errors) if set(keys) & set(s.summary)]

    # curated fails after semantic's data is written: the checkpoint stays, both redo the increment
    second = append_raw(spark, topic, BATCHES[1])
    monkeypatch.setenv(ENV, "before_curated_commit")
    failed = run_job(spark, topic, dirs, checkpoint_mode="unified", run_id="fails")
    monkeypatch.delenv(ENV)
    assert failed.outcome == "CURATED_FAILED" and failed.semantic.status == "written"
    assert checkpoints(spark, topic) == (first, first)
    assert (failed.curated.checkpoint_after, failed.semantic.checkpoint_after) == (first, first)
    retry = run_job(spark, topic, dirs, checkpoint_mode="unified", run_id="retry")
    assert retry.outcome == "FULL_SUCCESS" and retry.raw.from_snapshot_exclusive == first
    assert retry.semantic.status == retry.curated.status == "written"
    assert checkpoints(spark, topic) == (second, second)
    assert_invariants(spark, topic, BATCHES[0] + BATCHES[1], second)

    # switching to tiered: both layers continue from the unified checkpoint
    third = append_raw(spark, topic, BATCHES[2])
    tiered = run_job(spark, topic, dirs, checkpoint_mode="tiered", run_id="tiered")
    assert tiered.outcome == "FULL_SUCCESS" and tiered.raw.from_snapshot_exclusive == second
    assert checkpoints(spark, topic) == (third, third)


def test_dry_run_and_backfill_do_not_move_checkpoints(spark, tmp_path: Path, hash_key: str) -> None:
    topic = "shop_backfill"
    dirs = topic_config(tmp_path, topic)
    first = append_raw(spark, topic, BATCHES[0])
    dry = run_job(spark, topic, dirs, dry_run=True)
    assert dry.outcome == "FULL_SUCCESS" and dry.curated.status == "dry_run"
    assert not spark.catalog.tableExists(f"curated_db.{topic}")
    run_job(spark, topic, dirs)
    second = append_raw(spark, topic, BATCHES[1])
    backfill = run_job(
        spark, topic, dirs, from_snapshot_exclusive=first, to_snapshot_inclusive=second, no_checkpoint=True
    )
    assert backfill.outcome == "FULL_SUCCESS"
    assert checkpoints(spark, topic) == (first, first)
    # ...and it wrote the range: batch 2's versions are in curated, every key landed in semantic or errors
    tables = TopicTables(topic)
    expected = expected_latest(BATCHES[0] + BATCHES[1])
    assert {r["_idempotency_key"]: r["_message_id"] for r in table_rows(spark, tables.curated)} == expected
    landed = {r["_idempotency_key"] for r in table_rows(spark, tables.semantic) + table_rows(spark, tables.errors)}
    assert set(expected) <= landed
    summaries = spark.sql(f"SELECT summary FROM curated_db.{topic}.snapshots").collect()
    assert sum(CHECKPOINT_KEYS["curated"] in r.summary for r in summaries) == 1
    live = run_job(spark, topic, dirs)  # the live run still processes the range once more, idempotently
    assert live.outcome == "FULL_SUCCESS"
    assert_invariants(spark, topic, BATCHES[0] + BATCHES[1], second)


def test_invalid_suite_fails_semantic_only_with_a_named_reason(spark, tmp_path: Path, hash_key: str) -> None:
    topic = "shop_bad_suite"
    dirs = topic_config(tmp_path, topic)
    suite = Path(dirs[1]) / f"{topic}.json"
    suite.write_text(
        json.dumps(
            {"expectations": [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "no_such_column"}}]}
        )
    )
    snapshot = append_raw(spark, topic, BATCHES[0])
    report = run_job(spark, topic, dirs)
    assert report.outcome == "CURATED_ONLY"
    assert str(suite) in (report.reason or "") and "no_such_column" in (report.reason or "")
    assert checkpoints(spark, topic) == (snapshot, None)
    assert exit_code(report) == 0
    # in unified mode the same suite fails the run; a retry cannot fix it: exit 2, not retryable
    unified = run_job(spark, topic, dirs, "unified", checkpoint_mode="unified")
    assert unified.outcome == "SEMANTIC_FAILED" and unified.retryable is False
    assert exit_code(unified) == 2 and '"retryable": false' in unified.to_json()


def test_max_rows_per_run_takes_a_backlog_in_slices_without_loss(spark, tmp_path: Path, hash_key: str) -> None:
    """A capped run takes the oldest snapshots only; the next runs finish the backlog."""
    topic = "shop_sliced"
    dirs = topic_config(tmp_path, topic)
    snapshots = [append_raw(spark, topic, batch) for batch in BATCHES]
    cap = len(BATCHES[0])

    # Airflow pins an incremental run's end to raw's current snapshot: the cap still holds
    first = run_job(spark, topic, dirs, "slice-1", max_rows_per_run=cap, to_snapshot_inclusive=snapshots[-1])
    assert first.outcome == "FULL_SUCCESS"
    assert first.raw.to_snapshot_inclusive == snapshots[0]
    assert first.raw.rows_read == len(BATCHES[0])
    assert first.raw.backlog_rows == sum(len(b) for b in BATCHES[1:])
    assert checkpoints(spark, topic) == (snapshots[0], snapshots[0])

    runs = 1
    while checkpoints(spark, topic) != (snapshots[-1], snapshots[-1]):
        runs += 1
        assert runs <= len(BATCHES), "the backlog did not shrink"
        pinned = run_job(spark, topic, dirs, f"slice-{runs}", max_rows_per_run=cap, to_snapshot_inclusive=snapshots[-1])
        assert pinned.outcome == "FULL_SUCCESS"
        assert pinned.raw.rows_read <= cap
    assert run_job(spark, topic, dirs, "after", max_rows_per_run=cap).raw.backlog_rows == 0
    assert_invariants(spark, topic, [row for batch in BATCHES for row in batch], snapshots[-1])
    # an explicit range (manual reprocess, backfill) is taken whole
    whole = run_job(
        spark, topic, dirs, "reprocess", max_rows_per_run=cap, reprocess_all=True, no_checkpoint=True, dry_run=True
    )
    assert whole.raw.rows_read == sum(len(b) for b in BATCHES)
