"""Airflow test environment: a throw-away AIRFLOW_HOME, the repo's dags/ and plugins/.

Set before anything imports Airflow (Airflow reads its config at import time), so a
developer's own ~/airflow is never touched. No test here talks to AWS: the EMR
Serverless and SNS tests use moto's server on 127.0.0.1 or botocore's Stubber.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from airflow_e2e_stack import Stack

REPO = Path(__file__).resolve().parents[2]
DAGS = REPO / "dags"
PLUGINS = REPO / "plugins"

_AIRFLOW_HOME = tempfile.mkdtemp(prefix="airflow-tests-home-")
atexit.register(shutil.rmtree, _AIRFLOW_HOME, ignore_errors=True)
os.environ.update(
    {
        "AIRFLOW_HOME": _AIRFLOW_HOME,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGINS),
        "LAKEHOUSE_PROJECT_DIR": str(REPO),
    }
)
for path in (str(PLUGINS), str(REPO)):
    if path not in sys.path:
        sys.path.insert(0, path)

MOTO_ACCOUNT = "123456789012"
MOTO_REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's server on 127.0.0.1 (in a thread, so tests can set EMR job states moto never reaches)."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def aws_env(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Fake credentials and every AWS client pointed at moto (botocore and aiobotocore read AWS_ENDPOINT_URL)."""
    import requests

    for name, value in {
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": MOTO_REGION,
        "AWS_REGION": MOTO_REGION,
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=10)
    yield moto_endpoint


@pytest.fixture(scope="session")
def e2e_stack(tmp_path_factory: pytest.TempPathFactory) -> Stack:
    """The end-to-end tests' AIRFLOW_HOME, metadata DB and warehouse with raw tables (airflow_e2e_stack.py):
    built once per session (per pytest worker), shared by the modules that run real DAG runs."""
    if shutil.which("java") is None:
        pytest.skip("no Java: the job's local Spark cannot start")
    from airflow_e2e_stack import make_stack

    return make_stack(tmp_path_factory.mktemp("airflow-e2e"))
