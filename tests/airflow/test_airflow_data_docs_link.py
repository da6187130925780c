"""The job task's Data Docs link: what the worker pushes, and the api-server's page for it.

The link as the UI shows it, and the page it opens, are checked on a real api-server in
headless Chromium by the scheduler e2e (``test_a_layer_consumer_starts_...``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from airflow_testkit import emr_topic_yaml, local_topic_yaml, topic_config
from lakehouse_unified.data_docs_app import PageNotFound, site_file
from lakehouse_unified.links import DataDocsLink, browser_url, local_site_root
from lakehouse_unified.operators.emr_serverless import UnifiedJobEmrServerlessOperator

PAGE = "validations/orders.suite/manual__2025-01-01T00:00:00+00:00/20250101T000000.000000Z/orders.html"


def _local_yaml(project: Path) -> str:
    return local_topic_yaml().replace("run_reports_dir: reports", f"run_reports_dir: {project / 'reports'}")


@pytest.fixture
def local(tmp_path: Path) -> Path:
    """A local topic's project (dags/topics/orders.yaml) with one page and the site's index."""
    config = topic_config(_local_yaml(tmp_path), tmp_path)
    root = local_site_root(config)
    assert root == tmp_path / "reports" / "data_docs"
    (root / PAGE).parent.mkdir(parents=True)
    (root / PAGE).write_text("<html>the run's page</html>")
    (root / "index.html").write_text("<html>index</html>")
    (tmp_path / "secret.txt").write_text("outside the site")
    return tmp_path


def test_a_local_page_links_to_the_api_server_and_an_s3_page_to_the_console(local: Path) -> None:
    config = topic_config(_local_yaml(local), local)
    page = (local / "reports" / "data_docs" / PAGE).as_uri()
    quoted = PAGE.replace(":", "%3A").replace("+", "%2B")
    assert browser_url(config, page) == f"/lakehouse-data-docs/unified__orders/{quoted}"
    # Airflow served under a path: the link keeps it (the UI resolves it against its origin)
    assert browser_url(config, page, "https://airflow.example.com/team-a/") == (
        f"/team-a/lakehouse-data-docs/unified__orders/{quoted}"
    )
    assert browser_url(config, "file:///elsewhere/page.html") == "file:///elsewhere/page.html"
    assert browser_url(config, None) == ""
    emr = topic_config(emr_topic_yaml(), local)
    assert local_site_root(emr) is None
    assert browser_url(emr, "s3://lake/reports/data_docs/validations/o/r 1/orders.html") == (
        "https://console.aws.amazon.com/s3/object/lake?prefix=reports/data_docs/validations/o/r%201/orders.html"
    )


def test_the_api_server_serves_only_files_of_a_topics_local_site(local: Path) -> None:
    dags = local / "dags"
    assert site_file(dags, "unified__orders", PAGE).read_text() == "<html>the run's page</html>"
    assert site_file(dags, "unified__orders", "").name == "index.html"
    topic_config(emr_topic_yaml(), local)  # dags/topics/payments.yaml: a site on S3
    refused = {
        ("unified__orders", "../../secret.txt"): "outside its Data Docs site",
        ("unified__orders", "validations/none.html"): "no page 'validations/none.html'",
        ("unified__payments", "index.html"): "not local",
        ("unified__absent", "index.html"): "topic configuration file not found",
        ("example_consumer__orders_semantic", "index.html"): "is not a topic DAG",
    }
    for (dag_id, path), reason in refused.items():
        with pytest.raises(PageNotFound, match=reason):
            site_file(dags, dag_id, path)
    (local / "reports" / "data_docs" / "link.html").symlink_to(local / "secret.txt")
    with pytest.raises(PageNotFound, match="outside"):
        site_file(dags, "unified__orders", "link.html")


def test_the_emr_task_keeps_the_providers_links(tmp_path: Path) -> None:
    emr = UnifiedJobEmrServerlessOperator(
        task_id="run_unified_job", topic_config=topic_config(emr_topic_yaml(), tmp_path)
    )
    names = {link.name for link in emr.operator_extra_links}
    assert {"EMR Serverless Dashboard", "Spark Driver stdout", DataDocsLink.name} <= names
