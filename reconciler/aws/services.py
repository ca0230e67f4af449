"""Builds the AWS edges of a reconcile pass from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping

from reconciler.aws.catalog import AwsCatalog
from reconciler.aws.cloudformation import CloudFormation
from reconciler.aws.dynamodb import store_from_env
from reconciler.aws.live_settings import LiveSettings
from reconciler.aws.ssm import SsmOutputs
from reconciler.reconcile import Services


def services_from_env(
    env: Mapping[str, str] = os.environ, change_set_wait_seconds: int = 30
) -> Services:
    """Clients come from reconciler.aws.session's cache, so building this is cheap."""
    return Services(
        cfn=CloudFormation(),
        outputs_for=SsmOutputs,
        status=store_from_env(env),
        change_set_wait_seconds=change_set_wait_seconds,
        catalog=AwsCatalog(),
        settings=LiveSettings(),
    )
