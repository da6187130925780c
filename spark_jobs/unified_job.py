"""The unified job: read raw once -> dedup once -> drift once -> curated + semantic.

``main`` parses the arguments, builds the session, writes the report and sets the exit
code; ``run`` is the run, stage by stage:

    plan -> read -> dedup + parse -> drift -> each layer in mode order (write + checkpoint) -> report

Each stage lives in its own package (read/, dedup/, parse/, drift/, curated/,
semantic/, commit/); a layer's writer gets the run's context and batch and returns a
typed result (``run/outcome.py``), from which the outcome is decided. Then the table
maintenance (maintenance/after_run.py).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from spark_jobs.commit.checkpoints import output_snapshots, read_checkpoints
from spark_jobs.config.contract import TopicContract
from spark_jobs.config.job_args import JobArgs, parse_args
from spark_jobs.config.storage import write_text
from spark_jobs.config.topic_config import TopicConfig, load_topic_config
from spark_jobs.curated.layer import write_curated
from spark_jobs.drift.detect import DriftReport, detect_drift
from spark_jobs.exceptions import LayerWriteError, RawTableError, StageError, UnifiedJobError, first_line
from spark_jobs.faults import maybe_fail, maybe_stop_context
from spark_jobs.forget.forgotten_keys import FORGOTTEN, active_tokens, drop_forgotten
from spark_jobs.history.record import append_run_history, record_stages
from spark_jobs.interface import FAILED_OUTCOMES, Checkpoints, Layer
from spark_jobs.maintenance.after_run import maintain_tables
from spark_jobs.parse.batch import build_batch
from spark_jobs.read.incremental_read import (
    SnapshotRange,
    backlog_rows,
    cap_rows,
    consumed_message_ids,
    plan_range,
    read_increment,
)
from spark_jobs.read.snapshots import SnapshotInfo, current_ancestry, table_exists
from spark_jobs.report.run_report import MaintenanceStep, RawRead, RunReport, StageResults
from spark_jobs.run.context import Batch, CachedFrames, RunContext, Timings
from spark_jobs.run.isolate_poison import PoisonEvents, context_alive, explained, isolate_poison
from spark_jobs.run.outcome import LayerResult, layer_order
from spark_jobs.semantic.layer import write_semantic
from spark_jobs.semantic.pii import hash_key_from_env
from spark_jobs.semantic.replay import replay_quarantine
from spark_jobs.session import build_session
from spark_jobs.tables import TopicTables

log = logging.getLogger("unified_job")

Writer = Callable[[RunContext, Batch, CachedFrames], LayerResult]
WRITERS: dict[Layer, Writer] = {"curated": write_curated, "semantic": write_semantic}


def run(spark: SparkSession, args: JobArgs) -> RunReport:
    """Process the topic's new raw snapshots. A layer failure is an outcome; a failure
    before any write is ``FAILED_BEFORE_WRITE`` with its reason; neither raises, nor
    does anything else: a dead SparkContext, a lost JVM or a bug still end in a report
    that names the real exception (the clean-up after it never masks it)."""
    timings = Timings()
    started_at = datetime.now()
    stages = StageResults()
    config = TopicConfig(None, None, "not loaded")
    try:
        config = load_topic_config(spark, args)
        with timings.timed("total"):
            _run(spark, args, config, stages, timings)
            outcome, _, _ = stages.verdict()
            if args.maintains_tables and outcome not in FAILED_OUTCOMES:
                with timings.timed("maintenance"):
                    stages.maintenance = maintain_tables(spark, args)
    except UnifiedJobError as exc:  # the run stopped before writing (nothing is half done)
        stages.failure = exc
        log.error("topic %s: %s", args.topic, exc)
    except Exception as exc:  # anything else, where no stage caught it: reported
        log.exception("topic %s: the run failed", args.topic)
        cause = explained(spark, exc)
        if stages.layers:  # the layers ran: their outcome (and checkpoints) stand
            stages.after_layers = f"{type(cause).__name__}: {first_line(cause)}"
        else:
            stages.failure = StageError(args.topic, "run", cause)
    if context_alive(spark):
        with timings.timed("tables"):  # its cost per run, in every report
            _read_table_snapshots(spark, args, stages)
        record_stages(spark, args, stages, timings)
    report = RunReport.build(args, config.mode(args), stages, timings.seconds, started_at, datetime.now())
    if not context_alive(spark):
        stopped = MaintenanceStep(0.0, error="not written: the SparkContext stopped")
        return replace(report, maintenance={**report.maintenance, "run_history": stopped})
    return append_run_history(spark, args, report)


def _read_table_snapshots(spark: SparkSession, args: JobArgs, stages: StageResults) -> None:
    """The output tables' snapshots once a layer was written (what Airflow announces to
    consumers). Metadata only; a failure to read them is logged, never the run's outcome."""
    if not any(layer.status == "written" for layer in stages.layers):
        return
    try:
        stages.table_snapshots = output_snapshots(spark, TopicTables(args.topic))
    except Exception:
        log.exception("topic %s: cannot read the output tables' snapshots (nothing announced)", args.topic)


def _run(spark: SparkSession, args: JobArgs, config: TopicConfig, stages: StageResults, timings: Timings) -> None:
    tables = TopicTables(args.topic)
    if not table_exists(spark, tables.raw):
        raise RawTableError(f"topic {args.topic!r}: raw table {tables.raw} does not exist in the catalog")
    if args.replay_quarantine:
        replay_quarantine(spark, args, config, stages, timings)
        return
    with timings.timed("plan"):
        ancestry = current_ancestry(spark, tables.raw)
        stages.checkpoints, start, snapshot_range = _plan(spark, args, tables, ancestry)
    if snapshot_range is None:
        stages.raw = RawRead(start, start)
        stages.ended = ("NO_NEW_DATA", None)
        return
    stages.raw = RawRead(
        start, snapshot_range.to_inclusive, backlog_rows=backlog_rows(ancestry, snapshot_range.to_inclusive)
    )
    ctx = RunContext(spark, args, tables, config, config.mode(args), snapshot_range, timings)
    with CachedFrames() as cache:
        batch = _shared_stages(ctx, stages, cache)
        stages.layer_order = layer_order(ctx.unified)
        stages.layers = _write_layers(ctx, batch, stages.checkpoints, cache)
    # The report states the checkpoints the tables actually hold, whatever happened.
    stages.checkpoints_after = read_checkpoints(spark, tables, [s.snapshot_id for s in ancestry])
    maybe_fail("after_commits_before_report")


def _plan(
    spark: SparkSession, args: JobArgs, tables: TopicTables, ancestry: list[SnapshotInfo]
) -> tuple[Checkpoints, int | None, SnapshotRange | None]:
    """The checkpoints, where the read starts, and the raw range to read (None: nothing new)."""
    maybe_fail("planning")
    ids = [s.snapshot_id for s in ancestry]
    checkpoints = read_checkpoints(spark, tables, ids)
    explicit = args.explicit_range
    start = args.from_snapshot_exclusive if explicit else checkpoints.read_from(ids, args.layers)
    snapshot_range = plan_range(args.topic, ancestry, start, args.to_snapshot_inclusive)
    if snapshot_range is not None and not explicit:
        # An incremental run is capped even when its end is pinned (Airflow pins it to
        # the raw snapshot its sensor saw): a retry then re-plans the same slice.
        snapshot_range = cap_rows(ancestry, snapshot_range, args.max_rows_per_run)
    return checkpoints, start, snapshot_range


def _shared_stages(ctx: RunContext, stages: StageResults, cache: CachedFrames) -> Batch:
    """Read, dedup + parse, drift: once for both layers. If they fail on the data, the
    poison events are found, quarantined and the rest goes on (``run/isolate_poison.py``)."""
    stage = ["read"]
    try:
        raw, consumed = _read(ctx, stages)
        stage[0] = "parse"
        return _dedup_parse_drift(ctx, stages, cache, raw, consumed, stage)
    except UnifiedJobError:
        raise
    except Exception as exc:  # Spark failed before any write
        if stage[0] == "read" or not context_alive(ctx.spark):  # not the data's doing: a retry may succeed
            raise StageError(ctx.topic, stage[0], explained(ctx.spark, exc)) from exc
        failure = exc
    cache.release()  # what the failed attempt persisted

    def probe(subset: DataFrame) -> None:
        with CachedFrames() as scratch:  # its own timings: the run's steps are the run's
            _dedup_parse_drift(replace(ctx, timings=Timings()), StageResults(), scratch, subset, consumed, ["probe"])

    with ctx.timings.timed("poison_search"):
        poison = isolate_poison(ctx.spark, raw, probe, failure)
    if poison is None:
        raise StageError(ctx.topic, stage[0], explained(ctx.spark, failure)) from failure
    stages.poison = poison
    stage[0] = "parse"
    try:
        return _dedup_parse_drift(ctx, stages, cache, raw, consumed, stage, poison)
    except UnifiedJobError:
        raise
    except Exception as exc:  # failed again without the poison events: not (only) the data
        raise StageError(ctx.topic, stage[0], explained(ctx.spark, exc)) from exc


def _read(ctx: RunContext, stages: StageResults) -> tuple[DataFrame, DataFrame | None]:
    """The increment (not persisted) and the message ids earlier runs consumed."""
    with ctx.timings.timed("read"):
        # Not persisted: the stats read one column, the structure and the labels read
        # raw once each (and its ids once more for the look-back semi join). Caching raw
        # as well would hold the increment twice in the heap: 5M rows failed in a 4g driver.
        raw = read_increment(ctx.spark, ctx.tables.raw, ctx.snapshot_range)
        # Late copies of forgotten keys go before anything reads them (none: a metadata check).
        tokens = active_tokens(ctx.spark, ctx.topic)
        raw = drop_forgotten(raw, tokens, _hash_key(ctx) if tokens else None, ctx.topic)
        stats = raw.agg(
            F.count(F.lit(1)).alias("rows"),
            F.min("ingest_ts").alias("earliest"),
            F.count_if(F.col(FORGOTTEN)).alias("forgotten"),
        ).collect()[0]
        raw = raw.where(~F.col(FORGOTTEN)).drop(FORGOTTEN)
        if stages.raw is not None:
            stages.raw = replace(stages.raw, rows_read=int(stats["rows"]), forgotten_rows=int(stats["forgotten"]))
    lookback = ctx.config.message_id_lookback_days
    consumed = consumed_message_ids(ctx.spark, ctx.tables.raw, ctx.snapshot_range, stats["earliest"], lookback, raw)
    return raw, consumed


def _hash_key(ctx: RunContext) -> bytes | None:
    """The topic's PII key, if set (a topic without a contract has no field to hash)."""
    return hash_key_from_env(ctx.config.contract or TopicContract(ctx.topic, (), "(no contract)"))


def _dedup_parse_drift(
    ctx: RunContext,
    stages: StageResults,
    cache: CachedFrames,
    raw: DataFrame,
    consumed: DataFrame | None,
    stage: list[str],
    poison: PoisonEvents | None = None,
) -> Batch:
    stage[0] = "parse"
    batch = build_batch(ctx, raw, consumed, cache, poison, rows=stages.raw.rows_read if stages.raw else None)
    stages.dedup = batch.counts
    maybe_stop_context(ctx.spark, "after_parse")
    stage[0] = "drift"
    stages.drift = _detect_drift(ctx, batch)
    return batch


def _detect_drift(ctx: RunContext, batch: Batch) -> DriftReport:
    with ctx.timings.timed("drift"):
        contract = ctx.config.contract or TopicContract(ctx.topic, (), "(no contract)")
        # Logged with what changed against the drift history (history/record.py).
        return detect_drift(batch.parsed, batch.bounded.structure, contract, batch.bounded)


def _write_layers(ctx: RunContext, batch: Batch, checkpoints: Checkpoints, cache: CachedFrames) -> list[LayerResult]:
    """Each layer in mode order; the first layer's failure stops the run (``decide_outcome``)."""
    order = layer_order(ctx.unified)
    results: list[LayerResult] = []
    for layer in order:
        result = _write_layer(ctx, batch, cache, layer, getattr(checkpoints, layer))
        results.append(result)
        if result.failed:
            log.error("topic %s: %s layer failed: %s", ctx.topic, layer, result.error)
            if layer == order[0]:
                break
    return results


def _write_layer(
    ctx: RunContext, batch: Batch, cache: CachedFrames, layer: Layer, checkpoint: int | None
) -> LayerResult:
    if not ctx.args.writes(layer):
        return LayerResult(layer, "skipped")
    explicit = ctx.args.explicit_range
    # Unified mode never skips a layer: both redo the increment under the one checkpoint.
    if checkpoint == ctx.raw_snapshot_id and not explicit and not ctx.unified:
        return LayerResult(layer, "up_to_date")
    table = ctx.tables.curated if layer == "curated" else ctx.tables.semantic
    try:
        with ctx.timings.timed(layer):
            return WRITERS[layer](ctx, batch, cache)
    except UnifiedJobError as exc:
        return LayerResult(layer, "failed", error=exc)
    except Exception as exc:  # a layer failure is an outcome, not a crash
        log.exception("topic %s: %s layer", ctx.topic, layer)
        return LayerResult(layer, "failed", error=LayerWriteError(ctx.topic, layer, table, exc))


def configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("py4j", "great_expectations"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    os.environ.setdefault("TQDM_DISABLE", "1")  # GX's metric progress bars


def main(argv: Sequence[str] | None = None) -> int:
    configure_logging()
    try:
        args = parse_args(argv)
        TopicTables(args.topic)
    except UnifiedJobError as exc:
        log.error("%s", exc)
        return 2
    spark = build_session(args.catalog_type, args.warehouse, app_name=f"unified-job-{args.topic}")
    report = run(spark, args)
    for line in report.summary_lines():
        print(line, flush=True)
    if args.run_report:
        write_text(args.run_report, report.to_json())
    return exit_code(report)


def exit_code(report: RunReport) -> int:
    """0: the run's outcome stands; 1: failed, a retry may succeed; 2: usage/configuration error."""
    if not report.failed:
        return 0
    return 1 if report.retryable else 2


if __name__ == "__main__":
    sys.exit(main())
