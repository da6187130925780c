"""Airflow-side configuration of one topic: ``dags/topics/<topic>.yaml``.

This is *how and when the job runs* for a topic (schedule, runtime, storage locations,
alerts). *What the job computes* lives in the job's contract ``contracts/<topic>.yaml``.
The file is parsed into frozen dataclasses and validated up front: every problem raises
:class:`TopicConfigError` naming the file, the field and the offending value, so a bad
file fails its own DAG file at parse time and nothing else.

Parsing is pure (yaml + stdlib + croniter): no network, no catalog, no Airflow models.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal, NoReturn, get_args

import yaml

from lakehouse_unified.exceptions import TopicConfigError
from spark_jobs.interface import topic_name_problem
from spark_jobs.jvm import JAR_NAME

Runtime = Literal["local", "emr_serverless"]
CatalogType = Literal["hadoop", "glue"]
Launcher = Literal["python", "spark_submit"]
AlertTarget = Literal["log", "sns", "slack", "email"]
CheckpointMode = Literal["tiered", "unified"]


DAG_ID_PREFIX = "unified__"
FORGET_DAG_ID = "forget_subject"
"""The one manual DAG that forgets a person in the topics a request names (``lakehouse_unified.forget_dag``)."""
SCHEDULE_PRESETS = ("@hourly", "@daily", "@weekly", "@monthly", "@quarterly", "@yearly")
PROJECT_DIR_ENV = "LAKEHOUSE_PROJECT_DIR"
# Patterns of the EMR Serverless API (botocore service model), checked here so a typo
# fails at parse time instead of at the first StartJobRun.
_EMR_APPLICATION_ID = re.compile(r"^[0-9a-z]{1,64}$")
_IAM_ROLE_ARN = re.compile(r"^arn:(aws[a-zA-Z0-9-]*):iam::([0-9]{12}):role(/|/[\x21-\x7f]+/)[\w+=,.@-]+$")
_SNS_TOPIC_ARN = re.compile(r"^arn:aws[a-zA-Z0-9-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_.-]{1,256}$")
_CONN_ID = re.compile(r"^[A-Za-z0-9_.-]{1,250}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class WaitConfig:
    """How ``wait_for_new_snapshot`` waits for raw data."""

    poke_interval_seconds: int = 60
    timeout_minutes: int = 30
    deferrable: bool = True


@dataclass(frozen=True)
class StorageConfig:
    """Where the job's inputs and outputs live (relative paths: under the project dir)."""

    catalog_type: CatalogType = "hadoop"
    warehouse: str = "lakehouse/warehouse"
    contracts_dir: str = "contracts"
    expectations_dir: str = "expectations"
    run_reports_dir: str = "lakehouse/run_reports"


@dataclass(frozen=True)
class AwsConfig:
    """AWS connection used for Glue, S3, EMR Serverless (and SNS alerts unless overridden)."""

    conn_id: str | None = "aws_default"
    region_name: str | None = None


@dataclass(frozen=True)
class LocalRuntimeConfig:
    """``runtime: local``: the job runs as a subprocess of the Airflow worker."""

    launcher: Launcher = "python"
    project_dir: str | None = None
    python: str | None = None
    env: tuple[tuple[str, str], ...] = ()

    @property
    def env_dict(self) -> dict[str, str]:
        return dict(self.env)


@dataclass(frozen=True)
class EmrServerlessConfig:
    """``runtime: emr_serverless``: the job runs on an EMR Serverless application."""

    application_id: str
    execution_role_arn: str
    code_uri: str
    log_uri: str | None = None
    spark_conf: tuple[tuple[str, str], ...] = ()
    execution_timeout_minutes: int = 120
    waiter_delay_seconds: int = 30
    iceberg_jar: str = "/usr/share/aws/iceberg/lib/iceberg-spark3-runtime.jar"

    @property
    def entry_point(self) -> str:
        return f"{self.code_uri}/entrypoint.py"

    @property
    def forget_entry_point(self) -> str:
        """The forget command's entry point (``spark_jobs/forget_entrypoint.py``), next to the job's."""
        return f"{self.code_uri}/forget_entrypoint.py"

    @property
    def py_files(self) -> str:
        return f"{self.code_uri}/spark_jobs.zip"

    @property
    def udf_jar(self) -> str:
        """The job's JVM functions, shipped by ``make emr-package`` next to the zip."""
        return f"{self.code_uri}/{JAR_NAME}"

    @property
    def venv_archive(self) -> str:
        """The packed virtualenv of ``make emr-package`` (venv-pack)."""
        return f"{self.code_uri}/pyspark_deps.tar.gz"


@dataclass(frozen=True)
class PiiHashKeyConfig:
    """Where the job's HMAC key for ``pii: hash`` fields comes from (at most one source).

    ``conn_id``: an Airflow connection whose password is the key, given to a local job as
    ``PII_HASH_KEY`` (Airflow masks it in logs). ``secret_id``: an AWS Secrets Manager
    secret the job reads itself (``PII_HASH_KEY_SECRET_ID``; the only option on EMR
    Serverless, where no key travels in the request). Neither: a local job inherits the
    worker's ``PII_HASH_KEY``.
    """

    conn_id: str | None = None
    secret_id: str | None = None


@dataclass(frozen=True)
class AlertConfig:
    """Where alerts go: the task log always; SNS, Slack or email when configured."""

    target: AlertTarget = "log"
    conn_id: str | None = None
    sns_topic_arn: str | None = None
    email_to: tuple[str, ...] = ()
    on_failure: bool = True
    on_curated_only: bool = True
    on_no_schema: bool = True
    on_drift: bool = True
    """Alert once when a field first appears or changes type (the job's drift changes)."""
    semantic_lag_hours: int | None = 24
    """Alert once per episode when semantic's checkpoint has not moved for this long while
    curated's did (tiered mode); None: never."""


@dataclass(frozen=True)
class MaintenanceConfig:
    """Table maintenance the job does after its commits (``spark_jobs.maintenance.after_run``).

    ``delete_file_threshold``: compact the output tables (Iceberg ``rewrite_data_files``)
    when a data file has this many delete files, and groups of small files; null: never.
    Expiry (hours; null: keep every snapshot) never removes the snapshot holding a
    layer's checkpoint, nor raw snapshots the next run still reads. Raw expiry is off by
    default: raw is often written and read by others, whose owner decides its history.
    """

    delete_file_threshold: int | None = 4
    expire_output_snapshots_after_hours: int | None = 168
    expire_raw_snapshots_after_hours: int | None = None


@dataclass(frozen=True)
class TopicConfig:
    """Everything Airflow needs to know to orchestrate one topic's unified job."""

    topic: str
    source: str
    description: str = ""
    owner: str = "data-platform"
    schedule: str | None = "@hourly"
    start_date: datetime = datetime(2024, 1, 1, tzinfo=UTC)
    tags: tuple[str, ...] = ()
    retries: int = 2
    retry_delay_minutes: int = 5
    checkpoint_mode: CheckpointMode | None = None
    max_rows_per_run: int | None = None
    runtime: Runtime = "local"
    wait: WaitConfig = field(default_factory=WaitConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    aws: AwsConfig = field(default_factory=AwsConfig)
    local: LocalRuntimeConfig = field(default_factory=LocalRuntimeConfig)
    emr_serverless: EmrServerlessConfig | None = None
    pii_hash_key: PiiHashKeyConfig = field(default_factory=PiiHashKeyConfig)
    alerts: AlertConfig = field(default_factory=AlertConfig)
    maintenance: MaintenanceConfig = field(default_factory=MaintenanceConfig)

    @property
    def dag_id(self) -> str:
        return f"{DAG_ID_PREFIX}{self.topic}"

    def project_dir(self) -> Path:
        """Folder holding ``spark_jobs/``, ``contracts/``...: config, then $LAKEHOUSE_PROJECT_DIR, then repo root.

        Resolved when a task runs (never at parse time), so the same DAG file works on a
        laptop, in the compose stack and in CI.
        """
        if self.local.project_dir:
            return Path(self.local.project_dir).expanduser()
        from_env = os.environ.get(PROJECT_DIR_ENV)
        if from_env:
            return Path(from_env).expanduser()
        return Path(self.source).resolve().parents[2]  # <repo>/dags/topics/<topic>.yaml

    def resolve(self, location: str) -> str:
        """An absolute local path or a URI for a storage location of this topic."""
        if "://" in location or Path(location).is_absolute():
            return location
        return str(self.project_dir() / location)


def load_topic_config(path: str | os.PathLike[str]) -> TopicConfig:
    """Read and validate one topic file; raise :class:`TopicConfigError` naming file, field and value."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise TopicConfigError(source, "topic configuration file not found") from exc
    return parse_topic_config(text, source)


# libyaml's safe loader when PyYAML was built with it: a topic file is read on every
# DAG parse, and the C loader takes a fifth of the pure-Python one's time.
_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_topic_config(text: str, source: str) -> TopicConfig:
    """Validate a topic document (see ``docs/AIRFLOW.md`` for every field)."""
    try:
        doc = yaml.load(text, Loader=_SAFE_LOADER)
    except yaml.YAMLError as exc:
        raise TopicConfigError(source, f"not valid YAML: {exc}") from exc
    if not isinstance(doc, dict):
        raise TopicConfigError(source, f"expected a mapping with at least 'topic', got {type(doc).__name__}")
    r = _Reader(source, doc, "")
    r.reject_unknown(
        {
            "topic",
            "description",
            "owner",
            "schedule",
            "start_date",
            "tags",
            "retries",
            "retry_delay_minutes",
            "checkpoint_mode",
            "max_rows_per_run",
            "runtime",
            "wait_for_data",
            "storage",
            "aws",
            "local",
            "emr_serverless",
            "pii_hash_key",
            "alerts",
            "maintenance",
        }
    )
    topic = r.required_str("topic")
    problem = topic_name_problem(topic)
    if problem is not None:
        r.fail("topic", problem, topic)
    stem = Path(source).stem
    if stem != topic:
        r.fail("topic", f"must equal the file name {stem!r}", topic)

    runtime = r.choice("runtime", get_args(Runtime), "local")
    config = TopicConfig(
        topic=topic,
        source=source,
        description=r.string("description", ""),
        owner=r.string("owner", "data-platform"),
        schedule=_schedule(r),
        start_date=_start_date(r),
        tags=r.str_list("tags"),
        retries=r.integer("retries", 2, 0, 20),
        retry_delay_minutes=r.integer("retry_delay_minutes", 5, 0, 1440),
        checkpoint_mode=r.optional_choice("checkpoint_mode", get_args(CheckpointMode)),
        max_rows_per_run=r.optional_integer("max_rows_per_run", 1, 10**12),
        runtime=runtime,
        wait=_wait(r.section("wait_for_data", {"poke_interval_seconds", "timeout_minutes", "deferrable"})),
        storage=_storage(
            r.section("storage", {"catalog_type", "warehouse", "contracts_dir", "expectations_dir", "run_reports_dir"})
        ),
        aws=_aws(r.section("aws", {"conn_id", "region_name"})),
        local=_local(r.section("local", {"launcher", "project_dir", "python", "env"})),
        emr_serverless=_emr(r, runtime),
        pii_hash_key=_pii_hash_key(r.section("pii_hash_key", {"conn_id", "secret_id"})),
        alerts=_alerts(
            r.section(
                "alerts",
                {
                    "target",
                    "conn_id",
                    "sns_topic_arn",
                    "email_to",
                    "on_failure",
                    "on_curated_only",
                    "on_no_schema",
                    "on_drift",
                    "semantic_lag_hours",
                },
            )
        ),
        maintenance=_maintenance(
            r.section(
                "maintenance",
                {"delete_file_threshold", "expire_output_snapshots_after_hours", "expire_raw_snapshots_after_hours"},
            )
        ),
    )
    _check_consistency(config, r)
    return config


class _Reader:
    """Typed access to one mapping of the document; errors carry the dotted field path."""

    def __init__(self, source: str, doc: Mapping[str, Any], prefix: str) -> None:
        self.source = source
        self.doc = doc
        self.prefix = prefix

    def path(self, key: str) -> str:
        return f"{self.prefix}{key}"

    def fail(self, key: str, problem: str, value: Any) -> NoReturn:
        raise TopicConfigError(self.source, f"{problem}, got {value!r}", field=self.path(key), value=value)

    def reject_unknown(self, allowed: set[str]) -> None:
        unknown = sorted(str(k) for k in set(self.doc) - allowed)
        if unknown:
            raise TopicConfigError(
                self.source,
                f"unknown key(s) {unknown} in {self.prefix.rstrip('.') or 'the document'}; allowed: {sorted(allowed)}",
                field=self.path(unknown[0]),
                value=unknown[0],
            )

    def section(self, key: str, allowed: set[str]) -> _Reader:
        value = self.doc.get(key)
        if value is None:
            value = {}
        if not isinstance(value, dict):
            self.fail(key, "must be a mapping", value)
        reader = _Reader(self.source, value, f"{self.path(key)}.")
        reader.reject_unknown(allowed)
        return reader

    def present(self, key: str) -> bool:
        return self.doc.get(key) is not None

    def required_str(self, key: str) -> str:
        value = self.doc.get(key)
        if not isinstance(value, str) or not value.strip():
            self.fail(key, "is required and must be a non-empty string", value)
        return str(value).strip()

    def string(self, key: str, default: str) -> str:
        value = self.doc.get(key, default)
        if value is None:
            return default
        if not isinstance(value, str):
            self.fail(key, "must be a string", value)
        return str(value)

    def optional_str(self, key: str) -> str | None:
        value = self.doc.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.fail(key, "must be a non-empty string or null", value)
        return str(value).strip()

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        value = self.doc.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.fail(key, f"must be an integer {low}..{high}", value)
        return int(value)

    def optional_integer(self, key: str, low: int, high: int) -> int | None:
        return None if self.doc.get(key) is None else self.integer(key, 0, low, high)

    def boolean(self, key: str, default: bool) -> bool:
        value = self.doc.get(key, default)
        if not isinstance(value, bool):
            self.fail(key, "must be true or false", value)
        return bool(value)

    def choice(self, key: str, allowed: tuple[str, ...], default: str) -> Any:
        value = self.doc.get(key, default)
        if value not in allowed:
            self.fail(key, f"must be one of {list(allowed)}", value)
        return value

    def optional_choice(self, key: str, allowed: tuple[str, ...]) -> Any:
        value = self.doc.get(key)
        if value is not None and value not in allowed:
            self.fail(key, f"must be one of {list(allowed)} or null", value)
        return value

    def str_list(self, key: str) -> tuple[str, ...]:
        value = self.doc.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.fail(key, "must be a list of non-empty strings", value)
        return tuple(str(v) for v in value)

    def str_map(self, key: str) -> tuple[tuple[str, str], ...]:
        value = self.doc.get(key) or {}
        if not isinstance(value, dict):
            self.fail(key, "must be a mapping of names to values", value)
        pairs: list[tuple[str, str]] = []
        for k, v in value.items():
            if not isinstance(k, str) or isinstance(v, (dict, list)) or v is None:
                self.fail(key, f"entry {k!r} must map a name to a scalar value", v)
            pairs.append((k, str(v).lower() if isinstance(v, bool) else str(v)))
        return tuple(sorted(pairs))


def _schedule(r: _Reader) -> str | None:
    if "schedule" in r.doc and r.doc["schedule"] is None:
        return None  # manual triggers and backfills only
    value = r.doc.get("schedule", "@hourly")
    if not isinstance(value, str):
        r.fail("schedule", "must be a cron expression, a preset or null", value)
    value = value.strip()
    if value.startswith("@"):
        if value not in SCHEDULE_PRESETS:
            r.fail("schedule", f"preset must be one of {list(SCHEDULE_PRESETS)} (runs need a data interval)", value)
        return value
    from croniter import croniter  # small, already an Airflow dependency

    if not croniter.is_valid(value):
        r.fail("schedule", "is not a valid cron expression", value)
    return value


def _start_date(r: _Reader) -> datetime:
    value = r.doc.get("start_date", "2024-01-01")
    try:
        if isinstance(value, datetime):
            parsed = value
        elif isinstance(value, date):
            parsed = datetime(value.year, value.month, value.day)
        elif isinstance(value, str):
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        else:
            raise TypeError(value)
    except (TypeError, ValueError):
        r.fail("start_date", "must be an ISO date (YYYY-MM-DD) or datetime", value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _wait(r: _Reader) -> WaitConfig:
    return WaitConfig(
        poke_interval_seconds=r.integer("poke_interval_seconds", 60, 1, 3600),
        timeout_minutes=r.integer("timeout_minutes", 30, 0, 7 * 24 * 60),
        deferrable=r.boolean("deferrable", True),
    )


def _storage(r: _Reader) -> StorageConfig:
    return StorageConfig(
        catalog_type=r.choice("catalog_type", get_args(CatalogType), "hadoop"),
        warehouse=r.string("warehouse", "lakehouse/warehouse").rstrip("/") or "/",
        contracts_dir=r.string("contracts_dir", "contracts").rstrip("/") or "/",
        expectations_dir=r.string("expectations_dir", "expectations").rstrip("/") or "/",
        run_reports_dir=r.string("run_reports_dir", "lakehouse/run_reports").rstrip("/") or "/",
    )


def _aws(r: _Reader) -> AwsConfig:
    conn_id = r.optional_str("conn_id") if "conn_id" in r.doc else "aws_default"
    if conn_id is not None and not _CONN_ID.match(conn_id):
        r.fail("conn_id", f"must match {_CONN_ID.pattern}", conn_id)
    return AwsConfig(conn_id=conn_id, region_name=r.optional_str("region_name"))


def _local(r: _Reader) -> LocalRuntimeConfig:
    env = r.str_map("env")
    for name, _ in env:
        if not _ENV_NAME.match(name):
            r.fail("env", f"variable names must match {_ENV_NAME.pattern}", name)
    return LocalRuntimeConfig(
        launcher=r.choice("launcher", get_args(Launcher), "python"),
        project_dir=r.optional_str("project_dir"),
        python=r.optional_str("python"),
        env=env,
    )


def _emr(root: _Reader, runtime: str) -> EmrServerlessConfig | None:
    if not root.present("emr_serverless"):
        if runtime == "emr_serverless":
            root.fail("emr_serverless", "is required when runtime is 'emr_serverless'", None)
        return None
    r = root.section(
        "emr_serverless",
        {
            "application_id",
            "execution_role_arn",
            "code_uri",
            "log_uri",
            "spark_conf",
            "execution_timeout_minutes",
            "waiter_delay_seconds",
            "iceberg_jar",
        },
    )
    application_id = r.required_str("application_id")
    if not _EMR_APPLICATION_ID.match(application_id):
        r.fail("application_id", f"must match {_EMR_APPLICATION_ID.pattern}", application_id)
    role = r.required_str("execution_role_arn")
    if not _IAM_ROLE_ARN.match(role):
        r.fail("execution_role_arn", "must be an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>)", role)
    code_uri = r.required_str("code_uri").rstrip("/")
    if not code_uri.startswith("s3://"):
        r.fail(
            "code_uri",
            f"must be an s3:// folder (entrypoint.py, spark_jobs.zip, {JAR_NAME}, pyspark_deps.tar.gz)",
            code_uri,
        )
    log_uri = r.optional_str("log_uri")
    if log_uri is not None and not log_uri.startswith("s3://"):
        r.fail("log_uri", "must be an s3:// folder", log_uri)
    spark_conf = r.str_map("spark_conf")
    for key, _ in spark_conf:
        if not key.startswith("spark."):
            r.fail("spark_conf", "keys must be Spark properties (spark.*)", key)
    return EmrServerlessConfig(
        application_id=application_id,
        execution_role_arn=role,
        code_uri=code_uri,
        log_uri=log_uri,
        spark_conf=spark_conf,
        execution_timeout_minutes=r.integer("execution_timeout_minutes", 120, 5, 1_000_000),
        waiter_delay_seconds=r.integer("waiter_delay_seconds", 30, 1, 3600),
        iceberg_jar=r.string("iceberg_jar", EmrServerlessConfig.iceberg_jar),
    )


def _pii_hash_key(r: _Reader) -> PiiHashKeyConfig:
    config = PiiHashKeyConfig(conn_id=r.optional_str("conn_id"), secret_id=r.optional_str("secret_id"))
    if config.conn_id and config.secret_id:
        r.fail("secret_id", "give either conn_id or secret_id, not both", config.secret_id)
    if config.conn_id is not None and not _CONN_ID.match(config.conn_id):
        r.fail("conn_id", f"must match {_CONN_ID.pattern}", config.conn_id)
    return config


def _alerts(r: _Reader) -> AlertConfig:
    target = r.choice("target", get_args(AlertTarget), "log")
    config = AlertConfig(
        target=target,
        conn_id=r.optional_str("conn_id"),
        sns_topic_arn=r.optional_str("sns_topic_arn"),
        email_to=r.str_list("email_to"),
        on_failure=r.boolean("on_failure", True),
        on_curated_only=r.boolean("on_curated_only", True),
        on_no_schema=r.boolean("on_no_schema", True),
        on_drift=r.boolean("on_drift", True),
        semantic_lag_hours=r.integer("semantic_lag_hours", 24, 1, 24 * 365)
        if r.doc.get("semantic_lag_hours", 24) is not None
        else None,
    )
    if target == "sns" and (config.sns_topic_arn is None or not _SNS_TOPIC_ARN.match(config.sns_topic_arn)):
        r.fail("sns_topic_arn", "must be an SNS topic ARN when target is 'sns'", config.sns_topic_arn)
    if target == "slack" and not config.conn_id:
        r.fail("conn_id", "must name the Slack webhook connection when target is 'slack'", config.conn_id)
    if target == "email" and not config.email_to:
        r.fail("email_to", "must list at least one address when target is 'email'", list(config.email_to))
    return config


def _maintenance(r: _Reader) -> MaintenanceConfig:
    defaults = MaintenanceConfig()
    ten_years = 24 * 365 * 10

    def optional(key: str, default: int | None, low: int, high: int) -> int | None:
        if key not in r.doc:
            return default
        return r.optional_integer(key, low, high)  # explicit null: off

    return MaintenanceConfig(
        delete_file_threshold=optional("delete_file_threshold", defaults.delete_file_threshold, 1, 1000),
        expire_output_snapshots_after_hours=optional(
            "expire_output_snapshots_after_hours", defaults.expire_output_snapshots_after_hours, 1, ten_years
        ),
        expire_raw_snapshots_after_hours=optional(
            "expire_raw_snapshots_after_hours", defaults.expire_raw_snapshots_after_hours, 1, ten_years
        ),
    )


def _check_consistency(config: TopicConfig, r: _Reader) -> None:
    storage = config.storage
    if storage.catalog_type == "glue" and not storage.warehouse.startswith("s3://"):
        raise TopicConfigError(
            config.source,
            f"must be an s3:// location when catalog_type is 'glue', got {storage.warehouse!r}",
            field="storage.warehouse",
            value=storage.warehouse,
        )
    if config.runtime == "emr_serverless" and config.pii_hash_key.conn_id:
        raise TopicConfigError(
            config.source,
            "cannot be used with runtime 'emr_serverless' (the key would travel in the job request): "
            "use pii_hash_key.secret_id",
            field="pii_hash_key.conn_id",
            value=config.pii_hash_key.conn_id,
        )
    if config.runtime == "emr_serverless":
        for name in ("warehouse", "contracts_dir", "expectations_dir", "run_reports_dir"):
            value = getattr(storage, name)
            if not value.startswith("s3://"):
                raise TopicConfigError(
                    config.source,
                    f"must be an s3:// location when runtime is 'emr_serverless' (the job cannot see "
                    f"the Airflow worker's disk), got {value!r}",
                    field=f"storage.{name}",
                    value=value,
                )
