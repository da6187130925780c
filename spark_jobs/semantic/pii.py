"""PII masking with Spark's own functions (no Python UDF, so it runs in the JVM).

``hash`` is HMAC-SHA256 (RFC 2104) built from ``sha2`` over binary concatenations:
H((K ^ opad) || H((K ^ ipad) || m)). Tokens are joinable across tables and runs with
the same key, and not reversible by a dictionary attack without the key.
"""

from __future__ import annotations

import hashlib
import os

from pyspark.sql import Column, SparkSession
from pyspark.sql import functions as F

from spark_jobs.config.contract import FieldSpec, TopicContract
from spark_jobs.exceptions import MissingSecretError
from spark_jobs.interface import PII_HASH_KEY_ENV, PII_HASH_KEY_SECRET_ENV

HASH_KEY_ENV = PII_HASH_KEY_ENV
HASH_KEY_SECRET_ENV = PII_HASH_KEY_SECRET_ENV  # AWS Secrets Manager id/ARN (EMR Serverless)
REDACTED = "[REDACTED]"
_BLOCK = 64
PII_SAMPLE = "[pii: not shown]"
# Conservative patterns for values that look like PII in fields nobody classified
# (drift samples, echoed values in error reasons).
LOOKS_LIKE_PII = (
    r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}"  # email
    r"|(?:\d[ -]?){13,19}"  # card number
    r"|\+?\d[\d ().-]{7,}\d"  # phone number
)


def shown_unless_pii(value: Column, length: int, placeholder: str = PII_SAMPLE) -> Column:
    """The first ``length`` characters, or ``placeholder`` if they look like PII.

    Only the shown part is checked: the email pattern backtracks quadratically, so
    running it over a 1 MB value would stall the job.
    """
    shown = F.substring(value, 1, length)
    return F.when(shown.rlike(LOOKS_LIKE_PII), F.lit(placeholder)).otherwise(shown)


def _secret_value(secret_id: str) -> str:
    import boto3  # only when the key lives in AWS Secrets Manager

    response = boto3.client("secretsmanager").get_secret_value(SecretId=secret_id)
    return str(response.get("SecretString") or "")


def hash_key_from_env(contract: TopicContract) -> bytes | None:
    """The HMAC key, required when the contract has ``pii: hash`` fields.

    ``PII_HASH_KEY`` (set from an Airflow connection/secret by the DAG) wins; otherwise
    ``PII_HASH_KEY_SECRET_ID`` names an AWS Secrets Manager secret holding the key.
    """
    value = os.environ.get(HASH_KEY_ENV, "")
    secret_id = os.environ.get(HASH_KEY_SECRET_ENV, "")
    if not value and secret_id and contract.has_hashed_pii:
        value = _secret_value(secret_id)
    if contract.has_hashed_pii and len(value) < 16:
        fields = ", ".join(f.name for f in contract.fields if f.pii == "hash")
        raise MissingSecretError(
            f"topic {contract.topic!r}: fields {fields} are 'pii: hash' but {HASH_KEY_ENV} is "
            f"{'not set' if not value else 'shorter than 16 characters'} (nor {HASH_KEY_SECRET_ENV}); set "
            "one of them (Airflow: the topic's pii_hash_key setting) to write the semantic layer. "
            "Nothing was written to it."
        )
    return value.encode("utf-8") if value else None


def hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def hmac_sha256(value: Column, key: bytes) -> Column:
    """Hex HMAC-SHA256 of the value's UTF-8 text; null stays null."""
    inner_pad, outer_pad = hmac_pads(key)
    inner = F.unhex(F.sha2(F.concat(F.lit(inner_pad), F.encode(value.cast("string"), "UTF-8")), 256))
    return F.sha2(F.concat(F.lit(outer_pad), inner), 256)


def partial_mask(value: Column) -> Column:
    """All but the last 4 characters as ``*``; fully masked when shorter than 8."""
    text = value.cast("string")
    return F.when(F.length(text) < 8, F.lit("********")).otherwise(F.regexp_replace(text, r"(?s).(?=.{4})", "*"))


def mask(value: Column, spec: FieldSpec, key: bytes | None) -> Column:
    """Apply the field's PII strategy; non-PII values pass through unchanged."""
    if spec.pii == "none":
        return value
    if spec.pii == "hash":
        if key is None:
            raise MissingSecretError(f"field {spec.name!r} needs {HASH_KEY_ENV}")
        return hmac_sha256(value, key)
    if spec.pii == "mask":
        return partial_mask(value)
    return F.when(value.isNotNull(), F.lit(REDACTED))


def hide_key_in_plans(spark: SparkSession, key: bytes | None) -> None:
    """Redact the HMAC pads from query plans shown in logs and the Spark UI."""
    if key is None:
        return
    inner_pad, outer_pad = hmac_pads(key)
    spark.conf.set("spark.sql.redaction.string.regex", f"(?i)({inner_pad.hex()}|{outer_pad.hex()})")
