"""Benchmark 3: cost of one increment against the size of the history already processed.

    python -m bench.increment_vs_history --sizes small|full [--small-history N --large-history N --increment N]

Two topics get a history of H_small and H_large raw rows (generated in batches, then
processed by one untimed job run, so raw, curated, semantic and errors all hold the
history). Then each topic gets its next increment of the same size from the same
generator: network retries and corrections in it refer to rows of its own history,
as they would in production. Only that run is timed. After it, raw and the three
output tables are rolled back to their pre-increment snapshots
(``CALL <catalog>.system.rollback_to_snapshot``) and the identical increment is
appended and timed again; the two topics alternate which goes first.
Target: increment time at H_large <= 1.3 x at H_small.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bench.common import (
    BenchContext,
    BenchmarkError,
    BenchResult,
    BenchTopic,
    Check,
    JobRun,
    RawWriter,
    Sizes,
    Stats,
    Table,
    Target,
    current_snapshot_id,
    fmt,
    median_durations,
    output_counts,
    paired_ratios,
    params_with_overrides,
    prepare_topic,
    run_job,
    run_spark_cli,
    warm_up,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from demo.raw_events import RawEvent

NAME = "increment_vs_history"
PREFIX = "ivh"
TARGET = Target("increment wall at H_large <= 1.3 x at H_small", (Check("ratio", "<=", 1.3),))


@dataclass(frozen=True)
class Params:
    small_history: int
    large_history: int
    increment: int
    history_batch_rows: int


PARAMS: dict[Sizes, Params] = {
    "small": Params(small_history=2_000, large_history=20_000, increment=1_000, history_batch_rows=5_000),
    "full": Params(small_history=50_000, large_history=5_000_000, increment=20_000, history_batch_rows=100_000),
}


@dataclass
class History:
    """A topic whose tables hold a processed history, and the increment to time on top of it."""

    label: str
    history_rows: int
    topic: BenchTopic
    writer: RawWriter
    increment: list[RawEvent]
    marks: dict[str, int]
    """Snapshot id of each table (raw and outputs) before the increment: what to roll back to."""
    fill_s: float
    output_rows: dict[str, int]


def build_history(spark: SparkSession, ctx: BenchContext, label: str, rows: int, params: Params) -> History:
    topic = prepare_topic(spark, ctx, f"h_{label}")
    writer = RawWriter(spark, topic.tables.raw)
    writer.write(rows, params.history_batch_rows)
    fill = run_job(spark, topic, f"{NAME}-{label}-history")
    marks: dict[str, int] = {}
    for table in (topic.tables.raw, *topic.output_tables):
        snapshot_id = current_snapshot_id(spark, table)
        if snapshot_id is None:
            raise BenchmarkError(f"{table} has no snapshot after the history run: nothing to roll back to")
        marks[table] = snapshot_id
    increment = writer.generate(params.increment)
    return History(label, rows, topic, writer, increment, marks, fill.wall_s, output_counts(spark, topic))


def time_increment(spark: SparkSession, history: History, run_id: str) -> JobRun:
    """Append the increment, time the job on it, roll every table back."""
    history.writer.append(history.increment)
    try:
        run = run_job(spark, history.topic, run_id)
    finally:
        rollback(spark, history.marks)
    if run.report.raw.rows_read != len(history.increment):
        raise BenchmarkError(
            f"topic {history.topic.topic}: the increment run read {run.report.raw.rows_read} rows, "
            f"expected {len(history.increment)}"
        )
    return run


def rollback(spark: SparkSession, marks: dict[str, int]) -> None:
    from spark_jobs.session import CATALOG

    for table, snapshot_id in marks.items():
        if current_snapshot_id(spark, table) != snapshot_id:
            name = table.replace("`", "")
            spark.sql(f"CALL {CATALOG}.system.rollback_to_snapshot('{name}', {snapshot_id})")


def run_increment_vs_history(spark: SparkSession, ctx: BenchContext, params: Params) -> BenchResult:
    if params.small_history >= params.large_history:
        raise ValueError(f"small history {params.small_history} must be below large {params.large_history}")
    warm_up(spark, ctx)
    histories = [
        build_history(spark, ctx, "small", params.small_history, params),
        build_history(spark, ctx, "large", params.large_history, params),
    ]
    runs: dict[str, list[JobRun]] = {"small": [], "large": []}
    for repeat in range(ctx.repeat):
        for history in histories if repeat % 2 == 0 else histories[::-1]:
            runs[history.label].append(time_increment(spark, history, f"{NAME}-{history.label}-{repeat}"))

    small_s = [r.wall_s for r in runs["small"]]
    large_s = [r.wall_s for r in runs["large"]]
    profiles = {label: median_durations([r.report for r in label_runs]) for label, label_runs in runs.items()}
    details: dict[str, Any] = {
        "params": vars(params),
        "histories": {
            h.label: {"raw_rows": h.history_rows, "output_rows": h.output_rows, "history_run_s": round(h.fill_s, 3)}
            for h in histories
        },
        "durations_s_median": profiles,
        "dedup": {label: label_runs[-1].report.to_dict()["dedup"] for label, label_runs in runs.items()},
    }
    return BenchResult(
        name=NAME,
        title="one increment on a large history vs on a small one",
        figure=Stats.of(large_s),
        figure_label=f"increment wall, history {params.large_history:,}",
        unit="s",
        baseline=Stats.of(small_s),
        baseline_label=f"increment wall, history {params.small_history:,}",
        ratio=paired_ratios(large_s, small_s),
        ratio_label="large history / small history",
        target=TARGET,
        rows=params.increment,
        rows_label="raw rows in the increment",
        sizes=ctx.sizes,
        repeat=ctx.repeat,
        details=details,
        tables=[_profile_table(profiles)],
    )


def _profile_table(profiles: dict[str, dict[str, float]]) -> Table:
    small, large = profiles["small"], profiles["large"]
    steps = list(dict.fromkeys([*small, *large]))
    rows = []
    for step in steps:
        s, large_value = small.get(step), large.get(step)
        ratio = fmt(large_value / s) if s and large_value is not None else "-"
        rows.append((step, fmt(s), fmt(large_value), ratio))
    return Table(
        "median seconds per job step of the increment run (durations_s)",
        ("step", "small history", "large history", "ratio"),
        tuple(rows),
    )


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--small-history", type=int, help="H_small raw rows (default 2,000 small / 50,000 full)")
    parser.add_argument("--large-history", type=int, help="H_large raw rows (default 20,000 small / 5,000,000 full)")
    parser.add_argument("--increment", type=int, help="rows in the timed increment (default 1,000 / 20,000)")
    parser.add_argument("--history-batch-rows", type=int, help="rows per raw snapshot of the history")


def _body(spark: SparkSession, ctx: BenchContext, args: argparse.Namespace) -> BenchResult:
    return run_increment_vs_history(spark, ctx, params_with_overrides(PARAMS[ctx.sizes], args))


def main(argv: Sequence[str] | None = None) -> int:
    return run_spark_cli(NAME, PREFIX, (__doc__ or NAME).splitlines()[0], _body, argv, _add_arguments)


if __name__ == "__main__":
    sys.exit(main())
