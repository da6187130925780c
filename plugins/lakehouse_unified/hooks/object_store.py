"""Small text objects (contracts, suites, run reports) at a local path or an ``s3://`` URI."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook


class ObjectTextHook(BaseHook):
    """Read or delete one small text object; S3 goes through the Amazon provider's ``S3Hook``."""

    hook_name = "Text objects (local or S3)"

    def __init__(self, aws_conn_id: str | None = "aws_default", region_name: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.aws_conn_id = aws_conn_id
        self.region_name = region_name

    @cached_property
    def s3_hook(self) -> S3Hook:
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        return S3Hook(aws_conn_id=self.aws_conn_id, region_name=self.region_name)

    def read_text(self, uri: str) -> str | None:
        """The object's text, or None if it does not exist."""
        if uri.startswith("s3://"):
            bucket, key = self.s3_hook.parse_s3_url(uri)
            if not self.s3_hook.check_for_key(key, bucket):
                return None
            return self.s3_hook.read_key(key, bucket)
        path = Path(uri)
        return path.read_text(encoding="utf-8") if path.is_file() else None

    def delete(self, uri: str) -> None:
        """Remove the object if it exists (a stale run report must not be read as this run's)."""
        if uri.startswith("s3://"):
            bucket, key = self.s3_hook.parse_s3_url(uri)
            self.s3_hook.delete_objects(bucket, [key])
            return
        Path(uri).unlink(missing_ok=True)
