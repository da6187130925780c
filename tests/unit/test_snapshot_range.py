from __future__ import annotations

from datetime import UTC, datetime

import pytest

from spark_jobs.commit.checkpoints import Checkpoints
from spark_jobs.exceptions import SnapshotRangeError
from spark_jobs.read.incremental_read import SnapshotRange, plan_range
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
