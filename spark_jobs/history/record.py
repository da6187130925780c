"""After a run: what it changed in the topic's drift, semantic's lag, its validation page, its row.

Nothing here changes the run's outcome: each step's failure is logged and reported under
``maintenance`` in the run report (as ``drift_history``, ``semantic_lag``, ``data_docs``,
``run_history``), like a table maintenance step's, and the next run tries again. A
drift history that was not written makes the next run report the same changes again
(at least once, never lost).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from pyspark.sql import SparkSession

from spark_jobs.config.job_args import JobArgs
from spark_jobs.drift.changes import FieldDrift, evolve
from spark_jobs.faults import maybe_fail
from spark_jobs.history.drift_table import read_drift_history, write_drift_history
from spark_jobs.history.runs_table import append_run
from spark_jobs.read.snapshots import current_ancestry, table_exists
from spark_jobs.report.data_docs import publish_data_docs
from spark_jobs.report.run_report import MaintenanceStep, RunReport, StageResults, drift_totals
from spark_jobs.run.context import Timings
from spark_jobs.run.lag import last_advanced_at, semantic_lag
from spark_jobs.tables import TopicTables

log = logging.getLogger(__name__)


def record_stages(spark: SparkSession, args: JobArgs, stages: StageResults, timings: Timings) -> None:
    """Drift changes, semantic lag and the validation page, into ``stages`` (before the report is built)."""
    now = datetime.now()  # naive local time, like the snapshot times Spark returns
    _step(stages, timings, "drift_history", lambda: _drift(spark, args, stages, now), args.topic)
    _step(stages, timings, "semantic_lag", lambda: _lag(spark, args, stages, now), args.topic)
    semantic = next((r for r in stages.layers if r.layer == "semantic"), None)
    if args.data_docs_site and not args.dry_run and semantic is not None and semantic.validation_result is not None:
        site, result = args.data_docs_site, semantic.validation_result

        def publish() -> None:
            stages.data_docs_url = publish_data_docs(result, site, args.topic, args.run_id)

        _step(stages, timings, "data_docs", publish, args.topic)


def append_run_history(spark: SparkSession, args: JobArgs, report: RunReport) -> RunReport:
    """Append the run's row; the report, with the failure under ``maintenance`` if it failed."""

    def append() -> None:
        maybe_fail("during_run_history")
        append_run(spark, report, dry_run=args.dry_run)

    failure = _attempt(args.topic, "run_history", append)
    return report if failure is None else replace(report, maintenance={**report.maintenance, "run_history": failure})


def _drift(spark: SparkSession, args: JobArgs, stages: StageResults, now: datetime) -> None:
    snapshot = stages.raw.to_snapshot_inclusive if stages.raw else None
    if stages.drift is None or snapshot is None:
        return
    maybe_fail("during_drift_history")
    previous = read_drift_history(spark, args.topic)
    rows, changes = evolve(
        previous,
        stages.drift,
        topic=args.topic,
        snapshot=snapshot,
        at=now,
        run_id=args.run_id,
        backfill=args.explicit_range,
    )
    stages.drift_changes = changes
    log.info("topic %s: drift: %s; %d changes this run", args.topic, drift_totals(stages.drift), len(changes))
    for change in changes:
        log.warning("topic %s: drift %s: %s", args.topic, change.change, change.describe())
    if not args.dry_run and sorted(rows, key=_path) != sorted(previous, key=_path):
        write_drift_history(spark, args.topic, rows)


def _path(row: FieldDrift) -> str:
    return row.path


def _lag(spark: SparkSession, args: JobArgs, stages: StageResults, now: datetime) -> None:
    checkpoints = stages.checkpoints_after or stages.checkpoints
    tables = TopicTables(args.topic)
    if checkpoints is None or not table_exists(spark, tables.raw):
        return
    semantic = current_ancestry(spark, tables.semantic) if table_exists(spark, tables.semantic) else []
    curated = current_ancestry(spark, tables.curated) if table_exists(spark, tables.curated) else []
    advanced = last_advanced_at(semantic, curated)
    stages.lag = semantic_lag(current_ancestry(spark, tables.raw), checkpoints, advanced, now)


def _step(stages: StageResults, timings: Timings, name: str, step: Callable[[], None], topic: str) -> None:
    with timings.timed(f"history.{name}"):
        failure = _attempt(topic, name, step)
    if failure is not None:
        stages.maintenance[name] = failure


def _attempt(topic: str, name: str, step: Callable[[], None]) -> MaintenanceStep | None:
    """Run ``step``; its failure, logged and timed, instead of raising (never an outcome)."""
    started = time.perf_counter()
    try:
        step()
        return None
    except Exception as exc:  # reported, never raised: the run's data is committed
        log.warning("topic %s: %s failed: %s", topic, name, exc, exc_info=True)
        return MaintenanceStep(round(time.perf_counter() - started, 3), error=f"{type(exc).__name__}: {exc}")
