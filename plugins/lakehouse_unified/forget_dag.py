"""Build the DAG ``forget__<topic>`` of one topic from ``dags/topics/<topic>.yaml``.

A manual DAG with one task, ``forget_subject``: the forget command (``python -m
spark_jobs.forget``, or its EMR Serverless entry point) erases a data subject from the
topic's raw, curated, semantic and errors tables and their history, and returns its
report. Like ``unified__<topic>`` it is one tiny generated file per topic
(``dags/forget__<topic>.py``, ``lakehouse_unified.dag_files``), so a bad topic file fails
its own files only; parsing imports yaml, Airflow's SDK and the operator class, nothing
heavy (the Amazon provider only for ``runtime: emr_serverless``).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, BaseOperator, Param, get_parsing_context

from lakehouse_unified.config import TopicConfig, load_topic_config
from lakehouse_unified.exceptions import TopicConfigError
from lakehouse_unified.notifiers.topic_alert import TopicAlertNotifier
from spark_jobs.config.contract import COLUMN_NAME
from spark_jobs.forget.request import REMEMBER_DAYS

TASK_ID = "forget_subject"

# draft-07, as the topic DAGs' params (dag_factory._DIALECT: a third of the validation cost).
_DIALECT: dict[str, Any] = {"$schema": "http://json-schema.org/draft-07/schema#"}
# An absolute path on the worker or an s3:// object: never a bare value (an e-mail address
# typed into the form is refused before the run, and its conf, exist).
_FILE_URI = r"^(/|s3://[^/]+/).+"


def build_forget_dag(topic_file: str | Path) -> DAG | None:
    """The topic's forget DAG; raises :class:`TopicConfigError` (file, field, value) for a bad config.

    None when Airflow parses this file for another DAG id (``get_parsing_context``).
    """
    config = load_topic_config(topic_file)
    current = get_parsing_context().dag_id
    if current is not None and current != config.forget_dag_id:
        return None
    try:
        return _build(config)
    except TopicConfigError:
        raise
    except Exception as exc:  # Airflow's own validation, named after the file that caused it
        raise TopicConfigError(
            config.source, f"cannot build DAG {config.forget_dag_id}: {type(exc).__name__}: {exc}"
        ) from exc


def _file_param(title: str, description: str) -> Param:
    return Param(None, **_DIALECT, type=["null", "string"], pattern=_FILE_URI, title=title, description=description)


def forget_params() -> dict[str, Param]:
    """The DAG's params: the subject only through files; no param takes a clear value."""
    return {
        "field": Param(
            None,
            **_DIALECT,
            type=["null", "string"],
            pattern=COLUMN_NAME.pattern,
            title="Contract field naming the subject",
            description="e.g. customer_email; the lines of values_file are values of this field.",
        ),
        "values_file": _file_param(
            "File of the subject's values (one per line)",
            "Absolute path on the worker or s3:// URI of a file with one value of `field` per line. "
            "Never the values themselves: a run's conf is stored in Airflow's DB.",
        ),
        "keys_file": _file_param(
            "File of the subject's idempotency keys (one per line)",
            "Absolute path or s3:// URI: these events are forgotten whatever their fields say.",
        ),
        "remember_days": Param(
            REMEMBER_DAYS,
            **_DIALECT,
            type="integer",
            minimum=1,
            maximum=3650,
            title="Days to drop late copies",
            description="How long the job drops late arrivals of the forgotten keys.",
        ),
    }


def _doc_md(config: TopicConfig) -> str:
    topic = config.topic
    return f"""\
### Forget a person in topic `{topic}`

Erases a data subject from `raw_db.{topic}`, `curated_db.{topic}`, `semantic_db.{topic}`,
`semantic_db.{topic}_errors` and their history (GDPR erasure), after running the topic's
job so that every layer has consumed raw. Manual runs only; one at a time.

Trigger with **files**, never values: `field` + `values_file` (one value per line), and/or
`keys_file` (idempotency keys). A file is an absolute path on the worker or an `s3://` URI
(`s3://` on EMR Serverless).

```
airflow dags trigger {config.forget_dag_id} -c '{{"field": "customer_email", "values_file": "s3://bucket/erasure/req-42.txt"}}'
```

**Why no `value` param:** a DAG run's conf and params are stored in Airflow's metadata DB,
shown in the UI and REST API and kept with the run: the person's e-mail would outlive
their erasure there. A run whose conf has any other key is refused (delete that run).

The task's XCom `return_value` is the command's report: `complete`, `reason`, per table the
rows and keys removed (never a clear value). Exit 1 (not complete, e.g. a job run committed
meanwhile) is retried; exit 2 (a bad request or configuration) is not.
"""


def _build(config: TopicConfig) -> DAG:
    notifier = TopicAlertNotifier(topic=config.topic, alerts=config.alerts, aws_conn_id=config.aws.conn_id)
    params = forget_params()
    tags = sorted({"lakehouse", "forget", f"topic:{config.topic}", f"runtime:{config.runtime}", *config.tags})
    with DAG(
        dag_id=config.forget_dag_id,
        description=f"Forget a person (GDPR erasure) in topic {config.topic}"[:200],
        schedule=None,
        start_date=config.start_date,
        catchup=False,
        max_active_runs=1,
        tags=tags,
        default_args={
            "owner": config.owner,
            "retries": config.retries,
            "retry_delay": timedelta(minutes=config.retry_delay_minutes),
        },
        params=params,
        doc_md=_doc_md(config),
    ) as dag:
        _forget_task(config, tuple(params), [notifier] if config.alerts.on_failure else [])
    return dag


def _forget_task(config: TopicConfig, conf_keys: tuple[str, ...], on_failure: list[Any]) -> BaseOperator:
    """The runtime switch, as ``run_unified_job``'s: same command and arguments, two ways to run it."""
    common: dict[str, Any] = {
        "task_id": TASK_ID,
        "topic_config": config,
        "conf_keys": conf_keys,
        "max_active_tis_per_dag": 1,
        "on_failure_callback": on_failure,
    }
    if config.runtime == "emr_serverless":
        from lakehouse_unified.operators.emr_serverless import ForgetSubjectEmrServerlessOperator

        return ForgetSubjectEmrServerlessOperator(**common)
    from lakehouse_unified.operators.forget import ForgetSubjectOperator

    return ForgetSubjectOperator(**common)
