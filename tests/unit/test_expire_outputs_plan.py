"""The output expiry bound: never past the snapshot holding the layer's checkpoint (no Spark)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from spark_jobs.interface import CHECKPOINT_KEYS
from spark_jobs.interface import UNIFIED_CHECKPOINT_KEY as UNIFIED_KEY
from spark_jobs.maintenance.compact_outputs import (
    MIN_SMALL_FILE_BYTES,
    SMALL_FILE_BYTES,
    compaction_options,
    due_after_files,
    files_since_compaction,
    small_file_bytes,
)
from spark_jobs.maintenance.expire_outputs import has_snapshots_before, plan_output_expiry
from spark_jobs.read.snapshots import SnapshotInfo

T0 = datetime(2026, 11, 1, tzinfo=UTC)
CURATED = {CHECKPOINT_KEYS["curated"]: "42"}
# newest first: two compaction commits (no checkpoint) above the job's last commit
ANCESTRY = [
    SnapshotInfo(7, T0 + timedelta(days=3), {}),
    SnapshotInfo(9, T0 + timedelta(days=2), {}),
    SnapshotInfo(3, T0 + timedelta(days=1), CURATED),
    SnapshotInfo(5, T0, CURATED),
]


def test_bound_is_lowered_to_the_snapshot_holding_the_checkpoint() -> None:
    plan = plan_output_expiry("orders", "curated_db.orders", "curated", ANCESTRY, T0 + timedelta(days=10))
    assert plan.kept_snapshot == 3 and plan.older_than == T0 + timedelta(days=1)
    assert "3" in plan.reason and "curated" in plan.reason


def test_an_earlier_request_stands_and_naive_is_utc() -> None:
    plan = plan_output_expiry("orders", "curated_db.orders", "curated", ANCESTRY, datetime(2026, 11, 1, 12))
    assert plan.older_than == T0 + timedelta(hours=12) and plan.reason == "as requested"


def test_other_layers_key_does_not_count() -> None:
    plan = plan_output_expiry("orders", "semantic_db.orders", "semantic", ANCESTRY, T0 + timedelta(days=10))
    assert plan.kept_snapshot is None and plan.older_than == T0 + timedelta(days=10)


def test_a_table_without_checkpoint_expires_as_requested() -> None:
    plan = plan_output_expiry("orders", "semantic_db.orders_errors", None, ANCESTRY, T0 + timedelta(days=10))
    assert plan.older_than == T0 + timedelta(days=10) and plan.kept_snapshot is None


def test_compaction_options() -> None:
    options = compaction_options(4, 3 * 2**20)
    assert options["delete-file-threshold"] == "4" and options["remove-dangling-deletes"] == "true"
    assert options["use-starting-sequence-number"] == "false" and options["min-file-size-bytes"] == str(3 * 2**20)


def _sized(total_bytes: int) -> dict[str, object]:
    return {
        "current-snapshot-id": 2,
        "snapshots": [{"snapshot-id": 2, "summary": {"total-files-size": str(total_bytes)}}],
    }


def test_a_small_file_is_small_against_the_table_s_buckets() -> None:
    mib = 2**20
    # 1M rows of history (~100 MiB, 6.5 MiB per bucket): the buckets' big files are not small
    assert small_file_bytes(_sized(100 * mib)) == MIN_SMALL_FILE_BYTES < 6 * mib
    assert small_file_bytes(_sized(512 * mib)) == 4 * mib  # 32 MiB per bucket: an eighth
    assert small_file_bytes(_sized(50 * 1024 * mib)) == SMALL_FILE_BYTES  # at most 8 MiB
    assert small_file_bytes({"snapshots": []}) == MIN_SMALL_FILE_BYTES  # no snapshot yet


def test_unified_checkpoint_is_held_by_curated_and_a_stale_semantic_holder_does_not_pin_expiry() -> None:
    unified = [SnapshotInfo(8, T0 + timedelta(days=2), {UNIFIED_KEY: "50"}), *ANCESTRY[2:]]
    plan = plan_output_expiry("orders", "curated_db.orders", "curated", unified, T0 + timedelta(days=10), 50)
    assert plan.kept_snapshot == 8
    semantic = [SnapshotInfo(6, T0 + timedelta(days=2), {}), SnapshotInfo(4, T0, {CHECKPOINT_KEYS["semantic"]: "7"})]
    # semantic's checkpoint is the unified one (50): its old tiered holder (7) no longer matters
    stale = plan_output_expiry("orders", "semantic_db.orders", "semantic", semantic, T0 + timedelta(days=10), 50)
    assert stale.kept_snapshot is None and stale.older_than == T0 + timedelta(days=10)
    # in tiered mode it does
    held = plan_output_expiry("orders", "semantic_db.orders", "semantic", semantic, T0 + timedelta(days=10), 7)
    assert held.kept_snapshot == 4


def test_expiry_is_skipped_when_no_snapshot_is_older_than_the_bound() -> None:
    bound = datetime(2024, 1, 8, tzinfo=UTC)
    plan = plan_output_expiry("orders", "semantic_db.orders_errors", None, [], bound)

    def metadata(*committed: datetime) -> dict[str, object]:
        snapshots = [{"snapshot-id": i, "timestamp-ms": int(at.timestamp() * 1000)} for i, at in enumerate(committed)]
        return {"current-snapshot-id": len(committed) - 1, "snapshots": snapshots}

    assert not has_snapshots_before(metadata(), plan)
    assert not has_snapshots_before(metadata(bound, bound + timedelta(hours=1)), plan)
    assert has_snapshots_before(metadata(bound - timedelta(seconds=1), bound + timedelta(hours=1)), plan)


def test_compaction_is_due_once_enough_files_were_added_since_the_last_one() -> None:
    def snapshot(i: int, operation: str, data: int, deletes: int = 0) -> dict[str, object]:
        summary = {"operation": operation, "added-data-files": str(data), "added-delete-files": str(deletes)}
        return {"snapshot-id": i, "timestamp-ms": i, "summary": summary, **({"parent-snapshot-id": i - 1} if i else {})}

    history = [snapshot(0, "append", 16), snapshot(1, "replace", 16, 0), snapshot(2, "append", 16)]
    history += [snapshot(3, "overwrite", 10, 10), snapshot(4, "append", 16)]
    assert files_since_compaction({"current-snapshot-id": 4, "snapshots": history}) == 16 + 20 + 16
    assert files_since_compaction({"current-snapshot-id": 0, "snapshots": history}) == 16  # never compacted
    assert files_since_compaction({"snapshots": []}) == 0
    assert due_after_files(4) == 4 * 16 and due_after_files(1) == 16
