"""runtime: local — the job as a subprocess (a stand-in job here; the real one in the e2e test)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException
from airflow_testkit import local_topic_yaml, make_context, topic_config
from lakehouse_unified.config import TopicConfig
from lakehouse_unified.hooks.unified_job import SPARK_SUBMIT_BOOTSTRAP, LocalUnifiedJobHook
from lakehouse_unified.job_arguments import run_report_uri
from lakehouse_unified.operators.unified_job import UnifiedJobLocalOperator
from lakehouse_unified.run_plan import RunPlan

from spark_jobs.local_submit import spark_submit_command

FAKE_JOB = """\
import argparse, json, os, sys
p = argparse.ArgumentParser()
p.add_argument("--run-report")
args, rest = p.parse_known_args()
print("fake job args:", json.dumps(sys.argv[1:]), flush=True)
print("driver memory:", os.environ.get("SPARK_DRIVER_MEMORY"), flush=True)
print("pii key length:", len(os.environ.get("PII_HASH_KEY", "")), flush=True)
print("pii secret id:", os.environ.get("PII_HASH_KEY_SECRET_ID"), flush=True)
code = int(os.environ.get("FAKE_EXIT", "0"))
if code != 2:
    with open(args.run_report, "w") as f:
        outcome = os.environ.get("FAKE_OUTCOME", "FULL_SUCCESS")
        json.dump({"outcome": outcome, "reason": os.environ.get("FAKE_REASON")}, f)
sys.exit(code)
"""
RUN_ID = "manual__2025-02-01T00:00:00+00:00"


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TopicConfig:
    monkeypatch.setenv("LAKEHOUSE_PROJECT_DIR", str(tmp_path))
    package = tmp_path / "spark_jobs"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "unified_job.py").write_text(FAKE_JOB)
    (tmp_path / "reports" / "orders").mkdir(parents=True)
    return topic_config(local_topic_yaml(extra="local:\n  env: {SPARK_DRIVER_MEMORY: 1g}\n"), tmp_path)


def run(config: TopicConfig) -> str:
    op = UnifiedJobLocalOperator(task_id="run_unified_job", topic_config=config)
    plan = RunPlan(kind="incremental", to_snapshot_inclusive=42).to_xcom()
    return op.execute(make_context(run_id=RUN_ID, xcoms={("wait_for_new_snapshot", "return_value"): plan}))


def test_command_for_both_launchers(config: TopicConfig, tmp_path: Path) -> None:
    hook = LocalUnifiedJobHook(runtime=config.local, project_dir=tmp_path)
    assert hook.command(["--topic", "orders"]) == [sys.executable, "-m", "spark_jobs.unified_job", "--topic", "orders"]
    spark = topic_config(local_topic_yaml(extra="local:\n  launcher: spark_submit\n"), tmp_path)
    hook = LocalUnifiedJobHook(runtime=spark.local, project_dir=tmp_path)
    assert hook.command(["--topic", "orders"]) == [sys.executable, "-c", SPARK_SUBMIT_BOOTSTRAP, "--topic", "orders"]


def test_spark_submit_launcher_execs_the_jobs_own_command(
    config: TopicConfig, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The bootstrap runs ``spark_jobs.local_submit.spark_submit_command(args)`` (a stand-in here)."""
    (tmp_path / "spark_jobs" / "local_submit.py").write_text(
        "import os, sys\n"
        "def spark_submit_command(job_args):\n"
        "    return [sys.executable, '-m', 'spark_jobs.unified_job', *job_args], dict(os.environ)\n"
    )
    spark = topic_config(local_topic_yaml(extra="local:\n  launcher: spark_submit\n"), tmp_path)
    assert run(spark).endswith(".json")
    assert '"--to-snapshot-inclusive", "42"' in capsys.readouterr().out


def test_real_spark_submit_command_is_importable_without_pyspark_side_effects() -> None:
    argv, env = spark_submit_command(["--topic", "orders"])
    assert argv[0].endswith("spark-submit") and argv[-2:] == ["--topic", "orders"]
    assert env["PYSPARK_PYTHON"]


def test_success_streams_the_log_and_returns_the_report(
    config: TopicConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    stale = Path(run_report_uri(config, RUN_ID))
    stale.write_text(json.dumps({"outcome": "CURATED_FAILED"}))
    assert run(config) == str(stale)
    assert json.loads(stale.read_text())["outcome"] == "FULL_SUCCESS"  # this run's report, not the stale one
    logged = capsys.readouterr().out  # Airflow's task logger (structlog) writes to stdout here
    assert "fake job args:" in logged and '"--to-snapshot-inclusive", "42"' in logged
    assert f'"--run-id", "unified__orders__{RUN_ID}"' in logged
    assert "driver memory: 1g" in logged


def test_outcome_failure_fails_with_the_reports_reason(config: TopicConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_EXIT", "1")
    monkeypatch.setenv("FAKE_OUTCOME", "CURATED_FAILED")
    monkeypatch.setenv("FAKE_REASON", "disk full")
    with pytest.raises(AirflowException, match="exited with 1: CURATED_FAILED: disk full") as info:
        run(config)
    assert not isinstance(info.value, AirflowFailException)  # retried


def test_usage_error_fails_without_retry(config: TopicConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_EXIT", "2")
    with pytest.raises(AirflowFailException, match="exited with 2"):
        run(config)


def test_pii_key_from_an_airflow_connection_or_a_secret_id(
    config: TopicConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PII_HASH_KEY", raising=False)
    monkeypatch.setenv("AIRFLOW_CONN_PII_KEY", json.dumps({"conn_type": "generic", "password": "k" * 24}))
    with_conn = topic_config(local_topic_yaml(extra="pii_hash_key: {conn_id: pii_key}\n"), tmp_path)
    run(with_conn)
    assert "pii key length: 24" in capsys.readouterr().out
    with_secret = topic_config(local_topic_yaml(extra="pii_hash_key: {secret_id: lakehouse/pii}\n"), tmp_path)
    run(with_secret)
    out = capsys.readouterr().out
    assert "pii key length: 0" in out and "pii secret id: lakehouse/pii" in out


def test_missing_job_package_is_explained(config: TopicConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEHOUSE_PROJECT_DIR", str(tmp_path / "elsewhere"))
    with pytest.raises(FileNotFoundError, match="no spark_jobs/ package under"):
        run(config)
