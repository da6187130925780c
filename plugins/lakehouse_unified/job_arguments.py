"""The job's command line and the EMR Serverless request: one builder for both runtimes.

``build_job_arguments`` is the only place that knows the job's CLI
(docs/JOB_INTERFACE.md); ``runtime: local`` prefixes it with ``python -m
spark_jobs.unified_job`` (or ``spark-submit spark_jobs/entrypoint.py``) and
``runtime: emr_serverless`` sends it as ``entryPointArguments``. ``forget_args_for``
does the same for the forget command (``python -m spark_jobs.forget``, or
``forget_entrypoint.py`` on EMR), as the command's own argument type. Pure functions.
"""

from __future__ import annotations

import hashlib
import re
import shlex
from typing import Any

from lakehouse_unified.config import EmrServerlessConfig, TopicConfig
from lakehouse_unified.run_plan import RunPlan
from spark_jobs.config.job_args import JobArgs
from spark_jobs.forget.request import REMEMBER_DAYS, ForgetArgs
from spark_jobs.interface import PII_HASH_KEY_ENV, PII_HASH_KEY_SECRET_ENV, catalog_conf, job_jvm_conf

__all__ = [
    "PII_HASH_KEY_ENV",
    "PII_HASH_KEY_SECRET_ENV",
    "build_job_arguments",
    "forget_args_for",
    "forget_report_uri",
    "forget_request_id",
    "job_run_name",
]

_NAME_MAX = 256  # EMR Serverless StartJobRun.name
_UNSAFE_KEY_CHARS = re.compile(r"[^A-Za-z0-9._=-]+")


def job_run_name(dag_id: str, run_id: str) -> str:
    """Name of the job run: the same for every try of one DAG run.

    Used as the job's ``--run-id`` (stamped on the commits) and as the EMR Serverless
    job name, which is how a retry finds a still-running job of its DAG run.
    """
    name = f"{dag_id}__{run_id}"
    if len(name) <= _NAME_MAX:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:16]
    return f"{name[: _NAME_MAX - 18]}__{digest}"


def run_report_uri(config: TopicConfig, run_id: str) -> str:
    """Where the job writes this DAG run's report (same for every try)."""
    return f"{config.resolve(config.storage.run_reports_dir)}/{config.topic}/{_safe_name(run_id)}.json"


def forget_report_uri(config: TopicConfig, run_id: str) -> str:
    """Where the forget command writes the topic's report of this run of ``forget_subject`` (same for every try).

    A folder of its own next to the job's run reports: whoever lists the job's reports
    (``<topic>/*.json``) never takes a forget report for a job run.
    """
    return f"{config.resolve(config.storage.run_reports_dir)}/{config.topic}/forget/{_safe_name(run_id)}.json"


def forget_request_id(config: TopicConfig, run_id: str) -> str:
    """The forget request of one topic in one run of ``forget_subject``: ``forget__<topic>__<run_id>``.

    The same on every try (the EMR Serverless job run's name: how a retry finds it), and one
    per topic of the run (a run forgets a person in several topics).
    """
    return job_run_name(f"forget__{config.topic}", run_id)


def _safe_name(run_id: str) -> str:
    return _UNSAFE_KEY_CHARS.sub("_", run_id).strip("_") or "run"


def data_docs_site_uri(config: TopicConfig) -> str:
    """The warehouse's GX Data Docs site: next to the run reports (a folder, or S3 on EMR)."""
    return f"{config.resolve(config.storage.run_reports_dir)}/data_docs"


def build_job_arguments(
    config: TopicConfig, plan: RunPlan, *, job_run_id: str, run_report: str, airflow_run_id: str | None = None
) -> list[str]:
    """The job's arguments for this run, identical for ``local`` and ``emr_serverless``."""
    return job_args_for(
        config, plan, job_run_id=job_run_id, run_report=run_report, airflow_run_id=airflow_run_id
    ).to_argv()


def job_args_for(
    config: TopicConfig, plan: RunPlan, *, job_run_id: str, run_report: str, airflow_run_id: str | None = None
) -> JobArgs:
    """The job's own argument type for this run (``spark_jobs.config.job_args``: one definition)."""
    storage, maintenance = config.storage, config.maintenance
    replay = plan.replay_quarantine  # the job takes no range then: it re-reads the quarantined versions
    return JobArgs(
        topic=config.topic,
        contracts_dir=config.resolve(storage.contracts_dir),
        expectations_dir=config.resolve(storage.expectations_dir),
        warehouse=config.resolve(storage.warehouse),
        catalog_type=storage.catalog_type,
        run_id=job_run_id,
        airflow_run_id=airflow_run_id,
        run_report=run_report,
        data_docs_site=data_docs_site_uri(config),
        checkpoint_mode=config.checkpoint_mode,
        max_rows_per_run=config.max_rows_per_run,
        compact_delete_file_threshold=maintenance.delete_file_threshold,
        expire_outputs_after_hours=maintenance.expire_output_snapshots_after_hours,
        expire_raw_after_hours=maintenance.expire_raw_snapshots_after_hours,
        from_snapshot_exclusive=None if replay else plan.from_snapshot_exclusive,
        reprocess_all=plan.reprocess_all and not replay,
        to_snapshot_inclusive=None if replay else plan.to_snapshot_inclusive,
        layers=plan.layers,
        no_checkpoint=plan.no_checkpoint,
        dry_run=plan.dry_run,
        replay_quarantine=replay,
    )


def forget_args_for(
    config: TopicConfig,
    *,
    run_id: str,
    field: str | None = None,
    values_file: str | None = None,
    keys_file: str | None = None,
    remember_days: int = REMEMBER_DAYS,
) -> ForgetArgs:
    """The forget command's arguments for the topic in one run of ``forget_subject`` (``spark_jobs.forget.request``).

    Locations as the job's (``job_args_for``); the subject only through files (clear values
    on a command line would land in the task log); always ``catch_up`` (every layer must have
    consumed raw before the subject is erased); ``request_id`` and ``report`` from the DAG
    run, so every try of a run is the same request.
    """
    storage = config.storage
    return ForgetArgs(
        topic=config.topic,
        field=field,
        values_file=values_file,
        keys_file=keys_file,
        contracts_dir=config.resolve(storage.contracts_dir),
        expectations_dir=config.resolve(storage.expectations_dir),
        warehouse=config.resolve(storage.warehouse),
        catalog_type=storage.catalog_type,
        report=forget_report_uri(config, run_id),
        request_id=forget_request_id(config, run_id),
        remember_days=remember_days,
        catch_up=True,
    )


def spark_submit_parameters(config: TopicConfig, emr: EmrServerlessConfig) -> str:
    """``sparkSubmitParameters``: job code, packed venv, Iceberg jar and catalog confs."""
    venv_python = "./environment/bin/python"
    conf: dict[str, str] = {
        "spark.jars": f"{emr.iceberg_jar},{emr.udf_jar}",
        "spark.archives": f"{emr.venv_archive}#environment",
        "spark.emr-serverless.driverEnv.PYSPARK_DRIVER_PYTHON": venv_python,
        "spark.emr-serverless.driverEnv.PYSPARK_PYTHON": venv_python,
        "spark.executorEnv.PYSPARK_PYTHON": venv_python,
        **job_jvm_conf(),
    }
    conf.update(catalog_conf(config.storage.catalog_type, config.storage.warehouse))
    conf.update(dict(emr.spark_conf))  # the topic's own tuning wins
    parts = ["--py-files", emr.py_files]
    for key, value in conf.items():
        parts += ["--conf", f"{key}={value}"]
    return shlex.join(parts)


def emr_job_driver(config: TopicConfig, arguments: list[str]) -> dict[str, Any]:
    """``jobDriver`` of StartJobRun for the unified job."""
    emr = _emr(config)
    return _spark_submit_driver(config, emr, emr.entry_point, arguments)


def emr_forget_job_driver(config: TopicConfig, arguments: list[str]) -> dict[str, Any]:
    """``jobDriver`` of StartJobRun for the forget command: its entry point, the job's Spark parameters."""
    emr = _emr(config)
    return _spark_submit_driver(config, emr, emr.forget_entry_point, arguments)


def _spark_submit_driver(
    config: TopicConfig, emr: EmrServerlessConfig, entry_point: str, arguments: list[str]
) -> dict[str, Any]:
    return {
        "sparkSubmit": {
            "entryPoint": entry_point,
            "entryPointArguments": list(arguments),
            "sparkSubmitParameters": spark_submit_parameters(config, emr),
        }
    }


def emr_configuration_overrides(config: TopicConfig) -> dict[str, Any] | None:
    """Logs to S3; the PII key's Secrets Manager id for the driver (the job reads the secret)."""
    emr = _emr(config)
    overrides: dict[str, Any] = {}
    if config.pii_hash_key.secret_id:
        overrides["applicationConfiguration"] = [
            {
                "classification": "spark-defaults",
                "properties": {
                    f"spark.emr-serverless.driverEnv.{PII_HASH_KEY_SECRET_ENV}": config.pii_hash_key.secret_id
                },
            }
        ]
    if emr.log_uri:
        overrides["monitoringConfiguration"] = {"s3MonitoringConfiguration": {"logUri": emr.log_uri}}
    return overrides or None


def emr_start_job_config(config: TopicConfig, *, dag_id: str | None = None) -> dict[str, Any]:
    """Extra StartJobRun fields (the operator's ``config``): timeout and tags (the topic's DAG by default)."""
    emr = _emr(config)
    return {
        "executionTimeoutMinutes": emr.execution_timeout_minutes,
        "tags": {"lakehouse-topic": config.topic, "airflow-dag-id": dag_id or config.dag_id},
    }


def _emr(config: TopicConfig) -> EmrServerlessConfig:
    if config.emr_serverless is None:
        raise ValueError(f"{config.source}: topic {config.topic!r} has no 'emr_serverless' section")
    return config.emr_serverless
