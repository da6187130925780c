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
    consumed_df = spark.createDataFrame(consumed, "message_id string, idempotency_key string") if consumed else None
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
        spark, [("m1", "k1", _s(0), _s(0), "changed"), ("m2", "k2", _s(0), _s(0), "new")], consumed=[("m1", "k1")]
    )
    assert statuses == {("m1", "changed"): "already_consumed", ("m2", "new"): "kept"}
    assert counts["already_consumed"] == 1


def test_rows_without_keys_are_labelled_not_dropped(spark) -> None:
    statuses, counts = _statuses(
        spark, [(None, "k1", _s(0), _s(0), "a"), ("m2", "  ", _s(0), _s(0), "b"), ("m3", "k3", None, None, "c")]
    )
    assert statuses == {(None, "a"): "missing_key", ("m2", "b"): "missing_key", ("m3", "c"): "kept"}
    assert sum(v for k, v in counts.items() if k != "reused_message_ids") == 3 and counts["reused_message_ids"] == 0


def test_a_message_id_reused_for_another_key_is_not_a_retry(spark) -> None:
    """A retry repeats the key; the same id on another key is another event (a producer bug)."""
    statuses, counts = _statuses(
        spark,
        [
            ("e1", "k11", _s(0), _s(1), "a"),
            ("e1", "k12", _s(0), _s(2), "b"),  # same id, other key: kept as k12's version
            ("e1", "k11", _s(0), _s(3), "a-retry"),  # a real retry of k11's message
        ],
    )
    assert statuses == {("e1", "a"): "kept", ("e1", "b"): "kept", ("e1", "a-retry"): "network_duplicate"}
    assert counts["network_duplicate"] == 1 and counts["reused_message_ids"] == 3


def test_across_runs_only_the_same_key_is_already_consumed(spark) -> None:
    statuses, counts = _statuses(
        spark,
        [("m1", "k1", _s(0), _s(9), "retry"), ("m1", "k2", _s(0), _s(9), "other"), ("m2", "k3", _s(0), _s(9), "new")],
        consumed=[("m1", "k1")],
    )
    assert statuses == {("m1", "retry"): "already_consumed", ("m1", "other"): "kept", ("m2", "new"): "kept"}
    assert counts["already_consumed"] == 1 and counts["reused_message_ids"] == 2


def test_an_id_reused_on_another_key_in_a_later_run_is_counted(spark) -> None:
    # Only the earlier run holds the other key: the across-runs branch alone sees it.
    statuses, counts = _statuses(spark, [("m1", "k2", _s(0), _s(9), "other")], consumed=[("m1", "k1")])
    assert statuses == {("m1", "other"): "kept"}
    assert counts["reused_message_ids"] == 1 and counts["already_consumed"] == 0


def test_a_future_event_ts_cannot_take_the_key(spark) -> None:
    statuses, counts = _statuses(
        spark,
        [
            ("m1", "k1", datetime(9999, 12, 31), _s(10), "future"),
            ("m0", "k1", _s(0), _s(1), "real"),  # still the key's latest version
            ("m2", "k2", _s(300), _s(0), "skew"),  # 5 minutes ahead: within the default tolerance
            ("m3", "k3", _s(301), _s(0), "too far"),
            ("m4", "k4", None, _s(0), "null event_ts"),  # the oldest version, not judged
            ("m5", "k4", _s(0), _s(-10), "dated"),  # wins over the null one
        ],
    )
    assert statuses == {
        ("m1", "future"): "event_ts_in_future",
        ("m0", "real"): "kept",
        ("m2", "skew"): "kept",
        ("m3", "too far"): "event_ts_in_future",
        ("m4", "null event_ts"): "superseded",
        ("m5", "dated"): "kept",
    }
    assert counts["event_ts_in_future"] == 2
    strict = label_duplicates(spark.createDataFrame([("m2", "k2", _s(300), _s(0), "x")], SCHEMA), None, None, 0)
    assert strict.first()[DEDUP_STATUS] == "event_ts_in_future"
