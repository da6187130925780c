"""Benchmark 2: distance to the limit, the unified job against a bare copy job.

    python -m bench.distance_to_limit --sizes small|full

The bare job is the least any job of this shape must do: read the same raw increment
once (the job's own ``read_increment``, persisted like the job persists it) and write
two plain copies to two new Iceberg tables: no dedup, parsing, drift, validation,
masking or MERGE. Both run as first runs over the same raw table, alternating which
goes first. The unified job's ``durations_s`` per step show where the extra time goes.

A second reference, the parsing copy, also parses each payload once (``from_json``
with the increment's structure, given to it: no inference pass) and writes every
payload field as a column, twice. What it costs is what any design that writes the
fields must pay; what the unified job costs beyond it is what this design adds
(dedup, inference, drift, typing and validation, masking, upserts, checkpoints).
Target: unified <= 4.0 x bare at 1M rows (issue 11).
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
    BenchTopic,
    Check,
    JobRun,
    RawWriter,
    Sizes,
    Stats,
    Table,
    Target,
    drop_outputs,
    drop_tables,
    fmt,
    median_durations,
    paired_ratios,
    prepare_topic,
    run_job,
    run_spark_cli,
    stopwatch,
    warm_up,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession
    from pyspark.sql import types as T

NAME = "distance_to_limit"
PREFIX = "dtl"
BARE_NAMESPACE = "bare_db"
TARGET = Target("unified wall <= 4.0 x bare copy wall (at 1M rows)", (Check("ratio", "<=", 4.0),))


@dataclass(frozen=True)
class Params:
    rows: int
    batch_rows: int


PARAMS: dict[Sizes, Params] = {
    "small": Params(rows=5_000, batch_rows=2_500),
    "full": Params(rows=1_000_000, batch_rows=100_000),
}


@dataclass(frozen=True)
class BareRun:
    wall_s: float
    rows: int
    durations_s: dict[str, float]


def bare_tables(topic: BenchTopic) -> tuple[str, str]:
    return (f"{BARE_NAMESPACE}.{topic.topic}_copy_1", f"{BARE_NAMESPACE}.{topic.topic}_copy_2")


def run_bare(spark: SparkSession, topic: BenchTopic, snapshot_id: int) -> BareRun:
    """Read raw up to ``snapshot_id`` once, write it to both bare tables (created here)."""
    from pyspark import StorageLevel

    from spark_jobs.read.incremental_read import SnapshotRange, read_increment

    targets = bare_tables(topic)
    spark.sql(f"CREATE NAMESPACE IF NOT EXISTS {BARE_NAMESPACE}")
    drop_tables(spark, targets)
    durations: dict[str, float] = {}
    with stopwatch() as total:
        with stopwatch() as step:
            raw = read_increment(spark, topic.tables.raw, SnapshotRange(None, snapshot_id))
            raw = raw.persist(StorageLevel.MEMORY_AND_DISK)
            rows = raw.count()
        durations["read"] = step[0]
        for index, target in enumerate(targets, start=1):
            with stopwatch() as step:
                raw.writeTo(target).using("iceberg").tableProperty("format-version", "2").create()
            durations[f"write_{index}"] = step[0]
        raw.unpersist()
    durations["total"] = total[0]
    return BareRun(total[0], int(rows), {k: round(v, 3) for k, v in durations.items()})


def run_bare_parse(
    spark: SparkSession, topic: BenchTopic, snapshot_id: int, structure: T.StructType, *, exact: bool = True
) -> BareRun:
    """Read raw once, parse each payload once with ``structure``, write the fields twice.

    ``exact``: the job's parse (``parse_payload``: numbers as sent, malformed payloads
    told apart); otherwise a plain ``from_json`` with the same STRING leaves, what a
    job that accepts doubles' text would write.
    """
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    from spark_jobs.parse.payload import PARSED, leaf_paths, parse_payload, string_leaves, value_at
    from spark_jobs.read.incremental_read import SnapshotRange, read_increment

    targets = bare_tables(topic)
    spark.sql(f"CREATE NAMESPACE IF NOT EXISTS {BARE_NAMESPACE}")
    drop_tables(spark, targets)
    durations: dict[str, float] = {}
    with stopwatch() as total:
        with stopwatch() as step:
            raw = read_increment(spark, topic.tables.raw, SnapshotRange(None, snapshot_id))
            fields = [value_at(path).alias(f"f{i}") for i, path in enumerate(leaf_paths(structure))]
            if exact:
                parsed = parse_payload(raw, structure)
            else:
                parsed = raw.withColumn(PARSED, F.from_json(F.col("payload"), string_leaves(structure)))
            parsed = parsed.select("message_id", "idempotency_key", "event_ts", "ingest_ts", *fields)
            parsed = parsed.persist(StorageLevel.MEMORY_AND_DISK)
            rows = parsed.agg(F.count(F.lit(1))).collect()[0][0]
        durations["read_parse"] = step[0]
        for index, target in enumerate(targets, start=1):
            with stopwatch() as step:
                parsed.writeTo(target).using("iceberg").tableProperty("format-version", "2").create()
            durations[f"write_{index}"] = step[0]
        parsed.unpersist()
    durations["total"] = total[0]
    return BareRun(total[0], int(rows), {k: round(v, 3) for k, v in durations.items()})


def run_distance_to_limit(spark: SparkSession, ctx: BenchContext, params: Params) -> BenchResult:
    from spark_jobs.parse.payload import infer_payload_structure
    from spark_jobs.read.incremental_read import SnapshotRange, read_increment

    warm_up(spark, ctx)
    topic = prepare_topic(spark, ctx, "orders")
    snapshot_id = RawWriter(spark, topic.tables.raw).write(params.rows, params.batch_rows)[-1]
    structure = infer_payload_structure(
        spark, read_increment(spark, topic.tables.raw, SnapshotRange(None, snapshot_id))
    )

    unified: list[JobRun] = []
    bare: list[BareRun] = []
    bare_parse: list[BareRun] = []
    plain_parse: list[BareRun] = []
    for repeat in range(ctx.repeat):
        order = ("unified", "bare", "parse", "plain") if repeat % 2 == 0 else ("plain", "parse", "bare", "unified")
        for design in order:
            if design == "unified":
                drop_outputs(spark, topic)
                unified.append(run_job(spark, topic, f"{NAME}-{repeat}-unified"))
            elif design == "bare":
                bare.append(run_bare(spark, topic, snapshot_id))
            elif design == "parse":
                bare_parse.append(run_bare_parse(spark, topic, snapshot_id, structure))
            else:
                plain_parse.append(run_bare_parse(spark, topic, snapshot_id, structure, exact=False))
    drop_outputs(spark, topic)
    drop_tables(spark, bare_tables(topic))
    for run in unified:
        if run.report.raw.rows_read != params.rows:
            raise BenchmarkError(f"topic {topic.topic}: unified run read {run.report.raw.rows_read} rows")
    copies = (*bare, *bare_parse, *plain_parse)
    if any(b.rows != params.rows for b in copies):
        raise BenchmarkError(f"topic {topic.topic}: bare copies read {[b.rows for b in copies]} rows")

    unified_s = [r.wall_s for r in unified]
    bare_s = [b.wall_s for b in bare]
    profile = median_durations([r.report for r in unified])
    bare_profile = {k: float(Stats.of(b.durations_s[k] for b in bare).median) for k in bare[0].durations_s}
    parse_s = [b.wall_s for b in bare_parse]
    parse_profile = {k: float(Stats.of(b.durations_s[k] for b in bare_parse).median) for k in bare_parse[0].durations_s}
    plain_s = [b.wall_s for b in plain_parse]
    plain_profile = {
        k: float(Stats.of(b.durations_s[k] for b in plain_parse).median) for k in plain_parse[0].durations_s
    }
    exact_read_parse = [b.durations_s["read_parse"] for b in bare_parse]
    plain_read_parse = [b.durations_s["read_parse"] for b in plain_parse]
    return BenchResult(
        name=NAME,
        title="unified job vs a bare read-once, write-two-copies job",
        figure=Stats.of(unified_s),
        figure_label="unified wall",
        unit="s",
        baseline=Stats.of(bare_s),
        baseline_label="bare copy wall",
        ratio=paired_ratios(unified_s, bare_s),
        ratio_label="unified / bare",
        target=TARGET,
        rows=params.rows,
        rows_label="raw rows (one first run over all of them)",
        sizes=ctx.sizes,
        repeat=ctx.repeat,
        details={
            "params": vars(params),
            "unified_durations_s_median": profile,
            "bare_durations_s_median": bare_profile,
            "parsing_copy_wall_s": Stats.of(parse_s).to_dict(),
            "parsing_copy_durations_s_median": parse_profile,
            "unified_vs_parsing_copy": paired_ratios(unified_s, parse_s).to_dict(),
            "parsing_copy_vs_bare": paired_ratios(parse_s, bare_s).to_dict(),
            "plain_parsing_copy_wall_s": Stats.of(plain_s).to_dict(),
            "plain_parsing_copy_durations_s_median": plain_profile,
            # what exact numbers (and telling malformed payloads apart) cost: target <= 1.2
            "exact_vs_plain_read_parse": paired_ratios(exact_read_parse, plain_read_parse).to_dict(),
            "exact_vs_plain_wall": paired_ratios(parse_s, plain_s).to_dict(),
            "dedup": unified[-1].report.to_dict()["dedup"],
        },
        tables=[
            _references_table(unified_s, bare_s, parse_s, plain_s),
            _exactness_table(exact_read_parse, plain_read_parse),
            _profile_table(profile, bare_profile, parse_profile),
        ],
    )


def _references_table(unified_s: list[float], bare_s: list[float], parse_s: list[float], plain_s: list[float]) -> Table:
    rows = []
    references = (
        ("unified", unified_s),
        ("bare copy", bare_s),
        ("parsing copy", parse_s),
        ("parsing copy, plain from_json", plain_s),
    )
    for label, walls in references:
        stats = Stats.of(walls)
        ratio = paired_ratios(unified_s, walls).median
        rows.append((label, fmt(stats.median), fmt(stats.minimum), fmt(stats.maximum), fmt(ratio)))
    return Table(
        "the job and its two references: wall seconds, and unified / reference (median of paired ratios)",
        ("run", "median", "min", "max", "unified / it"),
        tuple(rows),
    )


def _exactness_table(exact: list[float], plain: list[float]) -> Table:
    """The parsing copy's read + parse step, the job's parse against a plain ``from_json``."""
    ratio = paired_ratios(exact, plain)
    return Table(
        "what exact numbers cost: the parsing copy's read + parse seconds (target exact / plain <= 1.2)",
        ("parse", "median", "min", "max", "exact / plain"),
        (
            (
                "exact (the job's parse_payload)",
                fmt(Stats.of(exact).median),
                fmt(min(exact)),
                fmt(max(exact)),
                fmt(ratio.median),
            ),
            ("plain from_json", fmt(Stats.of(plain).median), fmt(min(plain)), fmt(max(plain)), ""),
        ),
    )


def _profile_table(profile: dict[str, float], bare_profile: dict[str, float], parse_profile: dict[str, float]) -> Table:
    total = profile.get("total") or 1.0
    rows = [(step, fmt(seconds), f"{100 * seconds / total:.0f}%") for step, seconds in profile.items()]
    rows += [(f"bare {step}", fmt(seconds), "") for step, seconds in bare_profile.items()]
    rows += [(f"parsing copy {step}", fmt(seconds), "") for step, seconds in parse_profile.items()]
    return Table(
        "where the unified job's time goes: median seconds per step (durations_s), then the references'",
        ("step", "seconds", "share"),
        tuple(rows),
    )


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rows", type=int, help="raw rows (default: 5,000 small / 1,000,000 full)")


def _body(spark: SparkSession, ctx: BenchContext, args: argparse.Namespace) -> BenchResult:
    params = PARAMS[ctx.sizes]
    if args.rows:
        params = Params(rows=args.rows, batch_rows=min(params.batch_rows, args.rows))
    return run_distance_to_limit(spark, ctx, params)


def main(argv: Sequence[str] | None = None) -> int:
    return run_spark_cli(NAME, PREFIX, (__doc__ or NAME).splitlines()[0], _body, argv, _add_arguments)


if __name__ == "__main__":
    sys.exit(main())
