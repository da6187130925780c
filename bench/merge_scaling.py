"""Probe (not one of the issue's five benchmarks): how a MERGE's cost grows with its target.

    python -m bench.merge_scaling [--targets 50000 1000000 4000000] [--source 20000] [--repeat 2]

Builds one narrow output-like table per target size (the job's table properties and
``bucket(16, key)`` layout, random UUID keys), then MERGEs the same 20k-row source
(8% of its keys already in the target) the way the job does (``WHEN MATCHED ...
UPDATE`` + ``WHEN NOT MATCHED ... INSERT``), and times next to it two alternatives
the job's design was weighed against:

- ``lookup``: a broadcast left-semi join of the source keys against the target's
  key column (what finding the existing keys costs without a shuffle);
- ``merge_in_list``: the same MERGE with ``AND t.k IN (<source keys>)`` in its ON
  clause, which Iceberg pushes into the target scan;
- ``split``: what the job does (``spark_jobs/commit/upsert.py``): the lookup, a
  validated append of the new keys, a matched-only MERGE of the known keys.

Each MERGE is rolled back afterwards so every repeat meets the same table. Prints a
table and writes ``bench/results/merge_scaling.json``. Findings: docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bench.common import configure_process, format_table, machine_info
from spark_jobs.commit.upsert import keys_to_probe, pin, upsert_split
from spark_jobs.session import build_session
from spark_jobs.tables import OUTPUT_TABLE_PROPERTIES

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

COLUMNS = "k STRING, ts TIMESTAMP, m STRING, v STRING, w STRING"
MERGE = (
    "MERGE INTO {table} t USING s ON t.k = s.k {extra} "
    "WHEN MATCHED AND s.ts >= t.ts THEN UPDATE SET t.ts = s.ts, t.m = s.m, t.v = s.v, t.w = s.w "
    "WHEN NOT MATCHED THEN INSERT (k, ts, m, v, w) VALUES (s.k, s.ts, s.m, s.v, s.w)"
)
MATCHED_ONLY = (
    "MERGE INTO {table} t USING {{source}} s ON t.k = s.k "
    "WHEN MATCHED AND s.ts >= t.ts THEN UPDATE SET t.ts = s.ts, t.m = s.m, t.v = s.v, t.w = s.w"
)


def probe_target(spark: SparkSession, size: int, source_rows: int, repeat: int) -> dict[str, float]:
    """Median seconds of each probe against one target of ``size`` rows."""
    from pyspark.sql import functions as F

    table = f"probe.t{size}"
    spark.sql(
        f"CREATE TABLE {table} ({COLUMNS}) USING iceberg PARTITIONED BY (bucket(16, k)) "
        f"TBLPROPERTIES ({OUTPUT_TABLE_PROPERTIES})"
    )
    spark.range(0, size, numPartitions=8).selectExpr(
        "uuid() AS k", "current_timestamp() AS ts", "uuid() AS m", "repeat('x', 50) AS v", "repeat('y', 80) AS w"
    ).writeTo(table).append()
    existing = int(source_rows * 0.08)
    new_values = ("current_timestamp() AS ts", "uuid() AS m", "'new' AS v", "'w' AS w")
    source = (
        spark.table(table)
        .limit(existing)
        .selectExpr("k", *new_values)
        .unionByName(spark.range(0, source_rows - existing).selectExpr("uuid() AS k", *new_values))
        .localCheckpoint()
    )
    source.createOrReplaceTempView("s")
    keys = [r.k for r in source.select("k").collect()]
    in_list = "AND t.k IN (" + ", ".join(f"'{k}'" for k in keys) + ")"
    latest = spark.sql(f"SELECT snapshot_id FROM {table}.snapshots ORDER BY committed_at DESC LIMIT 1").first()
    assert latest is not None
    snapshot = int(latest[0])

    def merge(extra: str) -> None:
        spark.sql(MERGE.format(table=table, extra=extra))
        spark.sql(f"CALL lakehouse.system.rollback_to_snapshot('{table}', {snapshot})")

    def lookup() -> None:
        spark.table(table).select("k", "ts").join(F.broadcast(source.select("k")), "k", "left_semi").count()

    def split() -> None:
        """The job's upsert (commit/upsert.py): lookup, validated append, matched-only MERGE."""
        pinned = pin(spark, table)
        known = pinned.read(spark).select("k").join(keys_to_probe(source, "k", source_rows), "k", "left_semi")
        known = known.withColumn("_known", F.lit(True)).persist()  # cached, as the job caches its lookup
        flagged = source.join(known, "k", "left")
        upsert_split(
            spark,
            pinned,
            flagged.where(F.col("_known").isNull()).drop("_known"),
            flagged.where(F.col("_known")).drop("_known"),
            known.count(),
            MATCHED_ONLY.format(table=table),
            {},
            ["k", "ts", "m", "v", "w"],
        )
        known.unpersist()
        spark.sql(f"CALL lakehouse.system.rollback_to_snapshot('{table}', {snapshot})")

    probes: dict[str, Callable[[], None]] = {
        "merge": lambda: merge(""),
        "lookup": lookup,
        "merge_in_list": lambda: merge(in_list),
        "split": split,
    }
    timings: dict[str, list[float]] = {name: [] for name in probes}
    for _ in range(repeat):
        for name, probe in probes.items():
            start = time.perf_counter()
            probe()
            timings[name].append(time.perf_counter() - start)
    spark.sql(f"DROP TABLE {table} PURGE")
    return {name: round(statistics.median(values), 2) for name, values in timings.items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--targets", type=int, nargs="+", default=[50_000, 1_000_000, 4_000_000])
    parser.add_argument("--source", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--results-dir", type=Path, default=Path("bench/results"))
    args = parser.parse_args(argv)
    configure_process()
    rows: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-merge-") as work:
        spark = build_session("hadoop", str(Path(work) / "warehouse"), app_name="bench-merge-scaling")
        spark.sql("CREATE NAMESPACE IF NOT EXISTS probe")
        for size in args.targets:
            rows[size] = probe_target(spark, size, args.source, args.repeat)
            print(f"target {size:,}: {rows[size]}", flush=True)
        spark.stop()

    print(
        format_table(
            ("target rows", "MERGE s", "lookup s", "MERGE + IN list s", "split (the job) s"),
            [
                (f"{n:,}", str(r["merge"]), str(r["lookup"]), str(r["merge_in_list"]), str(r["split"]))
                for n, r in rows.items()
            ],
        )
    )
    doc = {
        "name": "merge_scaling",
        "source_rows": args.source,
        "repeat": args.repeat,
        "median_seconds": {str(n): r for n, r in rows.items()},
        "machine": machine_info(),
    }
    args.results_dir.mkdir(parents=True, exist_ok=True)
    path = args.results_dir / "merge_scaling.json"
    path.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
