"""One test per failure the first PCI stack met on AWS, each caught before anything is
written, with a message that says the fix; and the rules around them."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from reconciler.desired import load_desired_state
from reconciler.validation import validate
from reconciler.validation.offline_catalog import OfflineCatalog
from tests.repo import make_repo

PROJECT = Path(__file__).resolve().parents[2]
PCI_TEMPLATE = (PROJECT / "templates" / "pci-database.yml").read_text()
DEV = (PROJECT / "desired-state" / "pci-db-dev.yml").read_text()


def report_for(tmp_path, template=PCI_TEMPLATE, stack=DEV, today=date(2026, 11, 29)):
    root = make_repo(
        tmp_path,
        {"templates/pci-database.yml": template, "desired-state/pci-db-dev.yml": stack},
        defaults=False,
    )
    return validate(load_desired_state(root), OfflineCatalog(), today)


def only(report, rule):
    found = [f for f in report.findings if f.rule == rule]
    assert found, [str(f) for f in report.findings]
    return found[0]


def test_the_pci_stack_as_shipped_has_no_findings(tmp_path):
    assert report_for(tmp_path).findings == ()


# --- The known failures -----------------------------------------------------------------


def test_mysql_8_0_35_in_us_east_1_is_refused_at_the_stack_file(tmp_path):
    stack = DEV.replace(
        "  EnvironmentSuffix: dev\n", "  EnvironmentSuffix: dev\n  DBEngineVersion: 8.0.35\n"
    )
    finding = only(report_for(tmp_path, stack=stack), "RDS001")
    assert finding.is_error
    assert (finding.path, finding.line) == ("desired-state/pci-db-dev.yml", 3)
    assert "mysql 8.0.35 is deprecated (no new instances) in us-east-1" in finding.message
    assert "set parameter DBEngineVersion in desired-state/pci-db-dev.yml" in finding.message
    assert "describe-db-engine-versions --engine mysql --region us-east-1" in finding.message


def test_secret_reference_outside_fn_sub_is_refused(tmp_path):
    """The first version wrote ${RedisAuthSecret} without Fn::Sub: it stayed literal."""
    template = PCI_TEMPLATE.replace(
        'AuthToken: !Sub "{{resolve:secretsmanager:${RedisAuthSecret}:SecretString:token}}"',
        'AuthToken: "{{resolve:secretsmanager:${RedisAuthSecret}:SecretString:token}}"',
    )
    finding = only(report_for(tmp_path, template=template), "DYN002")
    assert finding.path == "templates/pci-database.yml"
    line = '      AuthToken: "{{resolve:secretsmanager:${RedisAuthSecret}:SecretString:token}}"'
    assert finding.line == template.splitlines().index(line) + 1
    assert "stays literal" in finding.message and "!Sub" in finding.message


def test_secret_reference_to_a_key_the_secret_lacks_is_refused(tmp_path):
    template = PCI_TEMPLATE.replace("SecretString:token}}", "SecretString:password}}")
    finding = only(report_for(tmp_path, template=template), "DYN004")
    assert (
        "reads key 'password', which secret RedisAuthSecret does not hold (its keys: token)"
        in finding.message
    )


def test_punctuated_auth_token_generator_is_refused(tmp_path):
    """The first version generated the token with every character type required."""
    template = PCI_TEMPLATE.replace(
        "        ExcludePunctuation: true\n", "        RequireEachIncludedType: true\n"
    )
    finding = only(report_for(tmp_path, template=template), "AUTH001")
    assert "RedisAuthSecret feeds Redis's AuthToken" in finding.message
    assert "set ExcludePunctuation: true" in finding.message


def test_transit_encryption_turned_off_is_refused(tmp_path):
    """The first version's fix turned TLS off to get the token accepted."""
    template = PCI_TEMPLATE.replace(
        "      TransitEncryptionEnabled: true\n", "      TransitEncryptionEnabled: false\n"
    )
    finding = only(report_for(tmp_path, template=template), "AUTH002")
    assert "keep TLS on and make the token valid" in finding.message


# --- Around them ------------------------------------------------------------------------


def test_supported_version_past_standard_support_warns_of_extended_support(tmp_path):
    stack = DEV.replace(
        "  EnvironmentSuffix: dev\n", "  EnvironmentSuffix: dev\n  DBEngineVersion: 8.0.43\n"
    )
    finding = only(report_for(tmp_path, stack=stack), "RDS002")
    assert not finding.is_error
    assert "left RDS standard support on 2026-07-31" in finding.message
    assert "Extended Support" in finding.message


def test_before_the_end_of_standard_support_there_is_no_warning(tmp_path):
    stack = DEV.replace(
        "  EnvironmentSuffix: dev\n", "  EnvironmentSuffix: dev\n  DBEngineVersion: 8.0.43\n"
    )
    report = report_for(tmp_path, stack=stack, today=date(2026, 6, 1))
    assert [f.rule for f in report.findings] == []


def test_redis_version_not_offered_is_refused(tmp_path):
    stack = DEV.replace(
        "  EnvironmentSuffix: dev\n", "  EnvironmentSuffix: dev\n  RedisEngineVersion: '9.9'\n"
    )
    finding = only(report_for(tmp_path, stack=stack), "EC001")
    assert "redis 9.9 is not offered in us-east-1" in finding.message and "7.1" in finding.message


def test_redis_too_old_for_a_feature_the_template_turns_on_is_refused(tmp_path):
    template = PCI_TEMPLATE.replace(
        "      TransitEncryptionEnabled: true\n",
        "      TransitEncryptionEnabled: true\n      TransitEncryptionMode: required\n",
    )
    stack = DEV.replace(
        "  EnvironmentSuffix: dev\n", "  EnvironmentSuffix: dev\n  RedisEngineVersion: '6.2'\n"
    )
    finding = only(report_for(tmp_path, template=template, stack=stack), "EC002")
    assert "TransitEncryptionMode needs Redis OSS 7.0.5 or newer, not 6.2" in finding.message


@pytest.mark.parametrize(
    ("old", "new", "rule"),
    [
        (
            "  RDSPort:\n    Value: !GetAtt Database.Endpoint.Port\n",
            "  RDSPort:\n    Value: !Sub '{{resolve:ssm:/x}}'\n",
            "DYN005",
        ),
        (
            '!Sub "{{resolve:secretsmanager:${DBSecret}:SecretString:username}}"',
            '!Sub "{{resolve:secretsmanager:${DBSubnetGroup}:SecretString:username}}"',
            "DYN003",
        ),
        (
            '!Sub "{{resolve:secretsmanager:${DBSecret}:SecretString:username}}"',
            '"{{resolve:vault:x}}"',
            "DYN001",
        ),
    ],
    ids=["in-outputs", "not-a-secret", "unknown-service"],
)
def test_dynamic_reference_defects(tmp_path, old, new, rule):
    assert old in PCI_TEMPLATE
    finding = only(report_for(tmp_path, template=PCI_TEMPLATE.replace(old, new)), rule)
    assert finding.is_error and finding.path == "templates/pci-database.yml"


def test_cfn_lint_findings_keep_cfn_lints_ids(tmp_path):
    template = PCI_TEMPLATE.replace(
        "Parameters:\n", "Parameters:\n  Unused:\n    Type: String\n    Default: x\n", 1
    )
    finding = only(report_for(tmp_path, template=template), "W2001")
    assert not finding.is_error and finding.message.endswith("(cfn-lint)")


def test_a_stack_file_suppresses_a_rule_with_a_reason_and_the_report_lists_it(tmp_path):
    template = PCI_TEMPLATE.replace(
        "Parameters:\n", "Parameters:\n  Unused:\n    Type: String\n    Default: x\n", 1
    )
    stack = DEV + "suppress:\n  W2001: kept for the next release\n"
    report = report_for(tmp_path, template=template, stack=stack)
    assert report.findings == ()
    (suppressed,) = report.suppressed
    assert (suppressed.finding.rule, suppressed.stack_file, suppressed.reason) == (
        "W2001",
        "desired-state/pci-db-dev.yml",
        "kept for the next release",
    )


def test_suppression_without_a_reason_is_refused(tmp_path):
    report = report_for(tmp_path, stack=DEV + "suppress:\n  W2001: ''\n")
    finding = only(report, "DS003")
    assert "needs a reason" in finding.message
