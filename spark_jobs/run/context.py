"""What a run's stages are handed: the run's fixed facts, its timings and its parsed batch."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession

from spark_jobs.config.job_args import JobArgs
from spark_jobs.config.topic_config import TopicConfig
from spark_jobs.dedup.deduplicate import layout_partitions
from spark_jobs.interface import CheckpointMode, Layer, commit_properties
from spark_jobs.parse.column_bounds import BoundedStructure
from spark_jobs.read.incremental_read import SnapshotRange
from spark_jobs.tables import TopicTables

log = logging.getLogger(__name__)


@dataclass
class Timings:
    """Seconds per step (``durations_s`` of the run report); a step timed twice adds up."""

    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def timed(self, step: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[step] = round(self.seconds.get(step, 0.0) + time.perf_counter() - start, 3)


@dataclass(frozen=True)
class RunContext:
    """The run's fixed facts: who, where, which raw range, which mode."""

    spark: SparkSession
    args: JobArgs
    tables: TopicTables
    config: TopicConfig
    mode: CheckpointMode
    snapshot_range: SnapshotRange
    timings: Timings

    @property
    def topic(self) -> str:
        return self.args.topic

    @property
    def raw_snapshot_id(self) -> int:
        """The raw snapshot the outputs' rows are stamped with (and the checkpoint moves to)."""
        return self.snapshot_range.to_inclusive

    @property
    def unified(self) -> bool:
        """Both layers under one checkpoint (a one-layer run moves its own layer's)."""
        return self.mode == "unified" and self.args.layers == "both"

    def commit_properties(self, layer: Layer) -> dict[str, str]:
        """What ``layer``'s last commit carries (``interface.commit_properties``; none on a backfill)."""
        if self.args.no_checkpoint:
            return {}
        return commit_properties(layer, self.mode, self.args.layers == "both", self.raw_snapshot_id, self.args.run_id)


@dataclass(frozen=True)
class DedupCounts:
    """Rows per dedup rule (``dedup/deduplicate.py``), as the run report shows them."""

    network_duplicates: int = 0
    already_consumed: int = 0
    superseded_versions: int = 0
    missing_keys: int = 0
    event_ts_in_future: int = 0
    reused_message_ids: int = 0
    rows_out: int = 0

    @property
    def semantic_candidates(self) -> int:
        """Rows the semantic layer judges: the kept ones and the ones quarantined for their envelope."""
        return self.rows_out + self.missing_keys + self.event_ts_in_future

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class Batch:
    """The increment after dedup and parsing: the rows both layers write from."""

    parsed: DataFrame
    """Kept rows and rows to quarantine for their envelope, payload parsed (``dedup.rows_to_process``)."""
    bounded: BoundedStructure
    counts: DedupCounts


def partitions_for(spark: SparkSession, rows: int) -> int:
    """Partitions for ``rows`` rows: ``dedup.layout_partitions``, at most the shuffle partitions."""
    return layout_partitions(rows, int(spark.conf.get("spark.sql.shuffle.partitions") or 200))


class CachedFrames:
    """The frames a run persists, unpersisted when the run's ``with`` block ends, whatever happened."""

    def __init__(self) -> None:
        self._frames: list[DataFrame] = []

    def persist(self, df: DataFrame, rows: int | None = None) -> DataFrame:
        """``df`` persisted; ``rows``: at most that many rows, so it is cached in as many
        partitions as that needs (``partitions_for``), not the shuffle's 32 that every
        later action on it would read (a task each)."""
        if rows is not None:
            df = df.coalesce(partitions_for(df.sparkSession, rows))
        cached = df.persist(StorageLevel.MEMORY_AND_DISK)
        self._frames.append(cached)
        return cached

    def __enter__(self) -> CachedFrames:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def release(self) -> None:
        """Unpersist every frame. Never raises: after a dead SparkContext ``unpersist``
        fails too, and the run's report must name what killed it, not this."""
        for df in self._frames:
            try:
                df.unpersist()
            except Exception as exc:  # the context is gone: nothing is cached any more
                log.warning("could not unpersist a cached frame: %s", " ".join(str(exc).split())[:200])
        self._frames.clear()
