"""Benchmark 8: what one wide payload costs a run, against a normal payload of the same size.

    python -m bench.wide_payload --sizes small|full

Three topics get the same generated ``orders`` increment (the issue's case: 9 rows at
full size); in each, the last event's payload is enlarged by the same number of bytes:
``normal`` adds one long text field; ``nested`` adds a map keyed by SKUs (``inventory``,
3,000 keys at full size); ``root`` adds the same number of id keys at the payload's
root. Each run is a first run (outputs dropped), the three alternate their order.
Figure: the nested map's wall; baseline: the normal payload's wall. Target (issue 12):
<= 1.3, "a hostile payload costs a normal run's time"; the root variant's ratio and
every run's curated column count are in the details.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from contextlib import suppress
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
    from pyspark.sql import SparkSession

    from demo.raw_events import RawEvent

NAME = "wide_payload"
PREFIX = "wpl"
VARIANTS = ("normal", "nested", "root")
TARGET = Target(
    "wide (3,000-key map) run wall <= 1.3 x same-size normal payload run wall", (Check("ratio", "<=", 1.3),)
)


@dataclass(frozen=True)
class Params:
    rows: int
    keys: int


PARAMS: dict[Sizes, Params] = {"small": Params(rows=9, keys=300), "full": Params(rows=9, keys=3000)}


def _wide(payload: str, variant: str, keys: int) -> str:
    doc = json.loads(payload)
    if variant == "nested":
        doc["inventory"] = {f"SKU-{i:05d}": i for i in range(keys)}
    elif variant == "root":
        doc.update({f"{1_000_000 + i}": i for i in range(keys)})
    return json.dumps(doc)


def _same_size(payload: str, keys: int) -> str:
    """``payload`` with one text field making it as long as the wide ones."""
    doc = json.loads(payload)
    target = len(_wide(payload, "nested", keys))
    doc["note"] = ""
    doc["note"] = "x" * max(0, target - len(json.dumps(doc)))
    return json.dumps(doc)


def _last_object(events: Sequence[RawEvent]) -> int:
    """The last event whose payload is a JSON object (the generator also writes defective ones)."""
    for index in range(len(events) - 1, -1, -1):
        with suppress(ValueError, TypeError):
            if isinstance(json.loads(events[index].payload or ""), dict):
                return index
    raise ValueError("no generated event has a JSON object payload")


def run_wide_payload(spark: SparkSession, ctx: BenchContext, params: Params) -> BenchResult:
    warm_up(spark, ctx, rows=1_000)
    topics = {}
    payload_bytes = 0
    for variant in VARIANTS:
        topic = prepare_topic(spark, ctx, variant)
        writer = RawWriter(spark, topic.tables.raw)
        events = writer.generate(params.rows)
        index = _last_object(events)
        source = events[index].payload or "{}"
        payload = _same_size(source, params.keys) if variant == "normal" else _wide(source, variant, params.keys)
        events[index] = replace(events[index], payload=payload)
        writer.append(events)
        payload_bytes = max(payload_bytes, len(payload))
        topics[variant] = topic
    runs: dict[str, list[JobRun]] = {v: [] for v in VARIANTS}
    columns: dict[str, int] = {}
    for repeat in range(ctx.repeat):
        order = VARIANTS if repeat % 2 == 0 else tuple(reversed(VARIANTS))
        for variant in order:
            drop_outputs(spark, topics[variant])
            runs[variant].append(run_job(spark, topics[variant], f"{NAME}-{repeat}-{variant}"))
            columns[variant] = len(spark.table(topics[variant].tables.curated).columns)
    for topic in topics.values():
        drop_outputs(spark, topic)
    walls = {v: [r.wall_s for r in runs[v]] for v in VARIANTS}
    return BenchResult(
        name=NAME,
        title="one wide payload vs a normal payload of the same size",
        figure=Stats.of(walls["nested"]),
        figure_label=f"run wall, one payload with a {params.keys}-key map",
        unit="s",
        baseline=Stats.of(walls["normal"]),
        baseline_label="run wall, one payload of the same size with a long text field",
        ratio=paired_ratios(walls["nested"], walls["normal"]),
        ratio_label="wide / normal",
        target=TARGET,
        rows=params.rows,
        rows_label="raw rows (one of them wide)",
        sizes=ctx.sizes,
        repeat=ctx.repeat,
        details={
            "params": vars(params),
            "wide_payload_bytes": payload_bytes,
            "root_ids_wall_s": Stats.of(walls["root"]).to_dict(),
            "root_ids_vs_normal": paired_ratios(walls["root"], walls["normal"]).to_dict(),
            "curated_columns": columns,
            "durations_s_median": {v: median_durations([r.report for r in runs[v]]) for v in VARIANTS},
        },
    )


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--keys", type=int, help="keys of the wide payload (default: 300 small / 3,000 full)")


def _body(spark: SparkSession, ctx: BenchContext, args: argparse.Namespace) -> BenchResult:
    params = PARAMS[ctx.sizes]
    if args.keys:
        params = replace(params, keys=args.keys)
    return run_wide_payload(spark, ctx, params)


def main(argv: Sequence[str] | None = None) -> int:
    return run_spark_cli(NAME, PREFIX, (__doc__ or NAME).splitlines()[0], _body, argv, _add_arguments)


if __name__ == "__main__":
    sys.exit(main())
