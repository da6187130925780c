"""Registers what the api-server serves for this package: the local Data Docs sites
(``lakehouse_unified/data_docs_app.py``), which the job task's Data Docs link opens."""

from airflow.plugins_manager import AirflowPlugin
from lakehouse_unified.data_docs_app import LazyApp, create_app
from lakehouse_unified.links import URL_PREFIX


class LakehouseUnifiedPlugin(AirflowPlugin):
    name = "lakehouse_unified"
    fastapi_apps = [{"app": LazyApp(create_app), "url_prefix": URL_PREFIX, "name": "Lakehouse Data Docs"}]
