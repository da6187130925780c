"""``run_unified_job`` and the forget command on EMR Serverless (``runtime: emr_serverless``).

The Amazon provider's ``EmrServerlessStartJobOperator`` (deferrable, waits for
completion), with the job driver built from the topic config at run time and one
addition: before starting, look for a job run *of the same DAG run* that is still
going (same name, non-terminal state) and re-attach to it. A retry after a lost worker
then waits for the job already running instead of starting a second one that would
race it on the same tables. ``TopicJobEmrServerlessOperator`` is that; its two
subclasses say which job run (the unified job's entry point, or the forget command's)
and what its report means.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from typing import Any, NoReturn, cast

from airflow.providers.amazon.aws.operators.emr import EmrServerlessStartJobOperator
from airflow.providers.amazon.aws.triggers.emr import EmrServerlessStartJobTrigger
from airflow.providers.amazon.aws.utils.waiter_with_logging import wait
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from lakehouse_unified.config import FORGET_DAG_ID, TopicConfig
from lakehouse_unified.hooks.emr_serverless import UnifiedJobEmrServerlessHook
from lakehouse_unified.hooks.object_store import ObjectTextHook
from lakehouse_unified.job_arguments import (
    emr_configuration_overrides,
    emr_forget_job_driver,
    emr_job_driver,
    emr_start_job_config,
)
from lakehouse_unified.links import DataDocsLink
from lakehouse_unified.operators._common import (
    forget_request,
    job_request,
    push_data_docs_link,
    read_forget_report,
    read_run_report,
)
from lakehouse_unified.operators._lineage import RunReportLineageMixin


@dataclass(frozen=True)
class EmrJobRun:
    """What a task starts on EMR Serverless: the same on every try of a DAG run."""

    name: str
    """The job run's name, derived from the DAG run: how a retry finds a job still running."""
    report: str
    """Where the job writes its report (deleted before a start: a stale one is not this run's)."""
    job_driver: dict[str, Any]
    description: str


class TopicJobEmrServerlessOperator(EmrServerlessStartJobOperator):
    """Start (or re-attach to) a job run of the topic on its EMR Serverless application and wait.

    Subclasses build the job run (:meth:`job_run`) and read its report in ``execute_complete``.

    :param topic_config: the topic; its ``emr_serverless`` section names the application,
        role and code location.
    :param dag_id_tag: the job run's ``airflow-dag-id`` tag (default: ``unified__<topic>``).
    """

    aws_hook_class = UnifiedJobEmrServerlessHook

    def __init__(
        self,
        *,
        topic_config: TopicConfig,
        dag_id_tag: str | None = None,
        deferrable: bool = True,
        **kwargs: Any,
    ) -> None:
        emr = topic_config.emr_serverless
        if emr is None:
            raise ValueError(f"{topic_config.source}: runtime 'emr_serverless' needs an 'emr_serverless' section")
        kwargs.setdefault("aws_conn_id", topic_config.aws.conn_id)
        kwargs.setdefault("region_name", topic_config.aws.region_name)
        super().__init__(
            application_id=emr.application_id,
            execution_role_arn=emr.execution_role_arn,
            job_driver={},  # built in execute(): it depends on the DAG run
            configuration_overrides=emr_configuration_overrides(topic_config),
            config=emr_start_job_config(topic_config, dag_id=dag_id_tag),
            wait_for_completion=True,
            deferrable=deferrable,
            waiter_delay=emr.waiter_delay_seconds,
            waiter_max_attempts=math.ceil(emr.execution_timeout_minutes * 60 / emr.waiter_delay_seconds) + 1,
            **kwargs,
        )
        self.topic_config = topic_config

    @cached_property
    def reports(self) -> ObjectTextHook:
        return ObjectTextHook(aws_conn_id=self.aws_conn_id, region_name=self.region_name)

    def job_run(self, context: Any) -> EmrJobRun:
        """This DAG run's job run (identical on every try)."""
        raise NotImplementedError

    def prepare(self, context: Any) -> EmrJobRun:
        """Fill name and job driver for this DAG run."""
        run = self.job_run(context)
        self.name = run.name
        self.job_driver = run.job_driver
        return run

    def execute(self, context: Any, event: dict[str, Any] | None = None) -> Any:
        run = self.prepare(context)
        hook = cast(UnifiedJobEmrServerlessHook, self.hook)
        running = hook.find_active_job_run(self.application_id, run.name)
        if running is not None:
            self.log.info(
                "topic %s: job run %s (%s) of this DAG run is still active: re-attaching instead of starting another",
                self.topic_config.topic,
                running,
                run.name,
            )
            self.job_id = running
            self.persist_links(context)
            return self.wait_for_job(running)
        self.log.info("topic %s: %s", self.topic_config.topic, run.description)
        self.reports.delete(run.report)  # a previous try's report must not be read as this one's
        return super().execute(context, event)

    def wait_for_job(self, job_id: str) -> str:
        """Wait for an already started job run, like the provider does after starting one."""
        if self.deferrable:
            self.defer(
                trigger=EmrServerlessStartJobTrigger(
                    application_id=self.application_id,
                    job_id=job_id,
                    waiter_delay=self.waiter_delay,
                    waiter_max_attempts=self.waiter_max_attempts,
                    aws_conn_id=self.aws_conn_id,
                    region_name=self.region_name,
                    verify=self.verify,
                    botocore_config=self.botocore_config,
                    cancel_on_kill=self.cancel_on_kill,
                ),
                method_name="execute_complete",
                timeout=timedelta(seconds=self.waiter_max_attempts * self.waiter_delay),
            )
        wait(
            waiter=self.hook.get_waiter("serverless_job_completed"),
            waiter_max_attempts=self.waiter_max_attempts,
            waiter_delay=self.waiter_delay,
            args={"applicationId": self.application_id, "jobRunId": job_id},
            failure_message="Serverless Job failed",
            status_message="Serverless Job status is",
            status_args=["jobRun.state", "jobRun.stateDetails"],
        )
        return job_id

    def fail_job_run(
        self, event: dict[str, Any] | None, *, note: str = "", not_retried_reason: str | None = None
    ) -> NoReturn:
        """Fail the task with the job run's state and details (FAILED, CANCELLED, or a wait
        timeout, which cancels the job run) and ``note``; without retries when ``not_retried_reason``."""
        details = (event or {}).get("job_details") or {}
        job_id = details.get("job_id") or self.job_id
        hook = cast(UnifiedJobEmrServerlessHook, self.hook)
        try:
            state, state_details = hook.job_run_state(self.application_id, str(job_id))
        except Exception as exc:
            state, state_details = "UNKNOWN", f"{type(exc).__name__}: {exc}"
        if state not in hook.JOB_TERMINAL_STATES:  # the wait timed out: do not leave it running
            self.log.info("Cancelling EMR Serverless job run %s (state %s)", job_id, state)
            hook.conn.cancel_job_run(applicationId=self.application_id, jobRunId=job_id)
        message = (
            f"topic {self.topic_config.topic!r}: EMR Serverless job run {job_id} ended {state}"
            + (f": {state_details}" if state_details else "")
            + f" ({(event or {}).get('message', 'no message')})"
            + note
        )
        if not_retried_reason is not None:
            raise AirflowFailException(f"{message}; not retried, configuration error: {not_retried_reason}")
        raise AirflowException(message)


class UnifiedJobEmrServerlessOperator(RunReportLineageMixin, TopicJobEmrServerlessOperator):
    """``run_unified_job``: the topic's unified job; returns the job run id.

    :param plan_task_id: task whose XCom holds the pinned run plan.
    """

    # the provider types its tuple as exactly its four links
    operator_extra_links = (*EmrServerlessStartJobOperator.operator_extra_links, DataDocsLink())  # type: ignore[assignment]

    def __init__(
        self, *, topic_config: TopicConfig, plan_task_id: str = "wait_for_new_snapshot", **kwargs: Any
    ) -> None:
        super().__init__(topic_config=topic_config, **kwargs)
        self.plan_task_id = plan_task_id

    def job_run(self, context: Any) -> EmrJobRun:
        request = job_request(self.topic_config, context, self.plan_task_id)
        return EmrJobRun(
            name=request.job_run_name,
            report=request.run_report,
            job_driver=emr_job_driver(self.topic_config, request.arguments),
            description=request.plan.describe(),
        )

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> Any:
        """Success: the job run id. Failure (FAILED, CANCELLED, timeout): fail with its state and details."""
        report = read_run_report(self.reports, job_request(self.topic_config, context, self.plan_task_id).run_report)
        push_data_docs_link(context, self.topic_config, report)
        if event and event.get("status") == "success":
            return super().execute_complete(context, event)
        # FAILED does not say why; the job's report does. A configuration error (the job's
        # exit 2 locally) would fail every retry the same way: fail now, without retries.
        self.fail_job_run(
            event, note="; publish_outcome reports the job's reason", not_retried_reason=_configuration_error(report)
        )


class ForgetSubjectEmrServerlessOperator(TopicJobEmrServerlessOperator):
    """The forget command of one topic on EMR Serverless: ``forget_entrypoint.py`` of the job's
    package, with the job's Spark parameters; returns the forget report (as ``ForgetSubjectOperator`` does).

    Built at run time by ``forget_emr_serverless`` (``ForgetSubjectOnEmrServerlessOperator``, the
    mapped task of ``forget_subject``) for the topic it maps to: the DAG's parsing never imports
    this module. The job run ending SUCCESS with a complete report succeeds; any other ending
    fails with the report's reason when there is one, and is retried (EMR does not tell exit 1 from 2).

    :param conf_keys: the DAG's params: any other key in a run's conf refuses the run.
    """

    def __init__(self, *, topic_config: TopicConfig, conf_keys: Collection[str], **kwargs: Any) -> None:
        super().__init__(topic_config=topic_config, dag_id_tag=FORGET_DAG_ID, **kwargs)
        self.conf_keys = tuple(conf_keys)

    def job_run(self, context: Any) -> EmrJobRun:
        request = forget_request(self.topic_config, context, self.conf_keys)
        return EmrJobRun(
            name=request.name,
            report=request.report,
            job_driver=emr_forget_job_driver(self.topic_config, request.args.to_argv()),
            description=f"forget request {request.name}, report {request.report}",
        )

    def execute(self, context: Any, event: dict[str, Any] | None = None) -> Any:
        job_id = super().execute(context, event)  # defers; returns only when not deferrable
        return self.execute_complete(context, {"status": "success", "job_details": {"job_id": job_id}})

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> Any:
        report_uri = forget_request(self.topic_config, context, self.conf_keys).report
        if event and event.get("status") == "success":
            report = read_forget_report(self.reports, report_uri)
            if report["complete"]:
                return report
            raise AirflowException(
                f"topic {self.topic_config.topic!r}: forget not complete: "
                f"{report.get('reason') or 'no reason given'} (report {report_uri})"
            )
        try:
            reason = read_forget_report(self.reports, report_uri).get("reason")
        except AirflowException as exc:  # the command did not get to write it
            reason = str(exc)
        self.fail_job_run(event, note=f"; forget: {reason or 'no reason given'} (report {report_uri})")


def _configuration_error(report: dict[str, Any] | None) -> str | None:
    """The report's reason when it says the run cannot succeed on a retry (no report: keep the retries)."""
    if report is None or report.get("retryable", True):
        return None
    return str(report.get("reason") or "see the run report")
