"""Alerts of a topic's DAG: always to the task log, and to SNS, Slack or email if configured.

Used as the DAG's task failure callback (``on_failure_callback``) and called directly by
``publish_outcome`` (CURATED_ONLY) and ``no_schema``. A delivery failure is logged, never
raised: an unreachable Slack must not turn a successful curated write into a failed run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airflow.sdk import BaseNotifier

from lakehouse_unified.config import AlertConfig, load_topic_config
from lakehouse_unified.exceptions import TopicConfigError

SNS_SUBJECT_MAX = 100


class TopicAlertNotifier(BaseNotifier):
    """Send one alert for ``topic`` to the configured target (``log``, ``sns``, ``slack``, ``email``).

    :param topic: topic name, part of every subject.
    :param alerts: the topic's ``alerts`` section (target, connection, addresses).
    :param aws_conn_id: AWS connection for SNS when ``alerts.conn_id`` is not set.
    """

    template_fields = ()  # nothing rendered: the instance is shared by the DAG's tasks

    def __init__(self, *, topic: str, alerts: AlertConfig, aws_conn_id: str | None = None) -> None:
        super().__init__()
        self.topic = topic
        self.alerts = alerts
        self.aws_conn_id = aws_conn_id

    def notify(self, context: Any) -> None:
        """Task failure callback: subject and message from the failed task and its exception."""
        if not self.alerts.on_failure:
            return
        ti = context.get("ti") or context.get("task_instance")
        task_id = getattr(ti, "task_id", "?")
        run_id = getattr(context.get("dag_run"), "run_id", None) or getattr(ti, "run_id", "?")
        exception = context.get("exception")
        reason = f"{type(exception).__name__}: {exception}" if exception is not None else context.get("reason")
        self.send(
            f"topic {self.topic}: task {task_id} failed",
            f"DAG run {run_id}: task {task_id} failed after its retries.\nReason: {reason or 'see the task log'}",
        )

    def send(self, subject: str, message: str) -> bool:
        """Log the alert and deliver it; False if delivery failed (the failure is logged)."""
        subject = f"[lakehouse] {subject}"
        self.log.warning("ALERT %s\n%s", subject, message)
        target = self.alerts.target
        try:
            if target == "sns":
                self._send_sns(subject, message)
            elif target == "slack":
                self._send_slack(subject, message)
            elif target == "email":
                self._send_email(subject, message)
        except Exception:
            self.log.exception("could not deliver the alert to %s (it is in the log above)", target)
            return False
        return True

    def _send_sns(self, subject: str, message: str) -> None:
        from airflow.providers.amazon.aws.hooks.sns import SnsHook

        if not self.alerts.sns_topic_arn:
            raise ValueError("alerts.sns_topic_arn is not set")
        region = self.alerts.sns_topic_arn.split(":")[3]
        hook = SnsHook(aws_conn_id=self.alerts.conn_id or self.aws_conn_id, region_name=region)
        # SNS subjects: ASCII, one line, at most 100 characters.
        clean = subject.encode("ascii", "replace").decode().replace("\n", " ")[:SNS_SUBJECT_MAX]
        hook.publish_to_target(target_arn=self.alerts.sns_topic_arn, message=message, subject=clean)

    def _send_slack(self, subject: str, message: str) -> None:
        import requests

        if not self.alerts.conn_id:
            raise ValueError("alerts.conn_id (the Slack webhook connection) is not set")
        conn = self.get_connection(self.alerts.conn_id)
        url = conn.extra_dejson.get("webhook_url") or conn.password or conn.host
        if not url or not str(url).startswith(("https://", "http://")):
            raise ValueError(
                f"connection {self.alerts.conn_id!r} must hold the Slack webhook URL in its password, "
                "host or extra 'webhook_url'"
            )
        response = requests.post(str(url), json={"text": f"*{subject}*\n{message}"}, timeout=10)
        response.raise_for_status()

    def _send_email(self, subject: str, message: str) -> None:
        from html import escape

        from airflow.providers.smtp.hooks.smtp import SmtpHook

        with SmtpHook(smtp_conn_id=self.alerts.conn_id or "smtp_default") as smtp:
            smtp.send_email_smtp(
                to=list(self.alerts.email_to),
                subject=subject,
                html_content=f"<pre>{escape(message)}</pre>",
            )

    @staticmethod
    def get_connection(conn_id: str) -> Any:
        from airflow.sdk import BaseHook

        return BaseHook.get_connection(conn_id)


class TaskTopicAlertNotifier(BaseNotifier):
    """Failure callback of a task mapped over topics (``forget_subject``'s): alerts the topic of
    the failed task instance (its ``topic``), with that topic's ``alerts``, read when it fails.

    :param topics_dir: the folder of the topic files (``dags/topics``).
    """

    template_fields = ()

    def __init__(self, *, topics_dir: str) -> None:
        super().__init__()
        self.topics_dir = topics_dir

    def notify(self, context: Any) -> None:
        topic = getattr(context.get("task"), "topic", None)
        if not isinstance(topic, str):
            self.log.warning("no alert: the failed task names no topic")
            return
        try:
            config = load_topic_config(Path(self.topics_dir) / f"{topic}.yaml")
        except TopicConfigError as exc:
            self.log.warning("no alert for topic %s: %s", topic, exc)
            return
        TopicAlertNotifier(topic=topic, alerts=config.alerts, aws_conn_id=config.aws.conn_id).notify(context)
