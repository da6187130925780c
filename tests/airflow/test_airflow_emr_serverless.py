"""runtime: emr_serverless without AWS: botocore's service model, Stubber, and moto's server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from airflow.providers.amazon.aws.triggers.emr import EmrServerlessStartJobTrigger
from airflow.sdk.exceptions import AirflowException, AirflowFailException, TaskDeferred
from airflow.triggers.base import TriggerEvent
from airflow_testkit import emr_topic_yaml, make_context, topic_config
from botocore.model import Shape
from botocore.stub import Stubber
from botocore.validate import ParamValidator
from conftest import MOTO_ACCOUNT, MOTO_REGION
from lakehouse_unified.config import TopicConfig
from lakehouse_unified.hooks.emr_serverless import ACTIVE_JOB_STATES
from lakehouse_unified.hooks.object_store import ObjectTextHook
from lakehouse_unified.operators.emr_serverless import (
    ForgetSubjectEmrServerlessOperator,
    UnifiedJobEmrServerlessOperator,
)
from lakehouse_unified.operators.forget import ForgetSubjectOnEmrServerlessOperator
from lakehouse_unified.run_plan import RunPlan

RUN_ID = "scheduled__2025-01-01T00:00:00+00:00"
APP_ID = "00fkq1example2301"
PLAN = RunPlan(kind="incremental", to_snapshot_inclusive=9_007_199_254_740_993)


@pytest.fixture
def config(tmp_path: Path) -> TopicConfig:
    return topic_config(emr_topic_yaml(application_id=APP_ID), tmp_path)


def context() -> dict[str, Any]:
    return make_context(run_id=RUN_ID, xcoms={("wait_for_new_snapshot", "return_value"): PLAN.to_xcom()})


def operator(config: TopicConfig) -> UnifiedJobEmrServerlessOperator:
    return UnifiedJobEmrServerlessOperator(task_id="run_unified_job", topic_config=config, client_request_token="tok-1")


def service_model_errors(params: Any, shape: Shape, path: str = "") -> list[str]:
    """What botocore's ParamValidator leaves out: patterns, max lengths, enums of the real model."""
    errors: list[str] = []
    meta = shape.metadata
    if shape.type_name == "structure":
        for name, value in params.items():
            errors += service_model_errors(value, shape.members[name], f"{path}.{name}")  # type: ignore[attr-defined]
    elif shape.type_name == "list":
        if "max" in meta and len(params) > meta["max"]:
            errors.append(f"{path}: {len(params)} items > {meta['max']}")
        for i, item in enumerate(params):
            errors += service_model_errors(item, shape.member, f"{path}[{i}]")  # type: ignore[attr-defined]
    elif shape.type_name == "map":
        for key, value in params.items():
            errors += service_model_errors(key, shape.key, f"{path}.key")  # type: ignore[attr-defined]
            errors += service_model_errors(value, shape.value, f"{path}[{key}]")  # type: ignore[attr-defined]
    elif shape.type_name == "string":
        if "max" in meta and len(params) > meta["max"]:
            errors.append(f"{path}: length {len(params)} > {meta['max']}")
        if "pattern" in meta and not re.fullmatch(meta["pattern"], params, re.DOTALL):
            errors.append(f"{path}: {params!r} does not match {meta['pattern']!r}")
        if shape.enum and params not in shape.enum:
            errors.append(f"{path}: {params!r} not in {shape.enum}")
    return errors


JOB_RUN_NAME = "unified__payments__scheduled__2025-01-01T00:00:00+00:00"
REPORT_URI = "s3://lake/reports/payments/scheduled__2025-01-01T00_00_00_00_00.json"
# Written out, not built by ``lakehouse_unified.job_arguments``: the request EMR must receive.
EXPECTED_START_JOB_RUN: dict[str, Any] = {
    "clientToken": "tok-1",
    "applicationId": APP_ID,
    "executionRoleArn": "arn:aws:iam::123456789012:role/lakehouse-unified-job",
    "jobDriver": {
        "sparkSubmit": {
            "entryPoint": "s3://artifacts/unified-job/0.1.0/entrypoint.py",
            "entryPointArguments": [
                "--topic", "payments",
                "--contracts-dir", "s3://lake/contracts",
                "--expectations-dir", "s3://lake/expectations",
                "--warehouse", "s3://lake/warehouse",
                "--catalog-type", "glue",
                "--run-id", JOB_RUN_NAME,
                "--airflow-run-id", RUN_ID,
                "--run-report", REPORT_URI,
                "--data-docs-site", "s3://lake/reports/data_docs",
                "--compact-delete-file-threshold", "4",
                "--expire-outputs-after-hours", "168",
                "--to-snapshot-inclusive", "9007199254740993",
            ],
            "sparkSubmitParameters": " ".join(
                [
                    "--py-files s3://artifacts/unified-job/0.1.0/spark_jobs.zip",
                    "--conf spark.jars=/usr/share/aws/iceberg/lib/iceberg-spark3-runtime.jar,"
                    "s3://artifacts/unified-job/0.1.0/lakehouse-unified-udfs.jar",
                    "--conf 'spark.archives=s3://artifacts/unified-job/0.1.0/pyspark_deps.tar.gz#environment'",
                    "--conf spark.emr-serverless.driverEnv.PYSPARK_DRIVER_PYTHON=./environment/bin/python",
                    "--conf spark.emr-serverless.driverEnv.PYSPARK_PYTHON=./environment/bin/python",
                    "--conf spark.executorEnv.PYSPARK_PYTHON=./environment/bin/python",
                    "--conf spark.driver.extraJavaOptions=-XX:-DontCompileHugeMethods",
                    "--conf spark.executor.extraJavaOptions=-XX:-DontCompileHugeMethods",
                    "--conf spark.sql.extensions=org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions",
                    "--conf spark.sql.catalog.lakehouse=org.apache.iceberg.spark.SparkCatalog",
                    "--conf spark.sql.catalog.lakehouse.warehouse=s3://lake/warehouse",
                    "--conf spark.sql.defaultCatalog=lakehouse",
                    "--conf spark.sql.session.timeZone=UTC",
                    "--conf spark.sql.ansi.enabled=false",
                    "--conf spark.sql.caseSensitive=true",
                    "--conf spark.sql.catalog.lakehouse.type=glue",
                    "--conf spark.sql.catalog.lakehouse.io-impl=org.apache.iceberg.aws.s3.S3FileIO",
                    "--conf spark.executor.memory=4g",
                ]
            ),
        }
    },
    "configurationOverrides": {
        "applicationConfiguration": [
            {
                "classification": "spark-defaults",
                # the secret's id, never the key
                "properties": {"spark.emr-serverless.driverEnv.PII_HASH_KEY_SECRET_ID": "lakehouse/pii-hash-key"},
            }
        ],
        "monitoringConfiguration": {"s3MonitoringConfiguration": {"logUri": "s3://artifacts/emr-logs/"}},
    },
    "name": JOB_RUN_NAME,
    "executionTimeoutMinutes": 60,
    "tags": {"lakehouse-topic": "payments", "airflow-dag-id": "unified__payments"},
}  # fmt: skip


@pytest.fixture
def stubbed(config: TopicConfig, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Stubber, list[str]]]:
    client = boto3.client("emr-serverless", region_name=MOTO_REGION, aws_access_key_id="x", aws_secret_access_key="x")
    deleted: list[str] = []
    monkeypatch.setattr(ObjectTextHook, "delete", lambda self, uri: deleted.append(uri))
    with Stubber(client) as stubber:
        yield client, stubber, deleted
        stubber.assert_no_pending_responses()


def test_start_job_run_request_is_exact_and_valid_for_the_service_model(
    config: TopicConfig, stubbed: tuple[Any, Stubber, list[str]]
) -> None:
    client, stubber, deleted = stubbed
    expected = EXPECTED_START_JOB_RUN
    model = botocore.session.get_session().get_service_model("emr-serverless")
    input_shape = model.operation_model("StartJobRun").input_shape
    report = ParamValidator().validate(expected, input_shape)
    assert not report.has_errors(), report.generate_report()
    assert service_model_errors(expected, input_shape) == []

    stubber.add_response(
        "list_job_runs",
        {"jobRuns": []},
        {"applicationId": APP_ID, "states": list(ACTIVE_JOB_STATES)},
    )
    stubber.add_response("get_application", _application("STARTED"), {"applicationId": APP_ID})
    started = {
        "applicationId": APP_ID,
        "jobRunId": "00job1",
        "arn": _arn("00job1"),
        "ResponseMetadata": {"HTTPStatusCode": 200},  # the provider checks it
    }
    stubber.add_response("start_job_run", started, expected)
    op = operator(config)
    op.hook.__dict__["conn"] = client
    with pytest.raises(TaskDeferred) as info:
        op.execute(context())
    trigger = info.value.trigger
    assert isinstance(trigger, EmrServerlessStartJobTrigger)
    assert (trigger.application_id, trigger.job_id) == (APP_ID, "00job1")
    assert deleted == [REPORT_URI]  # a stale report cannot pass for this run's


def test_retry_re_attaches_to_the_running_job_of_the_same_dag_run(
    config: TopicConfig, stubbed: tuple[Any, Stubber, list[str]]
) -> None:
    client, stubber, deleted = stubbed
    request = {"applicationId": APP_ID, "states": list(ACTIVE_JOB_STATES)}
    other = _summary("00other", "unified__payments__scheduled__2024-12-31T23:00:00+00:00", "RUNNING")
    stubber.add_response("list_job_runs", {"jobRuns": [other], "nextToken": "p2"}, request)
    stubber.add_response(
        "list_job_runs", {"jobRuns": [_summary("00running", JOB_RUN_NAME, "RUNNING")]}, {**request, "nextToken": "p2"}
    )
    # no get_application / start_job_run responses: any further call fails the test
    op = operator(config)
    op.hook.__dict__["conn"] = client
    with pytest.raises(TaskDeferred) as info:
        op.execute(context())
    assert info.value.trigger.job_id == "00running"  # type: ignore[attr-defined]
    assert info.value.method_name == "execute_complete"
    assert op.job_id == "00running"
    assert deleted == []  # the running job will write the report


def _application(state: str) -> dict[str, Any]:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    return {
        "application": {
            "applicationId": APP_ID,
            "arn": f"arn:aws:emr-serverless:us-east-1:123456789012:/applications/{APP_ID}",
            "releaseLabel": "emr-7.5.0",
            "type": "SPARK",
            "state": state,
            "createdAt": now,
            "updatedAt": now,
        }
    }


def _arn(job_id: str) -> str:
    return f"arn:aws:emr-serverless:us-east-1:123456789012:/applications/{APP_ID}/jobruns/{job_id}"


def _summary(job_id: str, name: str, state: str) -> dict[str, Any]:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    return {
        "applicationId": APP_ID,
        "id": job_id,
        "name": name,
        "arn": _arn(job_id),
        "createdBy": "arn:aws:iam::123456789012:user/airflow",
        "createdAt": now,
        "updatedAt": now,
        "executionRole": "arn:aws:iam::123456789012:role/lakehouse-unified-job",
        "state": state,
        "stateDetails": "running",
        "releaseLabel": "emr-7.5.0",
        "type": "SPARK",
    }


# ---- moto server --------------------------------------------------------------------------------


@pytest.fixture
def moto_app(aws_env: str, tmp_path: Path) -> tuple[TopicConfig, Any]:
    client = boto3.client("emr-serverless", region_name=MOTO_REGION)
    app_id = client.create_application(name="lakehouse", releaseLabel="emr-7.5.0", type="SPARK")["applicationId"]
    boto3.client("s3", region_name=MOTO_REGION).create_bucket(Bucket="lake")
    return topic_config(emr_topic_yaml(application_id=app_id), tmp_path), client


def run_trigger(trigger: EmrServerlessStartJobTrigger) -> TriggerEvent:
    async def first() -> TriggerEvent:
        async for event in trigger.run():
            return event
        raise AssertionError("no event")

    return asyncio.run(asyncio.wait_for(first(), timeout=60))


def set_job_state(app_id: str, state: str) -> None:
    from moto.emrserverless.models import emrserverless_backends

    for job_run in emrserverless_backends[MOTO_ACCOUNT][MOTO_REGION].job_runs[app_id]:
        job_run.state = state


def test_moto_job_runs_to_success(moto_app: tuple[TopicConfig, Any]) -> None:
    config, client = moto_app
    op = operator(config)
    with pytest.raises(TaskDeferred) as info:
        op.execute(context())
    trigger = info.value.trigger
    assert isinstance(trigger, EmrServerlessStartJobTrigger)
    event = run_trigger(trigger)
    assert event.payload["status"] == "success"
    assert op.execute_complete(context(), event.payload) == trigger.job_id
    job = client.get_job_run(applicationId=config.emr_serverless.application_id, jobRunId=trigger.job_id)["jobRun"]  # type: ignore[union-attr]
    assert job["name"] == JOB_RUN_NAME
    assert job["jobDriver"]["sparkSubmit"]["entryPoint"] == "s3://artifacts/unified-job/0.1.0/entrypoint.py"


@pytest.mark.parametrize("state", ["FAILED", "CANCELLED"])
def test_moto_failed_job_fails_the_task(moto_app: tuple[TopicConfig, Any], state: str) -> None:
    config, _ = moto_app
    app_id = config.emr_serverless.application_id  # type: ignore[union-attr]
    op = operator(config)
    with pytest.raises(TaskDeferred) as info:
        op.execute(context())
    set_job_state(app_id, state)
    event = run_trigger(info.value.trigger)  # type: ignore[arg-type]
    assert event.payload["status"] in ("failure", "error")  # the provider says "failure" for a failed job
    with pytest.raises(AirflowException, match=f"job run {info.value.trigger.job_id} ended {state}"):  # type: ignore[attr-defined]
        op.execute_complete(context(), event.payload)


@pytest.mark.parametrize("retryable", [False, True])
def test_moto_failed_job_with_a_configuration_error_is_not_retried(
    moto_app: tuple[TopicConfig, Any], retryable: bool
) -> None:
    """FAILED says nothing of why: the job's report decides (exit 2 locally = retryable false)."""
    config, _ = moto_app
    app_id = config.emr_serverless.application_id  # type: ignore[union-attr]
    op = operator(config)
    with pytest.raises(TaskDeferred) as info:
        op.execute(context())
    reason = "topic 'payments': s3://lake/contracts/payments.yaml: semantic layer not written: unknown type 'int32'"
    report = {"topic": "payments", "outcome": "SEMANTIC_FAILED", "reason": reason, "retryable": retryable}
    bucket, key = REPORT_URI.removeprefix("s3://").split("/", 1)
    boto3.client("s3", region_name=MOTO_REGION).put_object(Bucket=bucket, Key=key, Body=json.dumps(report).encode())
    set_job_state(app_id, "FAILED")
    event = run_trigger(info.value.trigger)  # type: ignore[arg-type]
    with pytest.raises(AirflowException, match="ended FAILED") as failed:
        op.execute_complete(context(), event.payload)
    if retryable:
        assert not isinstance(failed.value, AirflowFailException)  # Airflow retries it
    else:
        assert isinstance(failed.value, AirflowFailException)  # no retry
        assert "not retried, configuration error" in str(failed.value) and "unknown type 'int32'" in str(failed.value)


def test_moto_retry_after_lost_worker_starts_no_second_job(moto_app: tuple[TopicConfig, Any]) -> None:
    config, client = moto_app
    app_id = config.emr_serverless.application_id  # type: ignore[union-attr]
    with pytest.raises(TaskDeferred) as first:
        operator(config).execute(context())
    set_job_state(app_id, "RUNNING")  # the worker died; the job goes on
    with pytest.raises(TaskDeferred) as retry:
        operator(config).execute(context())  # try 2: a fresh operator, as after a worker loss
    assert retry.value.trigger.job_id == first.value.trigger.job_id  # type: ignore[attr-defined]
    assert len(client.list_job_runs(applicationId=app_id)["jobRuns"]) == 1


# ---- forget_subject on EMR Serverless: forget_entrypoint.py of the same package ---------------------------------

FORGET_RUN_ID = "manual__2025-04-01T00:00:00+00:00"
FORGET_NAME = f"forget__payments__{FORGET_RUN_ID}"
FORGET_REPORT_URI = "s3://lake/reports/payments/forget/manual__2025-04-01T00_00_00_00_00.json"
FORGET_CONF = {"field": "customer_email", "values_file": "s3://privacy/erasure/req-42.txt"}
FORGET_PARAMS = ("topics", "field", "values_file", "keys_file", "remember_days")
# Written out: the request EMR must receive. The job's Spark parameters and overrides, the forget
# command's entry point and arguments (the subject's file, never its values), its own name and tag.
EXPECTED_FORGET_START_JOB_RUN: dict[str, Any] = {
    **EXPECTED_START_JOB_RUN,
    "jobDriver": {
        "sparkSubmit": {
            "entryPoint": "s3://artifacts/unified-job/0.1.0/forget_entrypoint.py",
            "entryPointArguments": [
                "--topic", "payments",
                "--contracts-dir", "s3://lake/contracts",
                "--expectations-dir", "s3://lake/expectations",
                "--warehouse", "s3://lake/warehouse",
                "--catalog-type", "glue",
                "--request-id", FORGET_NAME,
                "--field", "customer_email",
                "--values-file", "s3://privacy/erasure/req-42.txt",
                "--report", FORGET_REPORT_URI,
                "--catch-up",
            ],
            "sparkSubmitParameters": EXPECTED_START_JOB_RUN["jobDriver"]["sparkSubmit"]["sparkSubmitParameters"],
        }
    },
    "name": FORGET_NAME,
    "tags": {"lakehouse-topic": "payments", "airflow-dag-id": "forget_subject"},
}  # fmt: skip


def forget_context() -> dict[str, Any]:
    ctx = make_context(run_id=FORGET_RUN_ID, run_type="manual")
    ctx["dag_run"].conf = {"topics": ["payments"], **FORGET_CONF}
    ctx["params"] = {"topics": ["payments"], "keys_file": None, "remember_days": 30, **FORGET_CONF}
    return ctx


def forget_operator(config: TopicConfig) -> ForgetSubjectEmrServerlessOperator:
    return ForgetSubjectEmrServerlessOperator(
        task_id="forget_subject", topic_config=config, conf_keys=FORGET_PARAMS, client_request_token="tok-1"
    )


def test_forget_start_job_run_request_is_exact_and_valid_for_the_service_model(
    config: TopicConfig, stubbed: tuple[Any, Stubber, list[str]]
) -> None:
    client, stubber, deleted = stubbed
    expected = EXPECTED_FORGET_START_JOB_RUN
    input_shape = (
        botocore.session.get_session().get_service_model("emr-serverless").operation_model("StartJobRun").input_shape
    )
    report = ParamValidator().validate(expected, input_shape)
    assert not report.has_errors(), report.generate_report()
    assert service_model_errors(expected, input_shape) == []

    stubber.add_response("list_job_runs", {"jobRuns": []}, {"applicationId": APP_ID, "states": list(ACTIVE_JOB_STATES)})
    stubber.add_response("get_application", _application("STARTED"), {"applicationId": APP_ID})
    started = {
        "applicationId": APP_ID,
        "jobRunId": "00forget",
        "arn": _arn("00forget"),
        "ResponseMetadata": {"HTTPStatusCode": 200},
    }
    stubber.add_response("start_job_run", started, expected)
    op = forget_operator(config)
    op.hook.__dict__["conn"] = client
    with pytest.raises(TaskDeferred) as info:
        op.execute(forget_context())
    assert info.value.trigger.job_id == "00forget"  # type: ignore[attr-defined]
    assert info.value.method_name == "execute_complete"
    assert deleted == [FORGET_REPORT_URI]


def _put_report(report: dict[str, Any]) -> None:
    bucket, key = FORGET_REPORT_URI.removeprefix("s3://").split("/", 1)
    boto3.client("s3", region_name=MOTO_REGION).put_object(Bucket=bucket, Key=key, Body=json.dumps(report).encode())


def test_moto_forget_run_returns_the_report(moto_app: tuple[TopicConfig, Any]) -> None:
    config, client = moto_app
    op = forget_operator(config)
    with pytest.raises(TaskDeferred) as info:
        op.execute(forget_context())
    report = {"topic": "payments", "request_id": FORGET_NAME, "complete": True, "reason": None, "keys": ["p3"]}
    _put_report(report)  # what the command writes before its job run ends
    event = run_trigger(info.value.trigger)  # type: ignore[arg-type]
    assert op.execute_complete(forget_context(), event.payload) == report
    job = client.get_job_run(applicationId=config.emr_serverless.application_id, jobRunId=info.value.trigger.job_id)  # type: ignore[union-attr,attr-defined]
    assert job["jobRun"]["name"] == FORGET_NAME
    assert job["jobRun"]["jobDriver"]["sparkSubmit"]["entryPoint"].endswith("/forget_entrypoint.py")


@pytest.mark.parametrize("state", ["SUCCESS", "FAILED"])
def test_moto_forget_not_complete_fails_with_the_reason_and_is_retried(
    moto_app: tuple[TopicConfig, Any], state: str
) -> None:
    config, _ = moto_app
    op = forget_operator(config)
    with pytest.raises(TaskDeferred) as info:
        op.execute(forget_context())
    reason = "raw received a commit during the forget: run the job, then forget again"
    _put_report({"topic": "payments", "request_id": FORGET_NAME, "complete": False, "reason": reason})
    if state != "SUCCESS":
        set_job_state(config.emr_serverless.application_id, state)  # type: ignore[union-attr]
    event = run_trigger(info.value.trigger)  # type: ignore[arg-type]
    with pytest.raises(AirflowException, match="raw received a commit") as failed:
        op.execute_complete(forget_context(), event.payload)
    assert not isinstance(failed.value, AirflowFailException)


def test_moto_forget_without_report_names_where_it_was_expected(moto_app: tuple[TopicConfig, Any]) -> None:
    config, _ = moto_app
    op = forget_operator(config)
    with pytest.raises(TaskDeferred) as info:
        op.execute(forget_context())
    event = run_trigger(info.value.trigger)  # type: ignore[arg-type]
    with pytest.raises(AirflowException, match=f"no report at {re.escape(FORGET_REPORT_URI)}"):
        op.execute_complete(forget_context(), event.payload)


def test_the_emr_package_ships_the_forget_entry_point_the_operator_names(tmp_path: Path, config: TopicConfig) -> None:
    """``forget_entrypoint.py`` next to ``entrypoint.py``; run as EMR runs it (from the zip, outside
    the repository) it reaches the forget command, which refuses an empty request before Spark starts."""
    import subprocess
    import sys
    import zipfile

    from spark_jobs.emr_package import build_emr_package

    entrypoint, archive, _ = build_emr_package(tmp_path / "emr")
    forget = entrypoint.with_name("forget_entrypoint.py")
    assert config.emr_serverless is not None and config.emr_serverless.forget_entry_point.endswith(f"/{forget.name}")
    assert {"spark_jobs/forget/command.py", "spark_jobs/forget_entrypoint.py"} <= set(
        zipfile.ZipFile(archive).namelist()
    )
    done = subprocess.run(
        [sys.executable, str(forget), "--topic", "payments"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(archive)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr[-3000:]
    assert "nothing to forget" in done.stderr


def test_moto_the_mapped_task_builds_the_job_run_for_its_topic_and_resumes_it(
    moto_app: tuple[TopicConfig, Any], tmp_path: Path
) -> None:
    """``forget_emr_serverless`` (mapped over topics) reads the topic file when it runs, starts the
    forget job run and defers; the resumed task (a fresh operator, as after the trigger) finishes it."""
    config, client = moto_app
    mapped = {"topic": "payments", "topics_dir": str(tmp_path / "dags" / "topics"), "conf_keys": FORGET_PARAMS}
    with pytest.raises(TaskDeferred) as info:
        ForgetSubjectOnEmrServerlessOperator(task_id="forget_emr_serverless", **mapped).execute(forget_context())
    assert info.value.method_name == "execute_complete"
    job = client.get_job_run(applicationId=config.emr_serverless.application_id, jobRunId=info.value.trigger.job_id)  # type: ignore[union-attr,attr-defined]
    assert job["jobRun"]["name"] == FORGET_NAME and job["jobRun"]["tags"]["airflow-dag-id"] == "forget_subject"
    report = {"topic": "payments", "request_id": FORGET_NAME, "complete": True, "reason": None, "keys": ["p3"]}
    _put_report(report)
    event = run_trigger(info.value.trigger)  # type: ignore[arg-type]
    resumed = ForgetSubjectOnEmrServerlessOperator(task_id="forget_emr_serverless", **mapped)
    assert resumed.execute_complete(forget_context(), event.payload) == report
