"""A bad setting in a handler's environment is one clear configuration error at cold
start (the handler module's import, as Lambda runs it), naming the variable and the form
it takes; not a failure, or a retried traceback, on every event."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler import environment

ROOT = Path(__file__).resolve().parents[2]
HANDLERS = ("push", "stack_status", "drift", "schedule")

BAD = [
    ("DRIFT_MAX_CONCURRENT", "five", "a whole number of at least 1"),
    ("DRIFT_MAX_CONCURRENT", "0", "a whole number of at least 1"),
    ("DRIFT_MAX_CONCURRENT", "-1", "a whole number of at least 1"),
    ("DRIFT_MAX_CONCURRENT", "2.5", "a whole number of at least 1"),
    ("AWS_MAX_ATTEMPTS", "zero", "a whole number of at least 1"),
    ("AWS_RETRY_MODE", "legacy", "standard or adaptive"),
    ("AWS_REGION", "Mars", "a region name"),
    ("AWS_DEFAULT_REGION", "us east 1", "a region name"),
    ("RECONCILER_TABLE", "my table", "a DynamoDB table name"),
    ("RECONCILER_TABLE", "ab", "a DynamoDB table name"),
    ("IDEMPOTENCY_TABLE", "t" * 256, "a DynamoDB table name"),
    ("CLOUDFORMATION_ROLE_ARN", "admin", "an IAM role ARN"),
    ("CLOUDFORMATION_ROLE_ARN", "arn:aws:iam::12:role/x", "an IAM role ARN"),
    ("NOTIFY_TOPIC_ARN", "alerts", "an SNS topic ARN"),
    ("NOTIFY_EVENT_BUS", "a bus", "an EventBridge bus name or ARN"),
    ("DESIRED_STATE_REPOSITORY", "github:acme", "github:OWNER/NAME"),
    ("DESIRED_STATE_REPOSITORY", "codecommit:", "codecommit:NAME"),
    ("DESIRED_STATE_BRANCH", "feature..x", "a git branch name"),
    ("DESIRED_STATE_BRANCH", "main branch", "a git branch name"),
    ("GITHUB_TOKEN_SECRET", "my secret", "a Secrets Manager secret name or ARN"),
    ("GITHUB_API_URL", "api.github.com", "an http(s) URL"),
]
GOOD = {
    "DRIFT_MAX_CONCURRENT": "5",
    "AWS_MAX_ATTEMPTS": "8",
    "AWS_RETRY_MODE": "adaptive",
    "AWS_REGION": "eu-central-1",
    "AWS_DEFAULT_REGION": "us-gov-west-1",
    "RECONCILER_TABLE": "gitops-reconciler",
    "IDEMPOTENCY_TABLE": "gitops_reconciler.idempotency",
    "CLOUDFORMATION_ROLE_ARN": "arn:aws:iam::123456789012:role/service/gitops-cfn",
    "NOTIFY_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:gitops-alerts",
    "NOTIFY_EVENT_BUS": "arn:aws:events:us-east-1:123456789012:event-bus/gitops",
    "DESIRED_STATE_REPOSITORY": "github:acme/desired-state",
    "DESIRED_STATE_BRANCH": "release/2026-12",
    "GITHUB_TOKEN_SECRET": "arn:aws:secretsmanager:us-east-1:123456789012:secret:gh-AbCdEf",
    "GITHUB_API_URL": "https://github.example.com/api/v3",
}


@pytest.mark.parametrize(("name", "value", "form"), BAD)
def test_a_bad_value_is_one_line_naming_the_variable_and_its_form(name, value, form):
    (problem,) = environment.problems({**GOOD, name: value})
    assert problem.startswith(f"{name}={value!r}: expected ")
    assert form in problem


def test_good_and_unset_values_are_no_problem():
    assert environment.problems(GOOD) == []
    assert environment.problems({}) == []
    assert environment.problems({"DESIRED_STATE_REPOSITORY": "https://git.example.com/x.git"}) == []


def test_every_bad_value_is_in_the_one_error():
    with pytest.raises(environment.ConfigurationError) as raised:
        environment.check({"DRIFT_MAX_CONCURRENT": "five", "AWS_RETRY_MODE": "legacy"})
    message = str(raised.value)
    assert message.startswith("configuration error: ")
    assert "DRIFT_MAX_CONCURRENT='five'" in message and "AWS_RETRY_MODE='legacy'" in message


def cold_start(handler: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Import the handler module in a fresh Python, as Lambda's init does."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(tuple(environment.CHECKS))}
    clean.pop("DESIRED_STATE_REPOSITORY", None)
    return subprocess.run(
        [sys.executable, "-c", f"import handlers.{handler}"],
        cwd=ROOT,
        env={**clean, "AWS_DEFAULT_REGION": "us-east-1", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("handler", HANDLERS)
def test_drift_max_concurrent_five_fails_the_cold_start_once_clearly(handler):
    """GIVEN DRIFT_MAX_CONCURRENT=five WHEN a handler's container starts THEN the import
    fails with one ConfigurationError naming the variable and the expected form, logged
    once as one JSON line; no event is ever half handled."""
    started = cold_start(handler, DRIFT_MAX_CONCURRENT="five")
    assert started.returncode != 0
    expected = (
        "configuration error: DRIFT_MAX_CONCURRENT='five': "
        "expected a whole number of at least 1 (default 5)"
    )
    error = f"reconciler.environment.ConfigurationError: {expected}"
    assert started.stderr.splitlines()[-1] == error  # what Lambda shows as the init error
    assert started.stderr.count("ConfigurationError: ") == 1
    logged = [json.loads(line) for line in started.stdout.splitlines() if line.startswith("{")]
    assert [(entry["message"], entry["error"]) for entry in logged] == [
        ("configuration error", expected)
    ]


def test_a_good_environment_starts_cleanly():
    started = cold_start("schedule", **GOOD)
    assert (started.returncode, started.stderr) == (0, "")


def test_the_webhook_keeps_its_own_http_answers_for_configuration():
    """The webhook answers a misconfiguration with a 500 naming it (docs/webhooks.md), so
    its cold start does not fail on a setting it does not read."""
    assert cold_start("webhook", DRIFT_MAX_CONCURRENT="five").returncode == 0


def test_a_setting_changed_after_the_cold_start_fails_the_event_without_a_traceback(
    aws, monkeypatch, tmp_path
):
    """In one process with several functions' environments (the deployed harness), a bad
    value can appear after import: the event fails with the reason, nothing is raised."""
    from handlers import idempotency, runtime, schedule
    from localaws.lambda_context import LambdaContext
    from tests.repo import git_repo

    monkeypatch.setenv("DESIRED_STATE_REPOSITORY", str(git_repo(tmp_path / "desired")))
    monkeypatch.setenv("DRIFT_MAX_CONCURRENT", "five")
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "CRITICAL")
    runtime.services.cache_clear()
    runtime.source.cache_clear()
    idempotency.reset()
    answer = schedule.handler({}, LambdaContext())
    assert answer["status"] == "failed"
    assert "DRIFT_MAX_CONCURRENT='five'" in answer["reason"]
