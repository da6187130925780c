"""Build ``forget_subject``: the one manual DAG that forgets a person in the topics a request names.

``dags/forget_subject.py`` (committed, not generated) calls :func:`build_forget_subject_dag`
with ``dags/topics``. An erasure request names a person who may be in several topics, and a
rare admin operation should not cost a DAG per topic (nor the parse time of one: the
many-topic folder must parse in < 2 s, docs/BENCHMARKS.md section 4). So:

    plan_forget ─┬─► forget_local [one per local topic]          ─┬─► summarize
                 └─► forget_emr_serverless [one per EMR topic]  ─┘   (all_done)

Parsing lists the topic files' *names* (the ``topics`` param's choices) and reads none of
them: the mapped tasks load their topic when they run. It imports yaml, Airflow's SDK and
``operators/forget.py``, never the Amazon provider (the EMR task builds the provider's
operator at run time). A bad topic file fails the runs that name it, in ``plan_forget``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, Param, TriggerRule, get_parsing_context

from lakehouse_unified.config import FORGET_DAG_ID
from lakehouse_unified.notifiers.topic_alert import TaskTopicAlertNotifier
from lakehouse_unified.operators.forget import (
    ForgetSubjectOnEmrServerlessOperator,
    ForgetSubjectOperator,
    PlanForgetOperator,
    SummarizeForgetOperator,
)
from spark_jobs.config.contract import COLUMN_NAME
from spark_jobs.forget.request import REMEMBER_DAYS

PLAN_TASK_ID = "plan_forget"
LOCAL_TASK_ID = "forget_local"
EMR_TASK_ID = "forget_emr_serverless"
SUMMARY_TASK_ID = "summarize"

# A mapped task's retries are fixed when the DAG is parsed, and parsing reads no topic file:
# a topic file's defaults (config.TopicConfig: retries 2, retry_delay_minutes 5).
FORGET_RETRIES = 2
FORGET_RETRY_DELAY = timedelta(minutes=5)

# draft-07, as the topic DAGs' params (dag_factory._DIALECT: a third of the validation cost).
_DIALECT: dict[str, Any] = {"$schema": "http://json-schema.org/draft-07/schema#"}
# An absolute path on the worker or an s3:// object: never a bare value (an e-mail address
# typed into the form is refused before the run, and its conf, exist).
_FILE_URI = r"^(/|s3://[^/]+/).+"


def build_forget_subject_dag(topics_dir: str | Path) -> DAG | None:
    """The DAG ``forget_subject`` over the topic files in ``topics_dir`` (their names only).

    None when Airflow parses this file for another DAG id (``get_parsing_context``).
    """
    current = get_parsing_context().dag_id
    if current is not None and current != FORGET_DAG_ID:
        return None
    topics_dir = Path(topics_dir)
    topics = sorted(p.stem for p in topics_dir.glob("*.yaml"))
    return _build(str(topics_dir), topics)


def local_topic(entry: dict[str, str]) -> str:
    """``forget_local``'s topic of a planned entry; a topic of another runtime skips that instance."""
    from airflow.sdk.exceptions import AirflowSkipException

    if entry["runtime"] != "local":
        raise AirflowSkipException(f"topic {entry['topic']} runs on {entry['runtime']}: forget_emr_serverless")
    return entry["topic"]


def emr_serverless_topic(entry: dict[str, str]) -> str:
    """``forget_emr_serverless``'s topic of a planned entry; a topic of another runtime skips that instance."""
    from airflow.sdk.exceptions import AirflowSkipException

    if entry["runtime"] != "emr_serverless":
        raise AirflowSkipException(f"topic {entry['topic']} runs on {entry['runtime']}: forget_local")
    return entry["topic"]


def _file_param(title: str, description: str) -> Param:
    return Param(None, **_DIALECT, type=["null", "string"], pattern=_FILE_URI, title=title, description=description)


def forget_params(topics: list[str]) -> dict[str, Param]:
    """The DAG's params: the topics (choices: the topic files' names) and the subject, only through files."""
    names: dict[str, Any] = {"type": "string"}
    if topics:  # an empty enum is no schema; plan_forget names an unknown topic anyway
        names["enum"] = topics
    return {
        "topics": Param(
            **_DIALECT,
            type="array",
            items=names,
            minItems=1,
            uniqueItems=True,
            title="Topics to forget the person in",
            description="One or more topics (dags/topics/<topic>.yaml); each runs on its own runtime.",
        ),
        "field": Param(
            None,
            **_DIALECT,
            type=["null", "string"],
            pattern=COLUMN_NAME.pattern,
            title="Contract field naming the subject",
            description="e.g. customer_email; the lines of values_file are values of this field in every topic.",
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


DOC_MD = f"""\
### Forget a person in one or more topics

Erases a data subject from each named topic's `raw_db.<t>`, `curated_db.<t>`, `semantic_db.<t>`,
`semantic_db.<t>_errors` and their history (GDPR erasure), after running the topic's job so
that every layer has consumed raw. Manual runs only; one at a time.

Trigger with **files**, never values: `topics`, and `field` + `values_file` (one value per
line) and/or `keys_file` (idempotency keys). A file is an absolute path on the worker or an
`s3://` URI (`s3://` for topics on EMR Serverless).

```
airflow dags trigger {FORGET_DAG_ID} -c '{{"topics": ["orders", "payments"], "field": "customer_email", "values_file": "s3://bucket/erasure/req-42.txt"}}'
```

**Why no `value` param:** a DAG run's conf and params are stored in Airflow's metadata DB,
shown in the UI and REST API and kept with the run: the person's e-mail would outlive
their erasure there. A run whose conf has any other key is refused (delete that run).

`{PLAN_TASK_ID}` checks the request for every topic before anything starts; `{LOCAL_TASK_ID}` and
`{EMR_TASK_ID}` run one instance per topic (the other runtime's instances are skipped); each
one's XCom `return_value` is its topic's report (`complete`, `reason`, per table the rows and
keys removed, never a clear value). `{SUMMARY_TASK_ID}` logs them and fails the run unless every
topic is complete.
"""


def _build(topics_dir: str, topics: list[str]) -> DAG:
    params = forget_params(topics)
    conf_keys = tuple(params)
    with DAG(
        dag_id=FORGET_DAG_ID,
        description="Forget a person (GDPR erasure) in the topics a request names",
        schedule=None,
        catchup=False,
        max_active_runs=1,
        tags=["lakehouse", "forget"],
        default_args={"owner": "data-platform", "retries": 0},
        params=params,
        doc_md=DOC_MD,
    ) as dag:
        plan = PlanForgetOperator(task_id=PLAN_TASK_ID, topics_dir=topics_dir, conf_keys=conf_keys)
        forget: dict[str, Any] = {
            "topics_dir": topics_dir,
            "conf_keys": conf_keys,
            # one forget at a time per runtime, across runs too: a topic's tables are never
            # forgotten in twice at once, and one worker runs one local Spark
            "max_active_tis_per_dag": 1,
            "retries": FORGET_RETRIES,
            "retry_delay": FORGET_RETRY_DELAY,
            "map_index_template": "{{ task.topic }}",
            "on_failure_callback": [TaskTopicAlertNotifier(topics_dir=topics_dir)],
        }
        local = ForgetSubjectOperator.partial(task_id=LOCAL_TASK_ID, **forget).expand(
            topic=plan.output.map(local_topic)
        )
        emr = ForgetSubjectOnEmrServerlessOperator.partial(task_id=EMR_TASK_ID, **forget).expand(
            topic=plan.output.map(emr_serverless_topic)
        )
        summary = SummarizeForgetOperator(
            task_id=SUMMARY_TASK_ID,
            plan_task_id=PLAN_TASK_ID,
            forget_task_ids=(LOCAL_TASK_ID, EMR_TASK_ID),
            trigger_rule=TriggerRule.ALL_DONE,
        )
        [local, emr] >> summary
        plan >> summary  # also when the request is refused: the run ends failed, with a summary
    return dag
