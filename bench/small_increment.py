"""Benchmark 11: a small increment on a topic with a long history, the common case on a short schedule.

    python -m bench.small_increment --sizes small|full [--history N --history-runs N --increment N]

The ``deep`` topic gets a history of generated ``orders`` events (1M rows at full size)
in 20 snapshots, one job run after each, as a topic that has been running for a while;
the ``shallow`` topic gets 1,000 rows and one run. Then, per repeat, the same increment
of 100 new events (one snapshot) is appended to both and each runs once, alternating
which goes first. Every run is in process: the Spark session's start is not charged.
Every run, history included, does the table maintenance a topic gets by default
(``lakehouse_unified.config.MaintenanceConfig``: compaction, output snapshot expiry),
so the deep topic's tables look like those of a topic that has run for a while, and
the measured runs pay that maintenance (``maintenance`` in the profile).

Figure: the deep topic's job time for the increment (median). Target: <= 10 s (issue
27). Baseline: the shallow topic's for the same rows, so the ratio shows what a long
history adds to a run's fixed cost; the per-step profile (``durations_s``) shows where
the seconds go.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bench.common import (
    BenchContext,
    BenchmarkError,
    BenchResult,
    Check,
    JobRun,
    RawWriter,
    Sizes,
    Stats,
    Table,
    Target,
    fmt,
    median_durations,
    paired_ratios,
    params_with_overrides,
    prepare_topic,
    run_job,
    run_spark_cli,
    warm_up,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

NAME = "small_increment"
PREFIX = "sinc"
TARGET = Target("job time for 100 new rows on 1M rows of history <= 10 s", (Check("figure", "<=", 10.0),))
DEEP, SHALLOW = "deep", "shallow"


@dataclass(frozen=True)
class Params:
    history: int
    history_runs: int
    shallow_history: int
    increment: int


PARAMS: dict[Sizes, Params] = {
    "small": Params(history=2_000, history_runs=4, shallow_history=200, increment=20),
    "full": Params(history=1_000_000, history_runs=20, shallow_history=1_000, increment=100),
}


def default_maintenance() -> dict[str, int | None]:
    """The job arguments of a topic's default table maintenance (what a DAG passes)."""
    from lakehouse_unified.config import MaintenanceConfig

    defaults = MaintenanceConfig()
    return {
        "compact_delete_file_threshold": defaults.delete_file_threshold,
        "expire_outputs_after_hours": defaults.expire_output_snapshots_after_hours,
        "expire_raw_after_hours": defaults.expire_raw_snapshots_after_hours,
    }


def run_small_increment(spark: SparkSession, ctx: BenchContext, params: Params) -> BenchResult:
    warm_up(spark, ctx)
    maintenance = default_maintenance()
    topics = {label: prepare_topic(spark, ctx, label) for label in (DEEP, SHALLOW)}
    writers = {label: RawWriter(spark, topic.tables.raw) for label, topic in topics.items()}
    batch = -(-params.history // params.history_runs)
    for index in range(params.history_runs):
        writers[DEEP].append(writers[DEEP].generate(min(batch, params.history - writers[DEEP].rows_written)))
        run_job(spark, topics[DEEP], f"{NAME}-{DEEP}-history-{index}", **maintenance)
    writers[SHALLOW].write(params.shallow_history, params.shallow_history)
    run_job(spark, topics[SHALLOW], f"{NAME}-{SHALLOW}-history", **maintenance)

    runs: dict[str, list[JobRun]] = {DEEP: [], SHALLOW: []}
    for repeat in range(ctx.repeat):
        increment = writers[DEEP].generate(params.increment)  # the same new rows for both topics
        for label in (DEEP, SHALLOW) if repeat % 2 == 0 else (SHALLOW, DEEP):
            writers[label].append(increment)
            run = run_job(spark, topics[label], f"{NAME}-{label}-{repeat}", **maintenance)
            if run.report.raw.rows_read != len(increment):
                raise BenchmarkError(f"{topics[label].topic}: run {repeat} read {run.report.raw.rows_read} rows")
            runs[label].append(run)

    walls = {label: [r.wall_s for r in label_runs] for label, label_runs in runs.items()}
    profiles = {label: median_durations([r.report for r in label_runs]) for label, label_runs in runs.items()}
    return BenchResult(
        name=NAME,
        title=f"{params.increment} new rows on {params.history:,} rows of history after {params.history_runs} runs",
        figure=Stats.of(walls[DEEP]),
        figure_label=f"job time, {params.history:,} rows of history",
        unit="s",
        baseline=Stats.of(walls[SHALLOW]),
        baseline_label=f"job time, {params.shallow_history:,} rows of history",
        ratio=paired_ratios(walls[DEEP], walls[SHALLOW]),
        ratio_label="deep / shallow",
        target=TARGET,
        rows=params.increment,
        rows_label="new raw rows per run",
        sizes=ctx.sizes,
        repeat=ctx.repeat,
        details={
            "params": vars(params),
            "maintenance": maintenance,
            "walls_s": {label: [round(w, 3) for w in values] for label, values in walls.items()},
            "durations_s_median": profiles,
        },
        tables=[_profile_table(profiles)],
    )


def _profile_table(profiles: dict[str, dict[str, float]]) -> Table:
    steps = list(dict.fromkeys([*profiles[DEEP], *profiles[SHALLOW]]))
    return Table(
        "where a small increment's time goes: median seconds per step (durations_s)",
        ("step", DEEP, SHALLOW),
        tuple((step, fmt(profiles[DEEP].get(step)), fmt(profiles[SHALLOW].get(step))) for step in steps),
    )


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--history", type=int, help="raw rows of the deep topic's history")
    parser.add_argument("--history-runs", type=int, help="job runs (and snapshots) the history arrives in")
    parser.add_argument("--increment", type=int, help="new raw rows per measured run")


def _body(spark: SparkSession, ctx: BenchContext, args: argparse.Namespace) -> BenchResult:
    return run_small_increment(spark, ctx, params_with_overrides(PARAMS[ctx.sizes], args))


def main(argv: Sequence[str] | None = None) -> int:
    return run_spark_cli(NAME, PREFIX, (__doc__ or NAME).splitlines()[0], _body, argv, _add_arguments)


if __name__ == "__main__":
    sys.exit(main())
