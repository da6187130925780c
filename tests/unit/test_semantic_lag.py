"""Semantic lag: raw snapshots and rows between the two checkpoints, hours since semantic moved (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta

from spark_jobs.interface import CHECKPOINT_KEYS, UNIFIED_CHECKPOINT_KEY, Checkpoints, SnapshotInfo
from spark_jobs.run.lag import SemanticLag, last_advanced_at, semantic_lag

T0 = datetime(2026, 12, 4, 8, 0)
# raw's ancestry, newest first: snapshot 5 added 50 rows, ..., snapshot 1 added 10
RAW = [SnapshotInfo(i, T0 + timedelta(hours=i), {"added-records": str(10 * i)}) for i in (5, 4, 3, 2, 1)]
NOW = T0 + timedelta(hours=10)


def test_the_lag_is_what_curated_holds_and_semantic_does_not() -> None:
    advanced = T0 + timedelta(hours=2, minutes=30)
    assert semantic_lag(RAW, Checkpoints(curated=5, semantic=2), advanced, NOW) == SemanticLag(3, 120, 7.5, advanced)
    # semantic never ran: everything curated holds, no time to count from
    assert semantic_lag(RAW, Checkpoints(curated=4, semantic=None), None, NOW) == SemanticLag(4, 100, None, None)


def test_no_lag_when_semantic_is_level_or_ahead() -> None:
    for checkpoints in (Checkpoints(5, 5), Checkpoints(3, 5), Checkpoints(None, 2), Checkpoints(None, None)):
        assert semantic_lag(RAW, checkpoints, T0, NOW).snapshots == 0, checkpoints
        assert semantic_lag(RAW, checkpoints, T0, NOW).hours == 0.0


def test_semantic_advanced_when_its_last_checkpoint_commit_was_made() -> None:
    key = CHECKPOINT_KEYS["semantic"]
    semantic = [
        SnapshotInfo(30, T0 + timedelta(hours=3), {}),  # a backfill's commit: no checkpoint
        SnapshotInfo(20, T0 + timedelta(hours=2), {key: "2"}),
        SnapshotInfo(10, T0 + timedelta(hours=1), {key: "1"}),
    ]
    assert last_advanced_at(semantic) == T0 + timedelta(hours=2)
    assert last_advanced_at(semantic[:1]) is None


def test_in_unified_mode_semantic_advanced_with_the_unified_checkpoint() -> None:
    # Issue 28 item 1: the one checkpoint is on curated's commit; semantic's carry none.
    key = CHECKPOINT_KEYS["semantic"]
    curated = [
        SnapshotInfo(31, T0 + timedelta(hours=5), {UNIFIED_CHECKPOINT_KEY: "4"}),
        SnapshotInfo(21, T0 + timedelta(hours=4), {UNIFIED_CHECKPOINT_KEY: "3"}),
    ]
    never_tiered = [SnapshotInfo(30, T0 + timedelta(hours=5), {})]
    assert last_advanced_at(never_tiered, curated) == T0 + timedelta(hours=5)  # was None: never any lag hours
    # switched from tiered: the old tiered commit is not when semantic last moved
    switched = [*never_tiered, SnapshotInfo(10, T0 + timedelta(hours=1), {key: "1"})]
    assert last_advanced_at(switched, curated) == T0 + timedelta(hours=5)
    # back to tiered: semantic's own key is newer
    back = [SnapshotInfo(40, T0 + timedelta(hours=7), {key: "5"}), *switched]
    assert last_advanced_at(back, curated) == T0 + timedelta(hours=7)


def test_a_raw_compaction_between_the_checkpoints_adds_no_lag_rows() -> None:
    raw = [
        SnapshotInfo(7, T0 + timedelta(hours=7), {"added-records": "5"}, "append"),
        SnapshotInfo(6, T0 + timedelta(hours=6), {"added-records": "900000"}, "replace"),
        *RAW,
    ]
    lag = semantic_lag(raw, Checkpoints(curated=7, semantic=5), T0, NOW)
    assert (lag.snapshots, lag.rows) == (2, 5)
