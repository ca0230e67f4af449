"""One connection point for every AWS call: cached clients with botocore's retry modes
(throttling and transient errors are retried with backoff and jitter; `standard` by
default, `adaptive` adds client-side rate limiting for a burst of throttling). The
standard AWS environment is honoured: AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL (a local
AWS), AWS_RETRY_MODE and AWS_MAX_ATTEMPTS."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from typing import Any

import boto3
import botocore.exceptions
from botocore.config import Config

from reconciler.errors import AwsError

RETRY_MODES = ("standard", "adaptive")
DEFAULT_MAX_ATTEMPTS = 5


def retry_config(env: Mapping[str, str] = os.environ) -> Config:
    """Standard mode unless AWS_RETRY_MODE asks for adaptive; legacy mode (no backoff
    for throttling) is refused, as is a number of attempts that is not a number >= 1."""
    mode = env.get("AWS_RETRY_MODE") or "standard"
    if mode not in RETRY_MODES:
        raise AwsError(f"AWS_RETRY_MODE={mode!r}: use one of {', '.join(RETRY_MODES)}")
    attempts = env.get("AWS_MAX_ATTEMPTS") or str(DEFAULT_MAX_ATTEMPTS)
    if not attempts.isdigit() or int(attempts) < 1:
        raise AwsError(f"AWS_MAX_ATTEMPTS={attempts!r}: a whole number of at least 1")
    return Config(
        retries={"mode": mode, "total_max_attempts": int(attempts)},
        connect_timeout=5,
        read_timeout=30,
    )


def default_region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


@cache
def _session() -> boto3.session.Session:
    return boto3.session.Session()


@cache
def client(service: str, region: str | None = None) -> Any:
    return _session().client(service, region_name=region or default_region(), config=retry_config())


def on_every_call(handler: Callable[..., None]) -> None:
    """Call `handler(model=..., params=..., **kwargs)` before every AWS call made through
    clients created from now on (botocore's before-call event): for counting calls."""
    _session().events.register("before-call", handler)


def reset_clients() -> None:
    """Forget cached clients (after the environment changed, e.g. in tests)."""
    client.cache_clear()
    _session.cache_clear()


def error_code(err: Exception) -> str:
    if isinstance(err, botocore.exceptions.ClientError):
        return err.response.get("Error", {}).get("Code", "")
    return ""


def error_message(err: Exception) -> str:
    if isinstance(err, botocore.exceptions.ClientError):
        return err.response.get("Error", {}).get("Message", "") or str(err)
    return str(err)


@contextmanager
def aws_errors() -> Iterator[None]:
    """Turn botocore's exceptions into one-line AwsErrors a user can act on."""
    try:
        yield
    except botocore.exceptions.NoCredentialsError as err:
        raise AwsError(
            "no AWS credentials found: set AWS_PROFILE, or run against a local AWS "
            "with AWS_ENDPOINT_URL (see README)"
        ) from err
    except botocore.exceptions.EndpointConnectionError as err:
        raise AwsError(f"cannot reach AWS: {err}") from err
    except botocore.exceptions.ClientError as err:
        op = err.operation_name
        raise AwsError(f"AWS {op} failed: {error_code(err)}: {error_message(err)}") from err
    except botocore.exceptions.BotoCoreError as err:
        raise AwsError(f"AWS call failed: {err}") from err
