"""A refactor plan as people read it: the CLI's `plan` text, the pull request's report
and the plan a notification carries each name every move, escaped where GitHub renders
it."""

from __future__ import annotations

from reconciler.cli import report
from reconciler.diff import ChangeAction, ResourceChange
from reconciler.plan import Action, StackPlan
from reconciler.reconcile import _plan_text
from reconciler.refactor import Location, Move
from reconciler.report_markdown import markdown_report
from reconciler.validation import Report

RENAME = Move(
    Location("pci-db-dev", "Database"),
    Location("pci-db-dev", "PrimaryDatabase"),
    "AWS::RDS::DBInstance",
)
MOVED = Move(
    Location("pci-logs", "Audit_Logs"),
    Location("pci-db-dev", "AuditLogs"),
    "AWS::Logs::LogGroup",
)
PLAN = StackPlan(
    "pci-db-dev",
    "us-east-1",
    Action.REFACTOR,
    "refactor (...), then 1 to modify",
    stack_file="desired-state/pci-db-dev.yml",
    changes=(
        ResourceChange(
            "PrimaryDatabase",
            "AWS::RDS::DBInstance",
            ChangeAction.MODIFY,
            properties=("PreferredBackupWindow",),
        ),
    ),
    refactor=(RENAME, MOVED),
    refactor_stacks=("pci-logs", "pci-db-dev"),
)


def test_cli_plan_lists_each_move_under_its_stack():
    text = report.plan([PLAN])
    lines = text.splitlines()
    assert lines[0] == "pci-db-dev [us-east-1]: refactor - refactor (...), then 1 to modify"
    assert lines[1] == "  refactor: Database -> PrimaryDatabase (AWS::RDS::DBInstance, pci-db-dev)"
    assert lines[2] == (
        "  refactor: pci-logs/Audit_Logs -> pci-db-dev/AuditLogs (AWS::Logs::LogGroup)"
    )
    assert "PrimaryDatabase" in lines[4] and "Modify" in lines[4]


def test_pull_request_report_lists_each_move_escaped_and_counts_the_stack_as_changing():
    text = markdown_report([PLAN], Report(()), revision="0" * 40)
    assert "### pci-db-dev \\[us-east-1\\]: refactor" in text
    assert (
        "**Refactor** (CloudFormation stack refactoring: renamed or moved, not replaced):"
    ) in text
    # Escaped as everything else in the report (GitHub renders `-&gt;` as `->`).
    assert "- Database -&gt; PrimaryDatabase \\(AWS::RDS::DBInstance, pci-db-dev\\)" in text
    assert "- pci-logs/Audit\\_Logs -&gt; pci-db-dev/AuditLogs \\(AWS::Logs::LogGroup\\)" in text
    assert ":no_entry:" not in text


def test_an_approval_notification_carries_the_moves_before_the_changes():
    lines = _plan_text(PLAN).splitlines()
    assert lines == [
        "plan: refactor pci-db-dev (us-east-1)",
        "  refactor Database -> PrimaryDatabase (AWS::RDS::DBInstance, pci-db-dev)",
        "  refactor pci-logs/Audit_Logs -> pci-db-dev/AuditLogs (AWS::Logs::LogGroup)",
        "  Modify PrimaryDatabase (AWS::RDS::DBInstance), replacement False "
        "[PreferredBackupWindow]",
    ]
