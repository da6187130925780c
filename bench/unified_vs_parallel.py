"""Benchmark 1: the unified job against the old design of two separate jobs.

    python -m bench.unified_vs_parallel --sizes small|full

The old design ran two jobs per topic: a curated-only job and a semantic-only job, each
reading raw, deduplicating, parsing and detecting drift on its own. Both are played
here by the unified job's own code on the same topic, raw data and output tables:
``layers="curated"`` then ``layers="semantic"``. Each layer keeps its own checkpoint,
so the semantic-only run starts again from the semantic checkpoint (none) and does the
full read, dedup, parse and drift a second time; the benchmark checks that both runs
read every raw row and that their reports carry those steps.

Every measurement is a first run over the whole raw table: the output tables are
dropped before each. The two designs alternate which goes first, and their output
row counts are compared once. Target: unified wall <= 0.6 x (curated-only + semantic-only),
measured in one warm process, so the second job's own start-up is not counted and the
baseline is, if anything, flattered.

Beside it, the same comparison with every job as its own ``spark-submit`` process, as
EMR Serverless job runs are: each pays its JVM start, imports, warm-up and read
(``process`` in the JSON's details; same repeats, same alternation).
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
    ProcessRun,
    RawWriter,
    Sizes,
    Stats,
    Table,
    Target,
    drop_outputs,
    fmt,
    median_durations,
    output_counts,
    paired_ratios,
    prepare_topic,
    run_job,
    run_job_process,
    run_spark_cli,
    warm_up,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from spark_jobs.report.run_report import RunReport

NAME = "unified_vs_parallel"
PREFIX = "uvp"
SHARED_STEPS = ("read", "structure", "dedup", "drift")
TARGET = Target("unified wall <= 0.6 x (curated-only + semantic-only)", (Check("ratio", "<=", 0.6),))


@dataclass(frozen=True)
class Params:
    rows: int
    batch_rows: int


PARAMS: dict[Sizes, Params] = {
    "small": Params(rows=5_000, batch_rows=2_500),
    "full": Params(rows=1_000_000, batch_rows=100_000),
}


def run_unified_vs_parallel(spark: SparkSession, ctx: BenchContext, params: Params) -> BenchResult:
    warm_up(spark, ctx)
    topic = prepare_topic(spark, ctx, "orders")
    RawWriter(spark, topic.tables.raw).write(params.rows, params.batch_rows)

    unified: list[JobRun] = []
    curated_only: list[JobRun] = []
    semantic_only: list[JobRun] = []
    counts: dict[str, dict[str, int]] = {}
    for repeat in range(ctx.repeat):
        order = ("unified", "parallel") if repeat % 2 == 0 else ("parallel", "unified")
        for design in order:
            drop_outputs(spark, topic)
            if design == "unified":
                run = run_job(spark, topic, f"{NAME}-{repeat}-unified")
                _check_layers(topic, run.report, params.rows, written=("curated", "semantic"))
                unified.append(run)
            else:
                curated = run_job(spark, topic, f"{NAME}-{repeat}-curated-only", layers="curated")
                _check_layers(topic, curated.report, params.rows, written=("curated",))
                semantic = run_job(spark, topic, f"{NAME}-{repeat}-semantic-only", layers="semantic")
                _check_layers(topic, semantic.report, params.rows, written=("semantic",))
                curated_only.append(curated)
                semantic_only.append(semantic)
            if repeat == 0:
                counts[design] = output_counts(spark, topic)
    process = _process_runs(spark, ctx, topic, params)
    drop_outputs(spark, topic)

    unified_s = [r.wall_s for r in unified]
    parallel_s = [c.wall_s + s.wall_s for c, s in zip(curated_only, semantic_only, strict=True)]
    profiles = {
        "unified": median_durations([r.report for r in unified]),
        "curated_only": median_durations([r.report for r in curated_only]),
        "semantic_only": median_durations([r.report for r in semantic_only]),
    }
    return BenchResult(
        name=NAME,
        title="unified job vs two separate jobs (curated-only + semantic-only)",
        figure=Stats.of(unified_s),
        figure_label="unified wall",
        unit="s",
        baseline=Stats.of(parallel_s),
        baseline_label="curated-only + semantic-only wall",
        ratio=paired_ratios(unified_s, parallel_s),
        ratio_label="unified / (curated-only + semantic-only)",
        target=TARGET,
        rows=params.rows,
        rows_label="raw rows (one first run over all of them)",
        sizes=ctx.sizes,
        repeat=ctx.repeat,
        details={
            "params": vars(params),
            "curated_only_wall_s": Stats.of(r.wall_s for r in curated_only).to_dict(),
            "semantic_only_wall_s": Stats.of(r.wall_s for r in semantic_only).to_dict(),
            "durations_s_median": profiles,
            "shared_steps": list(SHARED_STEPS),
            "output_rows": counts,
            "outputs_match": counts.get("unified") == counts.get("parallel"),
            "process": process.to_dict(),
            "best_possible_ratio_note": (
                "with S = read+structure+dedup+drift and L = curated+semantic writes, "
                "ratio = (S+L)/(2S+L): <= 0.6 needs S >= 2L"
            ),
        },
        tables=[_profile_table(profiles), _counts_table(counts), process.table()],
    )


@dataclass(frozen=True)
class ProcessComparison:
    """The two designs with every job as its own spark-submit process."""

    unified: tuple[ProcessRun, ...]
    curated_only: tuple[ProcessRun, ...]
    semantic_only: tuple[ProcessRun, ...]

    @property
    def parallel_s(self) -> list[float]:
        return [c.wall_s + s.wall_s for c, s in zip(self.curated_only, self.semantic_only, strict=True)]

    def ratio(self) -> Stats:
        return paired_ratios([r.wall_s for r in self.unified], self.parallel_s)

    def to_dict(self) -> dict[str, Any]:
        return {
            "unified_wall_s": Stats.of(r.wall_s for r in self.unified).to_dict(),
            "curated_only_wall_s": Stats.of(r.wall_s for r in self.curated_only).to_dict(),
            "semantic_only_wall_s": Stats.of(r.wall_s for r in self.semantic_only).to_dict(),
            "parallel_wall_s": Stats.of(self.parallel_s).to_dict(),
            "ratio": self.ratio().to_dict(),
            "job_total_s_median": {
                name: Stats.of(r.report["durations_s"]["total"] for r in runs).median
                for name, runs in (
                    ("unified", self.unified),
                    ("curated_only", self.curated_only),
                    ("semantic_only", self.semantic_only),
                )
            },
        }

    def table(self) -> Table:
        unified = Stats.of(r.wall_s for r in self.unified)
        parallel = Stats.of(self.parallel_s)
        ratio = self.ratio()
        return Table(
            "every job as its own spark-submit process (JVM start, imports and warm-up paid per job)",
            ("measure", "median", "min", "max"),
            (
                ("unified wall (s)", fmt(unified.median), fmt(unified.minimum), fmt(unified.maximum)),
                (
                    "curated-only + semantic-only wall (s)",
                    fmt(parallel.median),
                    fmt(parallel.minimum),
                    fmt(parallel.maximum),
                ),
                ("unified / parallel", fmt(ratio.median), fmt(ratio.minimum), fmt(ratio.maximum)),
            ),
        )


def _process_runs(spark: SparkSession, ctx: BenchContext, topic: BenchTopic, params: Params) -> ProcessComparison:
    unified: list[ProcessRun] = []
    curated_only: list[ProcessRun] = []
    semantic_only: list[ProcessRun] = []
    for repeat in range(ctx.repeat):
        order = ("unified", "parallel") if repeat % 2 == 0 else ("parallel", "unified")
        for design in order:
            drop_outputs(spark, topic)
            if design == "unified":
                unified.append(run_job_process(ctx, topic, f"{NAME}-p{repeat}-unified"))
            else:
                curated_only.append(run_job_process(ctx, topic, f"{NAME}-p{repeat}-curated", "--layers", "curated"))
                semantic_only.append(run_job_process(ctx, topic, f"{NAME}-p{repeat}-semantic", "--layers", "semantic"))
    for run in (*unified, *curated_only, *semantic_only):
        if run.report.get("raw", {}).get("rows_read") != params.rows:
            raise BenchmarkError(f"topic {topic.topic}: a process run read {run.report.get('raw')} raw rows")
    return ProcessComparison(tuple(unified), tuple(curated_only), tuple(semantic_only))


def _check_layers(topic: BenchTopic, report: RunReport, rows: int, written: Sequence[str]) -> None:
    """The run read all raw rows, did its own read/dedup/parse/drift, and wrote only ``written``."""
    problems = []
    if report.raw.rows_read != rows:
        problems.append(f"read {report.raw.rows_read} raw rows, expected {rows}")
    missing = [s for s in SHARED_STEPS if s not in report.durations_s]
    if missing:
        problems.append(f"no {missing} step in its report")
    for layer in ("curated", "semantic"):
        status = (report.curated if layer == "curated" else report.semantic).status
        expected = "written" if layer in written else "skipped"
        if status != expected:
            problems.append(f"{layer} layer {status}, expected {expected}")
    if problems:
        raise BenchmarkError(f"topic {topic.topic}: run {report.run_id}: " + "; ".join(problems))


def _profile_table(profiles: dict[str, dict[str, float]]) -> Table:
    steps = list(dict.fromkeys(s for p in profiles.values() for s in p))
    return Table(
        "median seconds per job step (durations_s)",
        ("step", "unified", "curated-only", "semantic-only"),
        tuple(
            (step, *(fmt(profiles[k].get(step)) for k in ("unified", "curated_only", "semantic_only")))
            for step in steps
        ),
    )


def _counts_table(counts: dict[str, dict[str, int]]) -> Table:
    return Table(
        "output rows after the first repeat (the two designs must agree)",
        ("table", "unified", "parallel"),
        tuple(
            (layer, str(counts.get("unified", {}).get(layer, "-")), str(counts.get("parallel", {}).get(layer, "-")))
            for layer in ("curated", "semantic", "errors")
        ),
    )


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rows", type=int, help="raw rows (default: 5,000 small / 1,000,000 full)")


def _body(spark: SparkSession, ctx: BenchContext, args: argparse.Namespace) -> BenchResult:
    params = PARAMS[ctx.sizes]
    if args.rows:
        params = Params(rows=args.rows, batch_rows=min(params.batch_rows, args.rows))
    return run_unified_vs_parallel(spark, ctx, params)


def main(argv: Sequence[str] | None = None) -> int:
    return run_spark_cli(NAME, PREFIX, (__doc__ or NAME).splitlines()[0], _body, argv, _add_arguments)


if __name__ == "__main__":
    sys.exit(main())
