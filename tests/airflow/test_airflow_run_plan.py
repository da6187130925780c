"""Run planning: new-data detection, backfill interval -> snapshots, manual trigger params."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from lakehouse_unified.exceptions import RunPlanError
from lakehouse_unified.run_plan import (
    RunPlan,
    SnapshotInfo,
    TopicState,
    backfill_range,
    plan_run,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)
BIG = 9_007_199_254_740_993  # > 2**53: must survive XCom and params exactly


def ancestry(*ids: int) -> tuple[SnapshotInfo, ...]:
    """Snapshots committed at T0 + 10 min * position, given oldest first; returned newest first."""
    infos = [SnapshotInfo(sid, T0 + timedelta(minutes=10 * i), {}) for i, sid in enumerate(ids)]
    return tuple(reversed(infos))


def state(ids: tuple[int, ...], curated: int | None, semantic: int | None) -> TopicState:
    return TopicState(bool(ids), ancestry(*ids) if ids else (), curated, semantic)


def plan(st: TopicState, params: dict[str, object] | None = None, **kwargs: object) -> RunPlan:
    args: dict[str, object] = {"run_type": "scheduled", "data_interval_start": None, "data_interval_end": None}
    args.update(kwargs)
    return plan_run(st, params or {}, raw_table="raw_db.orders", **args)  # type: ignore[arg-type]


def test_backfill_range_maps_commit_times_to_snapshots() -> None:
    snaps = ancestry(1, 2, 3, 4, 5)  # committed at +0, +10, +20, +30, +40 min
    assert backfill_range(snaps, T0 + timedelta(minutes=10), T0 + timedelta(minutes=30)) == (1, 3)
    assert backfill_range(snaps, T0, T0 + timedelta(minutes=5)) == (None, 1)  # from the first snapshot
    assert backfill_range(snaps, T0 + timedelta(minutes=41), T0 + timedelta(hours=1)) is None
    # end is exclusive
    assert backfill_range(snaps, T0 + timedelta(minutes=20), T0 + timedelta(minutes=30)) == (2, 3)


def test_scheduled_run_is_incremental_and_unpinned() -> None:
    p = plan(state((1, 2), curated=1, semantic=1))
    assert p.kind == "incremental" and not p.explicit
    assert p.to_snapshot_inclusive is None
    assert p.needs_run()
    assert p.pinned(2).to_snapshot_inclusive == 2
    assert not plan(state((1, 2), curated=2, semantic=2)).needs_run()


def test_manual_reprocess_from_snapshot() -> None:
    p = plan(state((1, 2, 3), 3, 3), {"from_snapshot_exclusive": "1"}, run_type="manual")
    assert (p.kind, p.from_snapshot_exclusive, p.to_snapshot_inclusive, p.no_checkpoint) == ("reprocess", 1, 3, False)
    full = plan(state((1, 2, 3), 3, 3), {"from_snapshot_exclusive": "none", "to_snapshot_inclusive": "2"})
    assert full.reprocess_all and full.from_snapshot_exclusive is None and full.to_snapshot_inclusive == 2


def test_one_layer_reprocess_needs_no_checkpoint() -> None:
    st = state((1, 2, 3), 3, 3)
    with pytest.raises(RunPlanError, match="no_checkpoint"):
        plan(st, {"from_snapshot_exclusive": "1", "layers": "semantic"})
    ok = plan(st, {"from_snapshot_exclusive": "1", "layers": "semantic", "no_checkpoint": True})
    assert ok.layers == "semantic" and ok.no_checkpoint


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"from_snapshot_exclusive": "77"}, "not in the current ancestry"),
        ({"from_snapshot_exclusive": "abc"}, "must be a raw snapshot id or 'none'"),
        ({"to_snapshot_inclusive": "none"}, "must be a raw snapshot id"),
        ({"layers": "gold"}, "layers"),
    ],
)
def test_bad_params_are_rejected_with_the_reason(params: dict[str, object], match: str) -> None:
    with pytest.raises(RunPlanError, match=match):
        plan(state((1, 2), 2, 2), params)


def test_backfill_run_reprocesses_its_interval_without_checkpoints() -> None:
    st = state((1, 2, 3, 4), 4, 4)
    p = plan(
        st,
        run_type="backfill",
        data_interval_start=T0 + timedelta(minutes=10),
        data_interval_end=T0 + timedelta(minutes=30),
    )
    assert (p.kind, p.from_snapshot_exclusive, p.to_snapshot_inclusive, p.no_checkpoint) == ("backfill", 1, 3, True)
    assert p.needs_run()
    empty = plan(
        st, run_type="backfill", data_interval_start=T0 + timedelta(days=1), data_interval_end=T0 + timedelta(days=2)
    )
    assert not empty.needs_run() and "no raw snapshot" in empty.note
    with pytest.raises(RunPlanError, match="data interval"):
        plan(st, run_type="backfill", data_interval_start=T0, data_interval_end=T0)


def test_xcom_round_trip_keeps_64_bit_ids_exact() -> None:
    p = RunPlan(kind="reprocess", from_snapshot_exclusive=BIG, to_snapshot_inclusive=BIG + 2, curated_checkpoint=BIG)
    data = p.to_xcom()
    assert data["from_snapshot_exclusive"] == str(BIG)
    assert RunPlan.from_xcom(data) == p
    with pytest.raises(RunPlanError):
        RunPlan.from_xcom(None)


def test_replay_quarantine_runs_now_without_a_range_or_a_checkpoint_move() -> None:
    st = state((1, 2, 3), 3, 3)  # nothing new: a replay runs all the same
    p = plan(st, {"replay_quarantine": True}, run_type="manual")
    assert p.kind == "replay" and p.replay_quarantine and p.explicit and p.needs_run()
    assert "quarantine replay" in p.describe() and RunPlan.from_xcom(p.to_xcom()) == p
    for params in ({"from_snapshot_exclusive": "1"}, {"to_snapshot_inclusive": "2"}):
        with pytest.raises(RunPlanError, match="no snapshot range"):
            plan(st, {"replay_quarantine": True, **params})
    with pytest.raises(RunPlanError, match="layers and no_checkpoint"):
        plan(st, {"replay_quarantine": True, "layers": "curated"})
    with pytest.raises(RunPlanError, match="replay_quarantine' needs a usable schema"):
        p.without_schema("contracts/orders.yaml: missing")
