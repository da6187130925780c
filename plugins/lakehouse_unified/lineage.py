"""OpenLineage for ``run_unified_job``: what the run read and wrote, from its run report.

Airflow's OpenLineage provider calls the job task's ``get_openlineage_facets_on_start``,
``..._on_complete`` and ``..._on_failure`` (``operators/_lineage.py``) and sends START
and COMPLETE/FAIL events through the configured transport; without a transport (or
without the provider) nothing is built or sent. This module is the pure part: report +
table schemas -> ``OperatorLineage``.

- input: the raw table, its schema and the rows the run read;
- outputs: the tables the run wrote (curated, semantic, errors), each with its schema
  (the Iceberg table's, read from metadata) and rows written; on START, the tables it
  may write, without counts;
- semantic's GX validation: one ``dataQualityAssertions`` assertion per expectation
  (expectation type, column, success, the suite action as severity). The facet is an
  input facet in the spec; the validated rows are this output's, so it is attached to
  the semantic dataset's facets, where lineage tools read dataset facets.

Dataset names follow OpenLineage's naming: a Glue table is ``arn:aws:glue:<region>:<account>``
/ ``table/<database>/<table>``; a local (hadoop) table is ``file`` / its path, on S3
``s3://<bucket>`` / its key prefix. No value from the data is in any facet (PII).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lakehouse_unified.config import TopicConfig
from spark_jobs.interface import OUTPUT_ROLES, TableRole, table_identifier

SEVERITY = {"fail": "error", "quarantine": "error", "warn": "warn"}
"""A suite action as an assertion's severity: the run stops or a row is kept out (error), or only counted (warn)."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str


def dataset_name(config: TopicConfig, warehouse: str, role: TableRole, account: str | None) -> tuple[str, str]:
    """``(namespace, name)`` of a table, per OpenLineage's naming (see module docstring)."""
    database, table = table_identifier(config.topic, role)
    if config.storage.catalog_type == "glue":
        return f"arn:aws:glue:{config.aws.region_name or ''}:{account or ''}", f"table/{database}/{table}"
    path = f"{warehouse.rstrip('/')}/{database}/{table}"
    if path.startswith("s3://"):
        bucket, _, key = path[len("s3://") :].partition("/")
        return f"s3://{bucket}", key
    return "file", path


def job_lineage(
    config: TopicConfig,
    warehouse: str,
    report: Mapping[str, Any] | None,
    schemas: Mapping[TableRole, Sequence[Column]],
    account: str | None = None,
) -> Any:
    """The task's ``OperatorLineage``. ``report`` None: the run has not ended (START) or
    ended without a report; the outputs are then the tables it may write."""
    from airflow.providers.openlineage.extractors import OperatorLineage
    from openlineage.client.generated.base import InputDataset, OutputDataset
    from openlineage.client.generated.input_statistics_input_dataset import InputStatisticsInputDatasetFacet
    from openlineage.client.generated.output_statistics_output_dataset import OutputStatisticsOutputDatasetFacet

    def facets(role: TableRole) -> dict[str, Any]:
        return {"schema": _schema_facet(schemas[role])} if schemas.get(role) else {}

    namespace, name = dataset_name(config, warehouse, "raw", account)
    raw_read = _mapping(_mapping(report).get("raw")).get("rows_read")
    raw = InputDataset(
        namespace=namespace,
        name=name,
        facets=facets("raw"),
        inputFacets={"inputStatistics": InputStatisticsInputDatasetFacet(rowCount=raw_read)} if report else {},
    )
    outputs = []
    for role, rows in _written(report).items():
        namespace, name = dataset_name(config, warehouse, role, account)
        dataset_facets = facets(role)
        if role == "semantic" and (assertions := _assertions(report)):
            dataset_facets["dataQualityAssertions"] = assertions
        output_facets: dict[str, Any] = {}
        if rows is not None:
            output_facets["outputStatistics"] = OutputStatisticsOutputDatasetFacet(rowCount=rows)
        outputs.append(OutputDataset(namespace=namespace, name=name, facets=dataset_facets, outputFacets=output_facets))
    return OperatorLineage(inputs=[raw], outputs=outputs)


def _written(report: Mapping[str, Any] | None) -> dict[TableRole, int | None]:
    """The tables a run wrote, with their rows (no report: every output, rows unknown)."""
    if report is None:
        return dict.fromkeys(OUTPUT_ROLES)
    curated, semantic = _mapping(report.get("curated")), _mapping(report.get("semantic"))
    written: dict[TableRole, int | None] = {}
    if curated.get("status") == "written":
        written["curated"] = int(curated.get("rows") or 0)
    if semantic.get("status") == "written":
        written["semantic"] = int(semantic.get("rows_valid") or 0)
        if semantic.get("rows_errors"):  # as the asset events: errors is news when rows went there
            written["errors"] = int(semantic["rows_errors"])
    return written


def _assertions(report: Mapping[str, Any] | None) -> Any:
    from openlineage.client.generated.data_quality_assertions_dataset import (
        Assertion,
        DataQualityAssertionsDatasetFacet,
    )

    expectations = _mapping(_mapping(report).get("semantic")).get("expectations") or []
    if not expectations:
        return None
    return DataQualityAssertionsDatasetFacet(
        assertions=[
            Assertion(
                assertion=str(e.get("type")),
                success=bool(e.get("success")),
                column=e.get("column"),
                severity=SEVERITY.get(str(e.get("action")), "error"),
                name=str(e.get("rule")),
            )
            for e in expectations
            if isinstance(e, Mapping)
        ]
    )


def _schema_facet(columns: Sequence[Column]) -> Any:
    from openlineage.client.generated.schema_dataset import SchemaDatasetFacet, SchemaDatasetFacetFields

    return SchemaDatasetFacet(fields=[SchemaDatasetFacetFields(name=c.name, type=c.type) for c in columns])


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
