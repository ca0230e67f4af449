"""PCI001: databases and caches encrypt their storage (PCI DSS 3.5; the AWS Config rules
rds-storage-encrypted and elasticache-repl-grp-encrypted-at-rest). Encryption at rest
can only be chosen when the resource is created: turning it on later replaces it."""

from __future__ import annotations

from collections.abc import Iterator

from reconciler.findings import Finding
from reconciler.validation.context import Context
from reconciler.validation.pci_common import (
    CACHE_GROUP,
    DB_CLUSTER,
    DB_INSTANCE,
    inherits,
    require_true,
)
from reconciler.validation.rule import Rule
from reconciler.validation.stack_view import stack_views

RULE_ID = "PCI001"
DB_FIX = "set StorageEncrypted: true (with KmsKeyId naming a customer-managed key)"
CACHE_FIX = "set AtRestEncryptionEnabled: true (with KmsKeyId naming a customer-managed key)"


def check(ctx: Context) -> Iterator[Finding]:
    for view in stack_views(ctx):
        for resource in view.resources(DB_INSTANCE, DB_CLUSTER):
            if not inherits(resource):
                found = require_true(view, resource, "StorageEncrypted", RULE_ID, DB_FIX)
                if found:
                    yield found
        for resource in view.resources(CACHE_GROUP):
            found = require_true(view, resource, "AtRestEncryptionEnabled", RULE_ID, CACHE_FIX)
            if found:
                yield found


RULE = Rule((RULE_ID,), "RDS and ElastiCache storage is encrypted at rest", check)
