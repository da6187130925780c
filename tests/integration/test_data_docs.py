"""A real run's GX validation result as GX Data Docs: pages, index, S3, PII, a real browser.

The expected counts come from the rows written here and the fixture suite's own
parameters, not from the job or the code under test.
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest
from PIL import Image

from spark_jobs.report.data_docs import publish_data_docs
from spark_jobs.report.run_report import RunReport
from spark_jobs.report.site_assets import FILES, VENDOR
from spark_jobs.semantic.pii import PII_SAMPLE

from .jobkit import FIXTURES, append_raw, at, run_job, topic_config

pytestmark = pytest.mark.spark
TOPIC = "shop_docs"
LEAK = "leak.me@example.COM"  # looks like an email; its upper-case domain fails the suite's regex
SUITE = json.loads((FIXTURES / "shop.json").read_text())
# GX's sentence for each expectation type of the fixture suite: GX 1.24.1's validation
# page names an expectation by this sentence, not by its type.
SENTENCES = {
    "expect_column_values_to_be_between": "values must be greater than or equal to",
    "expect_column_values_to_match_regex": "values must match this regular expression",
    "expect_column_values_to_be_in_set": "values must belong to this set",
    "expect_column_values_to_not_be_null": "values must never be null",
}


def _order(oid: str, amount: Any = 10, status: str = "new", email: str = "alice@example.com") -> str:
    customer = {"email": email, "phone": "+1 415 555 0199", "name": "Alice Liddell"}
    return json.dumps({"order_id": oid, "customer": customer, "amount": amount, "qty": 1, "status": status})


ROWS = [
    ("m1", "k1", at(0), at(1), _order("o1")),
    ("m2", "k2", at(0), at(1), _order("o2", amount=-5)),
    ("m3", "k3", at(0), at(1), _order("o3", email=LEAK)),
    ("m4", "k4", at(0), at(1), _order("o4", email="no-at-sign")),
    ("m5", "k5", at(0), at(1), _order("o5", status="lost")),
    ("m6", "k6", at(0), at(1), _order("o6", status="void")),
    ("m7", "k7", at(0), at(1), _order("o7", amount=None)),
    ("m8", "k8", at(0), at(1), _order("o8", status="paid")),
]


def _unexpected(expectation: dict[str, Any], doc: dict[str, Any]) -> bool:
    """Whether ``doc`` fails ``expectation`` (the four types of the fixture suite; nulls
    count only for not_null, as in GX)."""
    kwargs = expectation["kwargs"]
    column = kwargs["column"]
    value = doc["customer"][column] if column in doc["customer"] else doc.get(column)
    kind = expectation["type"]
    if kind == "expect_column_values_to_not_be_null":
        return value is None
    if value is None:
        return False
    if kind == "expect_column_values_to_be_between":
        return not kwargs["min_value"] <= value <= kwargs["max_value"]
    if kind == "expect_column_values_to_match_regex":
        return re.search(kwargs["regex"], value) is None
    assert kind == "expect_column_values_to_be_in_set", kind
    return value not in kwargs["value_set"]


DOCS = [json.loads(row[4]) for row in ROWS]
EXPECTED = {f"{e['type']}:{e['kwargs']['column']}": sum(_unexpected(e, d) for d in DOCS) for e in SUITE["expectations"]}


@pytest.fixture(scope="module")
def report(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> RunReport:
    dirs = topic_config(tmp_path_factory.mktemp("docs_config"), TOPIC)
    append_raw(spark, TOPIC, ROWS)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PII_HASH_KEY", "docs-test-key-0123456789")
        done = run_job(spark, TOPIC, dirs, run_id="docs-run")
    assert done.outcome == "FULL_SUCCESS", done.to_json()
    return done


def _path(url: str) -> Path:
    assert url.startswith("file://"), url
    return Path(unquote(urlparse(url).path))


def _text(page: str) -> str:
    """The page's visible text (scripts and styles dropped, whitespace folded)."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def _assert_shows_the_result(text: str) -> None:
    """Every expectation of the suite by GX's sentence, followed by its own unexpected count."""
    for expectation in SUITE["expectations"]:
        assert SENTENCES[expectation["type"]] in text, expectation["type"]
    found = sorted(((text.index(SENTENCES[e["type"]]), e) for e in SUITE["expectations"]), key=lambda f: f[0])
    for (start, expectation), end in zip(found, [*[f[0] for f in found[1:]], len(text)], strict=True):
        rule = f"{expectation['type']}:{expectation['kwargs']['column']}"
        assert f"{EXPECTED[rule]} unexpected values found" in text[start:end], rule
    assert f"Evaluated Expectations {len(SUITE['expectations'])}" in text


def test_counts_of_the_run_are_the_rows(report: RunReport) -> None:
    assert all(EXPECTED.values()), EXPECTED  # each rule of the suite fails some rows
    assert {e["rule"]: e["unexpected_count"] for e in report.semantic.details["expectations"]} == EXPECTED


def test_pages_and_index(report: RunReport, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cwd, site = tmp_path / "cwd", tmp_path / "site"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    first = _path(publish_data_docs(report.validation_result, str(site), TOPIC, "docs-1"))
    first_written = first.stat().st_mtime_ns
    time.sleep(0.01)
    second = _path(publish_data_docs(report.validation_result, str(site), TOPIC, "docs-2"))
    other = _path(publish_data_docs(report.validation_result, str(site), "other_topic", "docs-1"))

    assert len({first, second, other}) == 3 and all(p.is_file() for p in (first, second, other))
    assert first.stat().st_mtime_ns == first_written  # an old run's page is not rendered again
    assert [p.relative_to(site).parts[:2] for p in (first, second, other)] == [("validations", "shop")] * 3
    assert (first.parts[-3], first.stem, other.parts[-3], other.stem) == ("docs-1", TOPIC, "docs-1", "other_topic")
    index = (site / "index.html").read_text()
    for page in (first, second, other):
        assert f"'_table_row_link_path': '{page.relative_to(site).as_posix()}'" in index
    assert "'run_name': 'docs-1'" in index and "'run_name': 'docs-2'" in index
    assert f"'asset_name': '{TOPIC}'" in index and "'asset_name': 'other_topic'" in index

    text = _text(second.read_text())
    _assert_shows_the_result(text)
    assert "Run Name docs-2" in text and f"Data asset: {TOPIC}" in text
    assert (site / "expectations" / "shop.html").is_file()  # the suite page the run page links to
    assert list(cwd.iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["cwd", "site"]
    assert not (Path.cwd() / "gx").exists() and not (Path.cwd() / "great_expectations.yml").exists()


def test_no_clear_pii_in_the_site(report: RunReport, tmp_path: Path) -> None:
    site = tmp_path / "site"
    page = _path(publish_data_docs(report.validation_result, str(site), TOPIC, "docs-pii"))
    regex = next(e for e in report.semantic.details["expectations"] if e["column"] == "email")
    assert regex["unexpected_count"] == EXPECTED["expect_column_values_to_match_regex:email"]
    files = [p for p in site.rglob("*") if p.is_file()]
    assert len(files) > 20
    for path in files:
        body = path.read_bytes().lower()
        assert b"leak.me" not in body and b"no-at-sign" not in body, path
    assert PII_SAMPLE in page.read_text()
    assert PII_SAMPLE in next((site / "gx_stores" / "validation_results").rglob("*.json")).read_text()


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    import boto3
    from moto import mock_aws

    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket="docs-bucket")
        yield client


def test_s3_site(report: RunReport, s3: Any) -> None:
    first = publish_data_docs(report.validation_result, "s3://docs-bucket/warehouse/docs", TOPIC, "docs-1")
    second = publish_data_docs(report.validation_result, "s3://docs-bucket/warehouse/docs/", TOPIC, "docs-2")
    for url in (first, second):
        assert re.fullmatch(
            rf"s3://docs-bucket/warehouse/docs/validations/shop/docs-\d/\d{{8}}T[\d.]+Z/{TOPIC}\.html", url
        )
    keys = [
        o["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket="docs-bucket")
        for o in page["Contents"]
    ]
    assert all(k.startswith("warehouse/docs/") for k in keys)
    page = s3.get_object(Bucket="docs-bucket", Key=second.removeprefix("s3://docs-bucket/"))
    assert page["ContentType"].startswith("text/html")
    _assert_shows_the_result(_text(page["Body"].read().decode()))
    index = s3.get_object(Bucket="docs-bucket", Key="warehouse/docs/index.html")["Body"].read().decode()
    assert "'run_name': 'docs-1'" in index and "'run_name': 'docs-2'" in index
    # the pages load their CSS and JS from the site itself, put there once
    assert not REMOTE_LOAD.findall(_body(s3, second)), second
    vendored = [k for k in keys if "/static/vendor/" in k]
    assert len(vendored) == len(FILES) + 1, vendored  # the files and the stamp, once for both runs
    for key in keys:
        assert b"leak.me" not in s3.get_object(Bucket="docs-bucket", Key=key)["Body"].read().lower(), key


def _chromium(*args: str) -> str:
    """Headless Chromium's stdout; its process group is killed after 60 s (and in any case on return).

    Every host name resolves to nothing: the page's CSS and JS come from public CDNs this
    machine cannot reach, so they fail at once instead of waiting on DNS. HOME and TMPDIR
    point into a temporary folder, removed on return: Chromium writes crash-report settings
    under HOME whatever ``--user-data-dir`` says, and its socket under TMPDIR (a short path:
    a Unix socket path has at most 107 bytes, too few under pytest's ``tmp_path``).
    """
    binary = shutil.which("chromium")
    if binary is None:
        pytest.fail("Chromium is not installed: `make setup` installs it (Debian: apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="chromium-") as home:
        env = {**os.environ, "HOME": home, "TMPDIR": home}
        env.update(XDG_CONFIG_HOME=f"{home}/.config", XDG_CACHE_HOME=f"{home}/.cache")
        command = [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--user-data-dir={home}/profile",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            *args,
        ]
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True
        )
        try:
            out, err = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            pytest.fail(f"chromium did not finish in 60 s: {command}")
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # helpers it may have left behind
    assert process.returncode == 0, err[-2000:]
    return out


def test_page_in_a_real_browser(report: RunReport, tmp_path: Path) -> None:
    url = publish_data_docs(report.validation_result, str(tmp_path / "site"), TOPIC, "docs-browser")
    screenshot = tmp_path / "page.png"
    _chromium(f"--screenshot={screenshot}", "--window-size=1280,2000", url)
    with Image.open(screenshot) as image:
        assert image.size == (1280, 2000)
        colours = image.convert("RGB").getcolors(maxcolors=1 << 24) or []
    assert len(colours) >= 3  # not a blank page: text on a background
    dom = _chromium("--dump-dom", url)
    assert "<table" in dom and "docs-browser" in dom
    text = _text(dom)
    _assert_shows_the_result(text)
    assert PII_SAMPLE in text and "leak.me" not in dom.lower()


REMOTE_LOAD = re.compile(
    r"""<(?:script|img)[^>]*\ssrc=["']https?://|<link[^>]*\shref=["']https?://|url\(['"]?https?://"""
)
"""What makes a browser fetch from another host: a script, image or stylesheet, a CSS url()."""


def _body(s3: Any, url: str) -> str:
    bucket, _, key = url.removeprefix("s3://").partition("/")
    return str(s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode())


def test_pages_render_without_internet(report: RunReport, tmp_path: Path) -> None:
    """Every page of the site loads nothing remote (GX's CDN files come from the site's
    static/vendor, its logo from static/images; no newsletter banner), and in Chromium with
    every host unresolvable the page's scripts run: bootstrap-table (jQuery, Bootstrap)
    turns GX's tables into its own widgets, which a page without its CDN files never gets."""
    site = tmp_path / "site"
    url = publish_data_docs(report.validation_result, str(site), TOPIC, "docs-offline")
    pages = sorted(site.rglob("*.html"))
    assert len(pages) >= 3  # the run's page, the suite's page, the index
    for page in pages:
        text = page.read_text()
        assert not REMOTE_LOAD.findall(text), (page, REMOTE_LOAD.findall(text)[:3])
        assert "newsletter" not in text, page
        for ref in re.findall(r"""(?:src|href)=["']((?:\.\./|\./)*static/[^"'?#]+)""", text):
            assert (page.parent / ref).resolve().is_file(), (page, ref)  # every local reference resolves
    for vendor in FILES:
        assert (site / VENDOR / vendor.path).is_file(), vendor.path
    dom = _chromium("--dump-dom", "--virtual-time-budget=10000", url)
    assert 'class="bootstrap-table' in dom, dom[:2000]
