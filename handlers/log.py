"""The handlers' one Powertools Logger, apart from handlers/runtime.py so the webhook,
which runs no reconcile, logs without importing the reconcile machinery."""

from __future__ import annotations

from aws_lambda_powertools import Logger

logger = Logger(service="gitops-reconciler")
