from __future__ import annotations

from datetime import UTC, datetime

import pytest

from spark_jobs.exceptions import SnapshotRangeError
from spark_jobs.interface import Checkpoints
from spark_jobs.read.incremental_read import SnapshotRange, backlog_rows, cap_rows, plan_range
from spark_jobs.read.snapshots import SnapshotInfo

T0 = datetime(2024, 1, 1, tzinfo=UTC)
# newest first, ids deliberately not in numeric order
ANCESTRY = [SnapshotInfo(i, T0, {}) for i in (30, 10, 50, 20)]


def test_first_run_reads_everything_up_to_current() -> None:
    assert plan_range("orders", ANCESTRY, None, None) == SnapshotRange(None, 30)


def test_incremental_range_and_no_new_data() -> None:
    assert plan_range("orders", ANCESTRY, 50, None) == SnapshotRange(50, 30)
    assert plan_range("orders", ANCESTRY, 30, None) is None
    assert plan_range("orders", [], None, None) is None


def test_expired_checkpoint_is_an_error_naming_topic_and_options() -> None:
    with pytest.raises(SnapshotRangeError) as info:
        plan_range("orders", ANCESTRY, 99, None)
    assert "orders" in str(info.value) and "99" in str(info.value) and "--from-snapshot-exclusive" in str(info.value)


def test_upper_bound_must_exist_and_follow_the_start() -> None:
    with pytest.raises(SnapshotRangeError):
        plan_range("orders", ANCESTRY, None, 77)
    with pytest.raises(SnapshotRangeError):
        plan_range("orders", ANCESTRY, 10, 20)


def test_read_from_the_slower_layer_by_ancestry_position_not_number() -> None:
    ids = [s.snapshot_id for s in ANCESTRY]
    assert Checkpoints(curated=10, semantic=50).read_from(ids) == 50
    assert Checkpoints(curated=20, semantic=30).read_from(ids) == 20
    assert Checkpoints(curated=30, semantic=None).read_from(ids) is None
    assert Checkpoints(curated=99, semantic=30).read_from(ids) == 99
    # a one-layer run starts from its own layer's checkpoint (semantic may never have run)
    assert Checkpoints(curated=30, semantic=None).read_from(ids, "curated") == 30
    assert Checkpoints(curated=10, semantic=50).read_from(ids, "semantic") == 50
    assert Checkpoints(curated=10, semantic=None).read_from(ids, "semantic") is None


# oldest 20 (100 rows), 50 (100), 10 (100), newest 30 (100)
COUNTED = [SnapshotInfo(i, T0, {"added-records": "100"}) for i in (30, 10, 50, 20)]


@pytest.mark.parametrize(
    ("start", "max_rows", "end"),
    [
        (None, None, 30),  # no cap: everything
        (None, 250, 50),  # 200 rows fit, the third snapshot would exceed
        (None, 200, 50),  # exactly the cap
        (None, 50, 20),  # one snapshot larger than the cap is still taken alone
        (20, 100, 50),  # from a checkpoint: the next snapshot
        (50, 10_000, 30),  # the cap is above the backlog
    ],
)
def test_cap_rows_takes_the_oldest_snapshots_up_to_the_cap(start, max_rows, end) -> None:
    full = plan_range("orders", COUNTED, start, None)
    assert full is not None
    assert cap_rows(COUNTED, full, max_rows) == SnapshotRange(start, end)


def test_cap_rows_stops_at_a_snapshot_without_a_row_count() -> None:
    ancestry = [SnapshotInfo(30, T0, {"added-records": "1"}), SnapshotInfo(10, T0, {}), COUNTED[3]]
    full = plan_range("orders", ancestry, None, None)
    assert full is not None
    assert cap_rows(ancestry, full, 1000) == SnapshotRange(None, 20)


def test_backlog_counts_rows_after_the_slice() -> None:
    assert backlog_rows(COUNTED, 50) == 200
    assert backlog_rows(COUNTED, 30) == 0


def test_a_compaction_or_a_delete_of_raw_is_no_backlog() -> None:
    # Issue 28 item 4: a replace (rewrite_data_files) and a delete add no row to read,
    # whatever their added-records (a compaction's is all it rewrote).
    ancestry = [
        SnapshotInfo(40, T0, {"added-records": "100"}, "append"),
        SnapshotInfo(31, T0, {"added-records": "1000000"}, "replace"),
        SnapshotInfo(30, T0, {"added-records": "100"}, "append"),
        SnapshotInfo(21, T0, {"added-records": "7", "deleted-records": "7"}, "delete"),
        SnapshotInfo(20, T0, {"added-records": "100"}, "append"),
    ]
    assert backlog_rows(ancestry, 20) == 200
    # the slice of 250 rows goes past the compaction to the next appends, not one snapshot
    assert cap_rows(ancestry, SnapshotRange(20, 40), 250) == SnapshotRange(20, 40)
    assert cap_rows(ancestry, SnapshotRange(20, 40), 150) == SnapshotRange(20, 31)  # up to the compaction: 100 rows
