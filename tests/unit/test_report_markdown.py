"""The pull-request report: a realistic plan against a snapshot file, then one behaviour
per test (links, escaping of hostile names, the comment-size limit)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from reconciler.diff import ChangeAction, Replacement, ResourceChange
from reconciler.findings import Finding, Severity
from reconciler.guard import Violation
from reconciler.plan import REFUSED_RULE, Action, StackPlan
from reconciler.report_markdown import LIMIT, Links, escape, markdown_report
from reconciler.validation import Report, Suppressed

SNAPSHOT = Path(__file__).parent / "snapshots" / "report_markdown.md"
LINKS = Links("https://github.com/acme/infra", "0123456789abcdef0123456789abcdef01234567")
REVISION = "0123456789abcdef0123456789abcdef01234567"

DB_VIOLATION = Violation(
    "Database",
    "AWS::RDS::DBInstance",
    "Database (AWS::RDS::DBInstance) would be replaced: DBName changes (list 'Database' "
    "under allow-replacement in desired-state/pci-db-prod.yml to allow it)",
)
CACHE_VIOLATION = Violation(
    "Cache",
    "AWS::ElastiCache::ReplicationGroup",
    "Cache (AWS::ElastiCache::ReplicationGroup) may be replaced: CacheSubnetGroupName "
    "changes (list 'Cache' under allow-replacement in desired-state/pci-db-prod.yml to allow it)",
)
REFUSAL = Finding(
    "templates/keys.yml",
    14,
    REFUSED_RULE,
    Severity.ERROR,
    "Key.KeySpec (AWS::KMS::Key) cannot change on an existing resource: AWS fails the "
    "update (a key's spec is fixed); stack pci-keys-prod from desired-state/pci-keys-prod.yml",
    "pci-keys-prod",
)


def sample() -> tuple[list[StackPlan], Report, dict[str, str]]:
    """Create, update blocked by the guard, refused update, unchanged and orphaned stacks,
    with findings, a suppression and drift: the example in docs/previews.md."""
    plans = [
        StackPlan(
            "app-dev",
            "us-east-1",
            Action.CREATE,
            "stack does not exist",
            stack_file="desired-state/app-dev.yml",
            changes=(
                ResourceChange("Logs", "AWS::Logs::LogGroup", ChangeAction.ADD),
                ResourceChange("Param", "AWS::SSM::Parameter", ChangeAction.ADD),
            ),
        ),
        StackPlan(
            "pci-db-prod",
            "eu-west-1",
            Action.BLOCKED,
            f"{DB_VIOLATION.message}; {CACHE_VIOLATION.message}",
            stack_file="desired-state/pci-db-prod.yml",
            changes=(
                ResourceChange(
                    "Database",
                    "AWS::RDS::DBInstance",
                    ChangeAction.MODIFY,
                    Replacement.TRUE,
                    ("DBInstanceClass", "DBName"),
                    ("DBName changes",),
                ),
                ResourceChange(
                    "Cache",
                    "AWS::ElastiCache::ReplicationGroup",
                    ChangeAction.MODIFY,
                    Replacement.CONDITIONAL,
                    ("CacheSubnetGroupName",),
                    ("CacheSubnetGroupName changes",),
                ),
                ResourceChange(
                    "Alarm",
                    "AWS::CloudWatch::Alarm",
                    ChangeAction.MODIFY,
                    properties=("Threshold",),
                ),
                ResourceChange("OldTopic", "AWS::SNS::Topic", ChangeAction.REMOVE),
            ),
            violations=(DB_VIOLATION, CACHE_VIOLATION),
            change_set=("Cache: the change set says Replacement True, the prediction Conditional",),
        ),
        StackPlan(
            "pci-keys-prod",
            "eu-west-1",
            Action.BLOCKED,
            REFUSAL.message,
            stack_file="desired-state/pci-keys-prod.yml",
            changes=(
                ResourceChange(
                    "Key",
                    "AWS::KMS::Key",
                    ChangeAction.MODIFY,
                    properties=("KeySpec",),
                    refused=(("KeySpec", "a key's spec is fixed"),),
                ),
            ),
            findings=(REFUSAL,),
        ),
        StackPlan(
            "api-prod",
            "eu-west-1",
            Action.UPDATE,
            "desired state changed (1 to add, 1 to modify)",
            stack_file="desired-state/api-prod.yml",
            changes=(
                ResourceChange("Alias", "AWS::Lambda::Alias", ChangeAction.ADD),
                ResourceChange(
                    "Function",
                    "AWS::Lambda::Function",
                    ChangeAction.MODIFY,
                    properties=("MemorySize", "Timeout"),
                ),
            ),
            after=("pci-db-prod",),
        ),
        StackPlan("cache-dev", "us-east-1", Action.NONE, "up to date"),
        StackPlan("network-dev", "us-east-1", Action.NONE, "up to date"),
        StackPlan(
            "legacy-dev",
            "us-east-1",
            Action.ORPHANED,
            "no stack file declares it; left in place (the reconciler never deletes stacks)",
        ),
    ]
    findings = (
        Finding(
            "templates/app.yml",
            3,
            "W2001",
            Severity.WARNING,
            "Parameter Unused not used.",
            "app-dev",
        ),
        REFUSAL,
        Finding(
            "templates/db.yml",
            41,
            "PCI003",
            Severity.ERROR,
            "Database: MultiAZ is false; PCI stacks keep a standby in another zone",
            "pci-db-prod",
        ),
    )
    suppressed = (
        Suppressed(
            Finding(
                "templates/db.yml",
                57,
                "PCI007",
                Severity.ERROR,
                "LogGroup: RetentionInDays is 90, under 365",
                "pci-db-prod",
            ),
            "desired-state/pci-db-prod.yml",
            "audit logs are exported to the archive account (PCI-1234)",
        ),
    )
    notes = ("engine versions checked against cfn-lint's shipped data",)
    drifted = {"api-prod": "Function MODIFIED (Timeout) at the last detection"}
    return plans, Report(findings, suppressed, notes), drifted


def render_sample() -> str:
    plans, report, drifted = sample()
    return markdown_report(plans, report, revision=REVISION, links=LINKS, drifted=drifted)


def test_the_sample_plan_renders_as_the_snapshot():
    text = render_sample()
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(text)
    assert text == SNAPSHOT.read_text()


def test_the_example_in_the_docs_is_the_snapshot():
    docs = Path(__file__).parents[2] / "docs" / "previews.md"
    assert f"````markdown\n{SNAPSHOT.read_text()}````\n" in docs.read_text()


def test_heading_has_title_and_short_revision_then_the_counts():
    lines = render_sample().splitlines()
    assert lines[0] == "## gitops-reconciler plan at `0123456`"
    assert lines[2] == (
        "**2** stack(s) changing, **2** blocked, **2** error(s), **1** warning(s), 1 suppressed"
    )


def test_error_findings_come_first_with_file_line_links():
    text = render_sample()
    errors = text.index("### :x: Error findings")
    assert errors < text.index("### app-dev")
    assert (
        "[templates/db.yml:41](https://github.com/acme/infra/blob/"
        "0123456789abcdef0123456789abcdef01234567/templates/db.yml#L41) error PCI003" in text
    )


def test_a_replacement_shows_as_replace_with_its_causes_and_a_conditional_one_as_may_replace():
    text = render_sample()
    assert "| Database | AWS::RDS::DBInstance | Replace | DBName changes |" in text
    assert "| Cache | AWS::ElastiCache::ReplicationGroup | May replace |" in text
    assert "| Alarm | AWS::CloudWatch::Alarm | Modify | changes Threshold |" in text
    assert "| OldTopic | AWS::SNS::Topic | Remove |  |" in text


def test_a_guarded_stack_gives_the_allow_replacement_line_for_its_stack_file():
    text = render_sample()
    assert "To allow it, add to [desired-state/pci-db-prod.yml](" in text
    assert "```yaml\nallow-replacement: [Database, Cache]\n```" in text


def test_a_refused_update_is_listed_once_with_its_reason_and_no_allow_replacement():
    section = _section(render_sample(), "pci-keys-prod")
    assert "**Refused updates**" in section
    assert section.count("UPD001") == 1
    assert "allow-replacement: [" not in section


def test_unchanged_stacks_are_one_line_and_orphans_get_a_section():
    text = render_sample()
    assert "Unchanged: cache-dev, network-dev" in text
    assert "### :warning: legacy-dev \\[us-east-1\\]: orphaned" in text


def test_a_stacks_suppressions_are_in_its_section_with_their_reasons():
    section = _section(render_sample(), "pci-db-prod")
    assert "(suppressed by [desired-state/pci-db-prod.yml](" in section
    assert "audit logs are exported to the archive account (PCI-1234)" not in section  # escaped
    assert "archive account \\(PCI-1234\\)" in section


def test_the_drift_a_merge_would_overwrite_is_in_its_stacks_section():
    section = _section(render_sample(), "api-prod")
    assert "**Drift:** Function MODIFIED \\(Timeout\\) at the last detection" in section
    assert "the merge would overwrite it" in section


def test_drift_on_a_stack_the_merge_does_not_change_says_so():
    plan = StackPlan("cache-dev", "us-east-1", Action.NONE, "up to date")
    text = markdown_report([plan], Report(()), drifted={"cache-dev": "Cache MODIFIED"})
    assert "not touched by the merge" in text and "Unchanged" not in text


def test_without_links_places_are_plain_text():
    plans, report, _ = sample()
    text = markdown_report(plans, report)
    assert "](" not in text
    assert "templates/db.yml:41 error PCI003" in text
    assert text.startswith("## gitops-reconciler plan\n")


def test_link_to_a_file_has_a_line_anchor_only_with_a_line():
    assert LINKS.file("templates/db.yml", 41).endswith("/templates/db.yml#L41")
    assert LINKS.file("desired-state/app.yml") == (
        "https://github.com/acme/infra/blob/0123456789abcdef0123456789abcdef01234567"
        "/desired-state/app.yml"
    )


HOSTILE = [
    "<script>alert(1)</script>",
    "@acme/security-team",
    "a|b",
    "`code` ```",
    "[click](javascript:alert(1))",
    "<img src=x onerror=alert(1)>",
    "line\n# heading",
    "see https://evil.example and www.evil.example",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_escaped_text_carries_no_markup(text):
    out = escape(text)
    assert not re.search(r"<|>|\n", out)
    assert not re.search(r"(?<!\\)[`|\[\]()#]", out)
    assert "@" not in out or "@\u200b" in out
    assert not re.search(r"@[^\u200b]", out)
    assert "://" not in out and "www." not in out


def test_hostile_names_and_messages_cannot_inject_html_links_or_mentions():
    bad = "Evil<script>alert(1)</script>@team|x`y`](javascript:alert(1))"
    change = ResourceChange(bad, "AWS::S3::Bucket", ChangeAction.MODIFY, Replacement.TRUE)
    violation = Violation(bad, "AWS::S3::Bucket", f"{bad} would be replaced")
    plan = StackPlan(
        "s",
        "us-east-1",
        Action.BLOCKED,
        violation.message,
        stack_file="desired-state/s.yml",
        changes=(change,),
        violations=(violation,),
    )
    finding = Finding("templates/<b>.yml", 2, "E1", Severity.ERROR, f"message {bad}", "s")
    text = markdown_report([plan], Report((finding,)), links=LINKS, drifted={"s": bad})
    outside_code = re.sub(r"```yaml\n.*?\n```", "", text, flags=re.S)
    assert "<script>" not in outside_code and "<b>" not in outside_code
    assert "@team" not in outside_code and "@\u200bteam" in outside_code
    assert "](javascript" not in outside_code
    for row in (r for r in outside_code.splitlines() if r.startswith("| Evil")):
        assert len(re.findall(r"(?<!\\)\|", row)) == 5  # the table's own cells only
    assert "%3Cb%3E.yml#L2" in text  # the link's path is URL-encoded
    yaml_line = next(line for line in text.splitlines() if line.startswith("allow-replacement"))
    assert yaml_line.startswith('allow-replacement: ["Evil<script>')  # quoted YAML, in code


def test_a_report_over_githubs_limit_is_cut_with_a_note():
    many = tuple(
        ResourceChange(f"Queue{i}", "AWS::SQS::Queue", ChangeAction.ADD) for i in range(3000)
    )
    plan = StackPlan("big", "us-east-1", Action.CREATE, "stack does not exist", changes=many)
    text = markdown_report([plan], Report(()))
    assert len(text) <= LIMIT
    assert re.search(r"\*\*… \d+ more line\(s\) not shown:\*\*", text)
    assert "| Queue0 |" in text and "| Queue2999 |" not in text


def test_a_cut_inside_a_code_block_closes_it():
    ids = tuple(f"Table{i:05d}" for i in range(9000))
    violations = tuple(Violation(i, "AWS::DynamoDB::Table", "x") for i in ids)
    plan = StackPlan("big", "us-east-1", Action.BLOCKED, "x", violations=violations)
    text = markdown_report([plan], Report(()))
    assert len(text) <= LIMIT
    assert text.count("```") % 2 == 0


def test_one_very_long_message_is_shortened():
    finding = Finding("t.yml", 1, "E1", Severity.ERROR, "x" * 100_000)
    text = markdown_report([], Report((finding,)))
    assert len(text) < 10_000 and "…" in text


def _section(text: str, stack: str) -> str:
    start = re.search(rf"^### (:\w+: )?{re.escape(stack)} ", text, re.M).start()
    end = text.find("\n### ", start + 1)
    return text[start : end if end != -1 else None]
