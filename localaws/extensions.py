"""The server-side extensions installed into moto before the local AWS serves a request.

One explicit tuple, not discovery: reading this file tells which gaps localaws fills inside
moto. Client-side stand-ins (such as `stack_events`) are used directly and are not listed.
"""

from __future__ import annotations

from collections.abc import Callable

from localaws import (
    cfn_conditions,
    cfn_create_fixes,
    cfn_dynamodb_table,
    cfn_ec2_fixes,
    cfn_elasticache,
    cfn_event_bus,
    cfn_event_rule_targets,
    cfn_lambda_event_invoke_config,
    cfn_lambda_function,
    cfn_lambda_url,
    cfn_list_change_sets,
    cfn_no_value,
    cfn_policies,
    cfn_rds_option_group,
    cfn_s3_bucket,
    cfn_secretsmanager,
    cfn_sns_subscription,
    cfn_stack_resources,
    cfn_tag_updates,
    cfn_updates,
    change_set_details,
    change_set_latency,
    change_sets,
    cloudtrail_events,
    custom_resources,
    drift,
    dynamic_references,
    dynamodb_transactions,
    engine_catalog,
    event_bus_targets,
    rollback,
    sqs_event_source_mappings,
    stack_refactor,
    sts_trust,
    yaml_tags,
)

INSTALLERS: tuple[Callable[[], None], ...] = (
    yaml_tags.install,
    change_sets.install,
    cfn_list_change_sets.install,
    cfn_stack_resources.install,
    change_set_details.install,
    cfn_updates.install,
    cfn_tag_updates.install,
    cfn_elasticache.install,
    cfn_secretsmanager.install,
    cfn_rds_option_group.install,
    cfn_policies.install,
    rollback.install,
    dynamic_references.install,
    cfn_create_fixes.install,
    cfn_ec2_fixes.install,
    cfn_conditions.install,
    cfn_no_value.install,
    cfn_dynamodb_table.install,
    cfn_s3_bucket.install,
    cfn_event_bus.install,
    cfn_event_rule_targets.install,
    event_bus_targets.install,
    cfn_sns_subscription.install,
    cfn_lambda_function.install,
    cfn_lambda_event_invoke_config.install,
    cfn_lambda_url.install,
    custom_resources.install,
    engine_catalog.install,
    drift.install,
    sts_trust.install,
    cloudtrail_events.install,
    sqs_event_source_mappings.install,
    dynamodb_transactions.install,
    stack_refactor.install,
    change_set_latency.install,  # last: it refuses an early ExecuteChangeSet before the others
)


def install_all() -> None:
    """Install every extension; each installer is idempotent, so this one is too."""
    for install in INSTALLERS:
        install()
