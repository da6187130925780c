"""Extra links of ``run_unified_job``: the run's GX validation page (Data Docs).

Airflow 3 resolves a task's extra links on the worker when the task ends and keeps them
in XCom (``_link_<class name>``), so the UI and REST API show them without this package's
operators on the api-server. The job task pushes the page's browser URL (from its run
report) under ``DATA_DOCS_URL_KEY``; on EMR Serverless the provider's own links
(dashboard, logs) stay.

Airflow's UI shows a link only when it is http(s) or on the UI's own origin (it drops
``file://``), so a local site's page is linked through the api-server, which serves the
site to users who may read the DAG (``data_docs_app.py``, under ``URL_PREFIX``); a site
on S3 is linked through the S3 console.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlparse

from airflow.sdk import BaseOperatorLink

from lakehouse_unified.config import TopicConfig
from lakehouse_unified.job_arguments import data_docs_site_uri

DATA_DOCS_URL_KEY = "data_docs_url"
URL_PREFIX = "/lakehouse-data-docs"
"""Where the api-server serves local Data Docs sites: ``<prefix>/<dag_id>/<path in the site>``."""


def _local_path(location: str) -> Path | None:
    """A ``file://`` URL or a plain path as a path; None for any other URI (S3)."""
    if location.startswith("file://"):
        return Path(unquote(urlparse(location).path))
    return None if "://" in location else Path(location)


def local_site_root(config: TopicConfig) -> Path | None:
    """The topic's Data Docs site folder; None when the site is not local (S3)."""
    return _local_path(data_docs_site_uri(config))


def browser_url(config: TopicConfig, page: str | None, base_url: str = "") -> str:
    """What a browser opens for the run's Data Docs ``page`` (the report's URI).

    A page of the local site: its address on the api-server (``base_url``: Airflow's
    ``[api] base_url``, whose path prefixes it); S3: the object in the S3 console; empty
    when the run validated no batch. Any other page is returned as it is.
    """
    if not page:
        return ""
    if page.startswith("s3://"):
        bucket, _, key = page[len("s3://") :].partition("/")
        return f"https://console.aws.amazon.com/s3/object/{bucket}?prefix={quote(key)}"
    root, path = local_site_root(config), _local_path(page)
    if root is None or path is None or not path.is_relative_to(root):
        return page
    base_path = urlparse(base_url).path.rstrip("/")
    return f"{base_path}{URL_PREFIX}/{config.dag_id}/{quote(path.relative_to(root).as_posix())}"


class DataDocsLink(BaseOperatorLink):
    """The run's validation page in the warehouse's Data Docs site."""

    name = "Data Docs (this run)"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        from airflow.providers.common.compat.sdk import XCom

        return str(XCom.get_value(key=DATA_DOCS_URL_KEY, ti_key=ti_key) or "")
