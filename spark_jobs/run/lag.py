"""How far semantic is behind curated (tiered mode: a semantic failure never holds curated back).

Counted on raw's ancestry, between the two checkpoints: the snapshots and rows curated
holds and semantic does not yet, and the hours since semantic's checkpoint last moved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from spark_jobs.interface import CHECKPOINT_KEYS, UNIFIED_CHECKPOINT_KEY, Checkpoints, SnapshotInfo


@dataclass(frozen=True)
class SemanticLag:
    snapshots: int
    """Raw snapshots curated has consumed and semantic has not."""
    rows: int
    """Raw rows they added."""
    hours: float | None
    """Hours since semantic's checkpoint last moved, when it is behind (0: not behind; None: it never moved)."""
    semantic_advanced_at: datetime | None


def semantic_lag(
    raw_newest_first: Sequence[SnapshotInfo],
    checkpoints: Checkpoints,
    semantic_advanced_at: datetime | None,
    now: datetime,
) -> SemanticLag:
    """The lag between the checkpoints (a checkpoint no longer in raw's ancestry counts from its end)."""
    ids = [s.snapshot_id for s in raw_newest_first]

    def position(checkpoint: int | None) -> int:
        return ids.index(checkpoint) if checkpoint in ids else len(ids)

    curated, semantic = position(checkpoints.curated), position(checkpoints.semantic)
    if checkpoints.curated is None or curated >= semantic:
        return SemanticLag(0, 0, 0.0, semantic_advanced_at)
    behind = raw_newest_first[curated:semantic]
    rows = sum(s.rows_appended() or 0 for s in behind)  # a compaction of raw adds no row
    hours = None if semantic_advanced_at is None else round((now - semantic_advanced_at).total_seconds() / 3600, 3)
    return SemanticLag(len(behind), rows, hours, semantic_advanced_at)


def last_advanced_at(
    semantic_newest_first: Sequence[SnapshotInfo], curated_newest_first: Sequence[SnapshotInfo] = ()
) -> datetime | None:
    """When semantic's checkpoint last moved: the newer of its own key's last commit and
    the unified key's (unified mode: the one checkpoint is on curated's commit and moves
    only when both layers were written), as the checkpoints themselves are resolved
    (``interface.resolve_checkpoints``)."""
    own = next((s.committed_at for s in semantic_newest_first if CHECKPOINT_KEYS["semantic"] in s.summary), None)
    unified = next((s.committed_at for s in curated_newest_first if UNIFIED_CHECKPOINT_KEY in s.summary), None)
    return max((t for t in (own, unified) if t is not None), default=None)
