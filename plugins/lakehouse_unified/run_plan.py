"""What one DAG run asks the job to do: pure functions over snapshot metadata.

``get_checkpoint`` reads the topic's snapshot metadata (pyiceberg) into a
:class:`TopicState` and turns it, with the run's params and type, into a
:class:`RunPlan`. ``wait_for_new_snapshot`` pins the plan's end to the raw snapshot it
saw, so every retry of the run processes the same range (a run's bounds are fixed
once, never "latest" again). No IO here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any, Literal, cast, get_args

from lakehouse_unified.exceptions import RunPlanError
from spark_jobs.interface import (
    CHECKPOINT_KEYS,
    FULL_HISTORY,
    Checkpoints,
    Layers,
    SnapshotInfo,
    one_layer_reprocess_problem,
)

__all__ = ["CHECKPOINT_KEYS", "FULL_HISTORY", "Layers", "PlanKind", "RunPlan", "SnapshotInfo", "TopicState", "plan_run"]

PlanKind = Literal["incremental", "reprocess", "backfill", "replay"]

_SNAPSHOT_ID = re.compile(r"^[0-9]{1,20}$")


@dataclass(frozen=True)
class TopicState:
    """Raw ancestry (newest first; empty if the table is missing) and both layers' checkpoints."""

    raw_exists: bool
    raw_ancestry: tuple[SnapshotInfo, ...]
    curated_checkpoint: int | None
    semantic_checkpoint: int | None

    @property
    def raw_current(self) -> int | None:
        return self.raw_ancestry[0].snapshot_id if self.raw_ancestry else None


def backfill_range(
    ancestry_newest_first: Sequence[SnapshotInfo], start: datetime, end: datetime
) -> tuple[int | None, int] | None:
    """Raw snapshots committed in ``[start, end)`` as ``(from_exclusive, to_inclusive)``.

    ``from_exclusive`` is the parent of the oldest snapshot in the interval (None when
    that is raw's first snapshot: read from the beginning). None: nothing committed then.
    """
    inside = [i for i, s in enumerate(ancestry_newest_first) if start <= s.committed_at < end]
    if not inside:
        return None
    newest, oldest = min(inside), max(inside)
    parent = ancestry_newest_first[oldest + 1].snapshot_id if oldest + 1 < len(ancestry_newest_first) else None
    return parent, ancestry_newest_first[newest].snapshot_id


@dataclass(frozen=True)
class RunPlan:
    """The job's range and options for one DAG run (pushed to XCom as a dict)."""

    kind: PlanKind
    layers: Layers = "both"
    dry_run: bool = False
    no_checkpoint: bool = False
    from_snapshot_exclusive: int | None = None
    reprocess_all: bool = False
    to_snapshot_inclusive: int | None = None
    raw_current_snapshot_id: int | None = None
    curated_checkpoint: int | None = None
    semantic_checkpoint: int | None = None
    note: str = ""

    @property
    def replay_quarantine(self) -> bool:
        """Re-judge the quarantined versions (``--replay-quarantine``): no range, no checkpoint moves."""
        return self.kind == "replay"

    @property
    def explicit(self) -> bool:
        """A manual reprocess, a backfill or a replay: nothing to wait for."""
        return self.kind != "incremental"

    def needs_run(self) -> bool:
        """Whether the job has something to do without waiting for more raw data."""
        if self.explicit:
            return self.to_snapshot_inclusive is not None
        end = self.to_snapshot_inclusive if self.to_snapshot_inclusive is not None else self.raw_current_snapshot_id
        return Checkpoints(self.curated_checkpoint, self.semantic_checkpoint).has_new_data(end, self.layers)

    def pinned(self, raw_snapshot_id: int) -> RunPlan:
        """This plan with its end fixed (a fixed end given by the trigger params wins)."""
        if self.to_snapshot_inclusive is not None:
            return self
        return replace(self, to_snapshot_inclusive=raw_snapshot_id, raw_current_snapshot_id=raw_snapshot_id)

    def without_schema(self, problem: str) -> RunPlan:
        """The topic has no usable contract/suite: curated only (it needs none), semantic and
        its checkpoint untouched. A run that asked for semantic alone cannot run."""
        if self.layers == "semantic":
            raise RunPlanError(f"param 'layers' is 'semantic' but the topic has no usable schema: {problem}")
        if self.replay_quarantine:
            raise RunPlanError(f"param 'replay_quarantine' needs a usable schema, and the topic has none: {problem}")
        note = f"curated only, no usable schema: {problem}"
        return replace(self, layers="curated", note=f"{self.note}; {note}" if self.note else note)

    def to_xcom(self) -> dict[str, Any]:
        """JSON-safe dict; snapshot ids as strings (64-bit ids exceed JavaScript's exact integers)."""
        out = asdict(self)
        for key in _ID_FIELDS:
            out[key] = None if out[key] is None else str(out[key])
        return out

    @classmethod
    def from_xcom(cls, value: Any) -> RunPlan:
        if not isinstance(value, Mapping) or value.get("kind") not in get_args(PlanKind):
            raise RunPlanError(f"not a run plan (XCom of get_checkpoint / wait_for_new_snapshot): {value!r}")
        data = dict(value)
        for key in _ID_FIELDS:
            data[key] = None if data.get(key) is None else int(data[key])
        return cls(**data)

    def describe(self) -> str:
        start = FULL_HISTORY if self.reprocess_all else self.from_snapshot_exclusive
        if self.replay_quarantine:
            return (
                f"quarantine replay: the versions in the errors table re-read from raw snapshot "
                f"{self.to_snapshot_inclusive} and re-judged; checkpoints unchanged"
                + (" [dry_run]" if self.dry_run else "")
            )
        if self.kind == "incremental":
            rng = f"(checkpoint, {self.to_snapshot_inclusive or 'raw current'}]"
        else:
            rng = f"({start}, {self.to_snapshot_inclusive}]"
        flags = [f"layers={self.layers}"] + [n for n in ("dry_run", "no_checkpoint") if getattr(self, n)]
        return (
            f"{self.kind} run over raw snapshots {rng} [{', '.join(flags)}]; checkpoints: "
            f"curated={self.curated_checkpoint} semantic={self.semantic_checkpoint} "
            f"raw current={self.raw_current_snapshot_id}" + (f"; {self.note}" if self.note else "")
        )


_ID_FIELDS = (
    "from_snapshot_exclusive",
    "to_snapshot_inclusive",
    "raw_current_snapshot_id",
    "curated_checkpoint",
    "semantic_checkpoint",
)


def plan_run(
    state: TopicState,
    params: Mapping[str, Any],
    *,
    run_type: str,
    data_interval_start: datetime | None,
    data_interval_end: datetime | None,
    raw_table: str,
) -> RunPlan:
    """Turn the topic's snapshot state, the trigger params and the run type into a plan.

    - backfill runs (``dag_run.run_type == "backfill"``) reprocess the raw snapshots
      committed in their data interval and never move the live checkpoints;
    - ``from_snapshot_exclusive`` (manual trigger) reprocesses from that snapshot;
    - otherwise the run is incremental from the checkpoints.
    """
    layers = params.get("layers") or "both"
    if layers not in get_args(Layers):
        raise RunPlanError(f"param 'layers' must be one of {list(get_args(Layers))}, got {layers!r}")
    base = RunPlan(
        kind="incremental",
        layers=cast(Layers, layers),
        dry_run=bool(params.get("dry_run")),
        no_checkpoint=bool(params.get("no_checkpoint")),
        raw_current_snapshot_id=state.raw_current,
        curated_checkpoint=state.curated_checkpoint,
        semantic_checkpoint=state.semantic_checkpoint,
    )
    known = {s.snapshot_id for s in state.raw_ancestry}

    if params.get("replay_quarantine"):
        given = [n for n in ("from_snapshot_exclusive", "to_snapshot_inclusive") if params.get(n)]
        if run_type == "backfill" or given:
            raise RunPlanError(
                "param 'replay_quarantine' re-reads the quarantined versions themselves: it takes no "
                f"snapshot range and is not a backfill (got {', '.join(given) or run_type})"
            )
        if base.layers == "curated" or base.no_checkpoint:
            raise RunPlanError(
                "param 'replay_quarantine' writes the semantic layer and never moves a checkpoint: "
                "leave layers and no_checkpoint at their defaults"
            )
        return replace(
            base,
            kind="replay",
            to_snapshot_inclusive=state.raw_current,
            note="quarantine replay" if state.raw_current is not None else f"{raw_table} has no snapshot yet",
        )

    if run_type == "backfill":
        if data_interval_start is None or data_interval_end is None or data_interval_start >= data_interval_end:
            raise RunPlanError(
                f"backfill run without a data interval ({data_interval_start} .. {data_interval_end}): "
                "the topic's schedule must be a cron expression or preset"
            )
        interval = f"[{data_interval_start.isoformat()}, {data_interval_end.isoformat()})"
        backfill = replace(base, kind="backfill", no_checkpoint=True)
        found = backfill_range(state.raw_ancestry, data_interval_start, data_interval_end)
        if found is None:
            return replace(backfill, note=f"no raw snapshot of {raw_table} committed in {interval}")
        first_parent, last = found
        return replace(
            backfill,
            from_snapshot_exclusive=first_parent,
            reprocess_all=first_parent is None,
            to_snapshot_inclusive=last,
            note=f"raw snapshots committed in {interval}",
        )

    start_param = _snapshot_param(params.get("from_snapshot_exclusive"), "from_snapshot_exclusive", allow_full=True)
    end_param = _snapshot_param(params.get("to_snapshot_inclusive"), "to_snapshot_inclusive", allow_full=False)
    for name, value in (("from_snapshot_exclusive", start_param), ("to_snapshot_inclusive", end_param)):
        if isinstance(value, int) and value not in known:
            raise RunPlanError(
                f"param {name!r}: snapshot {value} is not in the current ancestry of {raw_table} "
                f"(expired or from another table); current snapshot: {state.raw_current}"
            )
    if start_param is None:
        return replace(base, to_snapshot_inclusive=end_param if isinstance(end_param, int) else None)

    problem = one_layer_reprocess_problem(True, base.layers, base.no_checkpoint)
    if problem:
        raise RunPlanError(problem)
    end: int | None = end_param if isinstance(end_param, int) else state.raw_current
    return replace(
        base,
        kind="reprocess",
        from_snapshot_exclusive=start_param if isinstance(start_param, int) else None,
        reprocess_all=start_param == FULL_HISTORY,
        to_snapshot_inclusive=end,
        note="manual reprocess" if end is not None else f"{raw_table} has no snapshot yet",
    )


def _snapshot_param(value: Any, name: str, *, allow_full: bool) -> int | str | None:
    """Snapshot ids come as strings: the UI's JSON numbers cannot carry 64-bit ids exactly."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise RunPlanError(f"param {name!r} must be a snapshot id, got {value!r}")
    text = str(value).strip()
    if allow_full and text.lower() == FULL_HISTORY:
        return FULL_HISTORY
    if not _SNAPSHOT_ID.match(text):
        expected = f"a raw snapshot id or {FULL_HISTORY!r}" if allow_full else "a raw snapshot id"
        raise RunPlanError(f"param {name!r} must be {expected}, got {value!r}")
    return int(text)
