"""Per-layer checkpoints, stored in the snapshot summary of the layer's own commit.

Like Flink's Iceberg sink, the checkpoint (the last raw snapshot id a layer consumed)
is a property of the very snapshot that holds the layer's data: the data and its
checkpoint can never disagree. Reading it: the newest snapshot of the table's current
ancestry that carries the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pyspark.sql import SparkSession

from spark_jobs.read.snapshots import current_ancestry, table_exists
from spark_jobs.tables import TopicTables

Layer = Literal["curated", "semantic"]
CHECKPOINT_KEYS: dict[Layer, str] = {
    "curated": "unified-job.curated-checkpoint",
    "semantic": "unified-job.semantic-checkpoint",
}
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


def read_checkpoint(spark: SparkSession, table: str, layer: Layer) -> int | None:
    if not table_exists(spark, table):
        return None
    key = CHECKPOINT_KEYS[layer]
    for snapshot in current_ancestry(spark, table):
        if key in snapshot.summary:
            return int(snapshot.summary[key])
    return None


def output_tables(tables: TopicTables) -> list[tuple[str, Layer | None]]:
    """Each output table with the layer whose checkpoint it holds (errors: none)."""
    return [(tables.curated, "curated"), (tables.semantic, "semantic"), (tables.errors, None)]


def checkpoint_properties(layer: Layer, raw_snapshot_id: int, run_id: str) -> dict[str, str]:
    return {CHECKPOINT_KEYS[layer]: str(raw_snapshot_id), RUN_ID_KEY: run_id}
