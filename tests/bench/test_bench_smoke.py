"""The benchmarks at the smallest sizes, so that they do not rot: ``make bench-smoke``.

They guard the benchmark scripts, not a promise of the product, and take about 10
minutes of a 2-core machine: marked ``bench``, they are left out of ``make test`` (run
them when changing ``bench/`` and before a benchmark sequence).

Each Spark benchmark runs once (repeat 1, no warm-up, no GX pass) on the shared test
session, under its own topic prefix, and must write a result JSON with the keys the
issue asks for. The figures themselves mean nothing at these sizes.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import SparkSession

from bench import (
    dag_parse_scaling,
    distance_to_limit,
    event_guards,
    hostile_events,
    increment_after_runs,
    increment_vs_history,
    small_increment,
    suite_size,
    throughput_memory,
    unified_vs_parallel,
    wide_payload,
)
from bench.common import BenchContext, BenchResult, Check, Stats, Target, paired_ratios

REQUIRED_KEYS = {"name", "figure", "unit", "baseline_figure", "ratio", "target", "rows", "machine_cores"}


def _context(tmp_path: Path, prefix: str) -> BenchContext:
    return BenchContext(work_dir=tmp_path, prefix=prefix, sizes="small", repeat=1, warmup=False)


def _written(result: BenchResult, tmp_path: Path, rows: int) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(result.write(tmp_path / "results").read_text())
    assert set(doc) >= REQUIRED_KEYS, REQUIRED_KEYS - set(doc)
    assert doc["figure"] > 0 and doc["baseline_figure"] > 0 and doc["ratio"] > 0
    assert doc["rows"] == rows
    assert doc["machine_cores"] >= 1
    assert doc["target"]["text"] and doc["target"]["checks"]
    assert isinstance(doc["meets_target"], bool)
    assert doc["sizes"] == "small" and doc["evidence"] is False
    assert result.name in result.render()
    return doc


def test_stats_and_targets() -> None:
    stats = Stats.of([3.0, 1.0, 2.0])
    assert (stats.median, stats.minimum, stats.maximum, stats.spread_pct) == (2.0, 1.0, 3.0, 100.0)
    assert paired_ratios([2.0, 6.0], [4.0, 3.0]).samples == (0.5, 2.0)
    target = Target("t", (Check("figure", "<", 2.0), Check("ratio", "<=", 1.5)))
    assert target.met(1.9, 1.5) and not target.met(2.0, 1.0) and not target.met(1.0, 1.6)
    with pytest.raises(ValueError):
        Stats.of([])


@pytest.mark.bench
@pytest.mark.spark
def test_suite_size(spark: SparkSession, hash_key: str, tmp_path: Path) -> None:
    params = suite_size.Params(rows=600, batch_rows=600)
    result = suite_size.run_suite_size(spark, _context(tmp_path, "bsm_ssz"), params)
    doc = _written(result, tmp_path, 600)
    assert set(doc["details"]["durations_s_median"]) == {"2", "10"}


@pytest.mark.bench
@pytest.mark.spark
@pytest.mark.slow
def test_unified_vs_parallel(spark: SparkSession, hash_key: str, tmp_path: Path, warehouse: Path) -> None:
    params = unified_vs_parallel.Params(rows=600, batch_rows=300)
    ctx = replace(_context(tmp_path, "bsm_uvp"), warehouse=str(warehouse))
    result = unified_vs_parallel.run_unified_vs_parallel(spark, ctx, params)
    doc = _written(result, tmp_path, 600)
    assert doc["details"]["outputs_match"] is True
    profiles = doc["details"]["durations_s_median"]
    for design in ("curated_only", "semantic_only"):  # each old job did its own shared steps
        assert {"read", "structure", "dedup", "drift"} <= set(profiles[design])
    process = doc["details"]["process"]  # the same designs as spark-submit processes
    assert process["ratio"]["median"] > 0 and len(process["unified_wall_s"]["samples"]) == 1
    assert set(process["job_total_s_median"]) == {"unified", "curated_only", "semantic_only"}


@pytest.mark.bench
@pytest.mark.spark
@pytest.mark.slow
def test_distance_to_limit(spark: SparkSession, hash_key: str, tmp_path: Path) -> None:
    params = distance_to_limit.Params(rows=600, batch_rows=600)
    result = distance_to_limit.run_distance_to_limit(spark, _context(tmp_path, "bsm_dtl"), params)
    doc = _written(result, tmp_path, 600)
    assert {"read", "dedup", "curated", "semantic"} <= set(doc["details"]["unified_durations_s_median"])
    assert {"read", "write_1", "write_2"} <= set(doc["details"]["bare_durations_s_median"])
    assert {"read_parse", "write_1", "write_2"} <= set(doc["details"]["parsing_copy_durations_s_median"])
    assert doc["details"]["unified_vs_parsing_copy"]["median"] > 0
    assert doc["details"]["exact_vs_plain_read_parse"]["median"] > 0


@pytest.mark.bench
@pytest.mark.spark
@pytest.mark.slow
def test_small_increment(spark: SparkSession, hash_key: str, tmp_path: Path) -> None:
    params = small_increment.Params(history=400, history_runs=2, shallow_history=100, increment=20)
    result = small_increment.run_small_increment(spark, _context(tmp_path, "bsm_sinc"), params)
    doc = _written(result, tmp_path, 20)
    assert doc["details"]["walls_s"]["deep"] and doc["details"]["walls_s"]["shallow"]
    assert {"dedup", "curated", "semantic"} <= set(doc["details"]["durations_s_median"]["deep"])


@pytest.mark.bench
@pytest.mark.spark
@pytest.mark.slow
def test_increment_vs_history(spark: SparkSession, hash_key: str, tmp_path: Path) -> None:
    params = increment_vs_history.Params(small_history=300, large_history=900, increment=200, history_batch_rows=300)
    result = increment_vs_history.run_increment_vs_history(spark, _context(tmp_path, "bsm_ivh"), params)
    doc = _written(result, tmp_path, 200)
    histories = doc["details"]["histories"]
    assert histories["large"]["output_rows"]["curated"] > histories["small"]["output_rows"]["curated"]


@pytest.mark.bench
@pytest.mark.spark
@pytest.mark.slow
def test_increment_after_runs(spark: SparkSession, hash_key: str, tmp_path: Path) -> None:
    params = increment_after_runs.Params(history=400, increment=150, runs=2, window=1, history_batch_rows=200)
    result = increment_after_runs.run_increment_after_runs(spark, _context(tmp_path, "bsm_iar"), params)
    doc = _written(result, tmp_path, 150)
    assert len(doc["details"]["walls_s"]["plain"]) == len(doc["details"]["compaction_s"]) == 2
    files = doc["details"]["files_after"]
    assert any(f["delete_files"] for f in files[increment_after_runs.PLAIN].values()), "no corrections to compact"


@pytest.mark.bench
@pytest.mark.slow
def test_dag_parse_scaling(tmp_path: Path) -> None:
    params = dag_parse_scaling.Params(few=3, many=6)
    result = dag_parse_scaling.run_dag_parse_scaling(params, "small", repeat=1)
    doc = _written(result, tmp_path, 6)
    assert set(doc["details"]["per_file_ratio"]) == set(dag_parse_scaling.KINDS)
    assert set(doc["details"]["one_heap_emr_serverless"]["total_s"]) == {"3", "6"}
    assert {"3", "6"} <= set(doc["details"]["forget_subject_dag_s"])  # the one forget DAG, parsed alone


@pytest.mark.bench
@pytest.mark.spark
@pytest.mark.slow
def test_throughput_memory(spark: SparkSession, hash_key: str, tmp_path: Path) -> None:
    params = throughput_memory.Params(sizes=(300, 600))
    result = throughput_memory.run_throughput_memory(spark, _context(tmp_path, "bsm_tpm"), params)
    doc = _written(result, tmp_path, 600)
    sizes = doc["details"]["per_size"]
    assert [s["rows"] for s in sizes] == [300, 600]
    if Path("/proc/self/status").is_file():
        assert all(s["jvm_peak_rss_mb"] and s["python_peak_rss_mb"] for s in sizes)


@pytest.mark.bench
@pytest.mark.spark
@pytest.mark.slow
def test_wide_payload(spark: SparkSession, hash_key: str, tmp_path: Path) -> None:
    params = wide_payload.Params(rows=9, keys=300)
    result = wide_payload.run_wide_payload(spark, _context(tmp_path, "bsm_wpl"), params)
    doc = _written(result, tmp_path, 9)
    columns = doc["details"]["curated_columns"]
    # one column each: the long text field, the map folded to JSON, the root ids' _overflow
    assert columns["nested"] == columns["normal"] == columns["root"]
    assert doc["details"]["wide_payload_bytes"] > 3000


@pytest.mark.bench
@pytest.mark.spark
def test_event_guards(spark: SparkSession, tmp_path: Path) -> None:
    result = event_guards.run_event_guards(spark, _context(tmp_path, "bsm_egd"), event_guards.Params(rows=500))
    doc = _written(result, tmp_path, 500)
    assert doc["details"]["registration_s_per_run"]["median"] >= 0


@pytest.mark.bench
@pytest.mark.spark
@pytest.mark.slow
def test_hostile_events(spark: SparkSession, hash_key: str, tmp_path: Path) -> None:
    params = hostile_events.Params(rows=20, variants=(("normal", ""), ("deep_objects", "deep_objects:deep:300")))
    result = hostile_events.run_hostile_events(spark, _context(tmp_path, "bsm_hev"), params)
    doc = _written(result, tmp_path, 21)
    assert doc["details"]["where_the_event_went"]["deep_objects"]["deep_values"] == 1
