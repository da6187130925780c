"""What every task of a topic's DAG derives the same way from the topic config and the run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lakehouse_unified.config import TopicConfig
from lakehouse_unified.job_arguments import build_job_arguments, job_run_name, run_report_uri
from lakehouse_unified.run_plan import RunPlan


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
