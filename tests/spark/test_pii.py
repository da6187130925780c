from __future__ import annotations

import hashlib
import hmac

import pytest
from pyspark.sql import functions as F

from spark_jobs.config.contract import FieldSpec, parse_contract
from spark_jobs.exceptions import MissingSecretError
from spark_jobs.semantic.pii import REDACTED, hash_key_from_env, hmac_sha256, mask

pytestmark = pytest.mark.spark


@pytest.mark.parametrize("key", [b"k" * 20, b"a-much-longer-key-than-one-block-" * 3])
def test_hmac_matches_python_hmac(spark, key: bytes) -> None:
    values = ["alice@example.com", "ünïcødé", "", None]
    df = spark.createDataFrame([(v,) for v in values], "v string")
    got = [r.h for r in df.select(hmac_sha256(F.col("v"), key).alias("h")).collect()]
    expected = [hmac.new(key, v.encode(), hashlib.sha256).hexdigest() if v is not None else None for v in values]
    assert got == expected


def test_mask_and_redact(spark) -> None:
    df = spark.createDataFrame([("4111111111111111",), ("123",), (None,)], "v string")
    masked = [
        r.m
        for r in df.select(mask(F.col("v"), FieldSpec("c", "string", ("c",), pii="mask"), None).alias("m")).collect()
    ]
    assert masked == ["************1111", "********", None]
    redacted = [
        r.m
        for r in df.select(mask(F.col("v"), FieldSpec("c", "string", ("c",), pii="redact"), None).alias("m")).collect()
    ]
    assert redacted == [REDACTED, REDACTED, None]


def test_hash_fields_need_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    contract = parse_contract("topic: t\nfields: [{name: e, type: string, pii: hash}]", "contracts/t.yaml")
    monkeypatch.delenv("PII_HASH_KEY", raising=False)
    with pytest.raises(MissingSecretError, match=r"topic 't'.*PII_HASH_KEY"):
        hash_key_from_env(contract)
    monkeypatch.setenv("PII_HASH_KEY", "short")
    with pytest.raises(MissingSecretError, match="shorter than 16"):
        hash_key_from_env(contract)


def test_hash_key_from_aws_secrets_manager(monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3
    from moto import mock_aws

    contract = parse_contract("topic: t\nfields: [{name: e, type: string, pii: hash}]", "contracts/t.yaml")
    monkeypatch.delenv("PII_HASH_KEY", raising=False)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        arn = boto3.client("secretsmanager").create_secret(Name="pii-key", SecretString="k" * 32)["ARN"]
        monkeypatch.setenv("PII_HASH_KEY_SECRET_ID", arn)
        assert hash_key_from_env(contract) == b"k" * 32
