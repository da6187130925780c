"""What every task of a topic's DAG derives the same way from the topic config and the run."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from lakehouse_unified.config import TopicConfig
from lakehouse_unified.hooks.object_store import ObjectTextHook
from lakehouse_unified.job_arguments import build_job_arguments, job_run_name, run_report_uri
from lakehouse_unified.links import DATA_DOCS_URL_KEY, browser_url
from lakehouse_unified.outcomes import parse_report
from lakehouse_unified.run_plan import RunPlan

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
