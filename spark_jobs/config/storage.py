"""Read and write small text files on a local path or ``s3://`` (contracts, reports)."""

from __future__ import annotations

from pathlib import Path


def read_text(uri: str) -> str:
    """Return the text at ``uri``; raise FileNotFoundError if there is none."""
    if uri.startswith("s3://"):
        bucket, key = _split_s3(uri)
        import boto3  # only on EMR/S3 paths: keeps local runs light

        client = boto3.client("s3")
        try:
            body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
        except client.exceptions.NoSuchKey as exc:
            raise FileNotFoundError(uri) from exc
        return str(body.decode("utf-8"))
    return Path(uri).read_text(encoding="utf-8")


def write_text(uri: str, text: str) -> None:
    """Write ``text`` to ``uri`` (creating local parent folders)."""
    if uri.startswith("s3://"):
        bucket, key = _split_s3(uri)
        import boto3

        boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=text.encode("utf-8"))
        return
    path = Path(uri)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)  # atomic: a reader never sees half a report


def join(base: str, name: str) -> str:
    return f"{base.rstrip('/')}/{name}"


def _split_s3(uri: str) -> tuple[str, str]:
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket or not key:
        raise ValueError(f"not an s3://bucket/key URI: {uri!r}")
    return bucket, key
