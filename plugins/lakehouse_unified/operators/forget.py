"""The tasks of ``forget_subject``: plan the request, forget in each topic, summarize.

``plan_forget`` checks the request once and lists its topics with their runtimes; the two
mapped tasks, ``forget_local`` (:class:`ForgetSubjectOperator`, ``python -m spark_jobs.forget``
on the worker) and ``forget_emr_serverless`` (:class:`ForgetSubjectOnEmrServerlessOperator`),
run one instance per topic of their runtime, each loading its topic file when it runs (the
DAG's parsing reads no topic file); ``summarize`` logs what each topic's report says.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from lakehouse_unified.config import FORGET_DAG_ID, Runtime, TopicConfig, load_topic_config
from lakehouse_unified.exceptions import TopicConfigError
from lakehouse_unified.hooks.object_store import ObjectTextHook
from lakehouse_unified.hooks.unified_job import EXIT_OK, EXIT_USAGE, FORGET_MODULE, LocalUnifiedJobHook
from lakehouse_unified.operators._common import check_conf_keys, forget_request, read_forget_report

if TYPE_CHECKING:
    from lakehouse_unified.operators.emr_serverless import ForgetSubjectEmrServerlessOperator

TABLE_COUNTS = ("rows_deleted", "data_files_rewritten", "manifests_rewritten", "orphans_removed")
"""What ``summarize`` logs of each table in a report (counts only; the keys are counted, never listed)."""


def topic_file(topics_dir: str | Path, topic: str) -> Path:
    """``<topics_dir>/<topic>.yaml``: where the generated DAG files read the topic too."""
    return Path(topics_dir) / f"{topic}.yaml"


class PlanForgetOperator(BaseOperator):
    """``plan_forget``: check the request once, before any topic's forget starts; list its topics.

    Refuses the run without retries (nothing is forgotten anywhere) when its conf has keys that
    are not params, a topic has no topic file (the message names it and the known topics) or
    a topic file does not load, or the request cannot run in one of its topics (no subject,
    ``values_file`` without ``field``, a non-S3 file for an EMR Serverless topic). Returns
    ``[{"topic": ..., "runtime": ...}]`` in the request's order: what the mapped tasks expand over.

    :param topics_dir: the folder of the topic files (``dags/topics``).
    :param conf_keys: the DAG's params: any other key in a run's conf refuses the run.
    """

    ui_color = "#f3ecff"

    def __init__(self, *, topics_dir: str, conf_keys: Collection[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.topics_dir = topics_dir
        self.conf_keys = tuple(conf_keys)

    def execute(self, context: Any) -> list[dict[str, str]]:
        check_conf_keys(context, self.conf_keys)
        topics = requested_topics(context["params"].get("topics"))
        known = sorted(p.stem for p in Path(self.topics_dir).glob("*.yaml"))
        unknown = [t for t in topics if t not in known]
        if unknown:
            missing = [str(topic_file(self.topics_dir, t)) for t in unknown]
            raise AirflowFailException(
                f"{FORGET_DAG_ID}: unknown topic(s) {unknown}: no {missing} (topics: {known}). Nothing was forgotten"
            )
        problems: list[str] = []
        plan: list[dict[str, str]] = []
        for topic in topics:
            try:
                config = load_topic_config(topic_file(self.topics_dir, topic))
                request = forget_request(config, context, self.conf_keys)
            except TopicConfigError as exc:
                problems.append(f"topic {topic!r}: {exc}")
                continue
            except AirflowFailException as exc:
                problems.append(str(exc))
                continue
            self.log.info(
                "topic %s (%s): forget request %s, report %s", topic, config.runtime, request.name, request.report
            )
            plan.append({"topic": topic, "runtime": config.runtime})
        if problems:
            raise AirflowFailException("; ".join(problems) + ". Nothing was forgotten")
        return plan


def requested_topics(value: Any) -> list[str]:
    """The ``topics`` param: a non-empty list of names, duplicates dropped, order kept."""
    if not isinstance(value, list) or not value or not all(isinstance(t, str) and t for t in value):
        raise AirflowFailException(
            f"{FORGET_DAG_ID}: param 'topics' must be a non-empty list of topic names, got {type(value).__name__}"
        )
    return list(dict.fromkeys(value))


class _TopicForgetOperator(BaseOperator):
    """One topic of a ``forget_subject`` run (a mapped task instance): the topic file is read when it runs.

    :param topic: the topic (mapped: one task instance per topic of this runtime).
    :param topics_dir: the folder of the topic files (``dags/topics``).
    :param conf_keys: the DAG's params: any other key in a run's conf refuses the run.
    """

    runtime: ClassVar[Runtime]

    def __init__(self, *, topic: str, topics_dir: str, conf_keys: Collection[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.topic = topic
        self.topics_dir = topics_dir
        self.conf_keys = tuple(conf_keys)

    @cached_property
    def topic_config(self) -> TopicConfig:
        """The topic file, as ``plan_forget`` read it (a change since then that breaks it fails without retries)."""
        try:
            config = load_topic_config(topic_file(self.topics_dir, self.topic))
        except TopicConfigError as exc:
            raise AirflowFailException(f"topic {self.topic!r}: {exc}") from exc
        if config.runtime != self.runtime:
            raise AirflowFailException(
                f"topic {self.topic!r} now has runtime {config.runtime!r}, not {self.runtime!r} as when this run "
                "was planned: trigger the forget again"
            )
        return config


class ForgetSubjectOperator(_TopicForgetOperator):
    """``forget_local``: forget a data subject in a ``runtime: local`` topic, the forget command as a
    subprocess of the worker, log streamed.

    Returns the command's report (XCom ``return_value``: counts and keys removed per table,
    never a clear value). Exit 0 with a complete report succeeds; exit 1 (not complete, e.g.
    a job run of the topic committed meanwhile) fails with the report's reason and is
    retried; exit 2 (usage/configuration) fails without retries; no report fails naming
    where it was expected. A report that is not complete is kept as the task's
    ``return_value`` too, for ``summarize``.
    """

    ui_color = "#e8d9ff"
    runtime = "local"

    @cached_property
    def hook(self) -> LocalUnifiedJobHook:
        return LocalUnifiedJobHook(
            runtime=self.topic_config.local,
            project_dir=self.topic_config.project_dir(),
            pii_hash_key=self.topic_config.pii_hash_key,
            module=FORGET_MODULE,
        )

    @cached_property
    def reports(self) -> ObjectTextHook:
        return ObjectTextHook(aws_conn_id=self.topic_config.aws.conn_id, region_name=self.topic_config.aws.region_name)

    def execute(self, context: Any) -> dict[str, Any]:
        request = forget_request(self.topic_config, context, self.conf_keys)
        topic = self.topic
        self.log.info("topic %s: forget request %s, report %s", topic, request.name, request.report)
        self.reports.delete(request.report)  # a previous try's report must not be read as this one's
        result = self.hook.run_job(request.args.to_argv())
        if result.exit_code == EXIT_USAGE:
            raise AirflowFailException(
                f"topic {topic!r}: forget command exited with {EXIT_USAGE} (usage or configuration error, "
                f"not retried): {result.output}"
            )
        report = read_forget_report(self.reports, request.report)
        if result.exit_code == EXIT_OK and report["complete"]:
            return report
        context["ti"].xcom_push(key="return_value", value=report)  # summarize reads the reason
        raise AirflowException(
            f"topic {topic!r}: forget command exited with {result.exit_code}, not complete: "
            f"{report.get('reason') or 'no reason given'} (report {request.report})"
        )

    def on_kill(self) -> None:
        self.hook.send_sigterm()


class ForgetSubjectOnEmrServerlessOperator(_TopicForgetOperator):
    """``forget_emr_serverless``: forget a data subject in a ``runtime: emr_serverless`` topic.

    Builds :class:`~lakehouse_unified.operators.emr_serverless.ForgetSubjectEmrServerlessOperator`
    for the topic when it runs and hands it ``execute``, ``execute_complete`` (it defers to the
    Amazon provider's trigger; the resumed task builds it again) and ``on_kill``. Whatever needs
    the topic's EMR settings waits for the topic file, and parsing the DAG never imports the
    Amazon provider (boto3...) even when every topic runs on EMR Serverless.
    """

    ui_color = "#ffe2c6"
    runtime = "emr_serverless"

    @cached_property
    def job_run(self) -> ForgetSubjectEmrServerlessOperator:
        from lakehouse_unified.operators.emr_serverless import ForgetSubjectEmrServerlessOperator

        return ForgetSubjectEmrServerlessOperator(
            task_id=self.task_id, topic_config=self.topic_config, conf_keys=self.conf_keys
        )

    def execute(self, context: Any) -> Any:
        return self.job_run.execute(context)

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> Any:
        return self.job_run.execute_complete(context, event)

    def on_kill(self) -> None:
        if "job_run" in self.__dict__:
            self.job_run.on_kill()


class SummarizeForgetOperator(BaseOperator):
    """``summarize``: per topic of the run, complete or not, the reason and the counts per table.

    Runs whatever the forget tasks ended with (trigger rule ``all_done``) and reads their
    reports (XCom); logs no value and no key. Returns ``{topic: {"complete", "reason"}}``; when
    a topic is not complete (or the request was refused) it stores that dict all the same and
    fails, so the DAG run's state says whether the person is forgotten everywhere asked.

    :param plan_task_id: the task that planned the run (its XCom: the topics and runtimes).
    :param forget_task_ids: the mapped tasks whose XComs are the topics' reports.
    """

    ui_color = "#f3ecff"

    def __init__(self, *, plan_task_id: str, forget_task_ids: Sequence[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.plan_task_id = plan_task_id
        self.forget_task_ids = tuple(forget_task_ids)

    def execute(self, context: Any) -> dict[str, dict[str, Any]]:
        ti = context["ti"]
        plan = ti.xcom_pull(task_ids=self.plan_task_id)
        if not plan:
            raise AirflowFailException(f"{self.plan_task_id} refused the request (see its log): nothing was forgotten")
        pulled = ti.xcom_pull(task_ids=list(self.forget_task_ids)) or []
        reports = {str(r["topic"]): r for r in pulled if isinstance(r, dict) and "topic" in r}
        summary: dict[str, dict[str, Any]] = {}
        for entry in plan:
            topic = str(entry["topic"])
            report = reports.get(topic)
            if report is None:
                reason = f"no report: the {entry['runtime']} forget task of this topic failed before one (see its log)"
                summary[topic] = {"complete": False, "reason": reason}
                self.log.warning("topic %s: NOT complete: %s", topic, reason)
                continue
            summary[topic] = {"complete": bool(report.get("complete")), "reason": report.get("reason")}
            state = "complete" if summary[topic]["complete"] else "NOT complete"
            self.log.info(
                "topic %s: %s%s; request %s; %d key(s) found",
                topic,
                state,
                f" ({report.get('reason')})" if report.get("reason") else "",
                report.get("request_id"),
                len(report.get("keys") or ()),
            )
            for role, table in sorted((report.get("tables") or {}).items()):
                counts = ", ".join(f"{name} {table.get(name, 0)}" for name in TABLE_COUNTS)
                self.log.info(
                    "topic %s, %s (%s): %s, keys %d",
                    topic,
                    role,
                    table.get("table"),
                    counts,
                    len(table.get("keys") or ()),
                )
        incomplete = sorted(t for t, s in summary.items() if not s["complete"])
        if incomplete:
            ti.xcom_push(key="return_value", value=summary)
            raise AirflowFailException(
                f"{FORGET_DAG_ID}: not complete in topic(s) {incomplete}: "
                + "; ".join(f"{t}: {summary[t]['reason'] or 'no reason given'}" for t in incomplete)
                + ". See each topic's task log; forgetting again is safe"
            )
        return summary
