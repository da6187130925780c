from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from spark_jobs.dedup.deduplicate import DEDUP_STATUS, count_by_status, label_duplicates

pytestmark = pytest.mark.spark
T = datetime(2024, 1, 1)
SCHEMA = "message_id string, idempotency_key string, event_ts timestamp, ingest_ts timestamp, payload string"


def _s(n: int) -> datetime:
    return T + timedelta(seconds=n)


def _statuses(spark, rows, consumed=None):
    raw = spark.createDataFrame(rows, SCHEMA)
    consumed_df = spark.createDataFrame([(m,) for m in consumed], "message_id string") if consumed else None
    labelled = label_duplicates(raw, consumed_df)
    return {(r.message_id, r.payload): r[DEDUP_STATUS] for r in labelled.collect()}, count_by_status(labelled)


def test_first_arrival_wins_per_message_id(spark) -> None:
    statuses, counts = _statuses(
        spark,
        [
            ("m1", "k1", _s(0), _s(5), "retry"),  # later arrival of m1
            ("m1", "k1", _s(0), _s(1), "first"),
        ],
    )
    assert statuses == {("m1", "first"): "kept", ("m1", "retry"): "network_duplicate"}
    assert counts["network_duplicate"] == 1 and counts["kept"] == 1


def test_latest_version_wins_per_key_with_deterministic_tie_break(spark) -> None:
    statuses, _ = _statuses(
        spark,
        [
            ("m1", "k1", _s(1), _s(10), "v1"),
            ("m2", "k1", _s(2), _s(3), "v2"),  # newer event_ts wins despite earlier arrival
            ("m3", "k2", _s(1), _s(4), "tie-a"),
            ("m4", "k2", _s(1), _s(4), "tie-b"),  # same event and ingest ts: larger message_id wins
        ],
    )
    assert statuses[("m2", "v2")] == "kept" and statuses[("m1", "v1")] == "superseded"
    assert statuses[("m4", "tie-b")] == "kept" and statuses[("m3", "tie-a")] == "superseded"


def test_a_duplicate_of_the_winner_does_not_shadow_the_key(spark) -> None:
    statuses, _ = _statuses(
        spark,
        [
            ("m1", "k1", _s(5), _s(1), "v2"),
            ("m1", "k1", _s(5), _s(9), "v2-retry"),
            ("m0", "k1", _s(1), _s(0), "v1"),
        ],
    )
    assert statuses == {("m1", "v2"): "kept", ("m1", "v2-retry"): "network_duplicate", ("m0", "v1"): "superseded"}


def test_already_consumed_message_ids_are_dropped_even_if_payload_differs(spark) -> None:
    statuses, counts = _statuses(
        spark, [("m1", "k1", _s(0), _s(0), "changed"), ("m2", "k2", _s(0), _s(0), "new")], consumed=["m1"]
    )
    assert statuses == {("m1", "changed"): "already_consumed", ("m2", "new"): "kept"}
    assert counts["already_consumed"] == 1


def test_rows_without_keys_are_labelled_not_dropped(spark) -> None:
    statuses, counts = _statuses(
        spark, [(None, "k1", _s(0), _s(0), "a"), ("m2", "  ", _s(0), _s(0), "b"), ("m3", "k3", None, None, "c")]
    )
    assert statuses == {(None, "a"): "missing_key", ("m2", "b"): "missing_key", ("m3", "c"): "kept"}
    assert sum(counts.values()) == 3
