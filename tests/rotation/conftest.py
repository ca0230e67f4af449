"""Fixtures for the rotation Lambda's tests: moto's Secrets Manager with the environment
isolated (as in tests/functional), the `rotate` harness that drives the four steps the
way Secrets Manager does, and the real database servers from tests/servers."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.secretsmanager.models import secretsmanager_backends

from rotation_lambda.handler import STEPS, lambda_handler
from rotation_lambda.secrets import CURRENT, PENDING
from tests.servers.mariadb import mariadb, mariadb_without_tls
from tests.servers.redis import redis_server

__all__ = ["mariadb", "mariadb_without_tls", "redis_server"]

REGION = "us-east-1"
ROTATION_FUNCTION = "pci-secret-rotation"
# What the rotation function reads from its environment; none may leak in from outside.
FUNCTION_ENV = (
    "DB_TLS_CA_FILE",
    "REDIS_AUTH_SECRETS",
    "REDIS_TLS_CA_FILE",
    "SECRETS_MANAGER_ENDPOINT",
    "LOG_LEVEL",
)


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """Fake credentials; nothing from the developer's AWS configuration or the function's
    environment."""
    for name in list(os.environ):
        if (
            name.startswith(("AWS_", "RECONCILER_")) and name != "RECONCILER_CACHE_DIR"
        ) or name in FUNCTION_ENV:
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))


@pytest.fixture
def aws() -> Iterator[None]:
    """moto's in-process AWS, empty at the start of each test."""
    with mock_aws():
        yield


@pytest.fixture
def secretsmanager(aws: None) -> Any:
    return boto3.client("secretsmanager", region_name=REGION)


def start_rotation(client: Any, secret_id: str, token: str | None = None) -> str:
    """What RotateSecret does before it invokes the function, emulated inside moto.

    AWS: rotation is enabled and a new version id (the ClientRequestToken) is labelled
    AWSPENDING with no value yet (the label leaves any older version); createSecret then
    puts the value. If a rotation is still unfinished (AWSPENDING on a version that is not
    AWSCURRENT), RotateSecret answers "A previous rotation isn't complete. That rotation
    will be reattempted." and reruns the steps with that version's token.
    moto's rotate_secret does the labelling only on the way to invoking a Lambda through
    Docker, so this sets the same state in moto's backend directly: the version entry has
    stages but no value, exactly as moto itself represents it, and rotation is marked
    enabled with a (never invoked) function ARN, so DescribeSecret says RotationEnabled and
    CancelRotateSecret works. Differences from AWS: no schedule is recorded, and a `token`
    that names an existing version is reused as it is (AWS rejects a token whose version
    already has a different value).
    """
    arn = client.describe_secret(SecretId=secret_id)["ARN"]
    account, region = arn.split(":")[4], arn.split(":")[3]
    secret = secretsmanager_backends[account][region].secrets[arn]
    secret.rotation_requested = secret.rotation_enabled = True  # DescribeSecret shows it
    secret.rotation_lambda_arn = f"arn:aws:lambda:{region}:{account}:function:{ROTATION_FUNCTION}"
    if token is None:
        unfinished = [
            version_id
            for version_id, version in secret.versions.items()
            if PENDING in version["version_stages"] and CURRENT not in version["version_stages"]
        ]
        token = unfinished[0] if unfinished else str(uuid.uuid4())
    if token not in secret.versions:
        secret.remove_version_stages_from_old_versions([PENDING])
        secret.versions[token] = {
            "createdate": int(time.time()),
            "version_id": token,
            "version_stages": [PENDING],
        }
    return token


def rotate(
    client: Any, secret_id: str, steps: Sequence[str] = STEPS, token: str | None = None
) -> str:
    """One rotation as Secrets Manager runs it: start it, then invoke the function once
    per step with the event Secrets Manager sends. Returns the token (the new version)."""
    token = start_rotation(client, secret_id, token)
    for step in steps:
        event = {"SecretId": secret_id, "ClientRequestToken": token, "Step": step}
        lambda_handler(event, None, client=client)
    return token


@pytest.fixture(name="rotate")
def rotate_fixture() -> Callable[..., str]:
    """`rotate(client, secret_id, steps=STEPS, token=None)`: see `rotate`."""
    return rotate
