"""Extra links of ``run_unified_job``: the run's GX validation page (Data Docs).

Airflow 3 resolves a task's extra links on the worker when the task ends and keeps them
in XCom (``_link_<class name>``), so the UI and REST API show them without this package on
the api-server. The job task pushes the page's URL (from its run report) under
``DATA_DOCS_URL_KEY``; on EMR Serverless the provider's own links (dashboard, logs) stay.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from airflow.sdk import BaseOperatorLink

DATA_DOCS_URL_KEY = "data_docs_url"


def browser_url(page: str | None) -> str:
    """What a browser opens for a Data Docs page: a local ``file://`` page as is, an S3
    page through the S3 console (empty: the run validated no batch)."""
    if not page:
        return ""
    if page.startswith("s3://"):
        bucket, _, key = page[len("s3://") :].partition("/")
        return f"https://console.aws.amazon.com/s3/object/{bucket}?prefix={quote(key)}"
    return page


class DataDocsLink(BaseOperatorLink):
    """The run's validation page in the warehouse's Data Docs site."""

    name = "Data Docs (this run)"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        from airflow.providers.common.compat.sdk import XCom

        return browser_url(XCom.get_value(key=DATA_DOCS_URL_KEY, ti_key=ti_key))
