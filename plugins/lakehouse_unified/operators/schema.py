"""``check_schema_exists`` (branch) and ``no_schema``: run only with a valid contract and suite."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from airflow.sdk import BaseBranchOperator, BaseOperator

from lakehouse_unified.config import TopicConfig
from lakehouse_unified.hooks.object_store import ObjectTextHook
from lakehouse_unified.notifiers.topic_alert import TopicAlertNotifier
from lakehouse_unified.schema_validation import default_validator, validate_schema

SCHEMA_PROBLEM_KEY = "schema_problem"
BRANCH_KEY = "branch"
"""XCom key: the task ``check_schema_exists`` chose (``publish_outcome`` reads whether the job ran)."""


class CheckSchemaExistsOperator(BaseBranchOperator):
    """Follow ``run_task_id`` when ``<contracts_dir>/<topic>.yaml`` and ``<expectations_dir>/<topic>.json``
    exist and are valid, else ``no_schema_task_id`` (the problem goes to XCom ``schema_problem``)."""

    ui_color = "#fff3d6"

    def __init__(self, *, topic_config: TopicConfig, run_task_id: str, no_schema_task_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.topic_config = topic_config
        self.run_task_id = run_task_id
        self.no_schema_task_id = no_schema_task_id

    @cached_property
    def hook(self) -> ObjectTextHook:
        return ObjectTextHook(aws_conn_id=self.topic_config.aws.conn_id, region_name=self.topic_config.aws.region_name)

    def choose_branch(self, context: Any) -> str:
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
            context["ti"].xcom_push(key=BRANCH_KEY, value=self.run_task_id)
            return self.run_task_id
        self.log.warning("topic %s: no usable schema: %s", config.topic, problem)
        context["ti"].xcom_push(key=SCHEMA_PROBLEM_KEY, value=problem)
        context["ti"].xcom_push(key=BRANCH_KEY, value=self.no_schema_task_id)
        return self.no_schema_task_id


class NoSchemaOperator(BaseOperator):
    """Alert that a topic has no usable contract/suite and end the run without failing it."""

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
            f"{problem}\nThe unified job did not run; raw data waits (checkpoints unchanged). "
            f"Register contracts/{topic}.yaml and expectations/{topic}.json to process it."
        )
        if self.topic_config.alerts.on_no_schema:
            self.notifier.send(f"topic {topic}: no schema registered", message)
        else:
            self.log.warning("%s", message)
        return problem
