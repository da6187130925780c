"""Benchmark 6: cost of an increment after many correcting runs, with and without compaction.

    python -m bench.increment_after_runs --sizes small|full [--history N --increment N --runs N --window N]

Outputs are merge-on-read: every run that corrects rows adds delete files, and every run
adds small data files; later reads of the outputs (the upserts' lookups and MERGEs)
open all of them. Two topics get the same generated history (one untimed run each),
then the same N increments (network retries and corrections of earlier rows in them),
one job run each, alternating which topic goes first. One topic's runs end with the
job's table maintenance (``--compact-delete-file-threshold``, the DAG's default); the
other's never compact. Every run is timed, its compaction included.

Figure: median increment wall of the compacting topic's last W runs; baseline: its
first W runs. Target: ratio <= 1.3 (target 3's bound: an increment costs the same
after N runs as at the start). The same ratio without compaction is reported beside it.
"""

from __future__ import annotations

import argparse
import statistics
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
    RawWriter,
    Sizes,
    Stats,
    Table,
    Target,
    fmt,
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

NAME = "increment_after_runs"
PREFIX = "iar"
TARGET = Target("increment wall after N runs <= 1.3 x the first runs' (with compaction)", (Check("ratio", "<=", 1.3),))
PLAIN, COMPACTED = "plain", "compacted"


@dataclass(frozen=True)
class Params:
    history: int
    increment: int
    runs: int
    window: int
    history_batch_rows: int
    delete_file_threshold: int = 4
    """The topic config's default (``maintenance.delete_file_threshold``)."""

    def __post_init__(self) -> None:
        if not 1 <= self.window <= self.runs // 2:
            raise ValueError(f"window must be 1..runs/2 (first and last runs apart), got {self.window} of {self.runs}")


PARAMS: dict[Sizes, Params] = {
    "small": Params(history=2_000, increment=500, runs=4, window=2, history_batch_rows=1_000),
    "full": Params(history=200_000, increment=20_000, runs=24, window=6, history_batch_rows=100_000),
}


def live_files(spark: SparkSession, table: str) -> dict[str, int]:
    """Data and delete files of the table's current snapshot (what a read opens)."""
    data = spark.sql(f"SELECT count(*) FROM {table}.data_files").first()
    deletes = spark.sql(f"SELECT count(*) FROM {table}.delete_files").first()
    return {"data_files": int(data[0]) if data else 0, "delete_files": int(deletes[0]) if deletes else 0}


def run_increment_after_runs(spark: SparkSession, ctx: BenchContext, params: Params) -> BenchResult:
    warm_up(spark, ctx)
    topics: dict[str, BenchTopic] = {label: prepare_topic(spark, ctx, label) for label in (PLAIN, COMPACTED)}
    writers = {label: RawWriter(spark, topic.tables.raw) for label, topic in topics.items()}
    for label, topic in topics.items():
        writers[label].write(params.history, params.history_batch_rows)  # same seed: the same history
        run_job(spark, topic, f"{NAME}-{label}-history")

    walls: dict[str, list[float]] = {PLAIN: [], COMPACTED: []}
    maintenance_s: list[float] = []
    for index in range(params.runs):
        increment = writers[PLAIN].generate(params.increment)  # one increment, appended to both topics
        for label in (PLAIN, COMPACTED) if index % 2 == 0 else (COMPACTED, PLAIN):
            writers[label].append(increment)
            changes: dict[str, Any] = {}
            if label == COMPACTED:
                changes["compact_delete_file_threshold"] = params.delete_file_threshold
            run = run_job(spark, topics[label], f"{NAME}-{label}-{index}", **changes)
            if run.report.raw.rows_read != len(increment):
                raise BenchmarkError(f"{topics[label].topic}: run {index} read {run.report.raw.rows_read} rows")
            walls[label].append(run.wall_s)
            if label == COMPACTED:
                step = run.report.maintenance.get("compaction")
                if step is None or step.error is not None:
                    problem = step.error if step else "it did not run"
                    raise BenchmarkError(f"{topics[label].topic}: compaction failed in run {index}: {problem}")
                maintenance_s.append(step.seconds)

    counts = {label: output_counts(spark, topic) for label, topic in topics.items()}
    if counts[PLAIN] != counts[COMPACTED]:
        raise BenchmarkError(f"compaction changed the outputs: {counts}")
    files = {
        label: {table.replace("`", ""): live_files(spark, table) for table in topic.output_tables}
        for label, topic in topics.items()
    }
    w = params.window
    first = {label: values[:w] for label, values in walls.items()}
    last = {label: values[-w:] for label, values in walls.items()}
    plain_growth = paired_ratios(last[PLAIN], first[PLAIN])
    details: dict[str, Any] = {
        "params": vars(params),
        "walls_s": {label: [round(v, 3) for v in values] for label, values in walls.items()},
        "compaction_s": [round(v, 3) for v in maintenance_s],
        "compaction_share_of_compacted_walls": round(sum(maintenance_s) / sum(walls[COMPACTED]), 3),
        "without_compaction": {
            "first_runs_s": Stats.of(first[PLAIN]).to_dict(),
            "last_runs_s": Stats.of(last[PLAIN]).to_dict(),
            "ratio": plain_growth.to_dict(),
        },
        "last_runs_compacted_vs_plain": paired_ratios(last[COMPACTED], last[PLAIN]).to_dict(),
        "files_after": files,
        "output_rows": counts[PLAIN],
    }
    return BenchResult(
        name=NAME,
        title=f"increment wall after {params.runs} runs, compaction in each run's maintenance",
        figure=Stats.of(last[COMPACTED]),
        figure_label=f"increment wall, runs {params.runs - w + 1}-{params.runs}",
        unit="s",
        baseline=Stats.of(first[COMPACTED]),
        baseline_label=f"increment wall, runs 1-{w}",
        ratio=paired_ratios(last[COMPACTED], first[COMPACTED]),
        ratio_label="last runs / first runs",
        target=TARGET,
        rows=params.increment,
        rows_label="raw rows per increment",
        sizes=ctx.sizes,
        repeat=w,
        details=details,
        tables=[_walls_table(walls, maintenance_s), _files_table(files)],
    )


def _walls_table(walls: dict[str, list[float]], maintenance_s: list[float]) -> Table:
    rows = [
        (str(i + 1), fmt(plain), fmt(compacted), fmt(compaction))
        for i, (plain, compacted, compaction) in enumerate(
            zip(walls[PLAIN], walls[COMPACTED], maintenance_s, strict=True)
        )
    ]
    rows.append(
        (
            "median",
            fmt(statistics.median(walls[PLAIN])),
            fmt(statistics.median(walls[COMPACTED])),
            fmt(statistics.median(maintenance_s)),
        )
    )
    return Table(
        "increment wall per run (s); the compacted topic's includes its compaction",
        ("run", "no compaction", "with compaction", "of which compaction"),
        tuple(rows),
    )


def _files_table(files: dict[str, dict[str, dict[str, int]]]) -> Table:
    rows = []
    for table in files[PLAIN]:
        plain, compacted = files[PLAIN][table], files[COMPACTED][table.replace(f"_{PLAIN}", f"_{COMPACTED}")]
        rows.append(
            (
                table.split(".")[0] + ("_errors" if table.endswith("_errors") else ""),
                str(plain["data_files"]),
                str(plain["delete_files"]),
                str(compacted["data_files"]),
                str(compacted["delete_files"]),
            )
        )
    return Table(
        "live files after the last run",
        ("table", "data (no compaction)", "delete (no compaction)", "data (compacted)", "delete (compacted)"),
        tuple(rows),
    )


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--history", type=int, help="raw rows of the history (default 2,000 small / 200,000 full)")
    parser.add_argument("--increment", type=int, help="raw rows per increment (default 500 / 20,000)")
    parser.add_argument("--runs", type=int, help="increments per topic (default 4 / 24)")
    parser.add_argument("--window", type=int, help="runs compared at each end (default 2 / 6)")


def _body(spark: SparkSession, ctx: BenchContext, args: argparse.Namespace) -> BenchResult:
    return run_increment_after_runs(spark, ctx, params_with_overrides(PARAMS[ctx.sizes], args))


def main(argv: Sequence[str] | None = None) -> int:
    return run_spark_cli(NAME, PREFIX, (__doc__ or NAME).splitlines()[0], _body, argv, _add_arguments)


if __name__ == "__main__":
    sys.exit(main())
