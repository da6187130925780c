"""Great Expectations' own validation of the semantic batch.

The rows to quarantine come from ``row_rules`` (GX 1.x has no per-row output); this
module runs the same suite through GX on the same typed DataFrame, so that GX's
results exist for the batch and its unexpected counts can be checked against ours.
``result_format`` is SUMMARY with no unexpected values listed: GX sees clear values
(before masking), and nothing of them may reach the report or logs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import DataFrame

from spark_jobs.config.suite import TopicSuite

log = logging.getLogger(__name__)
RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": 0, "include_unexpected_rows": False}


@dataclass(frozen=True)
class GxResult:
    success: bool
    unexpected_counts: dict[str, int] = field(default_factory=dict)
    element_count: int = 0


def validate_with_gx(typed: DataFrame, suite: TopicSuite) -> GxResult:
    """Run the suite with an ephemeral GX context over ``typed``."""
    import great_expectations as gx  # heavy (about 5 s): only when validating

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    # Progress bars are terminal output; on EMR/Airflow they only garble the job's log.
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    datasource = context.data_sources.add_spark(name="unified_job")
    asset = datasource.add_dataframe_asset(name=suite.name)
    batch_definition = asset.add_batch_definition_whole_dataframe("increment")
    doc: dict[str, Any] = {
        "name": suite.name,
        "expectations": [
            {"type": r.expectation_type, "kwargs": {k: list(v) if isinstance(v, tuple) else v for k, v in r.kwargs}}
            for r in suite.rules
        ],
    }
    gx_suite = context.suites.add(gx.ExpectationSuite(**doc))
    batch = batch_definition.get_batch(batch_parameters={"dataframe": typed})
    result = batch.validate(gx_suite, result_format=RESULT_FORMAT)
    counts: dict[str, int] = {}
    element_count = 0
    for item in result.results:
        config = item.expectation_config
        if config is None:
            continue
        rule_id = f"{config.type}:{config.kwargs.get('column')}"
        counts[rule_id] = int(item.result.get("unexpected_count") or 0)
        element_count = max(element_count, int(item.result.get("element_count") or 0))
    return GxResult(success=bool(result.success), unexpected_counts=counts, element_count=element_count)
