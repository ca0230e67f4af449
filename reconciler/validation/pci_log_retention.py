"""PCI007: log groups keep a year of events (PCI DSS 10.5.1: audit logs kept at least 12
months; the AWS Config rule cw-loggroup-retention-period-check, 365 days). A log group
without RetentionInDays never expires, which satisfies the requirement."""

from __future__ import annotations

from collections.abc import Iterator

from reconciler.findings import Finding
from reconciler.validation.context import Context
from reconciler.validation.pci_common import require_at_least
from reconciler.validation.rule import Rule
from reconciler.validation.stack_view import stack_views

RULE_ID = "PCI007"
MIN_DAYS = 365
FIX = (
    f"set RetentionInDays to {MIN_DAYS} or more (365, 400, 545, 731, ...), or leave it out "
    "to keep events forever"
)


def check(ctx: Context) -> Iterator[Finding]:
    for view in stack_views(ctx):
        for group in view.resources("AWS::Logs::LogGroup"):
            found = require_at_least(view, group, "RetentionInDays", MIN_DAYS, None, RULE_ID, FIX)
            if found:
                yield found


RULE = Rule((RULE_ID,), f"log groups keep events at least {MIN_DAYS} days", check)
