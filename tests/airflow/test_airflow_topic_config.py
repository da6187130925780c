"""Topic configuration: defaults, validation errors that name file, field and value."""

from __future__ import annotations

from pathlib import Path

import pytest
from airflow_testkit import emr_topic_yaml, local_topic_yaml, topic_config
from lakehouse_unified.config import load_topic_config, parse_topic_config
from lakehouse_unified.exceptions import TopicConfigError


def test_minimal_file_gets_documented_defaults(tmp_path: Path) -> None:
    config = topic_config("topic: orders\n", tmp_path)
    assert config.dag_id == "unified__orders"
    assert config.runtime == "local"
    assert config.schedule == "@hourly"
    assert config.retries == 2
    assert config.storage.catalog_type == "hadoop"
    assert config.storage.warehouse == "lakehouse/warehouse"
    assert config.wait.deferrable is True
    assert config.alerts.target == "log"
    assert config.emr_serverless is None
    assert config.start_date.tzinfo is not None
    assert config.maintenance.delete_file_threshold == 4
    assert config.maintenance.expire_output_snapshots_after_hours == 168
    assert config.maintenance.expire_raw_snapshots_after_hours is None


def test_emr_topic_parses(tmp_path: Path) -> None:
    config = topic_config(emr_topic_yaml(), tmp_path)
    assert config.emr_serverless is not None
    assert config.emr_serverless.entry_point == "s3://artifacts/unified-job/0.1.0/entrypoint.py"
    assert config.emr_serverless.spark_conf == (("spark.executor.memory", "4g"),)
    assert config.aws.conn_id is None


@pytest.mark.parametrize(
    ("text", "field", "value_in_message"),
    [
        ("topic: orders\nruntime: emr\n", "runtime", "'emr'"),
        ("topic: orders\nschedule: every 5 minutes\n", "schedule", "'every 5 minutes'"),
        ("topic: orders\nschedule: '@once'\n", "schedule", "'@once'"),
        ("topic: orders\nretries: -1\n", "retries", "-1"),
        ("topic: orders\nretires: 3\n", "retires", "retires"),
        ("topic: orders\nwait_for_data: {timeout_minutes: soon}\n", "wait_for_data.timeout_minutes", "'soon'"),
        ("topic: orders\nstorage: {catalog_type: hive}\n", "storage.catalog_type", "'hive'"),
        ("topic: orders\nstorage: {catalog_type: glue}\n", "storage.warehouse", "'lakehouse/warehouse'"),
        ("topic: orders\nruntime: emr_serverless\n", "emr_serverless", "None"),
        ("topic: Orders\n", "topic", "'Orders'"),
        ("topic: orders_errors\n", "topic", "errors table of topic 'orders'"),
        ("topic: payments\n", "topic", "'payments'"),
        ("topic: orders\nalerts: {target: sns}\n", "alerts.sns_topic_arn", "None"),
        ("topic: orders\nlocal: {env: {1BAD: x}}\n", "local.env", "'1BAD'"),
        ("topic: orders\nstart_date: yesterday\n", "start_date", "'yesterday'"),
        ("topic: orders\npii_hash_key: {conn_id: k, secret_id: s}\n", "pii_hash_key.secret_id", "'s'"),
        ("topic: orders\nmaintenance: {delete_file_threshold: 0}\n", "maintenance.delete_file_threshold", "0"),
        (
            "topic: orders\nmaintenance: {expire_raw_snapshots_after_hours: 1w}\n",
            "maintenance.expire_raw_snapshots_after_hours",
            "'1w'",
        ),
        ("topic: orders\nmaintenance: {compact: true}\n", "maintenance.compact", "compact"),
    ],
)
def test_invalid_values_name_file_field_and_value(tmp_path: Path, text: str, field: str, value_in_message: str) -> None:
    path = tmp_path / "dags" / "topics" / "orders.yaml"
    with pytest.raises(TopicConfigError) as info:
        parse_topic_config(text, str(path))
    message = str(info.value)
    assert message.startswith(str(path))
    assert f"field {field!r}" in message
    assert value_in_message in message
    assert info.value.field == field


def test_emr_runtime_requires_s3_storage(tmp_path: Path) -> None:
    text = emr_topic_yaml().replace("run_reports_dir: s3://lake/reports", "run_reports_dir: reports")
    with pytest.raises(TopicConfigError, match=r"storage\.run_reports_dir.*s3://.*'reports'"):
        topic_config(text, tmp_path)


def test_emr_runtime_refuses_a_pii_key_from_a_connection(tmp_path: Path) -> None:
    text = emr_topic_yaml().replace("  secret_id: lakehouse/pii-hash-key", "  conn_id: pii_key")
    with pytest.raises(TopicConfigError, match=r"pii_hash_key\.conn_id.*secret_id"):
        topic_config(text, tmp_path)


def test_bad_role_arn_is_rejected_at_parse_time(tmp_path: Path) -> None:
    text = emr_topic_yaml().replace("arn:aws:iam::123456789012:role/", "arn:aws:iam::1234:role/")
    with pytest.raises(TopicConfigError, match=r"emr_serverless\.execution_role_arn"):
        topic_config(text, tmp_path)


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(TopicConfigError, match="not found"):
        load_topic_config(tmp_path / "nope.yaml")
    with pytest.raises(TopicConfigError, match="not valid YAML"):
        parse_topic_config("topic: [orders\n", str(tmp_path / "orders.yaml"))


def test_relative_locations_resolve_under_the_project_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = topic_config(local_topic_yaml(), tmp_path)
    monkeypatch.delenv("LAKEHOUSE_PROJECT_DIR")
    assert config.project_dir() == tmp_path.resolve()  # <project>/dags/topics/orders.yaml
    assert config.resolve("lakehouse/warehouse") == str(tmp_path.resolve() / "lakehouse" / "warehouse")
    assert config.resolve("s3://b/k") == "s3://b/k"
    monkeypatch.setenv("LAKEHOUSE_PROJECT_DIR", "/opt/project")
    assert config.resolve("contracts") == "/opt/project/contracts"


def test_configs_are_frozen(tmp_path: Path) -> None:
    config = topic_config(local_topic_yaml(), tmp_path)
    with pytest.raises(AttributeError):
        config.topic = "other"  # type: ignore[misc]
