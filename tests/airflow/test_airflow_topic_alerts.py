"""The topic notifier: log always; SNS through moto's server; Slack webhook on a local HTTP server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import boto3
import pytest
from airflow_testkit import FakeDagRun, FakeTI
from conftest import MOTO_REGION
from lakehouse_unified.config import AlertConfig
from lakehouse_unified.notifiers.topic_alert import TopicAlertNotifier


def test_log_target_logs_and_callback_names_task_and_reason(capsys: pytest.CaptureFixture[str]) -> None:
    notifier = TopicAlertNotifier(topic="orders", alerts=AlertConfig())
    ti = FakeTI(task_id="publish_outcome")
    notifier.notify({"ti": ti, "dag_run": FakeDagRun(run_id="manual__1"), "exception": ValueError("CURATED_FAILED: x")})
    out = capsys.readouterr().out
    assert "ALERT [lakehouse] topic orders: task publish_outcome failed" in out
    assert "DAG run manual__1" in out and "ValueError: CURATED_FAILED: x" in out


def test_failure_alerts_can_be_switched_off(capsys: pytest.CaptureFixture[str]) -> None:
    TopicAlertNotifier(topic="orders", alerts=AlertConfig(on_failure=False)).notify({"exception": ValueError("x")})
    assert "ALERT" not in capsys.readouterr().out


def test_sns_target_publishes_through_moto(aws_env: str) -> None:
    sns = boto3.client("sns", region_name=MOTO_REGION)
    sqs = boto3.client("sqs", region_name=MOTO_REGION)
    topic_arn = sns.create_topic(Name="lakehouse-alerts")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="alerts")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)

    notifier = TopicAlertNotifier(
        topic="orders", alerts=AlertConfig(target="sns", sns_topic_arn=topic_arn), aws_conn_id=None
    )
    assert notifier.send("topic orders: CURATED_ONLY " + "x" * 200, "semantic stale: cast failed")
    body = json.loads(sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1)["Messages"][0]["Body"])
    assert body["Message"] == "semantic stale: cast failed"
    assert body["Subject"].startswith("[lakehouse] topic orders: CURATED_ONLY") and len(body["Subject"]) == 100


class _Hook(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        _Hook.received.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Hook.received = []
    yield f"http://127.0.0.1:{server.server_address[1]}/services/T000/B000/XXXX"
    server.shutdown()


def test_slack_target_posts_to_the_webhook_of_its_connection(webhook: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_SLACK_ALERTS", json.dumps({"conn_type": "http", "extra": {"webhook_url": webhook}})
    )
    notifier = TopicAlertNotifier(topic="orders", alerts=AlertConfig(target="slack", conn_id="slack_alerts"))
    assert notifier.send("topic orders: no schema registered", "contract missing")
    assert _Hook.received == [{"text": "*[lakehouse] topic orders: no schema registered*\ncontract missing"}]


def test_delivery_failure_is_logged_not_raised(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_DOWN", json.dumps({"conn_type": "http", "host": "not-a-url"}))
    notifier = TopicAlertNotifier(topic="orders", alerts=AlertConfig(target="slack", conn_id="slack_down"))
    assert notifier.send("s", "m") is False
    out = capsys.readouterr().out
    assert "ALERT [lakehouse] s" in out and "could not deliver the alert to slack" in out
