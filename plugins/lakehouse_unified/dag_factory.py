"""Build the DAG ``unified__<topic>`` of one topic from ``dags/topics/<topic>.yaml``.

One *tiny DAG file per topic* (``dags/unified__<topic>.py``) calls :func:`build_topic_dag`
with its topic file. Why one file per topic rather than one factory file for all:
Airflow records parse errors per file, and the dag-processor marks *every* DAG of a
file with an import error ``has_import_errors`` (the scheduler then creates no runs for
them). A single factory file could either hide a bad topic or stop all topics; a file
per topic makes a bad topic config fail its own file only, with a message naming the
file, the field and the value, while the other topics keep running. Each file parses
on its own, so the dag-processor also spreads them over its parsing processes.
``python -m lakehouse_unified.dag_files sync dags`` writes/checks those files.

Parsing is side-effect free and light: yaml + Airflow's SDK + this package's operator
classes. pyiceberg, boto3, pyspark and great_expectations are imported only inside
tasks; the Amazon provider only for topics with ``runtime: emr_serverless``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, BaseOperator, CronDataIntervalTimetable, Param, TriggerRule, get_parsing_context

from lakehouse_unified.assets import layers_alias, table_asset
from lakehouse_unified.config import TopicConfig, load_topic_config
from lakehouse_unified.exceptions import TopicConfigError
from lakehouse_unified.notifiers.topic_alert import TopicAlertNotifier
from lakehouse_unified.operators.checkpoint import GetCheckpointOperator
from lakehouse_unified.operators.outcome import PublishOutcomeOperator
from lakehouse_unified.operators.schema import CheckSchemaExistsOperator, NoSchemaOperator
from lakehouse_unified.run_plan import FULL_HISTORY
from lakehouse_unified.sensors.raw_snapshot import NewRawSnapshotSensor


def build_topic_dag(topic_file: str | Path) -> DAG | None:
    """The topic's DAG; raises :class:`TopicConfigError` (file, field, value) for a bad config.

    Returns None when Airflow parses this file for another DAG id (task execution of a
    different DAG: nothing to build; see ``get_parsing_context``).
    """
    config = load_topic_config(topic_file)
    current = get_parsing_context().dag_id
    if current is not None and current != config.dag_id:
        return None
    try:
        return _build(config)
    except TopicConfigError:
        raise
    except Exception as exc:  # Airflow's own validation, named after the file that caused it
        raise TopicConfigError(config.source, f"cannot build DAG {config.dag_id}: {type(exc).__name__}: {exc}") from exc


def _schedule(config: TopicConfig) -> CronDataIntervalTimetable | None:
    # A data interval per run (not Airflow 3's default point-in-time cron runs): a
    # backfill run maps its interval to the raw snapshots committed in it.
    return CronDataIntervalTimetable(config.schedule, timezone="UTC") if config.schedule else None


# Airflow validates every Param's default with jsonschema when the DAG is built, and
# jsonschema first checks the schema against its dialect's meta-schema. For the default
# dialect (2020-12) that check is about 0.4 ms a Param, a third of this file's parse
# time; the draft-07 meta-schema takes a quarter of that. Our schemas use only
# draft-07 keywords (type, pattern, enum), which the UI's form reads the same way.
_DIALECT: dict[str, Any] = {"$schema": "http://json-schema.org/draft-07/schema#"}


def _params() -> dict[str, Param]:
    return {
        "from_snapshot_exclusive": Param(
            None,
            **_DIALECT,
            type=["null", "string"],
            pattern=rf"^([0-9]{{1,20}}|{FULL_HISTORY})$",
            title="Reprocess from raw snapshot (exclusive)",
            description=(
                f"Manual reprocess: raw snapshot id to start after, or '{FULL_HISTORY}' for the whole "
                "history. Empty: incremental from the checkpoints. A string: snapshot ids exceed "
                "JavaScript's exact integers."
            ),
        ),
        "to_snapshot_inclusive": Param(
            None,
            **_DIALECT,
            type=["null", "string"],
            pattern=r"^[0-9]{1,20}$",
            title="Stop at raw snapshot (inclusive)",
            description="Empty: the raw snapshot current when the run starts.",
        ),
        "layers": Param(
            "both", **_DIALECT, type="string", enum=["both", "curated", "semantic"], title="Layers to write"
        ),
        "dry_run": Param(
            False, **_DIALECT, type="boolean", title="Dry run", description="Compute and report, write nothing."
        ),
        "no_checkpoint": Param(
            False,
            **_DIALECT,
            type="boolean",
            title="Do not move the checkpoints",
            description="Write data without moving the live checkpoints (required to reprocess one layer).",
        ),
        "replay_quarantine": Param(
            False,
            **_DIALECT,
            type="boolean",
            title="Replay the quarantine",
            description=(
                "After fixing the contract or suite: re-judge the rows in the errors table (re-read from "
                "raw) and move those that now pass to semantic. No range, no checkpoint moves."
            ),
        ),
    }


def _doc_md(config: TopicConfig) -> str:
    return f"""\
### Unified job of topic `{config.topic}`

{config.description or ""}

Raw `raw_db.{config.topic}` -> curated `curated_db.{config.topic}` + semantic `semantic_db.{config.topic}`,
one run of the unified job ({config.runtime}). Configured in `{Path(config.source).name}`;
the schema is the job's contract `{config.topic}.yaml` + suite `{config.topic}.json`.

Trigger with params to reprocess (`from_snapshot_exclusive`), write one layer, dry-run, or
replay the quarantine after fixing the contract or suite (`replay_quarantine`).
Backfill: `airflow backfill create --dag-id {config.dag_id} --from-date ... --to-date ...`
reprocesses the raw snapshots committed in each interval without moving the live checkpoints.
"""


def _build(config: TopicConfig) -> DAG:
    notifier = TopicAlertNotifier(topic=config.topic, alerts=config.alerts, aws_conn_id=config.aws.conn_id)
    default_args: dict[str, Any] = {
        "owner": config.owner,
        "retries": config.retries,
        "retry_delay": timedelta(minutes=config.retry_delay_minutes),
        "on_failure_callback": [notifier] if config.alerts.on_failure else [],
    }
    tags = sorted({"lakehouse", "unified-job", f"topic:{config.topic}", f"runtime:{config.runtime}", *config.tags})
    with DAG(
        dag_id=config.dag_id,
        description=(config.description or f"Unified job of topic {config.topic}")[:200],
        schedule=_schedule(config),
        start_date=config.start_date,
        catchup=False,
        max_active_runs=1,
        tags=tags,
        default_args=default_args,
        params=_params(),
        doc_md=_doc_md(config),
    ) as dag:
        get_checkpoint = GetCheckpointOperator(task_id="get_checkpoint", topic_config=config)
        wait = NewRawSnapshotSensor(
            task_id="wait_for_new_snapshot",
            topic_config=config,
            plan_task_id="get_checkpoint",
            deferrable=config.wait.deferrable,
            poke_interval=config.wait.poke_interval_seconds,
            timeout=timedelta(minutes=config.wait.timeout_minutes),
            retries=0,  # a timeout skips; a broken catalog fails the run at once
        )
        check = CheckSchemaExistsOperator(
            task_id="check_schema_exists",
            topic_config=config,
            next_task_id="wait_for_new_snapshot",
            no_schema_task_id="no_schema",
        )
        run = _run_task(config)
        no_schema = NoSchemaOperator(task_id="no_schema", topic_config=config, check_task_id="check_schema_exists")
        publish = PublishOutcomeOperator(
            task_id="publish_outcome",
            topic_config=config,
            run_task_id="run_unified_job",
            trigger_rule=TriggerRule.ALL_DONE,  # also after NO_NEW_DATA: every run gets its outcome
            outlets=[layers_alias(config)],  # an asset event per layer that advanced (assets.py)
            retries=1,
            retry_delay=timedelta(minutes=1),
        )
        # No usable schema: curated only (the sensor narrows the plan), no_schema alerts once.
        get_checkpoint >> check >> [wait, no_schema]
        wait >> run >> publish
    return dag


def _run_task(config: TopicConfig) -> BaseOperator:
    """The runtime switch: same job, same arguments, two ways to run it."""
    # publish_outcome reports a failed job with the report's reason: alert there, once.
    # One job of a topic at a time, whatever started it: backfill runs do not count
    # against the DAG's max_active_runs, but every run's task instances count against the
    # task's max_active_tis_per_dag (deferred ones included), so a backfill run waits for
    # the live run's job and vice versa. No pool to create by hand.
    common: dict[str, Any] = {
        "task_id": "run_unified_job",
        "topic_config": config,
        "on_failure_callback": [],
        "max_active_tis_per_dag": 1,
        "inlets": [table_asset(config, "raw")],
    }
    if config.runtime == "emr_serverless":
        from lakehouse_unified.operators.emr_serverless import UnifiedJobEmrServerlessOperator

        return UnifiedJobEmrServerlessOperator(**common)
    from lakehouse_unified.operators.unified_job import UnifiedJobLocalOperator

    return UnifiedJobLocalOperator(**common)
