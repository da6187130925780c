"""Each run's GX validation result as a page of a GX Data Docs site (static HTML).

A site (a folder, or ``s3://bucket/prefix`` on EMR) holds, next to GX's HTML, the GX
stores its pages are built from: the validation results and the suites (JSON, under
``gx_stores/``). GX's index builder reads them to list every run published so far, and
deletes pages whose result is not in the store, so the stores live with the site.

Publishing a run renders only that run's page and its suite's page (GX's
``resource_identifiers``), then the index: the index is one page listing every run, so
its cost grows with the runs it lists (GX reads each stored result for its status).

The result is rendered as the job kept it: PII values in ``partial_unexpected_list``
were masked before GX saw them (``semantic/validation_pass.py``). Pages load nothing
remote: the site's backends rewrite each page GX writes, and the files GX's templates
take from CDNs are copied into the site once (``site_assets.py``).
"""

from __future__ import annotations

import copy
import hashlib
import mimetypes
import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from great_expectations.core.expectation_suite import ExpectationSuite
    from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResult
    from great_expectations.core.run_identifier import RunIdentifier

SITE_NAME = "warehouse"
STORES_DIR = "gx_stores"
_S3_BACKEND = "S3TupleStoreBackend"
_LOCAL_BACKEND = "OfflineFilesystemStoreBackend"


def publish_data_docs(
    result: ExpectationSuiteValidationResult,
    site_uri: str,
    topic: str,
    run_id: str,
    run_time: datetime | None = None,
) -> str:
    """Add ``result`` to the Data Docs site at ``site_uri``; returns the URL of its page.

    The page is ``validations/<suite>/<run_id>/<run_time>/<topic>.html`` (GX's layout:
    run id and topic keep runs and topics apart): a ``file://`` URL for a folder, the
    ``s3://`` URI for S3. ``run_time`` (default: now) orders the runs on the index;
    publishing the same run id and run time again replaces its page.
    """
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.base import DataContextConfig
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    run = RunIdentifier(run_name=run_id, run_time=run_time or datetime.now(UTC))
    suite_key = ExpectationSuiteIdentifier(name=result.suite_name)
    key = ValidationResultIdentifier(suite_key, run, batch_identifier=topic)
    backend = _backend(site_uri)
    # Ephemeral: the configuration lives here, not in a great_expectations.yml or a gx/ folder.
    config = DataContextConfig(
        stores={
            "results": {"class_name": "ValidationResultsStore", "store_backend": _under(backend, "validation_results")},
            "suites": {"class_name": "ExpectationsStore", "store_backend": _under(backend, "expectation_suites")},
        },
        validation_results_store_name="results",
        expectations_store_name="suites",
        # Profiling is not used; its section would list no page.
        data_docs_sites={
            SITE_NAME: {
                "class_name": "SiteBuilder",
                "store_backend": backend,
                "site_section_builders": {"profiling": "None"},
            }
        },
        analytics_enabled=False,
    )
    context = gx.get_context(mode="ephemeral", project_config=config)
    shown, suite = _with_run_info(result, run, topic)
    context.validation_results_store.set(key, shown)
    context.suites.add_or_update(suite)
    # Only this run's page and its suite's page are rendered (old runs' pages stay as they are).
    pages: list[Any] = [key, suite_key]  # GX's hint says one kind of key; its builders take both
    context.build_data_docs(site_names=[SITE_NAME], resource_identifiers=pages)
    _copy_vendor_files(site_uri)
    url = context.get_docs_sites_urls(resource_identifier=key, site_name=SITE_NAME)[0]["site_url"]
    if url is None:  # GX logs a page it failed to render and goes on
        raise RuntimeError(f"Great Expectations did not render the page of run {run_id!r} (see its log)")
    return str(url)


def _with_run_info(
    result: ExpectationSuiteValidationResult, run: RunIdentifier, topic: str
) -> tuple[ExpectationSuiteValidationResult, ExpectationSuite]:
    """A copy of ``result`` carrying what GX's pages show, and the suite it was validated with.

    The job builds the result from metrics (no GX Validator), so the run id, the batch
    and the GX version, which a Validator puts in ``meta``, are added here (else the
    page shows ``__none__``). The suite is the result's expectations, for its own page
    (the latest run of a suite name sets that page).
    """
    import great_expectations as gx
    from great_expectations.core.expectation_suite import ExpectationSuite

    shown = copy.deepcopy(result)  # the caller's result stays as the job made it
    shown.meta = {
        **shown.meta,
        "run_id": run.to_json_dict(),
        "batch_spec": {"data_asset_name": topic},
        "great_expectations_version": gx.__version__,
    }
    configs = [copy.deepcopy(r.expectation_config) for r in shown.results if r.expectation_config is not None]
    return shown, ExpectationSuite(name=result.suite_name, expectations=configs)


def _backend(site_uri: str) -> dict[str, Any]:
    """The site's GX store backend configuration."""
    if site_uri.startswith("s3://"):
        bucket, _, prefix = site_uri.removeprefix("s3://").partition("/")
        # GX 1.24.1 has no S3 store backend (GX removed it: "remove deprecated store backends",
        # PR #11675). GX loads a backend by module and class name, so this module provides one.
        globals()[_S3_BACKEND] = _s3_backend_class()
        return {"module_name": __name__, "class_name": _S3_BACKEND, "bucket": bucket, "prefix": prefix.strip("/")}
    globals()[_LOCAL_BACKEND] = _local_backend_class()
    return {"module_name": __name__, "class_name": _LOCAL_BACKEND, "base_directory": os.path.abspath(site_uri)}


def _under(backend: dict[str, Any], name: str) -> dict[str, Any]:
    """The same backend, rooted at ``gx_stores/<name>`` of the site."""
    if "bucket" in backend:
        return {**backend, "prefix": "/".join(p for p in (backend["prefix"], STORES_DIR, name) if p)}
    return {**backend, "base_directory": os.path.join(backend["base_directory"], STORES_DIR, name)}


def _offline(path: str, value: str | bytes) -> str | bytes:
    """A page GX writes at ``path`` (under the site's root), loading nothing remote (``site_assets``)."""
    if not isinstance(value, str) or not path.endswith(".html"):
        return value
    from spark_jobs.report.site_assets import offline_page

    return offline_page(value, path.replace(os.sep, "/").count("/"))


def _local_backend_class() -> type:
    """GX's filesystem tuple store backend, writing its pages offline (``_offline``)."""
    cached = globals().get(_LOCAL_BACKEND)
    if isinstance(cached, type):
        return cached
    from great_expectations.data_context.store.tuple_store_backend import TupleFilesystemStoreBackend

    class OfflineFilesystemStoreBackend(TupleFilesystemStoreBackend):
        def _set(self, key: tuple[str, ...], value: Any, **kwargs: Any) -> Any:
            return super()._set(key, _offline(self._convert_key_to_filepath(key), value), **kwargs)

    return OfflineFilesystemStoreBackend


def _copy_vendor_files(site_uri: str) -> None:
    """Put the pages' vendored CSS, JS and fonts in the site once (``site_assets``)."""
    from spark_jobs.report.site_assets import FILES, VENDOR, packaged_files

    stamp = f"{VENDOR}/.complete-{hashlib.sha256(''.join(f.sha256 for f in FILES).encode()).hexdigest()[:16]}"
    if site_uri.startswith("s3://"):
        import boto3

        bucket, _, prefix = site_uri.removeprefix("s3://").partition("/")
        s3 = boto3.client("s3")

        def key(path: str) -> str:
            return "/".join(p for p in (prefix.strip("/"), path) if p)

        if s3.list_objects_v2(Bucket=bucket, Prefix=key(stamp)).get("KeyCount", 0):
            return
        for path, data in packaged_files():
            content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
            s3.put_object(Bucket=bucket, Key=key(path), Body=data, ContentType=content_type)
        s3.put_object(Bucket=bucket, Key=key(stamp), Body=b"")
        return
    root = os.path.abspath(site_uri)
    if os.path.exists(os.path.join(root, stamp)):
        return
    for path, data in packaged_files():
        target = os.path.join(root, *path.split("/"))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as out:
            out.write(data)
    with open(os.path.join(root, *stamp.split("/")), "wb"):
        pass


def _s3_backend_class() -> type:
    """GX's tuple store backend over S3 (boto3): GX's key <-> path logic, S3 for the I/O.

    Defined on first use so that importing this module does not import GX.
    """
    cached = globals().get(_S3_BACKEND)
    if isinstance(cached, type):
        return cached
    import boto3
    from botocore.exceptions import ClientError
    from great_expectations.data_context.store.tuple_store_backend import TupleStoreBackend
    from great_expectations.exceptions import InvalidKeyError

    class S3TupleStoreBackend(TupleStoreBackend):
        def __init__(self, bucket: str, prefix: str = "", **kwargs: Any) -> None:
            kwargs.pop("root_directory", None)
            # S3 keys use "/" whatever the platform.
            super().__init__(**{**kwargs, "platform_specific_separator": False})
            self.bucket, self.prefix = bucket, prefix
            self._s3 = boto3.client("s3")
            self._config = {"bucket": bucket, "prefix": prefix, "module_name": __name__, "class_name": _S3_BACKEND}
            if not self._suppress_store_backend_id:
                _ = self.store_backend_id

        @property
        def config(self) -> dict[str, Any]:
            return self._config

        def _object(self, key: tuple[str, ...]) -> str:
            return "/".join(p for p in (self.prefix, self._convert_key_to_filepath(key)) if p)

        def _get(self, key: tuple[str, ...]) -> Any:  # GX annotates None; its callers use the value
            try:
                body = self._s3.get_object(Bucket=self.bucket, Key=self._object(key))["Body"].read()
            except self._s3.exceptions.NoSuchKey as e:
                raise InvalidKeyError(f"no object s3://{self.bucket}/{self._object(key)}") from e
            return str(body.decode("utf-8"))

        def _get_all(self) -> list[Any]:
            return [self._get(k) for k in self.list_keys() if k != self.STORE_BACKEND_ID_KEY]

        def _set(self, key: tuple[str, ...], value: str | bytes, **kwargs: Any) -> Any:
            value = _offline(self._convert_key_to_filepath(key), value)
            body = value.encode("utf-8") if isinstance(value, str) else value
            extra = {"ContentType": kwargs["content_type"]} if kwargs.get("content_type") else {}
            self._s3.put_object(Bucket=self.bucket, Key=self._object(key), Body=body, **extra)
            return self._object(key)

        def _move(self, source_key: tuple[str, ...], dest_key: tuple[str, ...], **kwargs: Any) -> None:
            source = {"Bucket": self.bucket, "Key": self._object(source_key)}
            self._s3.copy_object(Bucket=self.bucket, Key=self._object(dest_key), CopySource=source)
            self._s3.delete_object(**source)

        def list_keys(self, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
            root = f"{self.prefix}/" if self.prefix else ""
            keys = []
            pages = self._s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=root + "/".join((*filter(None, [self.filepath_prefix]), *prefix))
            )
            for page in pages:
                for item in page.get("Contents", []):
                    path = item["Key"][len(root) :]
                    if self._is_missing_prefix_or_suffix(self.filepath_prefix, self.filepath_suffix, path):
                        continue
                    key = self._convert_filepath_to_key(path)
                    if key and not self.is_ignored_key(key):
                        keys.append(key)
            return keys

        def remove_key(self, key: tuple[str, ...]) -> None:
            self._s3.delete_object(Bucket=self.bucket, Key=self._object(key))

        def _has_key(self, key: tuple[str, ...]) -> bool:
            try:
                self._s3.head_object(Bucket=self.bucket, Key=self._object(key))
            except ClientError as e:
                if e.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                    return False
                raise
            return True

        def get_url_for_key(self, key: tuple[str, ...], protocol: str | None = None) -> str:
            return f"s3://{self.bucket}/{self._object(key)}"

    return S3TupleStoreBackend
