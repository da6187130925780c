"""Benchmark 12: what forgetting a person costs: the job's check for forgotten keys on
every run, and one forget.

    python -m bench.forget_cost --sizes small|full

One raw increment of generated ``orders`` events (1M rows at full size).

- **Per run, per row** (the figure): a pass that reads every payload, as the structure
  and labelling passes do, three ways, alternating: ``plain`` (no check), ``none`` (the
  job's check, nobody of the topic forgotten: the flag is a constant), ``filtered`` (10
  keys forgotten: an HMAC of every row's key). The job evaluates the increment three
  times with the filter, so a run with tokens pays about three times the difference.
  Also the job's first read pass (row count and earliest ``ingest_ts``, which Iceberg
  answers from file statistics) before forgetting existed, now, and with tokens.
- **Per run, fixed**: ``active_tokens`` (is anybody of the topic forgotten?) with no
  ``ops_db.forgotten_keys`` table, and with one holding another topic's tokens.
- **One forget**: the job writes the increment to the three layers, then one customer
  (by ``customer_email``) is forgotten: wall time and the report's per-table counts.
"""

from __future__ import annotations

import argparse
import json
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
    run_job,
    run_spark_cli,
    stopwatch,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

NAME = "forget_cost"
PREFIX = "fgt"
TARGET = Target(
    "a pass over every raw row with nobody forgotten <= 1.05 x the same pass without the check",
    (Check("ratio", "<=", 1.05),),
)
KEY = b"bench-forget-hmac-key-0123456789"


@dataclass(frozen=True)
class Params:
    rows: int


PARAMS: dict[Sizes, Params] = {"small": Params(rows=2_000), "full": Params(rows=1_000_000)}


def _scan_pass(raw: DataFrame, tokens: list[str] | None) -> float:
    """Seconds of a pass that reads every row's payload (as the structure and labelling
    passes do), with the forgotten-keys filter (``tokens``) or without (None)."""
    from pyspark.sql import functions as F

    from spark_jobs.forget.forgotten_keys import FORGOTTEN, drop_forgotten

    frame = raw if tokens is None else drop_forgotten(raw, tokens, KEY, "bench").where(~F.col(FORGOTTEN))
    with stopwatch() as elapsed:
        frame.agg(F.sum(F.length("payload"))).collect()
    return elapsed[0]


def _read_pass(raw: DataFrame, variant: str, tokens: list[str]) -> float:
    """Seconds of the job's read pass over ``raw`` (one aggregate, as ``_read`` runs it)."""
    from pyspark.sql import functions as F

    from spark_jobs.forget.forgotten_keys import FORGOTTEN, drop_forgotten

    if variant == "before":
        query = raw.agg(F.count(F.lit(1)), F.min("ingest_ts"))
    else:
        marked = drop_forgotten(raw, tokens if variant == "tokens" else [], KEY, "bench")
        query = marked.agg(F.count(F.lit(1)), F.min("ingest_ts"), F.count_if(F.col(FORGOTTEN)))
    with stopwatch() as elapsed:
        query.collect()
    return elapsed[0]


def run_forget_cost(spark: SparkSession, ctx: BenchContext, params: Params) -> BenchResult:
    import os

    from spark_jobs.forget import forgotten_keys
    from spark_jobs.forget.command import forget
    from spark_jobs.forget.request import ForgetArgs
    from spark_jobs.tables import FORGOTTEN_TABLE

    os.environ["PII_HASH_KEY"] = KEY.decode()
    topic = prepare_topic(spark, ctx, "raw")
    RawWriter(spark, topic.tables.raw).write(params.rows, params.rows)
    raw = spark.table(topic.tables.raw)
    keys = [r[0] for r in raw.select("idempotency_key").limit(10).collect()]
    tokens = [forgotten_keys.token(k, KEY) for k in keys]
    for variant in ("before", "none", "tokens"):
        _read_pass(raw, variant, tokens)  # warm-up
    walls: dict[str, list[float]] = {"before": [], "none": [], "tokens": []}
    for repeat in range(ctx.repeat):
        order = ("before", "none", "tokens") if repeat % 2 == 0 else ("tokens", "none", "before")
        for variant in order:
            walls[variant].append(_read_pass(raw, variant, tokens))

    scans: dict[str, list[float]] = {"plain": [], "none": [], "filtered": []}
    filters: dict[str, list[str] | None] = {"plain": None, "none": [], "filtered": tokens}
    _scan_pass(raw, tokens)  # warm-up
    for repeat in range(ctx.repeat):
        order = ("plain", "none", "filtered") if repeat % 2 == 0 else ("filtered", "none", "plain")
        for variant in order:
            scans[variant].append(_scan_pass(raw, filters[variant]))

    spark.sql(f"DROP TABLE IF EXISTS {FORGOTTEN_TABLE} PURGE")
    fixed: dict[str, list[float]] = {"no_table": [], "other_topics_only": []}
    for _ in range(ctx.repeat):
        start = time.perf_counter()
        forgotten_keys.active_tokens(spark, topic.topic)
        fixed["no_table"].append(time.perf_counter() - start)
    forgotten_keys.remember(spark, "another_topic", keys, KEY, "bench", 30)
    for _ in range(ctx.repeat):
        start = time.perf_counter()
        forgotten_keys.active_tokens(spark, topic.topic)
        fixed["other_topics_only"].append(time.perf_counter() - start)

    job = run_job(spark, topic, "bench-forget-job")
    first = spark.table(topic.tables.curated).where("customer__email IS NOT NULL").first()
    assert first is not None
    email = first["customer__email"]
    args = ForgetArgs(
        topic=topic.topic,
        field="customer_email",
        values=(email,),
        contracts_dir=topic.contracts_dir,
        expectations_dir=topic.expectations_dir,
    )
    with stopwatch() as elapsed:
        report = forget(spark, args)
    if not report.complete:
        raise RuntimeError(f"the benchmark's forget did not complete: {report.reason}")
    extra = [f - p for f, p in zip(scans["filtered"], scans["plain"], strict=True)]
    return BenchResult(
        name=NAME,
        title="a pass over every raw row with the forgotten-keys check (nobody forgotten) vs without; one forget",
        figure=Stats.of(scans["none"]),
        figure_label="scan pass, nobody forgotten",
        unit="s",
        baseline=Stats.of(scans["plain"]),
        baseline_label="scan pass without the check",
        ratio=paired_ratios(scans["none"], scans["plain"]),
        ratio_label="none / plain",
        target=TARGET,
        rows=params.rows,
        rows_label="raw rows",
        sizes=ctx.sizes,
        repeat=ctx.repeat,
        details={
            "params": vars(params),
            "read_pass_s": {variant: Stats.of(w).to_dict() for variant, w in walls.items()},
            "scan_pass_s": {variant: Stats.of(w).to_dict() for variant, w in scans.items()},
            "scan_filtered_over_plain": paired_ratios(scans["filtered"], scans["plain"]).to_dict(),
            "tokens_extra_s_per_1m_rows_per_run": round(3 * Stats.of(extra).median * 1_000_000 / params.rows, 3),
            "active_tokens_s_per_run": {case: Stats.of(w).to_dict() for case, w in fixed.items()},
            "job_run_s": round(job.wall_s, 2),
            "forget_s": round(elapsed[0], 2),
            "forget_tables": json.loads(report.to_json())["tables"],
        },
    )


def _body(spark: SparkSession, ctx: BenchContext, args: argparse.Namespace) -> BenchResult:
    return run_forget_cost(spark, ctx, PARAMS[ctx.sizes])


def main(argv: Sequence[str] | None = None) -> int:
    return run_spark_cli(NAME, PREFIX, (__doc__ or NAME).splitlines()[0], _body, argv)


if __name__ == "__main__":
    sys.exit(main())
