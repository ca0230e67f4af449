"""PAR001: values a stack file gives, and the template's own defaults, are checked
against the template's parameter declarations before CloudFormation sees them. Findings
sit on the stack file's `parameters` line, name the constraint and the template line
that declares it, and never repeat a NoEcho value."""

from __future__ import annotations

from datetime import date

import pytest

from reconciler.desired import load_desired_state
from reconciler.findings import Severity
from reconciler.validation import RULES
from reconciler.validation.context import Context
from reconciler.validation.offline_catalog import OfflineCatalog
from reconciler.validation.parameter_values import RULE, problems
from tests.repo import make_repo

PATH = "templates/app.yml"
STACK_PATH = "desired-state/app-dev.yml"
TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Value:
{declaration}
Resources:
  Param:
    Type: AWS::SSM::Parameter
    Properties:
      Type: String
      Value: !Join [",", [!Ref Value]]
"""
STACK = """\
template-file-path: templates/app.yml
parameters:
  Value: {value}
stack-name: app-dev
region: us-east-1
"""


def template(*lines):
    return TEMPLATE.format(declaration="\n".join(f"    {line}" for line in lines))


def findings(tmp_path, text, value):
    files = {PATH: text, STACK_PATH: STACK.format(value=value)}
    state = load_desired_state(make_repo(tmp_path, files, defaults=False))
    assert state.findings == ()
    return sorted(RULE.check(Context(state, OfflineCatalog(), date(2026, 11, 29))))


def line_of(text, needle):
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


# declaration lines, the stack file's value, the constraint, what the message says
FAILING = [
    pytest.param(["Type: Number"], "seven", "Type", "value 'seven' is not a number", id="number"),
    pytest.param(
        ["Type: List<Number>"], "[1, x, 3]", "Type", "value item 'x' is not a number",
        id="list-of-numbers",
    ),
    pytest.param(
        ["Type: String", "AllowedValues: [dev, prod]"], "qa", "AllowedValues",
        "value 'qa' is not one of AllowedValues [dev, prod]", id="allowed-values",
    ),
    pytest.param(
        ["Type: CommaDelimitedList", "AllowedValues: [a, b]"], "[a, c]", "AllowedValues",
        "value item 'c' is not one of AllowedValues [a, b]", id="list-item-allowed-values",
    ),
    pytest.param(
        ["Type: Number", "AllowedValues: [365, 400]"], 30, "AllowedValues",
        "value '30' is not one of AllowedValues [365, 400]", id="number-allowed-values",
    ),
    pytest.param(
        ["Type: String", 'AllowedPattern: "[a-z]+"'], "abc1", "AllowedPattern",
        "value 'abc1' does not match AllowedPattern '[a-z]+'",
        id="pattern-matches-the-whole-value",
    ),
    pytest.param(
        ["Type: CommaDelimitedList", 'AllowedPattern: "subnet-[0-9a-f]+"'],
        "[subnet-0a, vpc-1]", "AllowedPattern", "value item 'vpc-1' does not match",
        id="pattern-matches-each-list-item",
    ),
    pytest.param(
        ["Type: String", "MinLength: 4"], "abc", "MinLength",
        "value 'abc' is 3 characters, under MinLength 4", id="min-length",
    ),
    pytest.param(
        ["Type: String", "MaxLength: 2"], "abc", "MaxLength",
        "value 'abc' is 3 characters, over MaxLength 2", id="max-length",
    ),
    pytest.param(
        ["Type: Number", "MinValue: 7"], 1, "MinValue", "value '1' is under MinValue 7",
        id="min-value",
    ),
    pytest.param(
        ["Type: Number", "MaxValue: 35"], 36, "MaxValue", "value '36' is over MaxValue 35",
        id="max-value",
    ),
    pytest.param(
        ["Type: List<Number>", "MaxValue: 10"], "[1, 11]", "MaxValue",
        "value item '11' is over MaxValue 10", id="list-item-max-value",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("declaration", "value", "constraint", "said"), FAILING)
def test_a_value_the_template_refuses_is_reported_at_the_stack_file(
    tmp_path, declaration, value, constraint, said
):
    text = template(*declaration)
    (finding,) = findings(tmp_path, text, value)
    assert (finding.rule, finding.severity) == ("PAR001", Severity.ERROR)
    assert (finding.path, finding.line) == (STACK_PATH, 2)
    assert finding.message.startswith(f"parameter 'Value': {said}")
    line = line_of(text, constraint + ":")
    assert f"({constraint} " in finding.message and f" at {PATH}:{line})" in finding.message
    fix = finding.message.rsplit("): ", 1)[1]
    assert fix.startswith(("give ", "use one of them"))


PASSING = [
    pytest.param(["Type: Number"], "-1.5", id="negative-float"),
    pytest.param(["Type: Number", "MinValue: 7", "MaxValue: 35"], 7, id="bounds-inclusive"),
    pytest.param(["Type: Number", "AllowedValues: [365, 400]"], 400, id="number-in-list"),
    pytest.param(["Type: String", "AllowedValues: [true, false]"], "true", id="yaml-booleans"),
    pytest.param(["Type: String", 'AllowedPattern: "^[a-z0-9-]{2,20}$"'], "dev-1", id="pattern"),
    pytest.param(["Type: List<Number>", "MinValue: 1"], "[1, 2]", id="list-of-numbers"),
    pytest.param(["Type: CommaDelimitedList", "AllowedValues: [a, b]"], "[a, b]", id="cdl"),
    pytest.param(["Type: String", "MinLength: 1", "MaxLength: 3"], "abc", id="lengths"),
    pytest.param(["Type: AWS::EC2::VPC::Id", "AllowedPattern: x"], "vpc-1", id="aws-types-skipped"),
    pytest.param(["Type: String", 'AllowedPattern: "\\\\p{Alpha}+"'], "ab", id="java-only-pattern"),
]


@pytest.mark.parametrize(("declaration", "value"), PASSING)
def test_a_value_the_template_accepts_passes(tmp_path, declaration, value):
    assert [str(f) for f in findings(tmp_path, template(*declaration), value)] == []


def test_a_no_echo_value_is_never_repeated(tmp_path):
    text = template("Type: String", "NoEcho: true", "MinLength: 16", 'AllowedPattern: "[a-z]+"')
    found = findings(tmp_path, text, "Hunter2")
    assert [f.message.split(" (")[0] for f in found] == [
        "parameter 'Value': the NoEcho value does not match AllowedPattern '[a-z]+'",
        "parameter 'Value': the NoEcho value is under MinLength 16",
    ]
    assert all("Hunter2" not in f.message for f in found)


def test_a_default_that_breaks_its_own_constraint_is_reported_at_the_template(tmp_path):
    text = template(
        "Type: Number", "Default: 3", "MinValue: 7", "ConstraintDescription: a week or more"
    )
    (finding,) = [f for f in findings(tmp_path, text, 7) if f.path == PATH]
    assert (finding.rule, finding.line) == ("PAR001", line_of(text, "Default: 3"))
    assert "parameter 'Value': Default '3' is under MinValue 7" in finding.message
    assert finding.message.endswith("give a larger number (a week or more)")


def test_a_parameter_the_template_does_not_declare_is_left_to_ds009(tmp_path):
    text = template("Type: Number")
    stack = STACK.format(value=1) + "parameters:\n"  # keeps the file loadable
    files = {PATH: text, STACK_PATH: stack.replace("  Value: 1\n", "  Other: x\n")}
    state = load_desired_state(make_repo(tmp_path, files, defaults=False))
    assert list(RULE.check(Context(state, OfflineCatalog()))) == []


def test_problems_reads_values_as_cloudformation_receives_them():
    assert problems({"Type": "Number"}, "1e3") == []
    assert [p.constraint for p in problems({"Type": "Number"}, "")] == ["Type"]


def test_the_rule_is_registered():
    assert any(rule is RULE for rule in RULES)
