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
import botocore.parsers
from botocore.config import Config
from botocore.retries import standard

from reconciler.errors import AwsError, PermanentAwsError

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


# botocore's own standard-mode classification: throttling codes, transient codes
# (RequestTimeout, ...), 5xx, and connection and HTTP client errors.
_RETRYABLE = standard.OrRetryChecker(
    [standard.TransientRetryableChecker(), standard.ThrottledRetryableChecker()]
)
# botocore retries a quota as throttling; once its retries are spent, a quota (the
# account's stack limit) stays exceeded until a human raises it or frees some.
QUOTA_CODES = frozenset({"LimitExceeded", "LimitExceededException"})
# Credentials that expired mid-work (a long pass, an assumed role's session): the next
# attempt fetches new ones, so the event is retried rather than recorded Failed.
EXPIRED_CODES = frozenset({"ExpiredToken", "ExpiredTokenException", "RequestExpired"})
# Not retried by botocore, but they say nothing about the request: a garbled answer (a
# proxy's HTML page) or a credentials endpoint that did not answer may pass next time.
_ALSO_TRANSIENT = (
    botocore.parsers.ResponseParserError,
    botocore.exceptions.CredentialRetrievalError,
)


# Every exception class botocore raises: all of botocore.exceptions (warnings aside),
# and the parser's, which is not among them.
BOTOCORE_ERRORS = (
    botocore.exceptions.ClientError,
    botocore.exceptions.BotoCoreError,
    botocore.exceptions.UndefinedModelAttributeError,
    botocore.parsers.ResponseParserError,
)


class _Answer:
    def __init__(self, status_code: int) -> None:
        self.status_code = status_code


def is_transient(err: Exception) -> bool:
    """Whether a later attempt may succeed where botocore's retries gave up (throttling,
    5xx, timeouts, connection errors), as opposed to AWS refusing the request itself."""
    if error_code(err) in QUOTA_CODES:
        return False
    if error_code(err) in EXPIRED_CODES:
        return True
    if isinstance(err, botocore.exceptions.ClientError):
        status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status == 429:
            return True
        context = standard.RetryContext(
            attempt_number=1,
            parsed_response=err.response,
            http_response=_Answer(status) if status else None,
        )
    else:
        context = standard.RetryContext(attempt_number=1, caught_exception=err)
    return _RETRYABLE.is_retryable(context) or isinstance(err, _ALSO_TRANSIENT)


def _one_line(text: str, limit: int = 600) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def translated(err: Exception) -> AwsError:
    """A botocore exception as a one-line AwsError, permanent when a later attempt cannot
    succeed (PermanentAwsError)."""
    kind = AwsError if is_transient(err) else PermanentAwsError
    if isinstance(err, botocore.exceptions.NoCredentialsError):
        text = (
            "no AWS credentials found: set AWS_PROFILE, or run against a local AWS "
            "with AWS_ENDPOINT_URL (see README)"
        )
    elif isinstance(err, botocore.exceptions.EndpointConnectionError):
        text = f"cannot reach AWS: {err}"
    elif isinstance(err, botocore.exceptions.ClientError):
        text = f"AWS {err.operation_name} failed: {error_code(err)}: {error_message(err)}"
    else:
        text = f"AWS call failed: {type(err).__name__}: {err}"
    return kind(_one_line(text), error_code(err) or type(err).__name__)


@contextmanager
def aws_errors() -> Iterator[None]:
    """Turn botocore's exceptions, of every kind, into one-line AwsErrors a user can act
    on (usable as a decorator too)."""
    try:
        yield
    except BOTOCORE_ERRORS as err:
        raise translated(err) from err
