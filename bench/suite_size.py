"""Benchmark 7: what a suite's size costs, ten expectations against two.

    python -m bench.suite_size --sizes small|full

The same raw increment is processed as a first run with the ``orders`` suite cut to its
first two expectations, then to its first ten (alternating which goes first). GX's row
conditions are applied in one projection and judged in one aggregate, so validation
must not grow a pass per expectation. Target (issue 11): ten <= 1.3 x two at 1M rows.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

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
    Target,
    drop_outputs,
    median_durations,
    paired_ratios,
    prepare_topic,
    run_job,
    run_spark_cli,
    warm_up,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

NAME = "suite_size"
PREFIX = "ssz"
SMALL_SUITE, LARGE_SUITE = 2, 10
TARGET = Target(
    f"{LARGE_SUITE} expectations wall <= 1.3 x {SMALL_SUITE} expectations wall (at 1M rows)",
    (Check("ratio", "<=", 1.3),),
)


@dataclass(frozen=True)
class Params:
    rows: int
    batch_rows: int


PARAMS: dict[Sizes, Params] = {
    "small": Params(rows=5_000, batch_rows=2_500),
    "full": Params(rows=1_000_000, batch_rows=100_000),
}


def _cut_suite(topic: BenchTopic, full: dict, count: int) -> None:
    """Rewrite the topic's suite with the first ``count`` expectations of ``full``."""
    if len(full["expectations"]) < count:
        raise BenchmarkError(f"the orders suite has {len(full['expectations'])} expectations, fewer than {count}")
    path = Path(topic.expectations_dir) / f"{topic.topic}.json"
    path.write_text(json.dumps({**full, "expectations": full["expectations"][:count]}))


def run_suite_size(spark: SparkSession, ctx: BenchContext, params: Params) -> BenchResult:
    warm_up(spark, ctx)
    topic = prepare_topic(spark, ctx, "orders")
    full = json.loads((Path(topic.expectations_dir) / f"{topic.topic}.json").read_text())
    RawWriter(spark, topic.tables.raw).write(params.rows, params.batch_rows)
    runs: dict[int, list[JobRun]] = {SMALL_SUITE: [], LARGE_SUITE: []}
    for repeat in range(ctx.repeat):
        order = (SMALL_SUITE, LARGE_SUITE) if repeat % 2 == 0 else (LARGE_SUITE, SMALL_SUITE)
        for count in order:
            _cut_suite(topic, full, count)
            drop_outputs(spark, topic)
            run = run_job(spark, topic, f"{NAME}-{repeat}-{count}")
            judged = len(run.report.semantic.details.get("expectations", []))
            if run.report.outcome != "FULL_SUCCESS" or judged != count:
                raise BenchmarkError(
                    f"topic {topic.topic}: {count}-expectation run gave {run.report.outcome}, "
                    f"{judged} expectations judged: {run.report.reason}"
                )
            runs[count].append(run)
    drop_outputs(spark, topic)
    large = [r.wall_s for r in runs[LARGE_SUITE]]
    small = [r.wall_s for r in runs[SMALL_SUITE]]
    return BenchResult(
        name=NAME,
        title=f"the job with {LARGE_SUITE} expectations vs {SMALL_SUITE}",
        figure=Stats.of(large),
        figure_label=f"{LARGE_SUITE} expectations wall",
        unit="s",
        baseline=Stats.of(small),
        baseline_label=f"{SMALL_SUITE} expectations wall",
        ratio=paired_ratios(large, small),
        ratio_label=f"{LARGE_SUITE} / {SMALL_SUITE}",
        target=TARGET,
        rows=params.rows,
        rows_label="raw rows (one first run over all of them)",
        sizes=ctx.sizes,
        repeat=ctx.repeat,
        details={
            "params": vars(params),
            "durations_s_median": {
                str(count): median_durations([r.report for r in group]) for count, group in runs.items()
            },
        },
    )


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rows", type=int, help="raw rows (default: 5,000 small / 1,000,000 full)")


def _body(spark: SparkSession, ctx: BenchContext, args: argparse.Namespace) -> BenchResult:
    params = PARAMS[ctx.sizes]
    if args.rows:
        params = Params(rows=args.rows, batch_rows=min(params.batch_rows, args.rows))
    return run_suite_size(spark, ctx, params)


def main(argv: Sequence[str] | None = None) -> int:
    return run_spark_cli(NAME, PREFIX, (__doc__ or NAME).splitlines()[0], _body, argv, _add_arguments)


if __name__ == "__main__":
    sys.exit(main())
