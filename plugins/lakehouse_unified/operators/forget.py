"""``forget_subject`` on the Airflow worker (``runtime: local``): ``python -m spark_jobs.forget``."""

from __future__ import annotations

from collections.abc import Collection
from functools import cached_property
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from lakehouse_unified.config import TopicConfig
from lakehouse_unified.hooks.object_store import ObjectTextHook
from lakehouse_unified.hooks.unified_job import EXIT_OK, EXIT_USAGE, FORGET_MODULE, LocalUnifiedJobHook
from lakehouse_unified.operators._common import forget_request, read_forget_report


class ForgetSubjectOperator(BaseOperator):
    """Forget a data subject in the topic's tables: the forget command as a subprocess, log streamed.

    Returns the command's report (XCom ``return_value``: counts and keys removed per table,
    never a clear value). Exit 0 with a complete report succeeds; exit 1 (not complete, e.g.
    a job run of the topic committed meanwhile) fails with the report's reason and is
    retried; exit 2 (usage/configuration) fails without retries; no report fails naming
    where it was expected.

    :param topic_config: the topic (locations, local runtime, PII key source).
    :param conf_keys: the DAG's params: any other key in a run's conf refuses the run.
    """

    ui_color = "#e8d9ff"

    def __init__(self, *, topic_config: TopicConfig, conf_keys: Collection[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.topic_config = topic_config
        self.conf_keys = tuple(conf_keys)

    @cached_property
    def hook(self) -> LocalUnifiedJobHook:
        return LocalUnifiedJobHook(
            runtime=self.topic_config.local,
            project_dir=self.topic_config.project_dir(),
            pii_hash_key=self.topic_config.pii_hash_key,
            module=FORGET_MODULE,
        )

    @cached_property
    def reports(self) -> ObjectTextHook:
        return ObjectTextHook(aws_conn_id=self.topic_config.aws.conn_id, region_name=self.topic_config.aws.region_name)

    def execute(self, context: Any) -> dict[str, Any]:
        request = forget_request(self.topic_config, context, self.conf_keys)
        topic = self.topic_config.topic
        self.log.info("topic %s: forget request %s, report %s", topic, request.name, request.report)
        self.reports.delete(request.report)  # a previous try's report must not be read as this one's
        result = self.hook.run_job(request.args.to_argv())
        if result.exit_code == EXIT_USAGE:
            raise AirflowFailException(
                f"topic {topic!r}: forget command exited with {EXIT_USAGE} (usage or configuration error, "
                f"not retried): {result.output}"
            )
        report = read_forget_report(self.reports, request.report)
        if result.exit_code == EXIT_OK and report["complete"]:
            return report
        raise AirflowException(
            f"topic {topic!r}: forget command exited with {result.exit_code}, not complete: "
            f"{report.get('reason') or 'no reason given'} (report {request.report})"
        )

    def on_kill(self) -> None:
        self.hook.send_sigterm()
