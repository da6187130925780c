"""Table maintenance at the end of a run: compaction, then snapshot expiry.

It runs inside the job, after both layers committed, for three reasons: it is never
concurrent with a write of the same topic (one job per topic at a time: the DAG's
``max_active_runs=1`` and the EMR operator's re-attach), it costs no second Spark
application, and a topic that runs is a topic that gets maintained. A maintenance
failure never changes the run's outcome (data and checkpoints are committed by then):
it is reported under ``maintenance`` in the run report, logged as a warning, and the
next run tries again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from pyspark.sql import SparkSession

from spark_jobs.config.job_args import JobArgs
from spark_jobs.faults import maybe_fail
from spark_jobs.maintenance.compact_outputs import compact_outputs
from spark_jobs.maintenance.expire_outputs import expire_outputs
from spark_jobs.maintenance.expire_raw import expire_raw
from spark_jobs.report.run_report import MaintenanceStep

log = logging.getLogger(__name__)


def maintain_tables(spark: SparkSession, args: JobArgs, now: datetime | None = None) -> dict[str, MaintenanceStep]:
    """Run the maintenance steps ``args`` ask for; per step: Iceberg's counts and seconds, or the error."""
    now = now or datetime.now(UTC)
    steps: list[tuple[str, Callable[[], Any]]] = []
    threshold = args.compact_delete_file_threshold
    if threshold is not None:
        steps.append(("compaction", lambda: compact_outputs(spark, args.topic, threshold)))
    outputs_hours = args.expire_outputs_after_hours
    if outputs_hours is not None:
        steps.append(("output_expiry", lambda: expire_outputs(spark, args.topic, now - timedelta(hours=outputs_hours))))
    raw_hours = args.expire_raw_after_hours
    if raw_hours is not None:
        steps.append(
            ("raw_expiry", lambda: _per_table(expire_raw(spark, args.topic, now - timedelta(hours=raw_hours))))
        )
    results: dict[str, MaintenanceStep] = {}
    for name, step in steps:
        started = time.perf_counter()
        try:
            maybe_fail(f"during_{name}")
            result = step()
            results[name] = MaintenanceStep(round(time.perf_counter() - started, 3), result=result)
        except Exception as exc:  # reported, never raised: the run's data is committed
            log.warning("topic %s: table maintenance step %s failed: %s", args.topic, name, exc, exc_info=True)
            error = f"{type(exc).__name__}: {exc}"
            results[name] = MaintenanceStep(round(time.perf_counter() - started, 3), error=error)
    return results


def _per_table(result: dict[str, Any]) -> dict[str, Any]:
    """The raw expiry's result keyed by its table, like the output steps' results."""
    return {str(result["table"]).replace("`", ""): result}
