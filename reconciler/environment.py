"""The settings the handlers read from their environment, checked in one place. A bad
value is one configuration error at cold start, naming each variable and the form it
takes, rather than a failure (or a retried traceback) on every event."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping

from reconciler.errors import ReconcilerError

DRIFT_MAX_CONCURRENT = "DRIFT_MAX_CONCURRENT"
DEFAULT_DRIFT_MAX_CONCURRENT = 5
# The reconciler's own IAM role names, comma-separated: calls made in them are its own.
RECONCILER_ROLES = "RECONCILER_ROLES"
_ROLE_NAMES = re.compile(r"[\w+=.@-]{1,64}(,[\w+=.@-]{1,64})*")

_TABLE = re.compile(r"[A-Za-z0-9_.-]{3,255}")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d{1,2}")
_ROLE_ARN = re.compile(r"arn:aws(?:-[a-z]+)*:iam::\d{12}:role/[\w+=,.@/-]{1,512}")
_TOPIC_ARN = re.compile(r"arn:aws(?:-[a-z]+)*:sns:[a-z]{2}(?:-[a-z]+)+-\d{1,2}:\d{12}:[\w-]{1,256}")
_BUS = re.compile(
    r"[\w.\-/]{1,256}|arn:aws(?:-[a-z]+)*:events:[a-z]{2}(?:-[a-z]+)+-\d{1,2}:\d{12}:event-bus/[\w.\-/]{1,256}"
)
_SECRET = re.compile(r"[\w/+=.@-]{1,512}|arn:aws(?:-[a-z]+)*:secretsmanager:[\w:/+=.@-]+")
_URL = re.compile(r"https?://[^\s/]+(?:/\S*)?")
# git check-ref-format's rules, the ones a mistyped branch breaks.
_BAD_BRANCH = re.compile(r"^[-/.]|[/.]$|\.\.|//|@\{|[\s~^:?*\[\\\x00-\x1f\x7f]|\.lock$")


class ConfigurationError(ReconcilerError):
    """A setting in the environment has a value the reconciler cannot use. Permanent: no
    event can succeed until the function's configuration is fixed."""


def _whole(least: int) -> Callable[[str], bool]:
    return lambda value: value.isdigit() and int(value) >= least


# variable -> (is the value usable, the form it takes). Empty or unset means the default.
CHECKS: dict[str, tuple[Callable[[str], bool], str]] = {
    DRIFT_MAX_CONCURRENT: (_whole(1), "a whole number of at least 1 (default 5)"),
    "AWS_RETRY_MODE": (lambda v: v in ("standard", "adaptive"), "standard or adaptive"),
    "AWS_MAX_ATTEMPTS": (_whole(1), "a whole number of at least 1 (default 5)"),
    "AWS_REGION": (_REGION.fullmatch, "a region name such as us-east-1"),
    "AWS_DEFAULT_REGION": (_REGION.fullmatch, "a region name such as us-east-1"),
    "RECONCILER_TABLE": (_TABLE.fullmatch, "a DynamoDB table name: 3 to 255 of A-Z a-z 0-9 _ - ."),
    "IDEMPOTENCY_TABLE": (_TABLE.fullmatch, "a DynamoDB table name: 3 to 255 of A-Z a-z 0-9 _ - ."),
    "RECONCILER_AUDIT_TABLE": (
        _TABLE.fullmatch,
        "a DynamoDB table name: 3 to 255 of A-Z a-z 0-9 _ - .",
    ),
    "RECONCILER_AUDIT_BUCKET": (
        _BUCKET.fullmatch,
        "an S3 bucket name: 3 to 63 of a-z 0-9 . -, starting and ending with a letter or digit",
    ),
    "CLOUDFORMATION_ROLE_ARN": (
        _ROLE_ARN.fullmatch,
        "an IAM role ARN, arn:aws:iam::ACCOUNT:role/NAME",
    ),
    "NOTIFY_EVENT_BUS": (_BUS.fullmatch, "an EventBridge bus name or ARN"),
    "NOTIFY_TOPIC_ARN": (_TOPIC_ARN.fullmatch, "an SNS topic ARN, arn:aws:sns:REGION:ACCOUNT:NAME"),
    RECONCILER_ROLES: (_ROLE_NAMES.fullmatch, "IAM role names separated by commas"),
    "DESIRED_STATE_BRANCH": (lambda v: not _BAD_BRANCH.search(v), "a git branch name such as main"),
    "GITHUB_TOKEN_SECRET": (_SECRET.fullmatch, "a Secrets Manager secret name or ARN"),
    "GITHUB_APP_SECRET": (_SECRET.fullmatch, "a Secrets Manager secret name or ARN"),
    "GITHUB_API_URL": (_URL.fullmatch, "an http(s) URL such as https://api.github.com"),
}


def problems(env: Mapping[str, str] = os.environ) -> list[str]:
    """One line per variable whose value is set but unusable."""
    found = []
    for name, (usable, form) in CHECKS.items():
        value = env.get(name, "")
        if value and not usable(value):
            found.append(f"{name}={value!r}: expected {form}")
    repository = env.get("DESIRED_STATE_REPOSITORY", "")
    kind, colon, rest = repository.partition(":")
    if colon and kind in ("github", "codecommit") and not _repository_ok(kind, rest):
        form = "github:OWNER/NAME" if kind == "github" else "codecommit:NAME"
        found.append(f"DESIRED_STATE_REPOSITORY={repository!r}: expected {form}")
    return found


def _repository_ok(kind: str, name: str) -> bool:
    if kind == "github":
        return re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", name) is not None
    return re.fullmatch(r"[\w.-]{1,100}", name) is not None


def check(env: Mapping[str, str] = os.environ) -> None:
    """ConfigurationError listing every unusable setting, or nothing."""
    found = problems(env)
    if found:
        raise ConfigurationError("configuration error: " + "; ".join(found))


def drift_max_concurrent(env: Mapping[str, str] = os.environ) -> int:
    value = env.get(DRIFT_MAX_CONCURRENT) or str(DEFAULT_DRIFT_MAX_CONCURRENT)
    usable, form = CHECKS[DRIFT_MAX_CONCURRENT]
    if not usable(value):
        raise ConfigurationError(
            f"configuration error: {DRIFT_MAX_CONCURRENT}={value!r}: expected {form}"
        )
    return int(value)


def reconciler_roles(env: Mapping[str, str] = os.environ) -> tuple[str, ...]:
    """RECONCILER_ROLES as names (checked at cold start by `check`)."""
    return tuple(n for n in env.get(RECONCILER_ROLES, "").split(",") if n)
