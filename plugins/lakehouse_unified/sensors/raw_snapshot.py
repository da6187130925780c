"""``wait_for_new_snapshot``: succeed when raw has data the checkpoints have not consumed.

Deferrable by default: one immediate look, then :class:`RawSnapshotTrigger` polls in the
triggerer (no worker slot held). At the timeout the run ends as NO_NEW_DATA: the sensor
is *skipped* (so are the tasks after it, except ``publish_outcome``, which reports the
outcome from the sensor's ``no_new_data`` XCom), not failed. A catalog that cannot be read is
a failure, not a skip: ``soft_fail`` stays off on purpose and only the timeout skips.

Returns (XCom) the run plan with its end pinned to the raw snapshot it saw.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSensorTimeout, AirflowSkipException

from lakehouse_unified.config import TopicConfig
from lakehouse_unified.exceptions import RunPlanError
from lakehouse_unified.hooks.iceberg import CatalogSpec, IcebergSnapshotHook
from lakehouse_unified.outcomes import NO_NEW_DATA_KEY, SCHEMA_PROBLEM_KEY
from lakehouse_unified.run_plan import RunPlan
from lakehouse_unified.triggers.raw_snapshot import RawSnapshotTrigger
from spark_jobs.interface import table_identifier

DEFERRAL_GRACE = timedelta(minutes=5)
"""The trigger's own deadline fires first; the deferral timeout is only a safety net."""


class NewRawSnapshotSensor(BaseSensorOperator):
    """Wait for a raw snapshot newer than the slower requested layer's checkpoint.

    :param topic_config: the topic (``raw_db.<topic>`` in its catalog).
    :param plan_task_id: task whose XCom holds the run plan (``get_checkpoint``).
    :param deferrable: wait in the triggerer (default) instead of poking from a worker.
    """

    ui_color = "#d8f3ff"

    def __init__(
        self,
        *,
        topic_config: TopicConfig,
        plan_task_id: str = "get_checkpoint",
        schema_task_id: str = "check_schema_exists",
        deferrable: bool = True,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("mode", "poke")
        super().__init__(**kwargs)
        self.topic_config = topic_config
        self.topic = topic_config.topic
        self.plan_task_id = plan_task_id
        self.schema_task_id = schema_task_id
        self.deferrable = deferrable

    @cached_property
    def catalog(self) -> CatalogSpec:
        return CatalogSpec.for_topic(self.topic_config)

    @cached_property
    def hook(self) -> IcebergSnapshotHook:
        return IcebergSnapshotHook(self.catalog)

    def _plan(self, context: Any) -> RunPlan:
        """The run's plan; curated only when ``check_schema_exists`` found no usable schema."""
        plan = RunPlan.from_xcom(context["ti"].xcom_pull(task_ids=self.plan_task_id))
        problem = context["ti"].xcom_pull(task_ids=self.schema_task_id, key=SCHEMA_PROBLEM_KEY)
        if not problem:
            return plan
        try:
            return plan.without_schema(str(problem))
        except RunPlanError as exc:
            raise AirflowFailException(f"topic {self.topic!r}: {exc}") from exc

    def _no_new_data(self, context: Any, plan: RunPlan, why: str) -> AirflowSkipException:
        """The run ends NO_NEW_DATA: say why in XCom (``publish_outcome`` reports it), then skip."""
        message = f"NO_NEW_DATA for topic {self.topic!r}: {why} ({plan.describe()})"
        context["ti"].xcom_push(key=NO_NEW_DATA_KEY, value=message)
        return AirflowSkipException(message)

    def execute(self, context: Any) -> Any:
        plan = self._plan(context)
        if plan.explicit:  # manual reprocess / backfill: the range is given, nothing to wait for
            if plan.needs_run():
                return plan.to_xcom()
            raise self._no_new_data(context, plan, plan.note or "empty range")
        current = self.hook.current_snapshot_id(*table_identifier(self.topic, "raw"))
        if current is not None and plan.pinned(current).needs_run():
            return plan.pinned(current).to_xcom()
        if not self.deferrable:
            try:
                return super().execute(context)
            except AirflowSensorTimeout as exc:
                raise self._no_new_data(context, plan, f"nothing new within {self.timeout:.0f}s") from exc
        deadline = datetime.now(UTC) + timedelta(seconds=self.timeout)
        self.log.info("topic %s: no new raw snapshot yet; waiting in the triggerer until %s", self.topic, deadline)
        self.defer(
            trigger=RawSnapshotTrigger(
                topic=self.topic,
                catalog=self.catalog.to_dict(),
                curated_checkpoint=_text(plan.curated_checkpoint),
                semantic_checkpoint=_text(plan.semantic_checkpoint),
                layers=plan.layers,
                deadline=deadline.isoformat(),
                poke_interval=float(self.poke_interval),
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout) + DEFERRAL_GRACE,
        )

    def poke(self, context: Any) -> PokeReturnValue:
        """Non-deferrable mode: one look at the raw table's current snapshot."""
        plan = self._plan(context)
        current = self.hook.current_snapshot_id(*table_identifier(self.topic, "raw"))
        if current is not None and plan.pinned(current).needs_run():
            return PokeReturnValue(is_done=True, xcom_value=plan.pinned(current).to_xcom())
        return PokeReturnValue(is_done=False)

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> Any:
        plan = self._plan(context)
        status = (event or {}).get("status")
        if status == "new_snapshot":
            return plan.pinned(int(event["raw_snapshot_id"])).to_xcom()  # type: ignore[index]
        if status == "timeout":
            raise self._no_new_data(context, plan, f"no new raw snapshot within {self.timeout:.0f}s")
        raise AirflowException(
            f"topic {self.topic!r}: waiting for raw snapshots failed: {(event or {}).get('message', event)!r}"
        )

    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None, context: Any) -> Any:
        # The deferral safety net (trigger never answered) is a timeout too: skip, don't fail.
        try:
            return super().resume_execution(next_method, next_kwargs, context)
        except AirflowSensorTimeout as exc:
            raise self._no_new_data(context, self._plan(context), "the wait timed out") from exc


def _text(value: int | None) -> str | None:
    return None if value is None else str(value)
