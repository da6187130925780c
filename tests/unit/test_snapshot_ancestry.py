"""The current ancestry read from table metadata: parents, not commit times, decide the order."""

from __future__ import annotations

from typing import Any

from spark_jobs.read.snapshots import ancestry_from_metadata


def _snapshot(snapshot_id: int, ms: int, parent: int | None = None, **summary: str) -> dict[str, Any]:
    snapshot: dict[str, Any] = {
        "snapshot-id": snapshot_id,
        "timestamp-ms": ms,
        "summary": {"operation": "append", **summary},
    }
    if parent is not None:
        snapshot["parent-snapshot-id"] = parent
    return snapshot


def test_commits_in_the_same_millisecond_keep_their_parent_order() -> None:
    # 3 was committed after 2 in the same millisecond; listed in metadata out of order.
    metadata = {
        "current-snapshot-id": 3,
        "snapshots": [_snapshot(3, 1000, 2), _snapshot(1, 900), _snapshot(2, 1000, 1, **{"added-records": "5"})],
    }
    ancestry = ancestry_from_metadata(metadata)
    assert [s.snapshot_id for s in ancestry] == [3, 2, 1]
    assert ancestry[1].summary == {"added-records": "5"}  # the operation is not a summary entry


def test_a_rolled_back_branch_is_not_ancestry_and_an_expired_parent_ends_it() -> None:
    metadata = {
        "current-snapshot-id": 4,
        # 3 was rolled back (4's parent is 2); 1, 2's parent, was expired.
        "snapshots": [_snapshot(2, 200, 1), _snapshot(3, 300, 2), _snapshot(4, 400, 2)],
    }
    assert [s.snapshot_id for s in ancestry_from_metadata(metadata)] == [4, 2]


def test_a_table_without_snapshots_has_no_ancestry() -> None:
    assert ancestry_from_metadata({"current-snapshot-id": -1, "snapshots": []}) == []
    assert ancestry_from_metadata({"format-version": 2}) == []
