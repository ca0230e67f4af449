"""Builds the edges of a reconcile pass from the environment: the AWS services and the
desired-state source."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from reconciler.aws.catalog import AwsCatalog
from reconciler.aws.cloudformation import CloudFormation
from reconciler.aws.dynamodb import store_from_env
from reconciler.aws.live_settings import LiveSettings
from reconciler.aws.notifications import notifier_from_env
from reconciler.aws.ssm import SsmOutputs
from reconciler.errors import SourceError
from reconciler.reconcile import Services
from reconciler.source import GitSource, Source

if TYPE_CHECKING:
    from reconciler.aws.audit import DynamoAuditLog
    from reconciler.github_report import GitHubReporter

GITHUB_API = "https://api.github.com"


def services_from_env(
    env: Mapping[str, str] = os.environ, change_set_wait_seconds: int = 30, fan_out: bool = True
) -> Services:
    """Clients come from reconciler.aws.session's cache, so building this is cheap.
    With `fan_out` and WORK_QUEUE_PREFIX set, changes go to the stack workers; a stack
    worker (and the CLI) builds its services without it."""
    from reconciler.aws.accounts import Accounts
    from reconciler.aws.work_queue import work_queue_from_env

    built = Services(
        cfn=CloudFormation(role_arn=env.get("CLOUDFORMATION_ROLE_ARN", "")),
        outputs_for=SsmOutputs,
        status=store_from_env(env),
        change_set_wait_seconds=change_set_wait_seconds,
        catalog=AwsCatalog(),
        settings=LiveSettings(),
        notifier=notifier_from_env(env),
        # A table named by RECONCILER_AUDIT_TABLE was made by bootstrap (the Lambdas' roles
        # cannot create one): missing, it is an error. Unnamed, the default is created.
        audit=audit_from_env(env, create_if_missing=not env.get("RECONCILER_AUDIT_TABLE")),
        queue=work_queue_from_env(env) if fan_out else None,
    )
    built.reach = Accounts(env).reach(built)
    return built


def audit_from_env(
    env: Mapping[str, str] = os.environ, *, create_if_missing: bool = True
) -> DynamoAuditLog:
    """The audit trail: the table RECONCILER_AUDIT_TABLE (default
    gitops-reconciler-audit, created on first append unless create_if_missing is False)
    and, when RECONCILER_AUDIT_BUCKET is set, a copy of each record in that Object Lock
    bucket. Nothing is called here: a cold start pays nothing."""
    from reconciler.aws.audit import DEFAULT_TABLE, DynamoAuditLog

    name = env.get("RECONCILER_AUDIT_TABLE", "").strip()
    return DynamoAuditLog(
        name or DEFAULT_TABLE,
        env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
        bucket=env.get("RECONCILER_AUDIT_BUCKET", "").strip(),
        create_if_missing=create_if_missing,
        default_name_used=not name,
    )


def source_from_env(env: Mapping[str, str] = os.environ) -> Source:
    """DESIRED_STATE_REPOSITORY names the source:
    `github:OWNER/NAME` (REST API; token in the secret GITHUB_TOKEN_SECRET, optional),
    `codecommit:NAME` (CodeCommit API in the Lambda's region), or anything git can clone.
    DESIRED_STATE_BRANCH (default main) is the branch followed."""
    repository = env.get("DESIRED_STATE_REPOSITORY", "")
    if not repository:
        raise SourceError("DESIRED_STATE_REPOSITORY is not set")
    branch = env.get("DESIRED_STATE_BRANCH") or "main"
    kind, _, name = repository.partition(":")
    if kind == "github":
        from reconciler.aws.secrets import secret_string
        from reconciler.github import GitHubSource

        token_secret = env.get("GITHUB_TOKEN_SECRET", "")
        return GitHubSource(
            name,
            branch,
            token=(lambda: secret_string(token_secret)) if token_secret else None,
            api_url=env.get("GITHUB_API_URL") or GITHUB_API,
        )
    if kind == "codecommit":
        from reconciler.aws.codecommit import CodeCommitSource

        return CodeCommitSource(name, branch)
    return GitSource(repository, branch)


def github_reporter_from_env(env: Mapping[str, str] = os.environ) -> GitHubReporter | None:
    """Where previews and deploy statuses are reported, or None when GitHub reporting is
    not configured: the desired state must be on GitHub (github:OWNER/NAME), and either
    GITHUB_REPORT=true, a token (GITHUB_TOKEN_SECRET) or a GitHub App (GITHUB_APP_SECRET,
    whose plan reports are check runs with annotations) given. Secrets are read at the
    first report, not here: a cold start pays nothing, and an unreadable secret is a
    failed report (logged), never a failed reconcile. Reporting stays optional: a
    reconciler without it reconciles all the same."""
    kind, _, name = env.get("DESIRED_STATE_REPOSITORY", "").partition(":")
    token_secret = env.get("GITHUB_TOKEN_SECRET", "").strip()
    app_secret = env.get("GITHUB_APP_SECRET", "").strip()
    wanted = env.get("GITHUB_REPORT", "").strip().lower()
    if kind != "github" or wanted == "false":
        return None
    if not (wanted == "true" or token_secret or app_secret):
        return None
    from reconciler.aws.secrets import github_app_credentials, secret_string
    from reconciler.github_report import GitHubReporter

    return GitHubReporter(
        name,
        api_url=env.get("GITHUB_API_URL") or GITHUB_API,
        token=(lambda: secret_string(token_secret)) if token_secret else (lambda: ""),
        app=(lambda: github_app_credentials(app_secret)) if app_secret else None,
    )
