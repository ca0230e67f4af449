"""The rotation function's entry point: Secrets Manager calls it four times per rotation
(createSecret, setSecret, testSecret, finishSecret) with the same ClientRequestToken.

The contract is checked first, as AWS's own rotation templates do: rotation enabled,
the token is a version of the secret, already AWSCURRENT means done (a repeated
finishSecret), otherwise it must be AWSPENDING. Then the secret's rotator runs the step.
Every step is idempotent: Secrets Manager retries a failed rotation from the start.

Which rotator: a secret listed in REDIS_AUTH_SECRETS ("secret-arn=replication-group-id",
comma-separated) holds a Redis AUTH token; any other secret is a MySQL user secret
(engine, host, port, username, password).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any, Protocol

import boto3

from rotation_lambda.secrets import CURRENT, PENDING, RotationError, Secret

log = logging.getLogger()
log.setLevel(os.environ.get("LOG_LEVEL", "INFO"))
# botocore's DEBUG records carry request and response bodies, SecretString included.
for _name in ("botocore", "boto3", "urllib3"):
    logging.getLogger(_name).setLevel(max(logging.INFO, log.level))

STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")


class Rotator(Protocol):
    """One kind of secret. Each method is one step, idempotent, and raises
    RotationError when it cannot go on now (Secrets Manager retries the rotation)."""

    def create(self, secret: Secret, token: str) -> None: ...

    def set(self, secret: Secret, token: str) -> None: ...

    def test(self, secret: Secret, token: str) -> None: ...

    def finish(self, secret: Secret, token: str) -> None: ...


def lambda_handler(event: Mapping[str, Any], context: Any, client: Any = None) -> None:
    secret_id, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
    if step not in STEPS:
        raise RotationError(f"{secret_id}: unknown step {step!r}")
    client = client or boto3.client(
        "secretsmanager", endpoint_url=os.environ.get("SECRETS_MANAGER_ENDPOINT") or None
    )
    secret = Secret(client, secret_id)
    if not secret.metadata.get("RotationEnabled", True):
        raise RotationError(f"{secret_id}: rotation is not enabled")
    labels = secret.stages().get(token)
    if labels is None:
        raise RotationError(f"{secret_id}: version {token} has no stage for rotation")
    if CURRENT in labels:
        log.info("%s: version %s is already AWSCURRENT; nothing to do", secret_id, token)
        return
    if PENDING not in labels:
        raise RotationError(f"{secret_id}: version {token} is not AWSPENDING")
    rotator = rotator_for(secret, os.environ)
    log.info("%s: %s for version %s", secret_id, step, token)
    method = {"createSecret": "create", "setSecret": "set", "testSecret": "test"}.get(
        step, "finish"
    )
    getattr(rotator, method)(secret, token)


def rotator_for(secret: Secret, env: Mapping[str, str]) -> Rotator:
    groups = redis_groups(env.get("REDIS_AUTH_SECRETS", ""))
    group = groups.get(secret.arn) or groups.get(secret.metadata.get("Name", ""))
    if group:
        from rotation_lambda.redis_auth import RedisAuthRotator

        return RedisAuthRotator(group)
    from rotation_lambda.mysql import MySqlRotator

    return MySqlRotator()


def redis_groups(text: str) -> dict[str, str]:
    """ "arn-or-name=group,..." -> {arn-or-name: group}."""
    pairs = (item.strip().rpartition("=") for item in text.split(",") if item.strip())
    return {key: group for key, _, group in pairs if key and group}
