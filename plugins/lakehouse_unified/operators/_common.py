"""What every task of a topic's DAG derives the same way from the topic config and the run."""

from __future__ import annotations

import json
import logging
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from airflow.sdk.exceptions import AirflowException, AirflowFailException

from lakehouse_unified.config import FORGET_DAG_ID, TopicConfig
from lakehouse_unified.exceptions import RunReportError
from lakehouse_unified.hooks.object_store import ObjectTextHook
from lakehouse_unified.job_arguments import (
    build_job_arguments,
    forget_args_for,
    forget_report_uri,
    job_run_name,
    run_report_uri,
)
from lakehouse_unified.links import DATA_DOCS_URL_KEY, browser_url
from lakehouse_unified.outcomes import parse_report
from lakehouse_unified.run_plan import RunPlan
from spark_jobs.forget.request import REMEMBER_DAYS, ForgetArgs, request_problem

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobRequest:
    """One run of the job: the same for every try of a DAG run, whatever the runtime."""

    plan: RunPlan
    job_run_name: str
    run_report: str
    arguments: list[str]


def dag_run_id(context: Any) -> str:
    return str(context["dag_run"].run_id)


def job_request(config: TopicConfig, context: Any, plan_task_id: str) -> JobRequest:
    """Plan (XCom of ``plan_task_id``) + run identity -> the job's arguments and report location."""
    plan = RunPlan.from_xcom(context["ti"].xcom_pull(task_ids=plan_task_id))
    run_id = dag_run_id(context)
    name = job_run_name(config.dag_id, run_id)
    report = run_report_uri(config, run_id)
    return JobRequest(
        plan=plan,
        job_run_name=name,
        run_report=report,
        arguments=build_job_arguments(config, plan, job_run_id=name, run_report=report, airflow_run_id=run_id),
    )


def read_run_report(reports: ObjectTextHook, uri: str) -> dict[str, Any] | None:
    """The run's report as the job wrote it; None when missing or unreadable (logged:
    ``publish_outcome`` fails the run with the reason)."""
    try:
        text = reports.read_text(uri)
        return parse_report(text, uri) if text is not None else None
    except Exception as exc:  # a convenience read of the job task: never its outcome
        log.warning("cannot read run report %s: %s", uri, exc)
        return None


def push_data_docs_link(context: Any, config: TopicConfig, report: dict[str, Any] | None) -> None:
    """The run's validation page, for the job task's Data Docs link (when the report names one)."""
    if report is not None and report.get("data_docs"):
        from airflow.providers.common.compat.sdk import conf

        url = browser_url(config, str(report["data_docs"]), conf.get("api", "base_url", fallback="") or "")
        context["ti"].xcom_push(key=DATA_DOCS_URL_KEY, value=url)


@dataclass(frozen=True)
class ForgetRequest:
    """The forget command for one topic of a ``forget_subject`` run: the same for every try."""

    args: ForgetArgs
    report: str

    @property
    def name(self) -> str:
        """The request id: also the EMR Serverless job run's name (how a retry finds it)."""
        return self.args.request_id


def check_conf_keys(context: Any, conf_keys: Collection[str]) -> None:
    """Refuse (no retries) a run whose conf has keys that are not the DAG's params.

    A clear value there is already stored in Airflow's DB: the message names the keys, never
    their values, and says how to remove it.
    """
    conf = getattr(context["dag_run"], "conf", None) or {}
    undeclared = sorted(str(key) for key in set(conf) - set(conf_keys))
    if undeclared:
        raise AirflowFailException(
            f"{FORGET_DAG_ID}: the run's conf has keys that are not params of this DAG: {undeclared} (allowed: "
            f"{sorted(conf_keys)}). Nothing was forgotten. A clear value must never be in a run's conf: "
            "it is stored in Airflow's metadata DB; delete this DAG run, put the values in a file and "
            "trigger again with values_file"
        )


def forget_request(config: TopicConfig, context: Any, conf_keys: Collection[str]) -> ForgetRequest:
    """The forget command's arguments for ``config``'s topic in this run of ``forget_subject`` (the same on
    every try).

    Refused without retries (before any Spark starts) when the run cannot be right: conf keys
    other than the DAG's params (:func:`check_conf_keys`), a request ``request_problem``
    rejects, or, on EMR Serverless, a file the job cannot read.
    """
    check_conf_keys(context, conf_keys)
    params = context["params"]
    remember_days = params.get("remember_days")
    run_id = dag_run_id(context)
    args = forget_args_for(
        config,
        run_id=run_id,
        field=params.get("field") or None,
        values_file=params.get("values_file") or None,
        keys_file=params.get("keys_file") or None,
        remember_days=REMEMBER_DAYS if remember_days is None else int(remember_days),
    )
    problem = request_problem(args) or _file_location_problem(config, args)
    if problem:
        raise AirflowFailException(
            f"{FORGET_DAG_ID}, topic {config.topic!r}: cannot forget: {problem} "
            "(params: field + values_file, and/or keys_file)"
        )
    return ForgetRequest(args=args, report=forget_report_uri(config, run_id))


def _file_location_problem(config: TopicConfig, args: ForgetArgs) -> str | None:
    if config.runtime != "emr_serverless":
        return None
    local = [uri for uri in (args.values_file, args.keys_file) if uri and not uri.startswith("s3://")]
    if local:
        return f"runtime emr_serverless reads the subject's files from S3, got {local}: upload them to s3://"
    return None


def read_forget_report(reports: ObjectTextHook, uri: str) -> dict[str, Any]:
    """The forget command's report; :class:`AirflowException` (retried) naming ``uri`` when it is
    missing or not a report (the command did not get to write it)."""
    try:
        text = reports.read_text(uri)
    except Exception as exc:
        raise AirflowException(f"cannot read the forget report {uri}: {type(exc).__name__}: {exc}") from exc
    if text is None:
        raise AirflowException(f"the forget command wrote no report at {uri}")
    try:
        return parse_forget_report(text, uri)
    except RunReportError as exc:
        raise AirflowException(str(exc)) from exc


def parse_forget_report(text: str, source: str) -> dict[str, Any]:
    """A forget report: a JSON object with a boolean ``complete``; :class:`RunReportError` names the file."""
    try:
        report = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RunReportError(f"{source}: forget report is not valid JSON: {exc}") from exc
    if not isinstance(report, dict) or not isinstance(report.get("complete"), bool):
        raise RunReportError(f"{source}: a forget report must be a JSON object with a boolean 'complete'")
    return report
