"""``get_checkpoint``: read both layers' checkpoints and raw's snapshots, plan the run."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from lakehouse_unified.config import TopicConfig
from lakehouse_unified.exceptions import RunPlanError
from lakehouse_unified.hooks.iceberg import CatalogSpec, IcebergSnapshotHook
from lakehouse_unified.run_plan import plan_run


class GetCheckpointOperator(BaseOperator):
    """Push the run plan: checkpoints, raw's current snapshot and the range to process.

    A missing output table means "never ran" (no checkpoint); a missing raw table means
    "nothing to do yet" (the sensor waits for it). Contradictory trigger params fail the
    task without retries, with the reason.
    """

    ui_color = "#e8f7e4"

    def __init__(self, *, topic_config: TopicConfig, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.topic_config = topic_config

    @cached_property
    def hook(self) -> IcebergSnapshotHook:
        return IcebergSnapshotHook(CatalogSpec.for_topic(self.topic_config))

    def execute(self, context: Any) -> dict[str, Any]:
        topic = self.topic_config.topic
        state = self.hook.read_topic_state(topic)
        if not state.raw_exists:
            self.log.warning("topic %s: raw table raw_db.%s does not exist (yet)", topic, topic)
        dag_run = context["dag_run"]
        try:
            plan = plan_run(
                state,
                context["params"],
                run_type=getattr(dag_run.run_type, "value", str(dag_run.run_type)),
                data_interval_start=context.get("data_interval_start"),
                data_interval_end=context.get("data_interval_end"),
                raw_table=f"raw_db.{topic}",
            )
        except RunPlanError as exc:
            raise AirflowFailException(f"topic {topic!r}: {exc}") from exc
        self.log.info("topic %s: %s", topic, plan.describe())
        return plan.to_xcom()
