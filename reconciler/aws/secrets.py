"""Secret strings from Secrets Manager (the webhook secret, the GitHub token).

Kept per container for five minutes: a busy webhook does not pay one GetSecretValue per
delivery, and a rotated secret is picked up within minutes without a redeploy.
"""

from __future__ import annotations

import time

from reconciler.aws import session
from reconciler.errors import AwsError

MAX_AGE_SECONDS = 300

_cache: dict[str, tuple[float, str]] = {}


def secret_string(secret_id: str) -> str:
    """The current SecretString of `secret_id` (a name or an ARN). Errors name the secret,
    never its value."""
    now = time.monotonic()
    cached = _cache.get(secret_id)
    if cached and now - cached[0] < MAX_AGE_SECONDS:
        return cached[1]
    try:
        with session.aws_errors():
            answer = session.client("secretsmanager").get_secret_value(
                SecretId=secret_id, VersionStage="AWSCURRENT"
            )
    except AwsError as err:
        raise AwsError(f"secret {secret_id!r} cannot be read: {err}") from err
    value = answer.get("SecretString")
    if value is None:
        raise AwsError(f"secret {secret_id!r} has no string value (only a binary one)")
    _cache[secret_id] = (now, value)
    return value


def forget_secrets() -> None:
    """Drop the cached values (tests, or after the environment changed)."""
    _cache.clear()
