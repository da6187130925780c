"""The local Data Docs sites, served by Airflow's api-server: what the job task's link opens.

Airflow's UI drops ``file://`` extra links, and a browser would not open them from a web
page anyway, so each topic's local site is served under
``/lakehouse-data-docs/<dag_id>/<path in the site>`` (``links.URL_PREFIX``) to users who
may read that DAG's task instances. Airflow does not authenticate plugin apps: the route
does, with the core API's own dependency (the UI's session cookie or a bearer token).
A site on S3 is not served here (its link opens the S3 console).

The app is built on its first request: every Airflow component loads plugins, and the
core API's security module costs ~1.3 s to import (measured), which only the api-server
should pay.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakehouse_unified.config import DAG_ID_PREFIX, load_topic_config
from lakehouse_unified.dag_files import TOPICS_DIR
from lakehouse_unified.exceptions import TopicConfigError
from lakehouse_unified.links import local_site_root

if TYPE_CHECKING:
    from fastapi import FastAPI

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class PageNotFound(LookupError):
    """Why a requested page is not served (the 404's detail)."""


def site_file(dags_folder: Path, dag_id: str, path: str) -> Path:
    """The file of the topic's local site at ``path``; ``PageNotFound`` names why not.

    Only a topic of ``dags_folder/topics/`` with a local site is served, and only files
    inside that site (``..`` and symlinks out of it are refused); a folder serves its
    ``index.html``.
    """
    topic = dag_id.removeprefix(DAG_ID_PREFIX)
    if topic == dag_id or not topic:
        raise PageNotFound(f"{dag_id!r} is not a topic DAG ({DAG_ID_PREFIX}<topic>)")
    try:
        config = load_topic_config(dags_folder / TOPICS_DIR / f"{topic}.yaml")
    except TopicConfigError as exc:
        raise PageNotFound(str(exc)) from exc
    root = local_site_root(config)
    if root is None:
        raise PageNotFound(f"topic {topic!r}: its Data Docs site is not local (the link opens it on S3)")
    root = root.resolve()
    target = (root / path).resolve()
    if not target.is_relative_to(root):
        raise PageNotFound(f"topic {topic!r}: {path!r} is outside its Data Docs site")
    if target.is_dir():
        target = target / "index.html"
    if not target.is_file():
        raise PageNotFound(f"topic {topic!r}: no page {path!r} in its Data Docs site {root}")
    return target


def create_app() -> FastAPI:
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
    from airflow.api_fastapi.core_api.security import requires_access_dag
    from airflow.configuration import conf
    from fastapi import Depends, FastAPI, HTTPException
    from fastapi.responses import FileResponse

    app = FastAPI(title="Lakehouse Data Docs", docs_url=None, redoc_url=None, openapi_url=None)
    readers = Depends(requires_access_dag("GET", DagAccessEntity.TASK_INSTANCE))

    @app.get("/{dag_id}/{path:path}", dependencies=[readers])
    def page(dag_id: str, path: str) -> FileResponse:
        try:
            return FileResponse(site_file(Path(conf.get("core", "dags_folder")), dag_id, path))
        except PageNotFound as exc:
            raise HTTPException(status_code=404, detail=str(exc)) from exc

    return app


class LazyApp:
    """An ASGI app that builds ``factory()`` on its first request (see the module docstring)."""

    def __init__(self, factory: Callable[[], Any]) -> None:
        self._factory = factory
        self._app: Any = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._app is None:
            self._app = self._factory()
        await self._app(scope, receive, send)
