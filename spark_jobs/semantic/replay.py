"""``--replay-quarantine``: re-judge the versions ``<topic>_errors`` holds against the current contract and suite.

Those that pass move to semantic, the others stay with their new reasons. Versions are
re-read from raw (``read/quarantined.py``), the semantic upsert keeps a newer stored
version, and no checkpoint moves (contracts/README.md, "Replaying the quarantine").
"""

from __future__ import annotations

import logging
from dataclasses import replace

from pyspark.sql import SparkSession

from spark_jobs.commit.checkpoints import read_checkpoints
from spark_jobs.commit.upsert import pin
from spark_jobs.config.job_args import JobArgs
from spark_jobs.config.topic_config import TopicConfig
from spark_jobs.exceptions import ContractError, LayerWriteError, UnifiedJobError
from spark_jobs.parse.batch import build_batch
from spark_jobs.read.incremental_read import SnapshotRange
from spark_jobs.read.quarantined import count_where_they_landed, read_quarantined, replayed_versions
from spark_jobs.read.snapshots import current_ancestry, table_exists
from spark_jobs.report.run_report import RawRead, ReplayCounts, StageResults
from spark_jobs.run.context import CachedFrames, RunContext, Timings
from spark_jobs.run.outcome import LayerResult
from spark_jobs.semantic.layer import write_semantic
from spark_jobs.tables import TopicTables

log = logging.getLogger(__name__)


def replay_quarantine(
    spark: SparkSession, args: JobArgs, config: TopicConfig, stages: StageResults, timings: Timings
) -> None:
    """Replay the quarantine; its outcome and counts go to ``stages`` (``stages.replay``)."""
    tables = TopicTables(args.topic)
    if config.contract is None or config.suite is None:
        raise ContractError(
            args.contract_uri, f"cannot replay the quarantine without a usable schema: {config.problem}"
        )
    ids = [s.snapshot_id for s in current_ancestry(spark, tables.raw)]
    stages.checkpoints = read_checkpoints(spark, tables, ids)
    stages.layers = [LayerResult("curated", "skipped")]
    stages.replay = ReplayCounts()
    stages.raw = RawRead(None, ids[0] if ids else None)
    if not ids or not table_exists(spark, tables.errors):
        stages.ended = ("NO_NEW_DATA", f"nothing quarantined: {tables.errors} does not exist yet")
        return
    ctx = RunContext(
        spark=spark,
        args=replace(args, layers="semantic", no_checkpoint=True),
        tables=tables,
        config=config,
        mode=config.mode(args),
        snapshot_range=SnapshotRange(None, ids[0]),
        timings=timings,
    )
    with CachedFrames() as cache:
        try:
            with timings.timed("read"):
                quarantine = read_quarantined(spark, tables.raw, ids[0], pin(spark, tables.errors))
                raw = cache.persist(quarantine.raw)
                versions = cache.persist(replayed_versions(raw))
                replayed = versions.count()
                stages.raw = replace(stages.raw, rows_read=raw.count())
            counts = ReplayCounts(
                quarantined=quarantine.quarantined,
                not_replayable=quarantine.quarantined - quarantine.replayable,
                replayed=replayed,
                not_in_raw=quarantine.replayable - replayed,
            )
            stages.replay = counts
            if replayed == 0:
                stages.ended = ("NO_NEW_DATA", "no quarantined version to replay (see replay counts)")
                return
            batch = build_batch(ctx, raw, None, cache)
            stages.dedup = batch.counts
            with timings.timed("semantic"):
                result = write_semantic(ctx, batch, cache)
        except Exception as exc:  # as a layer failure: an outcome, not a crash
            error = (
                exc
                if isinstance(exc, UnifiedJobError)
                else LayerWriteError(args.topic, "semantic", tables.semantic, exc)
            )
            result = LayerResult("semantic", "failed", error=error)
        stages.layers.append(result)
        if result.failed:
            stages.ended = ("SEMANTIC_FAILED", f"quarantine replay: {result.error}")
            log.error("topic %s: quarantine replay failed: %s", args.topic, result.error)
            return
        counts = replace(counts, valid_now=result.details.get("rows_valid", 0))
        if not args.dry_run:
            healed, still_failing = count_where_they_landed(spark, versions, tables.semantic, tables.errors)
            counts = replace(counts, healed=healed, still_failing=still_failing)
        stages.replay = counts
        stages.ended = ("FULL_SUCCESS", None)
        log.info("topic %s: quarantine replay %s", args.topic, counts)
