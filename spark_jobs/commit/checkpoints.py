"""Checkpoints, stored in the snapshot summary of the commit that holds their data.

Like Flink's Iceberg sink, a checkpoint (the last raw snapshot id consumed) is a
property of the very snapshot that holds the data: the data and its checkpoint can
never disagree. Two modes (docs/RELIABILITY.md):

- tiered (and any one-layer run): each layer's last commit carries its own key, on its
  own table; the layers move independently;
- unified: one key, ``UNIFIED_KEY``, carried by the run's last commit (curated's, after
  semantic's data is written): the one value moves once, or not at all.

Reading: on each table, the newest snapshot of its current ancestry that carries a
key. A layer's checkpoint is the newer, by raw's ancestry, of its own key and the
unified key (both layers hold the data up to the unified checkpoint), so a topic can
switch modes either way without losing or re-reading more than the slower layer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from pyspark.sql import SparkSession

from spark_jobs.read.snapshots import SnapshotInfo, current_ancestry, table_exists
from spark_jobs.tables import TopicTables

Layer = Literal["curated", "semantic"]
CHECKPOINT_KEYS: dict[Layer, str] = {
    "curated": "unified-job.curated-checkpoint",
    "semantic": "unified-job.semantic-checkpoint",
}
UNIFIED_KEY = "unified-job.checkpoint"
"""Unified mode's one checkpoint, on curated's table (the run's last commit)."""
RUN_ID_KEY = "unified-job.run-id"


@dataclass(frozen=True)
class Checkpoints:
    curated: int | None
    semantic: int | None

    def read_from(self, raw_ids_newest_first: list[int], layers: str = "both") -> int | None:
        """Where the next read starts: the slower of the ``layers`` the run writes (None =
        from the beginning). A curated-only run (no usable contract: semantic never
        moves) reads from curated's checkpoint, not the whole history every time.

        Snapshot ids are not ordered numbers; "older" is the position in raw's
        ancestry. A checkpoint missing from it (expired) is returned as is, so that
        the range check reports it instead of silently reading something else.
        """
        relevant = [
            cp for layer, cp in (("curated", self.curated), ("semantic", self.semantic)) if layers in ("both", layer)
        ]
        if any(cp is None for cp in relevant):
            return None
        for checkpoint in relevant:
            if checkpoint not in raw_ids_newest_first:
                return checkpoint
        return max(relevant, key=raw_ids_newest_first.index)  # type: ignore[arg-type]


def value_in(ancestry_newest_first: Sequence[SnapshotInfo], key: str) -> int | None:
    """The key's value on the newest snapshot that carries it (None: never committed)."""
    for snapshot in ancestry_newest_first:
        if key in snapshot.summary:
            return int(snapshot.summary[key])
    return None


def newest_of(candidates: Iterable[int | None], raw_ids_newest_first: Sequence[int]) -> int | None:
    """The newest candidate by position in raw's ancestry. One that raw no longer holds
    (expired) loses to one it holds; if none is held, the first is returned as is, so
    that the range check reports it."""
    present = [c for c in candidates if c is not None]
    held = [c for c in present if c in raw_ids_newest_first]
    if held:
        return min(held, key=list(raw_ids_newest_first).index)
    return present[0] if present else None


def resolve_checkpoints(
    curated_ancestry: Sequence[SnapshotInfo],
    semantic_ancestry: Sequence[SnapshotInfo],
    raw_ids_newest_first: Sequence[int],
) -> Checkpoints:
    """Each layer's checkpoint: the newer of its own key and the unified key (module docstring)."""
    unified = value_in(curated_ancestry, UNIFIED_KEY)
    return Checkpoints(
        curated=newest_of([value_in(curated_ancestry, CHECKPOINT_KEYS["curated"]), unified], raw_ids_newest_first),
        semantic=newest_of([value_in(semantic_ancestry, CHECKPOINT_KEYS["semantic"]), unified], raw_ids_newest_first),
    )


def read_checkpoints(spark: SparkSession, tables: TopicTables, raw_ids_newest_first: Sequence[int]) -> Checkpoints:
    def ancestry(table: str) -> list[SnapshotInfo]:
        return current_ancestry(spark, table) if table_exists(spark, table) else []

    return resolve_checkpoints(ancestry(tables.curated), ancestry(tables.semantic), raw_ids_newest_first)


def output_tables(tables: TopicTables) -> list[tuple[str, Layer | None]]:
    """Each output table with the layer whose checkpoint it holds (errors: none)."""
    return [(tables.curated, "curated"), (tables.semantic, "semantic"), (tables.errors, None)]


def checkpoint_properties(layer: Layer, raw_snapshot_id: int, run_id: str) -> dict[str, str]:
    return {CHECKPOINT_KEYS[layer]: str(raw_snapshot_id), RUN_ID_KEY: run_id}


def commit_properties(layer: Layer, mode: str, writes_both: bool, raw_snapshot_id: int, run_id: str) -> dict[str, str]:
    """What a layer's last commit carries. Unified mode writing both layers: semantic
    nothing, curated (the run's last commit) the one checkpoint. Otherwise (tiered, or a
    one-layer run in either mode): the layer's own checkpoint."""
    if mode == "unified" and writes_both:
        return {UNIFIED_KEY: str(raw_snapshot_id), RUN_ID_KEY: run_id} if layer == "curated" else {}
    return checkpoint_properties(layer, raw_snapshot_id, run_id)


def holds_checkpoint_keys(layer: Layer) -> tuple[str, ...]:
    """Summary keys whose snapshot on ``layer``'s table holds a checkpoint."""
    return (CHECKPOINT_KEYS["curated"], UNIFIED_KEY) if layer == "curated" else (CHECKPOINT_KEYS["semantic"],)
