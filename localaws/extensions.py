"""The server-side extensions installed into moto before the local AWS serves a request.

One explicit tuple, not discovery: reading this file tells which gaps localaws fills inside
moto. Client-side stand-ins (such as `stack_events`) are used directly and are not listed.
"""

from __future__ import annotations

from collections.abc import Callable

from localaws import (
    cfn_create_fixes,
    cfn_ec2_fixes,
    cfn_elasticache,
    cfn_rds_option_group,
    cfn_secretsmanager,
    cfn_updates,
    change_sets,
    custom_resources,
    drift,
    dynamic_references,
    engine_catalog,
    rollback,
    yaml_tags,
)

INSTALLERS: tuple[Callable[[], None], ...] = (
    yaml_tags.install,
    change_sets.install,
    cfn_updates.install,
    cfn_elasticache.install,
    cfn_secretsmanager.install,
    cfn_rds_option_group.install,
    rollback.install,
    dynamic_references.install,
    cfn_create_fixes.install,
    cfn_ec2_fixes.install,
    custom_resources.install,
    engine_catalog.install,
    drift.install,
)


def install_all() -> None:
    """Install every extension; each installer is idempotent, so this one is too."""
    for install in INSTALLERS:
        install()
