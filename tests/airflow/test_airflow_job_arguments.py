"""One argument builder for both runtimes; the EMR request pieces; names and report paths."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from airflow_testkit import emr_topic_yaml, local_topic_yaml, topic_config
from lakehouse_unified.job_arguments import (
    build_job_arguments,
    emr_configuration_overrides,
    emr_job_driver,
    job_run_name,
    run_report_uri,
)
from lakehouse_unified.run_plan import RunPlan

from spark_jobs.config.job_args import JobArgumentError, parse_args


def test_incremental_arguments(tmp_path: Path) -> None:
    config = topic_config(local_topic_yaml(), tmp_path)
    plan = RunPlan(kind="incremental", to_snapshot_inclusive=42)
    args = build_job_arguments(config, plan, job_run_id="r", run_report="/rep.json", airflow_run_id="manual__1")
    root = str(config.project_dir())
    assert args == [
        "--topic", "orders",
        "--contracts-dir", f"{root}/contracts",
        "--expectations-dir", f"{root}/expectations",
        "--warehouse", f"{root}/lakehouse/warehouse",
        "--catalog-type", "hadoop",
        "--run-id", "r",
        "--airflow-run-id", "manual__1",
        "--run-report", "/rep.json",
        "--data-docs-site", f"{root}/reports/data_docs",
        "--compact-delete-file-threshold", "4",
        "--expire-outputs-after-hours", "168",
        "--to-snapshot-inclusive", "42",
    ]  # fmt: skip


def test_reprocess_backfill_and_flags(tmp_path: Path) -> None:
    config = topic_config(local_topic_yaml(extra="checkpoint_mode: unified\n"), tmp_path)
    plan = RunPlan(
        kind="backfill", from_snapshot_exclusive=7, to_snapshot_inclusive=9, no_checkpoint=True, layers="curated",
        dry_run=True,
    )  # fmt: skip
    args = build_job_arguments(config, plan, job_run_id="r", run_report="x")
    tail = args[args.index("x") + 3 :]  # after the run report: the Data Docs site
    assert tail == [
        "--checkpoint-mode", "unified",
        "--compact-delete-file-threshold", "4",
        "--expire-outputs-after-hours", "168",
        "--from-snapshot-exclusive", "7",
        "--to-snapshot-inclusive", "9",
        "--layers", "curated",
        "--no-checkpoint",
        "--dry-run",
    ]  # fmt: skip
    full = build_job_arguments(config, RunPlan(kind="reprocess", reprocess_all=True), job_run_id="r", run_report="x")
    assert full[full.index("--from-snapshot-exclusive") + 1] == "none"


def test_arguments_are_accepted_by_the_jobs_own_parser(tmp_path: Path) -> None:
    config = topic_config(local_topic_yaml(), tmp_path)
    plan = RunPlan(kind="backfill", from_snapshot_exclusive=7, to_snapshot_inclusive=9, no_checkpoint=True)
    parsed = parse_args(build_job_arguments(config, plan, job_run_id="dag__run", run_report="r.json"))
    assert (parsed.topic, parsed.from_snapshot_exclusive, parsed.to_snapshot_inclusive) == ("orders", 7, 9)
    assert parsed.no_checkpoint and parsed.run_id == "dag__run" and parsed.run_report == "r.json"
    assert (parsed.compact_delete_file_threshold, parsed.expire_outputs_after_hours) == (4, 168)
    assert parsed.expire_raw_after_hours is None


def test_replay_arguments_are_accepted_by_the_jobs_own_parser(tmp_path: Path) -> None:
    config = topic_config(local_topic_yaml(), tmp_path)
    plan = RunPlan(kind="replay", to_snapshot_inclusive=9, dry_run=True)
    args = build_job_arguments(config, plan, job_run_id="r", run_report="x")
    assert args[-2:] == ["--replay-quarantine", "--dry-run"] and "--to-snapshot-inclusive" not in args
    parsed = parse_args(args)
    assert parsed.replay_quarantine and parsed.dry_run and parsed.to_snapshot_inclusive is None
    with pytest.raises(JobArgumentError, match="no snapshot range"):
        parse_args([*args, "--from-snapshot-exclusive", "7"])


def test_maintenance_arguments_follow_the_topic_file(tmp_path: Path) -> None:
    extra = "maintenance:\n  delete_file_threshold: null\n  expire_output_snapshots_after_hours: null\n"
    off = build_job_arguments(
        topic_config(local_topic_yaml(extra=extra), tmp_path), RunPlan(kind="incremental"), job_run_id="r",
        run_report="x",
    )  # fmt: skip
    assert not [a for a in off if a.startswith(("--compact", "--expire"))]
    assert not parse_args(off).maintains_tables
    extra = "maintenance:\n  delete_file_threshold: 2\n  expire_raw_snapshots_after_hours: 720\n"
    on = build_job_arguments(
        topic_config(local_topic_yaml(extra=extra), tmp_path / "on"), RunPlan(kind="incremental", dry_run=True),
        job_run_id="r", run_report="x",
    )  # fmt: skip
    parsed = parse_args(on)
    assert (parsed.compact_delete_file_threshold, parsed.expire_outputs_after_hours) == (2, 168)
    assert parsed.expire_raw_after_hours == 720
    assert not parsed.maintains_tables  # a dry run writes nothing, maintenance included


def test_job_run_name_is_stable_and_fits_emr_limits() -> None:
    assert job_run_name("unified__orders", "manual__2025") == "unified__orders__manual__2025"
    long = job_run_name("unified__orders", "x" * 400)
    assert len(long) == 256 and long == job_run_name("unified__orders", "x" * 400)
    assert long != job_run_name("unified__orders", "x" * 399)


def test_run_report_uri_is_per_dag_run_and_key_safe(tmp_path: Path) -> None:
    config = topic_config(emr_topic_yaml(), tmp_path)
    assert run_report_uri(config, "scheduled__2025-01-01T00:00:00+00:00") == (
        "s3://lake/reports/payments/scheduled__2025-01-01T00_00_00_00_00.json"
    )


def test_emr_job_driver_and_overrides(tmp_path: Path) -> None:
    config = topic_config(emr_topic_yaml(), tmp_path)
    driver = emr_job_driver(config, ["--topic", "payments"])["sparkSubmit"]
    assert driver["entryPoint"] == "s3://artifacts/unified-job/0.1.0/entrypoint.py"
    assert driver["entryPointArguments"] == ["--topic", "payments"]
    params = shlex.split(driver["sparkSubmitParameters"])
    assert params[:2] == ["--py-files", "s3://artifacts/unified-job/0.1.0/spark_jobs.zip"]
    confs = dict(p.split("=", 1) for p in params[3::2])
    assert confs["spark.archives"] == "s3://artifacts/unified-job/0.1.0/pyspark_deps.tar.gz#environment"
    assert confs["spark.emr-serverless.driverEnv.PYSPARK_PYTHON"] == "./environment/bin/python"
    assert confs["spark.jars"] == (
        "/usr/share/aws/iceberg/lib/iceberg-spark3-runtime.jar,s3://artifacts/unified-job/0.1.0/lakehouse-unified-udfs.jar"
    )
    assert confs["spark.sql.catalog.lakehouse.type"] == "glue"
    assert confs["spark.sql.catalog.lakehouse.warehouse"] == "s3://lake/warehouse"
    assert confs["spark.executor.memory"] == "4g"
    overrides = emr_configuration_overrides(config)
    assert overrides is not None
    props = overrides["applicationConfiguration"][0]["properties"]
    assert props == {"spark.emr-serverless.driverEnv.PII_HASH_KEY_SECRET_ID": "lakehouse/pii-hash-key"}  # never the key
    assert overrides["monitoringConfiguration"]["s3MonitoringConfiguration"]["logUri"] == "s3://artifacts/emr-logs/"
