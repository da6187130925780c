"""OpenLineage methods of ``run_unified_job`` (both runtimes): the provider calls them.

They read what ``lineage.job_lineage`` needs: the run report (on complete and failure)
and the tables' schemas (Iceberg metadata, no data). Called only when the OpenLineage
provider is installed and a transport is configured.
"""

from __future__ import annotations

import re
from typing import Any

from lakehouse_unified.config import TopicConfig
from lakehouse_unified.hooks.iceberg import CatalogSpec, IcebergSnapshotHook
from lakehouse_unified.hooks.object_store import ObjectTextHook
from lakehouse_unified.job_arguments import run_report_uri
from lakehouse_unified.lineage import Column, job_lineage
from lakehouse_unified.operators._common import read_run_report
from spark_jobs.interface import TABLE_ROLES, TableRole, table_identifier

_ACCOUNT = re.compile(r"^arn:[^:]+:iam::([0-9]{12}):")


class RunReportLineageMixin:
    """``get_openlineage_facets_on_start/complete/failure`` from the topic config and run report."""

    topic_config: TopicConfig

    def get_openlineage_facets_on_start(self) -> Any:
        return self._lineage(None)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        return self._lineage(self._run_report(str(task_instance.run_id)))

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> Any:
        return self._lineage(self._run_report(str(task_instance.run_id)))

    def _lineage(self, report: dict[str, Any] | None) -> Any:
        config = self.topic_config
        catalog = CatalogSpec.for_topic(config)
        hook = IcebergSnapshotHook(catalog)
        schemas: dict[TableRole, list[Column]] = {}
        for role in TABLE_ROLES:
            table = hook.load_table(*table_identifier(config.topic, role))
            if table is not None:
                schemas[role] = [Column(f.name, str(f.field_type)) for f in table.schema().fields]
        return job_lineage(config, catalog.warehouse, report, schemas, self._glue_account())

    def _run_report(self, run_id: str) -> dict[str, Any] | None:
        config = self.topic_config
        reports = ObjectTextHook(aws_conn_id=config.aws.conn_id, region_name=config.aws.region_name)
        return read_run_report(reports, run_report_uri(config, run_id))

    def _glue_account(self) -> str | None:
        """The Glue catalog's account (its datasets' namespace): the EMR execution role's,
        else the AWS connection's (STS). None for a local catalog."""
        config = self.topic_config
        if config.storage.catalog_type != "glue":
            return None
        if config.emr_serverless is not None and (match := _ACCOUNT.match(config.emr_serverless.execution_role_arn)):
            return match.group(1)
        from airflow.providers.amazon.aws.hooks.sts import StsHook

        return str(StsHook(aws_conn_id=config.aws.conn_id).conn.get_caller_identity()["Account"])
