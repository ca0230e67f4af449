"""PCI005: no database is reachable from the internet (PCI DSS 1.4; the AWS Config rule
rds-instance-public-access-check). Only an explicit PubliclyAccessible: true is flagged:
when it is absent, RDS decides from the subnet group, which this rule does not follow."""

from __future__ import annotations

from collections.abc import Iterator

from reconciler.findings import Finding
from reconciler.validation.context import Context
from reconciler.validation.pci_common import DB_CLUSTER, DB_INSTANCE, as_bool, finding, stated
from reconciler.validation.rule import Rule
from reconciler.validation.stack_view import stack_views

RULE_ID = "PCI005"
FIX = "set PubliclyAccessible: false and keep the database in private subnets"


def check(ctx: Context) -> Iterator[Finding]:
    for view in stack_views(ctx):
        for db in view.resources(DB_INSTANCE, DB_CLUSTER):
            if as_bool(db.props.get("PubliclyAccessible")) is True:
                said = stated(view, db, "PubliclyAccessible", "")
                yield finding(view, db, "PubliclyAccessible", RULE_ID, f"{said}: {FIX}")


RULE = Rule((RULE_ID,), "RDS databases are not publicly accessible", check)
