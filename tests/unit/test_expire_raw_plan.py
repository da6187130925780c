"""The raw expiry bound: never past the slower layer's checkpoint (no Spark)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from spark_jobs.commit.checkpoints import Checkpoints
from spark_jobs.maintenance.expire_raw import main, plan_raw_expiry
from spark_jobs.read.snapshots import SnapshotInfo

T0 = datetime(2026, 11, 1, tzinfo=UTC)
# newest first, as current_ancestry returns them; ids deliberately not in time order
ANCESTRY = [
    SnapshotInfo(7, T0 + timedelta(days=3), {}),
    SnapshotInfo(9, T0 + timedelta(days=2), {}),
    SnapshotInfo(3, T0 + timedelta(days=1), {}),
    SnapshotInfo(5, T0, {}),
]


def test_bound_is_lowered_to_the_slower_checkpoint() -> None:
    plan = plan_raw_expiry("orders", Checkpoints(curated=7, semantic=9), ANCESTRY, T0 + timedelta(days=10))
    assert plan.kept_snapshot == 9 and plan.older_than == T0 + timedelta(days=2)


def test_an_earlier_request_stands() -> None:
    requested = T0 + timedelta(hours=12)
    plan = plan_raw_expiry("orders", Checkpoints(curated=7, semantic=3), ANCESTRY, requested)
    assert plan.older_than == requested and plan.reason == "as requested"


def test_naive_request_is_utc() -> None:
    plan = plan_raw_expiry("orders", Checkpoints(curated=7, semantic=7), ANCESTRY, datetime(2026, 11, 2))
    assert plan.older_than == T0 + timedelta(days=1)


def test_no_bound_without_both_checkpoints_or_with_an_expired_one() -> None:
    missing = plan_raw_expiry("orders", Checkpoints(curated=7, semantic=None), ANCESTRY, T0)
    assert missing.older_than is None and "semantic" in missing.reason and "orders" in missing.reason
    gone = plan_raw_expiry("orders", Checkpoints(curated=7, semantic=42), ANCESTRY, T0)
    assert gone.older_than is None and "42" in gone.reason


def test_cli_rejects_a_bad_topic_before_starting_spark(caplog) -> None:
    assert main(["--topic", "Bad-Topic;DROP", "--older-than", "2026-11-01"]) == 2
    assert "Bad-Topic;DROP" in caplog.text
