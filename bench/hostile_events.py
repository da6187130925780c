"""Benchmark 10: what one hostile event costs a run, against the same run without it.

    python -m bench.hostile_events --sizes small|full

Each variant is a topic whose raw increment is the same generated ``orders`` events
(10,000 at full size) plus one event: ``normal`` adds a normal event; the others add
one hostile event of ``demo/hostile_payloads.py`` (objects 10,000 levels deep, 10,000
levels of ``[``, an array of 10,000 numbers, a 100,000-character key, 100,000 keys two
levels down, a 50 MB string) or a poison event (``poison``: parsing fails on it, through
the test-only hook ``UNIFIED_JOB_POISON_MARKER``, so the job must find it by bisection).
Every run is a first run (outputs dropped), variants alternate their order per repeat.
Figure: the slowest hostile variant's median wall; baseline: ``normal``'s. Target
(issue 26): no hostile event makes a run more than a few (3) times a normal run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from bench.common import (
    BenchContext,
    BenchResult,
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
    from collections.abc import Iterator

    from pyspark.sql import SparkSession

NAME = "hostile_events"
PREFIX = "hev"
POISON_MARKER = "POISON-BENCH-7f3a"
TARGET = Target(
    "slowest run with one hostile event <= 3 x the same run with a normal event", (Check("ratio", "<=", 3.0),)
)


@dataclass(frozen=True)
class Params:
    rows: int
    variants: tuple[tuple[str, str], ...]
    """(variant, generator spec of ``demo.hostile_payloads``; "" for normal and poison)."""


FULL_VARIANTS = (
    ("normal", ""),
    ("deep_objects", "deep_objects:deep:10000"),
    ("deep_brackets", "deep_brackets:10000"),
    ("long_array", "long_array:10000"),
    ("long_key", "long_key:100000"),
    ("wide_object", "wide_object:100000"),
    ("big_string", "big_string:50000000"),
    ("poison", ""),
)
SMALL_VARIANTS = (
    ("normal", ""),
    ("deep_objects", "deep_objects:deep:1000"),
    ("wide_object", "wide_object:1000"),
    ("poison", ""),
)
PARAMS: dict[Sizes, Params] = {
    "small": Params(rows=200, variants=SMALL_VARIANTS),
    "full": Params(rows=10_000, variants=FULL_VARIANTS),
}


def _payload(variant: str, spec: str) -> str:
    import json

    from demo.hostile_payloads import generate

    if spec:
        return generate(spec, "o-hostile")
    note = POISON_MARKER if variant == "poison" else "an ordinary note"
    return json.dumps({"order_id": "o-hostile", "amount": 1, "status": "new", "note": note})


@contextmanager
def _poisoned(variant: str) -> Iterator[None]:
    from spark_jobs.faults import POISON_MARKER_ENV

    if variant != "poison":
        yield
        return
    os.environ[POISON_MARKER_ENV] = POISON_MARKER
    try:
        yield
    finally:
        del os.environ[POISON_MARKER_ENV]


def run_hostile_events(spark: SparkSession, ctx: BenchContext, params: Params) -> BenchResult:
    warm_up(spark, ctx, rows=1_000)
    names = [v for v, _ in params.variants]
    topics = {}
    for variant, spec in params.variants:
        topic = prepare_topic(spark, ctx, variant)
        writer = RawWriter(spark, topic.tables.raw)
        events = writer.generate(params.rows)
        last = events[-1]
        events.append(
            replace(last, message_id="m-hostile", idempotency_key="k-hostile", payload=_payload(variant, spec))
        )
        writer.append(events)
        topics[variant] = topic
    runs: dict[str, list[JobRun]] = {v: [] for v in names}
    for repeat in range(ctx.repeat):
        for variant in names if repeat % 2 == 0 else list(reversed(names)):
            drop_outputs(spark, topics[variant])
            with _poisoned(variant):
                runs[variant].append(run_job(spark, topics[variant], f"{NAME}-{repeat}-{variant}"))
    for topic in topics.values():
        drop_outputs(spark, topic)
    walls = {v: [r.wall_s for r in runs[v]] for v in names}
    hostile = [v for v in names if v != "normal"]
    slowest = max(hostile, key=lambda v: statistics.median(walls[v]))
    return BenchResult(
        name=NAME,
        title="one hostile event vs a normal one in the same increment",
        figure=Stats.of(walls[slowest]),
        figure_label=f"run wall with the slowest hostile event ({slowest})",
        unit="s",
        baseline=Stats.of(walls["normal"]),
        baseline_label="run wall with a normal event instead",
        ratio=paired_ratios(walls[slowest], walls["normal"]),
        ratio_label=f"{slowest} / normal",
        target=TARGET,
        rows=params.rows + 1,
        rows_label="raw rows (one of them hostile)",
        sizes=ctx.sizes,
        repeat=ctx.repeat,
        details={
            "params": {"rows": params.rows, "variants": dict(params.variants)},
            "ratio_to_normal": {v: paired_ratios(walls[v], walls["normal"]).to_dict() for v in hostile},
            "wall_s": {v: Stats.of(walls[v]).to_dict() for v in names},
            "where_the_event_went": {v: _landed(runs[v][0]) for v in names},
            "durations_s_median": {v: median_durations([r.report for r in runs[v]]) for v in names},
        },
    )


def _landed(run: JobRun) -> dict[str, object]:
    report = run.report
    return {
        "semantic_valid": report.semantic.details.get("rows_valid"),
        "semantic_errors": report.semantic.details.get("rows_errors"),
        "poison_events": report.poison.rows if report.poison is not None else 0,
        "deep_values": report.drift.deep_values.rows if report.drift is not None else 0,
    }


def _body(spark: SparkSession, ctx: BenchContext, args: argparse.Namespace) -> BenchResult:
    return run_hostile_events(spark, ctx, PARAMS[ctx.sizes])


def main(argv: Sequence[str] | None = None) -> int:
    return run_spark_cli(NAME, PREFIX, (__doc__ or NAME).splitlines()[0], _body, argv)


if __name__ == "__main__":
    sys.exit(main())
