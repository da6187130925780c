"""Run history and drift history as Iceberg tables, semantic lag, and the validation page's link.

Several real runs of one topic, with drift appearing, stopping, coming back and changing
type, a CURATED_ONLY run and its catch-up: the rows of ``ops_db.unified_job_runs`` and
``ops_db.schema_drift`` are asserted exactly, against the snapshot ids the raw writes
returned. A failure to write either table never changes the run's outcome.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pytest

from spark_jobs.faults import ENV
from spark_jobs.tables import DRIFT_TABLE, RUNS_TABLE, sql_string

from .jobkit import append_raw, at, run_job, topic_config
from .test_unified_job import order

pytestmark = pytest.mark.spark
MISSING = ("gift", "score", "views")  # contract fields order() never sends


def _runs(spark, topic: str) -> list[dict]:
    sql = f"""
        SELECT run_id, outcome, dry_run, rows_read, curated_rows, semantic_rows_valid, semantic_lag_snapshots,
               semantic_lag_rows, semantic_lag_hours, drift_changes, to_snapshot_inclusive, data_docs_url,
               size(expectations) AS expectations, curated_checkpoint_before, curated_checkpoint_after,
               semantic_checkpoint_before, semantic_checkpoint_after
        FROM {RUNS_TABLE} WHERE topic = {sql_string(topic)} ORDER BY started_at
    """
    return [r.asDict() for r in spark.sql(sql).collect()]


def _drift(spark, topic: str) -> dict[str, tuple]:
    sql = f"""SELECT path, state, json_type, expected_type, first_seen_snapshot, last_seen_snapshot, rows
              FROM {DRIFT_TABLE} WHERE topic = {sql_string(topic)}"""
    return {r["path"]: tuple(r)[1:] for r in spark.sql(sql).collect()}


def _changes(report) -> list[tuple[str, str]]:
    return [(c.path, c.change) for c in report.drift_changes]


def test_runs_and_drift_are_recorded_once_each_with_the_lag(spark, tmp_path: Path, hash_key: str, monkeypatch) -> None:
    topic = "history_orders"
    dirs = topic_config(tmp_path, topic)
    site = tmp_path / "data_docs"

    s1 = append_raw(
        spark,
        topic,
        [("m1", "k1", at(0), at(1), order("o1", coupon_code="SPRING")), ("m2", "k2", at(0), at(1), order("o2"))],
    )
    one = run_job(spark, topic, dirs, "r1", data_docs_site=str(site))
    assert one.outcome == "FULL_SUCCESS"
    assert _changes(one) == [("coupon_code", "first_seen"), *((f, "missing") for f in MISSING)]
    assert [c.path for c in one.drift_changes if c.alerts] == ["coupon_code"]  # missing fields: changes, no alert
    page = Path(urlparse(one.data_docs_url or "").path)
    assert page.is_file() and site in page.parents, one.data_docs_url

    # batch 2: coupon_code stops, promo appears; semantic fails: curated moves alone
    s2 = append_raw(spark, topic, [("m3", "k3", at(10), at(11), order("o3", promo=7))])
    monkeypatch.setenv(ENV, "before_semantic_write")
    two = run_job(spark, topic, dirs, "r2")
    monkeypatch.delenv(ENV)
    assert two.outcome == "CURATED_ONLY"
    assert _changes(two) == [("promo", "first_seen"), ("coupon_code", "stopped")]
    assert two.lag is not None and (two.lag.snapshots, two.lag.rows) == (1, 1)
    assert two.lag.hours is not None and 0 <= two.lag.hours < 1

    # batch 3: promo arrives as text, coupon_code is back, amount is not a number; semantic catches up
    s3 = append_raw(
        spark, topic, [("m4", "k4", at(20), at(21), order("o4", amount="ten", promo="seven", coupon_code="X"))]
    )
    three = run_job(spark, topic, dirs, "r3")
    assert three.outcome == "FULL_SUCCESS"
    assert _changes(three) == [("amount", "type_mismatch"), ("coupon_code", "reappeared"), ("promo", "type_changed")]
    assert three.lag is not None and (three.lag.snapshots, three.lag.rows, three.lag.hours) == (0, 0, 0.0)
    assert "type bigint -> string" in "\n".join(three.summary_lines())

    # the same drift again: nothing to report; then a run without new data, and a dry run
    s4 = append_raw(spark, topic, [("m5", "k5", at(30), at(31), order("o5", amount="ten", promo="x", coupon_code="Y"))])
    four = run_job(spark, topic, dirs, "r4")
    assert (four.outcome, _changes(four)) == ("FULL_SUCCESS", [])
    assert run_job(spark, topic, dirs, "r5").outcome == "NO_NEW_DATA"
    assert run_job(spark, topic, dirs, "r6", dry_run=True, from_snapshot_exclusive=s3).outcome == "FULL_SUCCESS"

    runs = _runs(spark, topic)
    assert [(r["run_id"], r["outcome"], r["dry_run"], r["rows_read"], r["to_snapshot_inclusive"]) for r in runs] == [
        ("r1", "FULL_SUCCESS", False, 2, s1),
        ("r2", "CURATED_ONLY", False, 1, s2),
        ("r3", "FULL_SUCCESS", False, 2, s3),  # semantic's catch-up reads batches 2 and 3
        ("r4", "FULL_SUCCESS", False, 1, s4),
        ("r5", "NO_NEW_DATA", False, 0, s4),
        ("r6", "FULL_SUCCESS", True, 1, s4),
    ]
    # the checkpoints each run found and left: r2 (CURATED_ONLY) moved curated alone, r3 caught semantic up
    assert [
        (
            r["curated_checkpoint_before"],
            r["curated_checkpoint_after"],
            r["semantic_checkpoint_before"],
            r["semantic_checkpoint_after"],
        )
        for r in runs[:4]
    ] == [(None, s1, None, s1), (s1, s2, s1, s1), (s2, s3, s1, s3), (s3, s4, s3, s4)]
    assert [r["curated_rows"] for r in runs[:4]] == [2, 1, 2, 1]  # r3 reads from semantic's checkpoint: 2 rows
    assert [(r["semantic_lag_snapshots"], r["semantic_lag_rows"]) for r in runs] == [
        (0, 0),
        (1, 1),
        (0, 0),
        (0, 0),
        (0, 0),
        (0, 0),
    ]
    assert runs[0]["data_docs_url"] == one.data_docs_url and runs[0]["expectations"] > 0
    assert [len(r["drift_changes"]) for r in runs] == [4, 2, 3, 0, 0, 0]
    assert any("coupon_code" in text and "first seen" in text for text in runs[0]["drift_changes"])

    assert _drift(spark, topic) == {
        "coupon_code": ("new", "string", None, s1, s4, 1),
        "promo": ("new", "string", None, s2, s4, 1),
        "amount": ("type_mismatch", None, "decimal(10,2)", s3, s4, 1),
        **{f: ("missing", None, t, s1, s4, 1) for f, t in zip(MISSING, ("boolean", "double", "long"), strict=True)},
    }

    # a backfill over batch 2 (promo a number, no coupon_code, amount fine) leaves the
    # history as the live runs left it (issue 28 item 2): nothing stopped, nothing moved back
    before = _drift(spark, topic)
    seven = run_job(spark, topic, dirs, "r7", from_snapshot_exclusive=s1, to_snapshot_inclusive=s2)
    assert seven.outcome == "FULL_SUCCESS" and _changes(seven) == []
    assert _drift(spark, topic) == before


def test_a_history_that_cannot_be_written_changes_no_outcome(spark, tmp_path: Path, hash_key: str, monkeypatch) -> None:
    topic = "history_broken"
    dirs = topic_config(tmp_path, topic)
    append_raw(spark, topic, [("m1", "k1", at(0), at(1), order("o1", coupon_code="SPRING"))])
    monkeypatch.setenv(ENV, "during_drift_history")
    first = run_job(spark, topic, dirs, "b1")
    assert first.outcome == "FULL_SUCCESS" and first.drift_changes == []
    assert "injected fault" in (first.maintenance["drift_history"].error or "")
    monkeypatch.setenv(ENV, "during_run_history")
    append_raw(spark, topic, [("m2", "k2", at(5), at(6), order("o2", coupon_code="AUTUMN"))])
    second = run_job(spark, topic, dirs, "b2")
    # the drift history was not written: its changes are reported by the next run that writes it
    assert second.outcome == "FULL_SUCCESS" and ("coupon_code", "first_seen") in _changes(second)
    assert "injected fault" in (second.maintenance["run_history"].error or "")
    assert "run_history" in second.to_dict()["maintenance"]
    monkeypatch.delenv(ENV)
    assert [r["run_id"] for r in _runs(spark, topic)] == ["b1"]  # b2's row is the one that failed
    assert set(_drift(spark, topic)) == {"coupon_code", *MISSING}
