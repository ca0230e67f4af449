"""Secret strings from Secrets Manager (the webhook secret, the GitHub token, the GitHub
App's credentials).

Kept per container for five minutes: a busy webhook does not pay one GetSecretValue per
delivery, and a rotated secret is picked up within minutes without a redeploy.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

from reconciler.aws import session
from reconciler.errors import AwsError

if TYPE_CHECKING:
    from reconciler.github_report import AppCredentials

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


def github_app_credentials(secret_id: str) -> AppCredentials:
    """A GitHub App's credentials from a secret holding JSON
    `{"app_id": ..., "private_key": PEM, "installation_id": optional}` (GITHUB_APP_SECRET).
    Errors name the secret and the missing key, never a value."""
    from reconciler.github_report import AppCredentials

    try:
        value = json.loads(secret_string(secret_id))
    except ValueError:
        raise AwsError(f"secret {secret_id!r} is not JSON") from None
    if not isinstance(value, dict):
        raise AwsError(f"secret {secret_id!r} is not a JSON object")
    app_id, key = value.get("app_id"), value.get("private_key")
    if not isinstance(app_id, (str, int)) or not str(app_id).strip():
        raise AwsError(f"secret {secret_id!r} has no app_id")
    if not isinstance(key, str) or "PRIVATE KEY" not in key:
        raise AwsError(f"secret {secret_id!r} has no PEM private_key")
    installation = value.get("installation_id")
    return AppCredentials(
        str(app_id).strip(), key, str(installation) if installation not in (None, "") else None
    )
