"""Benchmark 9: what the guards against hostile events cost a run: the size and depth
checks before parsing, against the same parse without them.

    python -m bench.event_guards --sizes small|full

One raw increment of generated ``orders`` events (1M rows at full size). Two queries
over it, alternating, each forcing the parse of every payload (the job's
``parse_payload`` with the increment's inferred structure, as the dedup + parse pass
runs it): ``plain`` parses the payloads as read; ``guarded`` first adds the
``payload_too_large`` reason (``parse/batch.py::not_parsed_reason``) and applies the
depth bound (``parse/depth.py``: the Java function, which counts a payload's brackets
and parses only those with more than ``max_depth``). Figure: the guarded query's wall;
baseline: the plain one's. The job evaluates the guards twice per run (inference and the
labelling pass), so a run pays about twice the difference; the fixed cost per run (the
Java function's registration) is in the details.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bench.common import (
    BenchContext,
    BenchResult,
    Check,
    RawWriter,
    Sizes,
    Stats,
    Target,
    paired_ratios,
    prepare_topic,
    run_spark_cli,
    stopwatch,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import StructType

NAME = "event_guards"
PREFIX = "egd"
TARGET = Target("parse with the size and depth guards <= 1.05 x the same parse without", (Check("ratio", "<=", 1.05),))


@dataclass(frozen=True)
class Params:
    rows: int


PARAMS: dict[Sizes, Params] = {"small": Params(rows=2_000), "full": Params(rows=1_000_000)}


def _parse_all(spark: SparkSession, raw: DataFrame, structure: StructType, guarded: bool) -> float:
    """Seconds to parse every payload of ``raw`` (one aggregate over the parsed rows)."""
    from pyspark.sql import functions as F

    from spark_jobs.config.curated_bounds import CuratedBounds
    from spark_jobs.parse.batch import not_parsed_reason
    from spark_jobs.parse.depth import bound_depth
    from spark_jobs.parse.payload import PARSE_FAILED, PARSED, parse_payload

    bounds = CuratedBounds()
    frame = raw
    if guarded:
        frame = frame.withColumn(PARSE_FAILED, not_parsed_reason(frame, bounds, None))
        frame = bound_depth(spark, frame, bounds.max_depth, where=F.col(PARSE_FAILED).isNull())
    parsed = parse_payload(frame, structure)
    with stopwatch() as elapsed:
        parsed.agg(F.count(F.col(PARSED)), F.count(F.col("payload"))).collect()
    return elapsed[0]


def run_event_guards(spark: SparkSession, ctx: BenchContext, params: Params) -> BenchResult:
    from spark_jobs.jvm import register_functions

    topic = prepare_topic(spark, ctx, "raw")
    RawWriter(spark, topic.tables.raw).write(params.rows, params.rows)
    from spark_jobs.parse.payload import infer_payload_structure, string_leaves

    raw = spark.table(topic.tables.raw)
    structure = string_leaves(infer_payload_structure(spark, raw))  # once: both variants parse with it
    _parse_all(spark, raw, structure, True)  # warm-up: class loading, the Java function's first use
    walls: dict[str, list[float]] = {"plain": [], "guarded": []}
    for repeat in range(ctx.repeat):
        order = ("plain", "guarded") if repeat % 2 == 0 else ("guarded", "plain")
        for variant in order:
            walls[variant].append(_parse_all(spark, raw, structure, variant == "guarded"))
    registration = []
    for _ in range(ctx.repeat):
        start = time.perf_counter()
        register_functions(spark)
        registration.append(time.perf_counter() - start)
    extra = [g - p for g, p in zip(walls["guarded"], walls["plain"], strict=True)]
    return BenchResult(
        name=NAME,
        title="size and depth guards before parsing vs the same parse without them",
        figure=Stats.of(walls["guarded"]),
        figure_label="parse wall with the guards",
        unit="s",
        baseline=Stats.of(walls["plain"]),
        baseline_label="parse wall without them",
        ratio=paired_ratios(walls["guarded"], walls["plain"]),
        ratio_label="guarded / plain",
        target=TARGET,
        rows=params.rows,
        rows_label="raw rows",
        sizes=ctx.sizes,
        repeat=ctx.repeat,
        details={
            "params": vars(params),
            "extra_s_per_pass": Stats.of(extra).to_dict(),
            "extra_s_per_1m_rows_per_run": round(2 * Stats.of(extra).median * 1_000_000 / params.rows, 3),
            "registration_s_per_run": Stats.of(registration).to_dict(),
        },
    )


def _body(spark: SparkSession, ctx: BenchContext, args: argparse.Namespace) -> BenchResult:
    return run_event_guards(spark, ctx, PARAMS[ctx.sizes])


def main(argv: Sequence[str] | None = None) -> int:
    return run_spark_cli(NAME, PREFIX, (__doc__ or NAME).splitlines()[0], _body, argv)


if __name__ == "__main__":
    sys.exit(main())
