"""The job's command line, as EMR Serverless and the local runtime call it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .jobkit import append_raw, at, run_job, submit_command, topic_config
from .test_unified_job import BATCHES

pytestmark = pytest.mark.spark
REPO = Path(__file__).resolve().parents[2]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYSPARK_GATEWAY_PORT", "PYSPARK_GATEWAY_SECRET")}
    env.update({"PYTHONPATH": str(REPO), "TQDM_DISABLE": "1", "SPARK_LOG_LEVEL": "ERROR", **extra})
    return env


def test_spark_submit_entrypoint_writes_report_and_exit_code(spark, warehouse: Path, tmp_path: Path) -> None:
    topic = "shop_cli"
    contracts, expectations = topic_config(tmp_path, topic)
    snapshot = append_raw(spark, topic, BATCHES[0])
    report_path = tmp_path / "report.json"
    command, env = submit_command(topic, warehouse, (contracts, expectations), report_path, "--run-id", "cli-1")
    env.update(_env(PII_HASH_KEY="cli-test-key-0123456789"))
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(report_path.read_text())
    assert report["outcome"] == "FULL_SUCCESS" and report["run_id"] == "cli-1"
    assert report["curated"]["checkpoint_after"] == snapshot == report["semantic"]["checkpoint_after"]
    assert "outcome: FULL_SUCCESS" in done.stdout
    counts = {e["rule"]: e["unexpected_count"] for e in report["semantic"]["expectations"]}
    assert counts["expect_column_values_to_be_in_set:status"] == 1  # the 'lost' order
    assert report["semantic"]["gx_success"] is False
    assert "alice@example.com" not in done.stdout + done.stderr + report_path.read_text()


def test_bad_arguments_exit_2_with_a_message() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "spark_jobs.unified_job", "--topic", "Bad-Topic;DROP"],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "'Bad-Topic;DROP' is not a valid topic name" in done.stderr


def test_gx_result_comes_from_the_rows_verdicts(spark, tmp_path: Path, hash_key: str) -> None:
    from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResult

    topic = "shop_gx"
    dirs = topic_config(tmp_path, topic)
    append_raw(spark, topic, [*BATCHES[0], ("g1", "kg", at(1), at(1), '{"order_id": "x", "amount": -3}')])
    run = run_job(spark, topic, dirs)
    report = run.to_dict()["semantic"]
    assert report["gx_success"] is False
    assert report["failed_rules"]["expect_column_values_to_be_between:amount"] == 1
    between = next(e for e in report["expectations"] if e["rule"] == "expect_column_values_to_be_between:amount")
    assert between["unexpected_count"] == 1 and between["success"] is False
    assert between["partial_unexpected_list"] == ["-3.00"]
    result = run.validation_result
    assert isinstance(result, ExpectationSuiteValidationResult) and result.success is False
    assert "validation_result" not in run.to_dict()
