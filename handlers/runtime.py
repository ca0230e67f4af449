"""What every handler builds once per Lambda container: the logger and the edges
(AWS services, the desired-state source)."""

from __future__ import annotations

from functools import cache

from aws_lambda_powertools import Logger

from reconciler.aws.services import services_from_env, source_from_env
from reconciler.reconcile import Services
from reconciler.source import Source

logger = Logger(service="gitops-reconciler")


@cache
def services() -> Services:
    """Built on the first event, not at import, so a cold start pays only for imports."""
    return services_from_env()


@cache
def source() -> Source:
    return source_from_env()
