"""One connection point for every AWS call: cached clients with botocore's standard
retry mode (throttling and transient errors are retried with backoff). The standard AWS
environment is honoured: AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL (a local AWS)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

import boto3
import botocore.exceptions
from botocore.config import Config

from reconciler.errors import AwsError

RETRIES = Config(
    retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=30
)


def default_region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


@cache
def _session() -> boto3.session.Session:
    return boto3.session.Session()


@cache
def client(service: str, region: str | None = None) -> Any:
    return _session().client(service, region_name=region or default_region(), config=RETRIES)


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
