"""``check_schema_exists`` (branch) and ``no_schema``: without a usable contract and suite, curated only."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from airflow.sdk import BaseBranchOperator, BaseOperator

from lakehouse_unified.config import TopicConfig
from lakehouse_unified.hooks.alert_memory import AlertMemoryHook
from lakehouse_unified.hooks.object_store import ObjectTextHook
from lakehouse_unified.notifiers.topic_alert import TopicAlertNotifier
from lakehouse_unified.outcomes import SCHEMA_PROBLEM_KEY
from lakehouse_unified.schema_validation import default_validator, validate_schema

NO_SCHEMA_ALERT = "no_schema"


class CheckSchemaExistsOperator(BaseBranchOperator):
    """Is there a usable contract and suite (``<contracts_dir>/<topic>.yaml``,
    ``<expectations_dir>/<topic>.json``, valid by the job's own parser)?

    Always follows ``next_task_id``: curated needs no schema, so data scientists get their
    data either way. Without a usable schema it also follows ``no_schema_task_id`` (the
    alert) and pushes the problem (XCom ``schema_problem``); the sensor then narrows the
    run to curated only (``RunPlan.without_schema``).
    """

    ui_color = "#fff3d6"

    def __init__(self, *, topic_config: TopicConfig, next_task_id: str, no_schema_task_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.topic_config = topic_config
        self.next_task_id = next_task_id
        self.no_schema_task_id = no_schema_task_id

    @cached_property
    def hook(self) -> ObjectTextHook:
        return ObjectTextHook(aws_conn_id=self.topic_config.aws.conn_id, region_name=self.topic_config.aws.region_name)

    @cached_property
    def alerts(self) -> AlertMemoryHook:
        return AlertMemoryHook(NO_SCHEMA_ALERT, self.topic_config.topic)

    def choose_branch(self, context: Any) -> list[str]:
        config = self.topic_config
        contract_uri = f"{config.resolve(config.storage.contracts_dir)}/{config.topic}.yaml"
        suite_uri = f"{config.resolve(config.storage.expectations_dir)}/{config.topic}.json"
        validator_name, validator = default_validator()
        problem = validate_schema(
            config.topic,
            (self.hook.read_text(contract_uri), contract_uri),
            (self.hook.read_text(suite_uri), suite_uri),
            validator,
        )
        if problem is None:
            self.log.info("topic %s: %s and %s are valid (%s)", config.topic, contract_uri, suite_uri, validator_name)
            self.alerts.forget()  # a later problem alerts again
            return [self.next_task_id]
        self.log.warning("topic %s: no usable schema, curated only: %s", config.topic, problem)
        context["ti"].xcom_push(key=SCHEMA_PROBLEM_KEY, value=problem)
        return [self.next_task_id, self.no_schema_task_id]


class NoSchemaOperator(BaseOperator):
    """Alert that a topic has no usable contract/suite, once per problem (not every run)."""

    ui_color = "#ffe0cc"

    def __init__(self, *, topic_config: TopicConfig, check_task_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.topic_config = topic_config
        self.check_task_id = check_task_id

    @cached_property
    def notifier(self) -> TopicAlertNotifier:
        return TopicAlertNotifier(
            topic=self.topic_config.topic, alerts=self.topic_config.alerts, aws_conn_id=self.topic_config.aws.conn_id
        )

    def execute(self, context: Any) -> str:
        topic = self.topic_config.topic
        problem = context["ti"].xcom_pull(task_ids=self.check_task_id, key=SCHEMA_PROBLEM_KEY)
        problem = problem or f"topic {topic!r}: no contract or suite"
        message = (
            f"{problem}\nThe run writes curated only; semantic waits (its checkpoint unchanged) until "
            f"contracts/{topic}.yaml and expectations/{topic}.json are valid, then catches up."
        )
        if not self.topic_config.alerts.on_no_schema:
            self.log.warning("%s", message)
        elif AlertMemoryHook(NO_SCHEMA_ALERT, topic).first_time(problem):
            self.notifier.send(f"topic {topic}: no schema registered", message)
        else:
            self.log.warning("already alerted, not again: %s", message)
        return problem
