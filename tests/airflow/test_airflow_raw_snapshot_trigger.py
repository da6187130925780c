"""get_checkpoint's pyiceberg reads, the trigger's poll logic and the sensor's results."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSkipException, TaskDeferred
from airflow.triggers.base import TriggerEvent
from airflow_testkit import checkpoint_summary, local_topic_yaml, make_context, topic_config, write_hadoop_table
from lakehouse_unified.config import TopicConfig
from lakehouse_unified.hooks.iceberg import CatalogSpec, IcebergSnapshotHook
from lakehouse_unified.operators.checkpoint import GetCheckpointOperator
from lakehouse_unified.outcomes import NO_NEW_DATA_KEY
from lakehouse_unified.run_plan import RunPlan
from lakehouse_unified.sensors.raw_snapshot import NewRawSnapshotSensor
from lakehouse_unified.triggers.raw_snapshot import RawSnapshotTrigger

T0 = datetime(2025, 1, 1, tzinfo=UTC)
RAW1, RAW2 = 7_000_000_000_000_000_001, 7_000_000_000_000_000_002  # 64-bit ids, like Iceberg's


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TopicConfig, Path]]:
    monkeypatch.setenv("LAKEHOUSE_PROJECT_DIR", str(tmp_path))
    config = topic_config(local_topic_yaml(), tmp_path)
    yield config, tmp_path / "lakehouse" / "warehouse"


def trigger_for(
    config: TopicConfig, curated: int | None, semantic: int | None, seconds: float = 5
) -> RawSnapshotTrigger:
    return RawSnapshotTrigger(
        topic=config.topic,
        catalog=CatalogSpec.for_topic(config).to_dict(),
        curated_checkpoint=None if curated is None else str(curated),
        semantic_checkpoint=None if semantic is None else str(semantic),
        layers="both",
        deadline=(datetime.now(UTC) + timedelta(seconds=seconds)).isoformat(),
        poke_interval=0.05,
    )


def first_event(trigger: RawSnapshotTrigger) -> TriggerEvent:
    async def run() -> TriggerEvent:
        async for event in trigger.run():
            return event
        raise AssertionError("the trigger ended without an event")

    return asyncio.run(asyncio.wait_for(run(), timeout=20))


def test_hook_reads_checkpoints_and_raw_ancestry(project: tuple[TopicConfig, Path]) -> None:
    config, warehouse = project
    write_hadoop_table(warehouse, "raw_db", "orders", [(RAW1, T0, {}), (RAW2, T0 + timedelta(hours=1), {})])
    write_hadoop_table(warehouse, "curated_db", "orders", [(1, T0, checkpoint_summary("curated", RAW1)), (2, T0, {})])
    state = IcebergSnapshotHook(CatalogSpec.for_topic(config)).read_topic_state("orders")
    assert state.raw_exists and state.raw_current == RAW2
    assert [s.snapshot_id for s in state.raw_ancestry] == [RAW2, RAW1]
    assert state.raw_ancestry[0].committed_at == T0 + timedelta(hours=1)
    assert (state.curated_checkpoint, state.semantic_checkpoint) == (RAW1, None)  # no semantic table: no checkpoint


def test_get_checkpoint_pushes_the_plan(project: tuple[TopicConfig, Path]) -> None:
    config, warehouse = project
    write_hadoop_table(warehouse, "raw_db", "orders", [(RAW1, T0, {}), (RAW2, T0, {})])
    write_hadoop_table(warehouse, "curated_db", "orders", [(1, T0, checkpoint_summary("curated", RAW1))])
    write_hadoop_table(warehouse, "semantic_db", "orders", [(1, T0, checkpoint_summary("semantic", RAW1))])
    op = GetCheckpointOperator(task_id="get_checkpoint", topic_config=config)
    plan = RunPlan.from_xcom(op.execute(make_context()))
    assert (plan.kind, plan.curated_checkpoint, plan.semantic_checkpoint, plan.raw_current_snapshot_id) == (
        "incremental",
        RAW1,
        RAW1,
        RAW2,
    )


def test_missing_tables_mean_no_checkpoint_and_no_data(project: tuple[TopicConfig, Path]) -> None:
    config, _ = project
    plan = RunPlan.from_xcom(GetCheckpointOperator(task_id="g", topic_config=config).execute(make_context()))
    assert plan.raw_current_snapshot_id is None and plan.curated_checkpoint is None
    assert not plan.needs_run()


def test_trigger_fires_when_raw_moves_past_the_slower_checkpoint(project: tuple[TopicConfig, Path]) -> None:
    config, warehouse = project
    write_hadoop_table(warehouse, "raw_db", "orders", [(RAW1, T0, {}), (RAW2, T0, {})])
    event = first_event(trigger_for(config, curated=RAW2, semantic=RAW1))
    assert event.payload == {"status": "new_snapshot", "raw_snapshot_id": str(RAW2)}


def test_trigger_waits_then_fires_on_a_new_commit(project: tuple[TopicConfig, Path]) -> None:
    config, warehouse = project
    write_hadoop_table(warehouse, "raw_db", "orders", [(RAW1, T0, {})])
    trigger = trigger_for(config, curated=RAW1, semantic=RAW1)

    async def scenario() -> TriggerEvent:
        task = asyncio.ensure_future(_first(trigger))
        await asyncio.sleep(0.3)
        assert not task.done()  # up to date: still polling
        write_hadoop_table(warehouse, "raw_db", "orders", [(RAW1, T0, {}), (RAW2, T0, {})])
        return await asyncio.wait_for(task, timeout=10)

    assert asyncio.run(scenario()).payload["raw_snapshot_id"] == str(RAW2)


async def _first(trigger: RawSnapshotTrigger) -> TriggerEvent:
    async for event in trigger.run():
        return event
    raise AssertionError("no event")


def test_trigger_times_out_as_no_new_data(project: tuple[TopicConfig, Path]) -> None:
    config, warehouse = project
    write_hadoop_table(warehouse, "raw_db", "orders", [(RAW1, T0, {})])
    event = first_event(trigger_for(config, curated=RAW1, semantic=RAW1, seconds=0.3))
    assert event.payload == {"status": "timeout", "raw_snapshot_id": str(RAW1)}


def test_trigger_reports_an_unreadable_catalog_as_error(
    project: tuple[TopicConfig, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    config, _ = project
    calls: list[int] = []

    def broken(self: RawSnapshotTrigger) -> int | None:
        calls.append(1)
        raise OSError("metadata unreadable")

    monkeypatch.setattr(RawSnapshotTrigger, "read_raw_current", broken)
    event = first_event(trigger_for(config, curated=None, semantic=None, seconds=0.3))
    assert event.payload["status"] == "error" and "metadata unreadable" in event.payload["message"]
    assert len(calls) > 1  # transient errors are retried until the deadline


def test_trigger_serializes_to_its_own_arguments(project: tuple[TopicConfig, Path]) -> None:
    config, _ = project
    trigger = trigger_for(config, curated=RAW1, semantic=None)
    path, kwargs = trigger.serialize()
    assert path == "lakehouse_unified.triggers.raw_snapshot.RawSnapshotTrigger"
    assert RawSnapshotTrigger(**kwargs).serialize() == (path, kwargs)


def sensor(config: TopicConfig, **kwargs: Any) -> NewRawSnapshotSensor:
    return NewRawSnapshotSensor(
        task_id="wait_for_new_snapshot", topic_config=config, poke_interval=1, timeout=60, **kwargs
    )


def plan_xcom(**fields: Any) -> dict[tuple[str, str], Any]:
    return {("get_checkpoint", "return_value"): RunPlan(**{"kind": "incremental", **fields}).to_xcom()}


def test_sensor_returns_at_once_when_data_is_there(project: tuple[TopicConfig, Path]) -> None:
    config, warehouse = project
    write_hadoop_table(warehouse, "raw_db", "orders", [(RAW1, T0, {}), (RAW2, T0, {})])
    ctx = make_context(xcoms=plan_xcom(curated_checkpoint=RAW1, semantic_checkpoint=RAW1, raw_current_snapshot_id=RAW1))
    assert RunPlan.from_xcom(sensor(config).execute(ctx)).to_snapshot_inclusive == RAW2  # pinned to what it saw


def test_sensor_defers_to_the_trigger_when_up_to_date(project: tuple[TopicConfig, Path]) -> None:
    config, warehouse = project
    write_hadoop_table(warehouse, "raw_db", "orders", [(RAW1, T0, {})])
    ctx = make_context(xcoms=plan_xcom(curated_checkpoint=RAW1, semantic_checkpoint=RAW1))
    with pytest.raises(TaskDeferred) as info:
        sensor(config).execute(ctx)
    trigger = info.value.trigger
    assert isinstance(trigger, RawSnapshotTrigger)
    assert (trigger.curated_checkpoint, trigger.semantic_checkpoint) == (str(RAW1), str(RAW1))
    assert info.value.method_name == "execute_complete"
    assert info.value.timeout is not None and info.value.timeout > timedelta(seconds=60)


def test_sensor_maps_trigger_events(project: tuple[TopicConfig, Path]) -> None:
    config, _ = project
    ctx = make_context(xcoms=plan_xcom(curated_checkpoint=RAW1, semantic_checkpoint=RAW1))
    s = sensor(config)
    done = s.execute_complete(ctx, {"status": "new_snapshot", "raw_snapshot_id": str(RAW2)})
    assert RunPlan.from_xcom(done).to_snapshot_inclusive == RAW2
    with pytest.raises(AirflowSkipException, match="NO_NEW_DATA"):
        s.execute_complete(ctx, {"status": "timeout", "raw_snapshot_id": str(RAW1)})
    assert "no new raw snapshot within" in ctx["ti"].pushed[NO_NEW_DATA_KEY]  # publish_outcome reports it
    with pytest.raises(AirflowException, match="metadata unreadable") as info:
        s.execute_complete(ctx, {"status": "error", "message": "metadata unreadable"})
    assert not isinstance(info.value, AirflowSkipException)


def test_without_a_schema_the_sensor_narrows_the_run_to_curated(project: tuple[TopicConfig, Path]) -> None:
    config, warehouse = project
    write_hadoop_table(warehouse, "raw_db", "orders", [(RAW1, T0, {}), (RAW2, T0, {})])
    problem = "topic 'orders': contract /x/orders.yaml does not exist"
    xcoms = {
        **plan_xcom(curated_checkpoint=RAW2, semantic_checkpoint=None),
        ("check_schema_exists", "schema_problem"): problem,
    }
    # semantic never ran, but only curated counts: raw's current snapshot is curated's, so it waits
    with pytest.raises(TaskDeferred) as info:
        sensor(config).execute(make_context(xcoms=xcoms))
    assert info.value.trigger.layers == "curated"  # type: ignore[attr-defined]
    xcoms.update(plan_xcom(curated_checkpoint=RAW1, semantic_checkpoint=None))
    plan = RunPlan.from_xcom(sensor(config).execute(make_context(xcoms=xcoms)))
    assert plan.layers == "curated" and plan.to_snapshot_inclusive == RAW2 and problem in plan.note
    semantic_only = {**xcoms, **plan_xcom(curated_checkpoint=RAW1, semantic_checkpoint=None, layers="semantic")}
    with pytest.raises(AirflowFailException, match="'semantic' but the topic has no usable schema"):
        sensor(config).execute(make_context(xcoms=semantic_only))


def test_sensor_does_not_wait_for_explicit_ranges(project: tuple[TopicConfig, Path]) -> None:
    config, _ = project
    backfill = {("get_checkpoint", "return_value"): RunPlan(kind="backfill", to_snapshot_inclusive=RAW1).to_xcom()}
    assert RunPlan.from_xcom(sensor(config).execute(make_context(xcoms=backfill))).kind == "backfill"
    empty = {("get_checkpoint", "return_value"): RunPlan(kind="backfill", note="no raw snapshot in [a, b)").to_xcom()}
    ctx = make_context(xcoms=empty)
    with pytest.raises(AirflowSkipException, match="no raw snapshot in"):
        sensor(config).execute(ctx)
    assert "no raw snapshot in [a, b)" in ctx["ti"].pushed[NO_NEW_DATA_KEY]


def test_non_deferrable_sensor_pokes(project: tuple[TopicConfig, Path]) -> None:
    config, warehouse = project
    write_hadoop_table(warehouse, "raw_db", "orders", [(RAW1, T0, {})])
    ctx = make_context(xcoms=plan_xcom(curated_checkpoint=RAW1, semantic_checkpoint=RAW1))
    s = sensor(config, deferrable=False)
    assert not s.poke(ctx).is_done
    write_hadoop_table(warehouse, "raw_db", "orders", [(RAW1, T0, {}), (RAW2, T0, {})])
    result = s.poke(ctx)
    assert result.is_done and RunPlan.from_xcom(result.xcom_value).to_snapshot_inclusive == RAW2
