"""``publish_outcome``: read the job's run report and turn its outcome into the run's result."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSkipException

from lakehouse_unified.assets import announcements, layers_alias, table_asset
from lakehouse_unified.config import TopicConfig
from lakehouse_unified.exceptions import RunReportError
from lakehouse_unified.hooks.alert_memory import AlertMemoryHook
from lakehouse_unified.hooks.object_store import ObjectTextHook
from lakehouse_unified.job_arguments import run_report_uri
from lakehouse_unified.notifiers.topic_alert import TopicAlertNotifier
from lakehouse_unified.operators._common import dag_run_id
from lakehouse_unified.outcomes import (
    COUNTS_KEY,
    NO_NEW_DATA_KEY,
    OUTCOME_KEY,
    SCHEMA_PROBLEM_KEY,
    OutcomeDecision,
    decide_outcome,
    lag_alert,
    no_new_data_decision,
    parse_report,
    poison_text,
    without_schema,
)

SEMANTIC_LAG_ALERT = "semantic_lag"


class PublishOutcomeOperator(BaseOperator):
    """Push ``outcome`` and ``counts`` to XCom; FULL_SUCCESS succeeds, CURATED_ONLY succeeds and
    alerts, NO_NEW_DATA is skipped, CURATED_FAILED / SEMANTIC_FAILED / FAILED_BEFORE_WRITE fail
    with the report's reason.

    Runs whatever happened before it (trigger rule ``all_done``): after the job, failed
    or not, so a failed job is reported with the reason from its report; and after a
    NO_NEW_DATA ending of ``wait_for_new_snapshot`` (no job ran), so that run has its
    outcome in XCom too. When the job was not started for another reason (an upstream
    task failed) there is no outcome to publish and the task is skipped. A run without a
    usable schema wrote curated only: its FULL_SUCCESS is published as CURATED_ONLY.
    """

    ui_color = "#e0e0ff"

    def __init__(
        self,
        *,
        topic_config: TopicConfig,
        run_task_id: str = "run_unified_job",
        wait_task_id: str = "wait_for_new_snapshot",
        schema_task_id: str = "check_schema_exists",
        plan_task_id: str = "get_checkpoint",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.topic_config = topic_config
        self.run_task_id = run_task_id
        self.wait_task_id = wait_task_id
        self.schema_task_id = schema_task_id
        self.plan_task_id = plan_task_id

    @cached_property
    def hook(self) -> ObjectTextHook:
        return ObjectTextHook(aws_conn_id=self.topic_config.aws.conn_id, region_name=self.topic_config.aws.region_name)

    @cached_property
    def notifier(self) -> TopicAlertNotifier:
        return TopicAlertNotifier(
            topic=self.topic_config.topic, alerts=self.topic_config.alerts, aws_conn_id=self.topic_config.aws.conn_id
        )

    def execute(self, context: Any) -> str:
        topic = self.topic_config.topic
        ti = context["ti"]
        no_new_data = ti.xcom_pull(task_ids=self.wait_task_id, key=NO_NEW_DATA_KEY)
        if no_new_data:
            plan = ti.xcom_pull(task_ids=self.plan_task_id)
            return self._publish(ti, no_new_data_decision(topic, str(no_new_data), plan))
        if ti.xcom_pull(task_ids=self.wait_task_id) is None:  # no pinned plan: the job was never started
            raise AirflowSkipException(
                f"topic {topic!r}: the job was not started (a task before {self.wait_task_id} or it failed; "
                "see their logs): no outcome to publish"
            )
        uri = run_report_uri(self.topic_config, dag_run_id(context))
        run_result = ti.xcom_pull(task_ids=self.run_task_id)
        text = self.hook.read_text(uri)
        if text is None:
            raise AirflowException(
                f"topic {topic!r}: no run report at {uri}: the job ended before writing it "
                f"(see the log of {self.run_task_id})"
            )
        try:
            report = parse_report(text, uri)
        except RunReportError as exc:
            raise AirflowFailException(f"topic {topic!r}: {exc}") from exc
        decision = decide_outcome(report)
        problem = ti.xcom_pull(task_ids=self.schema_task_id, key=SCHEMA_PROBLEM_KEY)
        if problem:
            decision = without_schema(decision, str(problem))
        if run_result is None and decision.action != "fail":
            raise AirflowFailException(
                f"topic {topic!r}: {self.run_task_id} did not succeed although {uri} says "
                f"{decision.outcome}; see the log of {self.run_task_id}"
            )
        self._alert_drift_and_lag(decision)
        self._announce(context, report, decision)
        return self._publish(ti, decision)

    def _announce(self, context: Any, report: dict[str, Any], decision: OutcomeDecision) -> None:
        """An asset event per table that advanced (``assets.announcements``), through the
        topic's alias: a DAG scheduled on a layer starts when that layer moved, not before."""
        alias = layers_alias(self.topic_config)
        for announcement in announcements(report, decision.outcome):
            asset = table_asset(self.topic_config, announcement.role)
            context["outlet_events"][alias].add(asset, extra=announcement.extra)
            self.log.info("asset event: %s %s", asset.name, announcement.extra)

    def _alert_drift_and_lag(self, decision: OutcomeDecision) -> None:
        """Drift: the job reports a change once (its drift history), so each is alerted once.
        Lag: once per episode, remembered like no_schema's."""
        topic, alerts, counts = self.topic_config.topic, self.topic_config.alerts, decision.counts
        if alerts.on_drift and counts.get("drift_alerts"):
            lines = [f"topic {topic}: schema drift in raw snapshots up to {counts.get('to_snapshot_inclusive')}:"]
            lines += [f"- {text}" for text in counts["drift_alerts"]]
            if counts.get("data_docs_url"):
                lines.append(f"validation page: {counts['data_docs_url']}")
            self.notifier.send(f"topic {topic}: schema drift", "\n".join(lines))
        if counts.get("poison_events"):  # a run reads an event once, so this is said once
            self.notifier.send(f"topic {topic}: poison events quarantined", poison_text(topic, counts))
        text = lag_alert(counts, alerts.semantic_lag_hours)
        # One episode = semantic stuck at one checkpoint: once it moves, a new lag alerts again.
        stuck_at = str(counts.get("semantic_checkpoint_after"))
        if text is not None and AlertMemoryHook(SEMANTIC_LAG_ALERT, topic).first_time(stuck_at):
            page = f"; last validation page: {counts['data_docs_url']}" if counts.get("data_docs_url") else ""
            self.notifier.send(f"topic {topic}: semantic lag", f"topic {topic}: {text}{page}")

    def _publish(self, ti: Any, decision: OutcomeDecision) -> str:
        topic = self.topic_config.topic
        ti.xcom_push(key=OUTCOME_KEY, value=decision.outcome)
        ti.xcom_push(key=COUNTS_KEY, value=decision.counts)
        self.log.info("%s", decision.message)
        self.log.info("counts: %s", decision.counts)
        if decision.action == "fail":
            raise AirflowFailException(decision.message)
        if decision.action == "skip":
            raise AirflowSkipException(decision.message)
        if decision.action == "succeed_and_alert" and self.topic_config.alerts.on_curated_only:
            self.notifier.send(f"topic {topic}: {decision.outcome}", decision.message)
        return decision.outcome
