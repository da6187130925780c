"""The curated layer of one run: evolve the table's columns, then upsert the batch's kept rows."""

from __future__ import annotations

from pyspark.sql import functions as F

from spark_jobs.commit.upsert import pin
from spark_jobs.curated import write as curated_write
from spark_jobs.dedup.deduplicate import DEDUP_STATUS, KEPT
from spark_jobs.faults import maybe_fail
from spark_jobs.parse.payload import leaf_paths
from spark_jobs.run.context import Batch, CachedFrames, RunContext
from spark_jobs.run.outcome import LayerResult


def write_curated(ctx: RunContext, batch: Batch, cache: CachedFrames) -> LayerResult:
    """Every kept row, every field flattened to STRING; new payload paths become columns."""
    spark, table = ctx.spark, ctx.tables.curated
    rows_out = batch.counts.rows_out
    if ctx.args.dry_run:
        return LayerResult("curated", "dry_run", rows=rows_out)
    kept = batch.parsed.where(F.col(DEDUP_STATUS) == KEPT)
    curated_write.ensure_table(spark, table)
    plan = curated_write.evolve_columns(spark, table, leaf_paths(batch.bounded.structure), bool(batch.bounded.overflow))
    rows = curated_write.build_curated_rows(kept, plan, ctx.raw_snapshot_id, ctx.args.run_id)
    with ctx.timings.timed("curated.lookup"):
        pinned = pin(spark, table)
        stored = cache.persist(curated_write.stored_keys(spark, pinned, rows, rows_out), rows=rows_out)
        stored_count = stored.count()
    maybe_fail("before_curated_commit")
    with ctx.timings.timed("curated.merge"):
        curated_write.upsert_curated(
            spark,
            pinned,
            rows,
            stored,
            stored_count,
            plan.table_columns,
            ctx.commit_properties("curated"),
            ctx.config.max_event_ts_ahead_minutes,
        )
    maybe_fail("after_curated_commit")
    return LayerResult("curated", "written", rows=rows_out, details={"new_columns": plan.new_columns})
