"""``run_unified_job`` on the Airflow worker (``runtime: local``)."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from lakehouse_unified.config import TopicConfig
from lakehouse_unified.hooks.object_store import ObjectTextHook
from lakehouse_unified.hooks.unified_job import EXIT_OK, EXIT_USAGE, LocalUnifiedJobHook
from lakehouse_unified.links import DataDocsLink
from lakehouse_unified.operators._common import job_request, push_data_docs_link, read_run_report
from lakehouse_unified.operators._lineage import RunReportLineageMixin


class UnifiedJobLocalOperator(RunReportLineageMixin, BaseOperator):
    """Run the topic's unified job as a subprocess, streaming its log; returns the run report's path.

    Exit 0 succeeds (the outcome is read by ``publish_outcome``), exit 1 fails with the
    report's reason (retried: the job is idempotent and its checkpoints did not move),
    exit 2 (usage/configuration) fails without retries.
    """

    ui_color = "#ffd9d9"
    operator_extra_links = (DataDocsLink(),)

    def __init__(
        self, *, topic_config: TopicConfig, plan_task_id: str = "wait_for_new_snapshot", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.topic_config = topic_config
        self.plan_task_id = plan_task_id

    @cached_property
    def hook(self) -> LocalUnifiedJobHook:
        return LocalUnifiedJobHook(
            runtime=self.topic_config.local,
            project_dir=self.topic_config.project_dir(),
            pii_hash_key=self.topic_config.pii_hash_key,
        )

    @cached_property
    def reports(self) -> ObjectTextHook:
        return ObjectTextHook(aws_conn_id=self.topic_config.aws.conn_id, region_name=self.topic_config.aws.region_name)

    def execute(self, context: Any) -> str:
        request = job_request(self.topic_config, context, self.plan_task_id)
        self.log.info("topic %s: %s", self.topic_config.topic, request.plan.describe())
        self.reports.delete(request.run_report)  # a previous try's report must not be read as this one's
        result = self.hook.run_job(request.arguments)
        report = read_run_report(self.reports, request.run_report)
        push_data_docs_link(context, self.topic_config, report)
        if result.exit_code == EXIT_OK:
            return request.run_report
        reason = (f"{report.get('outcome')}: {report.get('reason')}" if report is not None else None) or result.output
        message = f"topic {self.topic_config.topic!r}: unified job exited with {result.exit_code}: {reason}"
        if result.exit_code == EXIT_USAGE:
            raise AirflowFailException(message)
        raise AirflowException(message)

    def on_kill(self) -> None:
        self.hook.send_sigterm()
