"""Review of stack refactoring (reconciler/refactor.py) the way a new user meets it: with
real templates nobody here wrote (tests/fixtures/refactor/, sources in its README) as the
deployed stacks, each stateful resource renamed in its stack or moved to another managed
stack, and with hostile input.

For every stateful resource of every real template: the rename plans as a refactor of
exactly that move with nothing else to change (or a block that says why); the refactor
template is the deployed template with only that rename made, compared with an
independent rename written here, and cfn-lint finds no error in it that it does not find
in the deployed one; moved to a second stack, both stacks refactor, the destination
holding the resource with its deployed values written out and nothing of the source's
(cfn-lint finding nothing new in either), or the source stays blocked saying why.

The tests under "findings" each failed before the fix in reconciler/refactor.py they name:
a plan that raised (a DependsOn list holding a mapping, a Fn::GetAtt whose first item is
a mapping); a reference seen where there is none (a Fn::Sub map variable named like the
moved resource), or missed (in a resource node that is not a mapping: the fuzz test at
the end); a refactor template that changed a value (a deletion policy or metadata left
out, a `${` of a written-out parameter read as a variable, a Fn::Sub map variable
written as a resource, a YAML timestamp rewritten, `.inf` as invalid JSON); a refusal
where none is due (non-ASCII text counted as escapes against the 51,200 bytes); a
misleading reason (an import "does not move with it"); and a database whose create-only
MasterUsername is a NoEcho parameter (as AWS's samples write it), never recognised as
renamed, blocked as a deletion whose reason asked to allow it.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from reconciler import HASH_TAG, MANAGED_TAG
from reconciler.desired import load_desired_state
from reconciler.diff import ChangeAction, Replacement
from reconciler.live import LiveStack
from reconciler.plan import Action, StackPlan, plan_all
from reconciler.refactor import Location, Move
from reconciler.render import Pseudo, parameter_values, render, same
from reconciler.schemas import is_stateful
from reconciler.yamlfile import parse
from tests.template_refs import SUB_VARIABLE, references

REGION = "us-east-1"
ACCOUNT = "123456789012"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "refactor"
ANCHOR = "Resources:\n  Anchor:\n    Type: AWS::CloudFormation::WaitConditionHandle\n"
ANCHOR_NODE = {"Type": "AWS::CloudFormation::WaitConditionHandle"}

# Values a user gives where a template has no Default, or where its Default leaves a
# stateful resource out (a false Condition): every stateful resource is then deployed.
GIVEN = {
    "SQSFIFOQueue.yaml": {"UsedeadletterQueue": "true"},
    "aurora_dbinstance_properties.yaml": {"Engine": "mysql"},
}


# --- helpers ------------------------------------------------------------------------------


def stack_arn(name: str) -> str:
    return f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{name}/3e6a1ff0-94b1-11ef-b6a2"


def plausible(name: str, spec: dict[str, Any]) -> str:
    """A value a user would give a parameter: its Default, its first allowed value, else
    one of the right shape for its type."""
    if "Default" in spec:
        value = spec["Default"]
        return ",".join(map(str, value)) if isinstance(value, list) else str(value)
    if spec.get("AllowedValues"):
        return str(spec["AllowedValues"][0])
    kind = str(spec.get("Type", "String"))
    by_type = {
        "AWS::EC2::VPC::Id": "vpc-0123456789abcdef0",
        "AWS::EC2::Subnet::Id": "subnet-0123456789abcdef0",
        "List<AWS::EC2::Subnet::Id>": "subnet-0123456789abcdef0,subnet-0123456789abcdef1",
        "AWS::EC2::KeyPair::KeyName": "ops",
        "AWS::EC2::SecurityGroup::Id": "sg-0123456789abcdef0",
        "List<AWS::EC2::SecurityGroup::Id>": "sg-0123456789abcdef0",
        "Number": str(spec.get("MinValue", 1)),
        "CommaDelimitedList": "a,b",
    }
    if kind in by_type:
        return by_type[kind]
    if "Arn" in name or "ARN" in name:
        return f"arn:aws:iam::{ACCOUNT}:role/example"
    if "Email" in name:
        return "ops@example.com"
    return f"{name.lower()}1"


def values_of(file: str, template: dict[str, Any]) -> dict[str, str]:
    specs = template.get("Parameters") or {}
    values = {str(n): plausible(str(n), s if isinstance(s, dict) else {}) for n, s in specs.items()}
    return {**values, **GIVEN.get(file, {})}


def shown(template: dict[str, Any], values: dict[str, str]) -> dict[str, str]:
    """The parameters as DescribeStacks shows them: NoEcho values as ****."""
    specs = template.get("Parameters") or {}
    return {
        n: "****" if str((specs.get(n) or {}).get("NoEcho", "")).lower() == "true" else v
        for n, v in values.items()
    }


def plain(node: Any) -> Any:
    return json.loads(json.dumps(node, default=str))


def stack_file(name: str, template_file: str, values: dict[str, str], extra: str = "") -> str:
    lines = [f"template-file-path: templates/{template_file}", f"stack-name: {name}"]
    lines += [f"region: {REGION}", *([extra] if extra else [])]
    if values:
        lines += ["parameters:", *(f"  {k}: {json.dumps(v)}" for k, v in values.items())]
    return "\n".join(lines) + "\n"


def plan(
    root: Path,
    files: dict[str, str],
    deployed: dict[str, Any],
    shown_params: dict[str, dict[str, str]] | None = None,
) -> dict[str, StackPlan]:
    """Every plan by stack name. `deployed`: stack name -> the deployed template as
    GetTemplate gives it (text, parsed as the reconciler parses it; or a dict, as boto3
    gives a JSON body)."""
    (root / "desired-state").mkdir(parents=True)
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    state = load_desired_state(root)
    assert state.findings == ()
    live = {
        ("", REGION, name): LiveStack(
            name,
            stack_arn(name),
            REGION,
            "UPDATE_COMPLETE",
            tags={MANAGED_TAG: "true", HASH_TAG: "old"},
            parameters=(shown_params or {}).get(name, {}),
        )
        for name in deployed
    }

    def fetch(stack: LiveStack) -> Any:
        body = deployed[stack.name]
        return parse(body)[0] if isinstance(body, str) else body

    return {p.stack_name: p for p in plan_all(state, live, fetch)}


def body(p: StackPlan, stack: str) -> dict[str, Any]:
    return json.loads(p.refactor_templates[stack])


def move(kind: str, source: tuple[str, str], destination: tuple[str, str]) -> Move:
    return Move(Location(*source), Location(*destination), kind)


# An independent rename: every Ref, Fn::GetAtt (both forms), Fn::Sub variable (not a map
# variable, not a `${!Literal}`) and DependsOn naming `old` names `new`; nothing else.


def renamed(node: Any, old: str, new: str) -> Any:
    if isinstance(node, list):
        return [renamed(v, old, new) for v in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "Ref" and value == old:
            out[key] = new
        elif key == "Fn::GetAtt" and isinstance(value, list) and value and value[0] == old:
            out[key] = [new, *renamed(value[1:], old, new)]
        elif key == "Fn::GetAtt" and isinstance(value, str) and value.startswith(old + "."):
            out[key] = new + value[len(old) :]
        elif key == "Fn::Sub":
            out[key] = renamed_sub(value, old, new)
        elif key == "DependsOn" and value == old:
            out[key] = new
        elif key == "DependsOn" and isinstance(value, list):
            out[key] = [new if d == old else renamed(d, old, new) for d in value]
        else:
            out[key] = renamed(value, old, new)
    return out


def renamed_sub(value: Any, old: str, new: str) -> Any:
    text, variables = value, None
    if isinstance(value, list) and len(value) == 2 and isinstance(value[1], dict):
        text, variables = value
    if not isinstance(text, str):
        return renamed(value, old, new)
    if variables is None or old not in variables:

        def one(match: re.Match[str]) -> str:
            head, dot, rest = match.group(1).partition(".")
            return "${" + new + dot + rest + "}" if head == old else match.group(0)

        text = SUB_VARIABLE.sub(one, text)
    return text if variables is None else [text, renamed(variables, old, new)]


def renamed_template(template: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    template = plain(template)
    template["Resources"] = {new if k == old else k: v for k, v in template["Resources"].items()}
    return renamed(template, old, new)


# --- the real templates -------------------------------------------------------------------


@cache
def real(file: str) -> tuple[str, dict[str, Any], dict[str, str]]:
    """A fixture's text, its plain template and the parameter values it is deployed with."""
    text = (FIXTURES / file).read_text()
    template = plain(parse(text)[0])
    return text, template, values_of(file, template)


def stateful(file: str) -> list[str]:
    _, template, values = real(file)
    rendered = render(template, parameter_values(template, values), Pseudo(REGION, "s"))
    return [lid for lid, r in rendered.resources.items() if is_stateful(r.type)]


FILES = sorted(p.name for p in FIXTURES.iterdir() if p.suffix in (".yaml", ".json"))
CASES = [(f, r) for f in FILES for r in stateful(f)]

# The renames that stay blocked, and why: the database's create-only MasterUsername is a
# NoEcho parameter, so the update after the refactor may replace it (docs/guard.md, as any
# update of that stack: the guard's verdict, not the refactor's).
BLOCKED_AFTER = {
    ("RDS_with_DBParameterGroup.yaml", "MyDB"): "MyDBRenamed (AWS::RDS::DBInstance) may be",
    ("RDS_MySQL_With_Read_Replica.yaml", "MainDB"): "MainDBRenamed (AWS::RDS::DBInstance) may be",
    ("RDS_MySQL_With_Read_Replica.yaml", "DBCredential"): "MainDB (AWS::RDS::DBInstance) may be",
    ("RDS_MySQL_With_Read_Replica.yaml", "ReplicaDB"): "MainDB (AWS::RDS::DBInstance) may be",
}


def test_the_fixtures_hold_the_stateful_resources_the_review_is_about():
    kinds = set()
    for file, resource in CASES:
        kinds.add(real(file)[1]["Resources"][resource]["Type"])
    assert len(FILES) == 16
    assert len(CASES) == 41
    assert {
        "AWS::RDS::DBInstance",
        "AWS::RDS::DBCluster",
        "AWS::Neptune::DBCluster",
        "AWS::DynamoDB::Table",
        "AWS::S3::Bucket",
        "AWS::KMS::Key",
        "AWS::Logs::LogGroup",
        "AWS::SQS::Queue",
        "AWS::SecretsManager::Secret",
        "AWS::EFS::FileSystem",
        "AWS::EC2::Volume",
        "AWS::Cognito::UserPool",
    } <= kinds


def plan_rename(root: Path, file: str, resource: str) -> tuple[StackPlan, dict[str, Any]]:
    """The real template deployed as stack `s`, desired with `resource` renamed
    `<resource>Renamed`; the plan and the independent rename of the deployed template."""
    text, template, values = real(file)
    expected = renamed_template(template, resource, resource + "Renamed")
    files = {
        "templates/t.json": json.dumps(expected, indent=1),
        "desired-state/s.yml": stack_file("s", "t.json", values),
    }
    p = plan(root, files, {"s": text}, {"s": shown(template, values)})["s"]
    return p, expected


@pytest.mark.parametrize(("file", "resource"), CASES, ids=[f"{f}:{r}" for f, r in CASES])
def test_real_template_rename_is_a_refactor_of_that_rename_only(tmp_path, file, resource):
    """GIVEN a real template deployed, WHEN one stateful resource is renamed everywhere
    THEN a refactor of exactly that move and no resource change after it (or, for the
    NoEcho databases, blocked after the refactor, saying so); and the refactor template
    is the deployed template with only that rename made: the same Parameters,
    Conditions, Mappings, Outputs, Metadata, every resource's values and attributes."""
    p, expected = plan_rename(tmp_path, file, resource)
    new = resource + "Renamed"
    kind = real(file)[1]["Resources"][resource]["Type"]
    assert p.refactor == (move(kind, ("s", resource), ("s", new)),), p.reason
    if (file, resource) in BLOCKED_AFTER:
        assert p.action is Action.BLOCKED
        assert p.reason.startswith(f"after the refactor ({resource} -> {new} ({kind}, s)): ")
        assert BLOCKED_AFTER[file, resource] in p.reason
        assert "NoEcho parameter DBUser" in p.reason
    else:
        assert p.action is Action.REFACTOR, p.reason
        assert p.changes == ()
        assert p.reason == f"refactor ({resource} -> {new} ({kind}, s)), then no resource changes"
    assert body(p, "s") == expected


def lint_errors(template_text: str) -> set[tuple[str, str]]:
    from cfnlint.api import ManualArgs, lint

    found = lint(template_text, config=ManualArgs(regions=[REGION]))
    return {(m.rule.id, re.sub(r"\d+", "N", m.message)) for m in found if m.rule.id[:1] == "E"}


@pytest.mark.parametrize("file", FILES)
def test_real_template_refactor_templates_lint_as_the_deployed_one(tmp_path, file):
    """cfn-lint finds no error in any of a real template's refactor templates that it does
    not find (the id renamed) in the deployed template itself."""
    text, _, _ = real(file)
    before = lint_errors(text)
    for n, resource in enumerate(r for f, r in CASES if f == file):
        p, _ = plan_rename(tmp_path / str(n), file, resource)
        was = {(rule, m.replace(resource, resource + "Renamed")) for rule, m in before}
        assert lint_errors(p.refactor_templates["s"]) - before - was == set(), resource


def test_json_template_deployed_as_a_dict_plans_as_its_text(tmp_path):
    """boto3's GetTemplate gives a JSON body as a dict, a YAML one as text: the same
    template planned either way gives the same refactor and the same template."""
    text, template, values = real("Config.json")
    for resource in ("ConfigBucket", "Ec2Volume"):
        expected = renamed_template(template, resource, resource + "Renamed")
        files = {
            "templates/t.json": json.dumps(expected),
            "desired-state/s.yml": stack_file("s", "t.json", values),
        }
        as_text = plan(tmp_path / resource / "a", files, {"s": text})["s"]
        as_dict = plan(tmp_path / resource / "b", files, {"s": json.loads(text)})["s"]
        assert as_text.action is as_dict.action is Action.REFACTOR
        assert as_text.refactor_templates == as_dict.refactor_templates
        assert body(as_dict, "s") == expected


def plan_split(root: Path, file: str, resource: str) -> dict[str, StackPlan]:
    """The real template deployed as `src`, and `dst` holding a wait condition handle;
    desired: `resource` taken out of `src` (with the outputs naming it) into `dst`, with
    the parameters, mappings and conditions it needs, under the same id."""
    text, template, values = real(file)
    source = plain(template)
    node = source["Resources"].pop(resource)
    outputs = source.get("Outputs") or {}
    for name in [n for n, o in outputs.items() if resource in references(o)]:
        del outputs[name]
    used = set(template.get("Parameters") or {}) & references(
        [node, template.get("Conditions"), template.get("Mappings")]
    )
    destination: dict[str, Any] = {"Resources": {"Anchor": ANCHOR_NODE, resource: node}}
    if used:
        destination["Parameters"] = {p: template["Parameters"][p] for p in sorted(used)}
    for section in ("Mappings", "Conditions"):
        if template.get(section):
            destination[section] = template[section]
    files = {
        "templates/src.json": json.dumps(source),
        "templates/dst.json": json.dumps(destination),
        "desired-state/src.yml": stack_file("src", "src.json", values),
        "desired-state/dst.yml": stack_file("dst", "dst.json", {p: values[p] for p in used}),
    }
    deployed = {"src": text, "dst": ANCHOR}
    return plan(root, files, deployed, {"src": shown(template, values), "dst": {}})


# Moves to another stack that a refactor cannot make, and the reason each gives.
NOT_MOVED = {
    ("RDS_with_DBParameterGroup.yaml", "MyDB"): "MyDB in src: MasterUsername is a NoEcho value",
    ("log-setup-management.yaml", "CentralEventLog"): (
        "CentralEventLog in src: KmsKeyId depends on GetAtt CentralEventLogKey.Arn, which does "
        "not move with it"
    ),
    ("log-setup-management.yaml", "CentralEventLogKey"): (
        "CentralEventLog in src refers to CentralEventLogKey, which moves to dst"
    ),
    ("SQSFIFOQueue.yaml", "MyDeadLetterQueue"): (
        "MyDeadLetterQueue in src has the Condition CreateDeadLetterQueue"
    ),
    ("DynamoDB_Secondary_Indexes.yaml", "TableOfBooks"): "src would be left with no resources",
    ("webapp.yaml", "CognitoUserPool"): "CognitoDomain in src refers to CognitoUserPool",
}
MOVED = {
    ("SQSStandardQueue.yaml", "SQSQueue"),
    ("aurora_dbinstance_properties.yaml", "MyDbInstance1"),
    ("aurora_dbinstance_properties.yaml", "MyDbInstance2"),
    ("aurora_dbinstance_properties.yaml", "MySqlInstance"),
}


@pytest.mark.parametrize(("file", "resource"), CASES, ids=[f"{f}:{r}" for f, r in CASES])
def test_real_template_resource_moved_to_another_stack(tmp_path, file, resource):
    """GIVEN a real template deployed as `src`, WHEN one stateful resource moves to the
    managed stack `dst` THEN both refactor, `src`'s template no longer naming it and
    `dst`'s holding it with the values it was deployed with, written out (no parameter,
    pseudo parameter or resource of `src`) and cfn-lint finding nothing new in either; or
    no refactor and `src` still blocked (the resource is still guarded), saying why when a
    refactor was possible."""
    plans = plan_split(tmp_path, file, resource)
    source, destination = plans["src"], plans["dst"]
    if (file, resource) in MOVED:
        assert (source.action, destination.action) == (Action.REFACTOR, Action.REFACTOR)
        assert (source.changes, destination.changes) == ((), ())
        left, arrived = body(source, "src"), body(source, "dst")
        assert resource not in left["Resources"]
        assert resource not in references(left)
        moved = arrived["Resources"][resource]
        assert references(moved) <= set(arrived["Resources"])
        _, template, values = real(file)
        was = render(template, parameter_values(template, values), Pseudo(REGION, "src"))
        now = render(arrived, {}, Pseudo(REGION, "dst"))
        assert same(now.resources[resource].properties, was.resources[resource].properties)
        assert lint_errors(source.refactor_templates["dst"]) == lint_errors(ANCHOR) == set()
        assert lint_errors(source.refactor_templates["src"]) <= lint_errors(real(file)[0])
        return
    assert source.action is Action.BLOCKED
    assert resource in [v.logical_id for v in source.violations]
    assert (source.refactor, destination.refactor) == ((), ())
    if (file, resource) in NOT_MOVED:
        assert f"not refactored: {NOT_MOVED[file, resource]}" in source.reason


# --- findings ---------------------------------------------------------------------------


def stacks(root: Path, desired: dict[str, str], deployed: dict[str, Any], extra: str = ""):
    """Stacks by name: `desired` and `deployed` map a stack name to its template."""
    files = {f"templates/{n}.yml": t for n, t in desired.items()}
    files |= {f"desired-state/{n}.yml": stack_file(n, f"{n}.yml", {}, extra) for n in desired}
    return plan(root, files, deployed)


AUDIT = """\
  Audit:
    Type: AWS::Logs::LogGroup
    DeletionPolicy: Retain
    UpdateReplacePolicy: Retain
    Properties:
      LogGroupName: /audit/x
"""
AUDIT_MOVE = move("AWS::Logs::LogGroup", ("a", "Audit"), ("b", "Audit"))


def test_dependson_list_holding_a_mapping_is_a_verdict_not_a_crash(tmp_path):
    """GIVEN a resource staying behind whose DependsOn list holds a mapping (`[Audit,
    {Ref: Audit}]`) WHEN Audit moves to another stack THEN a verdict (the mapping refers to
    Audit: not refactored). Before: TypeError (unhashable dict) out of plan_all."""
    keep = "Resources:\n  Keep:\n    Type: AWS::SNS::Topic\n"
    deployed = keep + "    DependsOn: [Audit, {Ref: Audit}]\n" + AUDIT
    plans = stacks(tmp_path, {"a": keep, "b": ANCHOR + AUDIT}, {"a": deployed, "b": ANCHOR})
    assert plans["a"].action is Action.BLOCKED
    assert "not refactored: Keep in a refers to Audit, which moves to b" in plans["a"].reason


def test_getatt_whose_first_item_is_a_mapping_is_a_verdict_not_a_crash(tmp_path):
    """GIVEN a deployed `Fn::GetAtt: [{Ref: Audit}, Arn]` (not a name) WHEN Audit is renamed
    THEN a plan, the odd GetAtt's Ref renamed like any other. Before: TypeError."""
    odd = "Resources:\n  Keep:\n    Type: AWS::SSM::Parameter\n    Properties:\n"
    odd += "      Type: String\n      Value: {Fn::GetAtt: [{Ref: Audit}, Arn]}\n"
    desired = (odd + AUDIT).replace("Audit", "AuditLogs")
    p = stacks(tmp_path, {"a": desired}, {"a": odd + AUDIT})["a"]
    assert p.refactor == (move("AWS::Logs::LogGroup", ("a", "Audit"), ("a", "AuditLogs")),)
    value = body(p, "a")["Resources"]["Keep"]["Properties"]["Value"]
    assert value == {"Fn::GetAtt": [{"Ref": "AuditLogs"}, "Arn"]}


def test_sub_map_variable_named_like_the_moved_resource_is_no_reference_to_it(tmp_path):
    """GIVEN `!Sub ["${Audit}", {Audit: literal}]` in a resource staying behind (the
    variable is the map's, not the log group) WHEN the log group Audit moves THEN a
    refactor. Before: 'not refactored: Keep in a refers to Audit'."""
    keep = "Resources:\n  Keep:\n    Type: AWS::SSM::Parameter\n    Properties:\n"
    keep += '      Type: String\n      Value: !Sub ["${Audit}", {Audit: literal}]\n'
    plans = stacks(tmp_path, {"a": keep, "b": ANCHOR + AUDIT}, {"a": keep + AUDIT, "b": ANCHOR})
    assert (plans["a"].action, plans["b"].action) == (Action.REFACTOR, Action.REFACTOR)
    assert plans["a"].refactor == (AUDIT_MOVE,)
    kept = body(plans["a"], "a")["Resources"]["Keep"]["Properties"]["Value"]
    assert kept == {"Fn::Sub": ["${Audit}", {"Audit": "literal"}]}


KEYED = """\
Parameters:
  Suffix:
    Type: String
    Default: x${AWS::Region}
Resources:
  Keep:
    Type: AWS::SNS::Topic
  Key:
    Type: AWS::KMS::Key
    DeletionPolicy: Retain
    Properties:
      Description: logs
  Audit:
    Type: AWS::Logs::LogGroup
    DeletionPolicy: Retain
    Properties:
      LogGroupName: /audit/x
      DataProtectionPolicy:
        Name: !Sub "${Key}-${Suffix}"
"""


def move_keyed(root: Path, deployed: str) -> dict[str, StackPlan]:
    """Every resource of `deployed` (stack `a`) from Key on moved to stack `b`, whose
    desired template declares them as `a` does, with its parameters."""
    keep, arrived = deployed.split("  Key:\n", 1)
    desired_b = keep.split("Resources:\n")[0] + ANCHOR + "  Key:\n" + arrived
    return stacks(root, {"a": keep, "b": desired_b}, {"a": deployed, "b": ANCHOR})


def test_parameter_value_written_into_a_sub_keeps_its_dollar_brace_as_text(tmp_path):
    """GIVEN a moved log group's `!Sub "${Key}-${Suffix}"` (Key moves with it) where the
    parameter Suffix is the text `x${AWS::Region}` WHEN written out for the destination
    THEN `${!AWS::Region}`: Fn::Sub gives back the deployed text. Before: `${AWS::Region}`,
    which the destination would resolve (`x` + the region)."""
    plans = move_keyed(tmp_path, KEYED)
    arrived = body(plans["a"], "b")["Resources"]["Audit"]["Properties"]
    assert arrived["DataProtectionPolicy"]["Name"] == {"Fn::Sub": "${Key}-x${!AWS::Region}"}


@pytest.mark.parametrize(
    ("sub", "variable"),
    [
        ('!Sub ["${Key}", {Key: !GetAtt Other.Arn}]', "${Key}"),
        ('!Sub ["${Key}-${my-var}", {my-var: !Ref Other}]', "${my-var}"),
    ],
    ids=["map-variable-named-like-a-moving-key", "map-variable-with-a-hyphen"],
)
def test_sub_map_variable_of_a_moved_resource_is_not_written_as_something_else(
    tmp_path, sub, variable
):
    """GIVEN a moved log group whose value is a Fn::Sub with a variable map (a variable
    `Key` holding queue `Other`'s ARN, where a key `Key` moves too; or `${my-var}`) WHEN
    written out THEN not refactored, saying so. Before: `{"Fn::Sub": "${Key}"}`, the
    moved key's id in place of Other's ARN; `${my-var}` left with no map to resolve it."""
    other = "  Other:\n    Type: AWS::SQS::Queue\n    DeletionPolicy: Retain\n    Properties:\n"
    other += "      QueueName: other\n"
    deployed = KEYED.replace('!Sub "${Key}-${Suffix}"', sub).replace(
        "  Audit:\n", other + "  Audit:\n"
    )
    plans = move_keyed(tmp_path, deployed)
    why = f"Audit in a: DataProtectionPolicy substitutes {variable} from a Fn::Sub variable map"
    assert f"not refactored: {why}" in plans["a"].reason
    assert plans["a"].refactor_templates == {}


def test_moved_resource_keeps_its_attributes_written_out(tmp_path):
    """GIVEN a moved log group whose DeletionPolicy is `!If [Keep, Retain, Delete]` on a
    true condition, whose UpdateReplacePolicy is a parameter, with Metadata WHEN written
    into the destination THEN the same policies (Retain) and metadata, as values. Before:
    both policies left out (the default, Delete, for the moved data) and the metadata
    dropped."""
    deployed = """\
Parameters:
  Policy:
    Type: String
    Default: Retain
Conditions:
  Keep: !Equals [!Ref Policy, Retain]
Resources:
  Topic:
    Type: AWS::SNS::Topic
  Audit:
    Type: AWS::Logs::LogGroup
    DeletionPolicy: !If [Keep, Retain, Delete]
    UpdateReplacePolicy: !Ref Policy
    Metadata:
      owner: !Sub "${AWS::Region}-team"
      cfn-lint: {config: {ignore_checks: [W3011]}}
    Properties:
      LogGroupName: /audit/x
"""
    desired_b = ANCHOR + AUDIT
    desired_a = deployed.split("  Audit:\n")[0]
    plans = stacks(tmp_path, {"a": desired_a, "b": desired_b}, {"a": deployed, "b": ANCHOR})
    assert plans["a"].action is Action.REFACTOR, plans["a"].reason
    assert body(plans["a"], "b")["Resources"]["Audit"] == {
        "Type": "AWS::Logs::LogGroup",
        "Properties": {"LogGroupName": "/audit/x"},
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Metadata": {
            "owner": "us-east-1-team",
            "cfn-lint": {"config": {"ignore_checks": ["W3011"]}},
        },
    }


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("2001-12-14t21:59:43.10-05:00", "holds the YAML timestamp 2001-12-14 21:59:43.100000"),
        (".inf", "holds .inf or .nan, which JSON cannot write"),
    ],
    ids=["timestamp", "infinity"],
)
def test_yaml_value_json_cannot_write_as_deployed_is_not_refactored(tmp_path, value, why):
    """GIVEN a deployed YAML tag value that is a timestamp with a time, or `.inf` WHEN its
    queue is renamed THEN not refactored, saying why. Before: a refactor whose template
    wrote `2001-12-14 21:59:43.100000-05:00` (not the text deployed) or `Infinity` (not
    JSON)."""
    deployed = f"""\
Resources:
  Q:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: q
      Tags:
        - Key: at
          Value: {value}
"""
    p = stacks(tmp_path, {"a": deployed.replace("  Q:", "  Queue:")}, {"a": deployed})["a"]
    assert p.action is Action.BLOCKED
    assert f"not refactored: the deployed template of a {why}" in p.reason


def test_yaml_dates_and_numbers_are_written_as_cloudformation_read_them(tmp_path):
    """An unquoted date (`AWSTemplateFormatVersion: 2010-09-09`, `Version: 2012-10-17`)
    is its text; YAML 1.1 numbers (hex, octal, `5.10`) are the numbers YAML 1.1 reads, as
    CloudFormation reads them; `yes` is true."""
    deployed = """\
AWSTemplateFormatVersion: 2010-09-09
Resources:
  Q:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: q
      MessageRetentionPeriod: 0x54600
      Tags:
        - {Key: since, Value: 2024-01-02}
        - {Key: version, Value: 5.10}
        - {Key: mode, Value: 0755}
        - {Key: flag, Value: yes}
"""
    p = stacks(tmp_path, {"a": deployed.replace("  Q:", "  Queue:")}, {"a": deployed})["a"]
    assert p.action is Action.REFACTOR
    got = body(p, "a")
    assert got["AWSTemplateFormatVersion"] == "2010-09-09"
    queue = got["Resources"]["Queue"]["Properties"]
    assert queue["MessageRetentionPeriod"] == 345600
    assert [t["Value"] for t in queue["Tags"]] == ["2024-01-02", 5.1, 493, True]


def test_non_ascii_text_counts_its_utf8_bytes_against_the_limit(tmp_path):
    """GIVEN a deployed template of about 40,000 bytes, most of it `é` (two bytes each in
    UTF-8) WHEN a log group in it is renamed THEN a refactor, its template under 51,200
    bytes as sent. Before: refused as 120,000 bytes (each é written as a six-byte escape)."""
    text = "é" * 19_000
    deployed = "Resources:\n  Keep:\n    Type: AWS::SNS::Topic\n    Properties:\n"
    deployed += f"      DisplayName: {text}\n" + AUDIT
    desired = deployed.replace("  Audit:", "  AuditLogs:")
    p = stacks(tmp_path, {"a": desired}, {"a": deployed})["a"]
    assert p.action is Action.REFACTOR, p.reason
    assert 38_000 < len(p.refactor_templates["a"].encode()) < 51_200
    assert body(p, "a")["Resources"]["Keep"]["Properties"]["DisplayName"] == text


def test_database_with_a_noecho_master_username_is_renamed_by_a_refactor(tmp_path):
    """GIVEN AWS's RDS_with_DBParameterGroup sample (`MasterUsername: !Ref DBUser`, a
    NoEcho parameter) WHEN MyDB is renamed THEN it is recognised as renamed: blocked after
    the refactor as any update of that stack (the NoEcho value may have changed), naming
    the new id; with the new id allowed, a refactor then that update. Before: never
    matched, blocked as 'MyDB would be deleted', asking to allow MyDB (its deletion)."""
    p, _ = plan_rename(tmp_path / "blocked", "RDS_with_DBParameterGroup.yaml", "MyDB")
    assert p.action is Action.BLOCKED
    assert "MyDB (AWS::RDS::DBInstance) would be deleted" not in p.reason
    assert "list 'MyDBRenamed' under allow-replacement" in p.reason
    text, template, values = real("RDS_with_DBParameterGroup.yaml")
    files = {
        "templates/t.json": json.dumps(renamed_template(template, "MyDB", "MyDBRenamed")),
        "desired-state/s.yml": stack_file(
            "s", "t.json", values, "allow-replacement: [MyDBRenamed]"
        ),
    }
    allowed = plan(tmp_path / "allowed", files, {"s": text}, {"s": shown(template, values)})["s"]
    assert allowed.action is Action.REFACTOR, allowed.reason
    (change,) = allowed.changes
    assert (change.logical_id, change.action) == ("MyDBRenamed", ChangeAction.MODIFY)
    assert change.replacement is Replacement.CONDITIONAL
    assert body(allowed, "s")["Resources"]["MyDBRenamed"]["Properties"]["MasterUsername"] == {
        "Ref": "DBUser"
    }


def test_noecho_value_changed_with_the_rename_is_not_a_rename(tmp_path):
    """The NoEcho match is on the value as written: `!Ref DBUser` become `!Ref OtherUser`
    is another value, so no refactor (the deletion stays blocked)."""
    text, template, values = real("RDS_with_DBParameterGroup.yaml")
    desired = renamed_template(template, "MyDB", "MyDBRenamed")
    desired["Parameters"]["OtherUser"] = desired["Parameters"]["DBUser"]
    desired["Resources"]["MyDBRenamed"]["Properties"]["MasterUsername"] = {"Ref": "OtherUser"}
    files = {
        "templates/t.json": json.dumps(desired),
        "desired-state/s.yml": stack_file("s", "t.json", values | {"OtherUser": "admin"}),
    }
    p = plan(tmp_path, files, {"s": text}, {"s": shown(template, values)})["s"]
    assert p.action is Action.BLOCKED
    assert p.refactor == ()
    assert p.reason.startswith("MyDB (AWS::RDS::DBInstance) would be deleted")


def test_value_only_deploy_knows_says_so_when_it_cannot_be_written_out(tmp_path):
    """GIVEN a moved log group whose KmsKeyId is an import (no resource behind it) WHEN
    written out THEN not refactored, saying it is known only when deployed. Before: 'which
    does not move with it', as if a resource stayed behind."""
    moved = AUDIT + "      KmsKeyId: !ImportValue shared-key\n"
    keep = "Resources:\n  Keep:\n    Type: AWS::SNS::Topic\n"
    plans = stacks(tmp_path, {"a": keep, "b": ANCHOR + moved}, {"a": keep + moved, "b": ANCHOR})
    assert "not refactored: Audit in a: KmsKeyId is ImportValue shared-key, known only" in (
        plans["a"].reason
    )


# --- hostile input: clear verdicts, no exception -------------------------------------------

ODD = "Resources:\n  Keep:\n    Type: AWS::SSM::Parameter\n    Properties:\n"
ODD += "      Type: String\n      Value: {value}\n" + AUDIT


@pytest.mark.parametrize(
    ("value", "renamed_value"),
    [
        ("{Fn::GetAtt: []}", {"Fn::GetAtt": []}),
        ("{Fn::GetAtt: NoDot}", {"Fn::GetAtt": "NoDot"}),
        ("{Fn::GetAtt: [Audit]}", {"Fn::GetAtt": ["AuditLogs"]}),
        ("{Fn::GetAtt: Audit.Arn.More}", {"Fn::GetAtt": "AuditLogs.Arn.More"}),
        ("{Fn::GetAtt: {x: 1}}", {"Fn::GetAtt": {"x": 1}}),
        ("{Fn::Sub: 42}", {"Fn::Sub": 42}),
        ("{Fn::Sub: [1, 2]}", {"Fn::Sub": [1, 2]}),
        ("{Fn::Sub: []}", {"Fn::Sub": []}),
        ('{Fn::Sub: "${!Audit}-${Audit}"}', {"Fn::Sub": "${!Audit}-${AuditLogs}"}),
        ('{Fn::Sub: ["${Audit}", notmap]}', {"Fn::Sub": ["${Audit}", "notmap"]}),
        ('{Fn::Sub: ["${Audit}", {Audit: x}]}', {"Fn::Sub": ["${Audit}", {"Audit": "x"}]}),
    ],
)
def test_odd_intrinsic_shapes_are_renamed_where_they_name_the_resource(
    tmp_path, value, renamed_value
):
    """Deployed intrinsic functions of odd shapes beside a renamed log group: a refactor,
    each odd value renamed only where it names the log group, nothing raised."""
    deployed = ODD.format(value=value)
    desired = json.dumps(renamed_template(parse(deployed)[0], "Audit", "AuditLogs"))
    p = stacks(tmp_path, {"a": desired}, {"a": deployed})["a"]
    assert p.refactor == (move("AWS::Logs::LogGroup", ("a", "Audit"), ("a", "AuditLogs")),)
    assert body(p, "a")["Resources"]["Keep"]["Properties"]["Value"] == renamed_value


@pytest.mark.parametrize(
    "nodes",
    [
        "  X: hello\n",
        "  X: [1, 2]\n",
        "  X:\n    Type: AWS::SNS::Topic\n    Properties: null\n",
        "  X:\n    Type: AWS::SNS::Topic\n    DependsOn: 42\n",
        "  X:\n    Type: AWS::SNS::Topic\n    DependsOn: [Audit, 7, [x]]\n",
    ],
    ids=["string", "list", "properties-null", "dependson-number", "dependson-odd-list"],
)
def test_odd_resource_nodes_beside_a_rename_are_kept_as_deployed(tmp_path, nodes):
    deployed = "Resources:\n" + nodes + AUDIT
    desired = deployed.replace("  Audit:", "  AuditLogs:").replace("[Audit,", "[AuditLogs,")
    p = stacks(tmp_path, {"a": desired}, {"a": deployed})["a"]
    assert p.action is Action.REFACTOR, p.reason
    assert (
        body(p, "a")["Resources"]["X"]
        == renamed_template(parse(deployed)[0], "Audit", "AuditLogs")["Resources"]["X"]
    )


def test_moved_log_group_with_null_properties_moves(tmp_path):
    keep = "Resources:\n  Keep:\n    Type: AWS::SNS::Topic\n"
    moved = "  Audit:\n    Type: AWS::Logs::LogGroup\n    Properties: null\n"
    plans = stacks(tmp_path, {"a": keep, "b": ANCHOR + moved}, {"a": keep + moved, "b": ANCHOR})
    assert plans["b"].action is Action.REFACTOR
    assert body(plans["b"], "b")["Resources"]["Audit"] == {"Type": "AWS::Logs::LogGroup"}


def test_destination_deployed_without_a_resources_mapping_is_not_refactored(tmp_path):
    keep = "Resources:\n  Keep:\n    Type: AWS::SNS::Topic\n"
    plans = stacks(
        tmp_path, {"a": keep, "b": ANCHOR + AUDIT}, {"a": keep + AUDIT, "b": {"Resources": [1]}}
    )
    assert "not refactored: the deployed template of b has no Resources" in plans["a"].reason


PREFIXES = """\
Resources:
  DbKey:
    Type: AWS::KMS::Key
    DeletionPolicy: Retain
    Properties:
      Description: !Sub "key of ${Db} at ${Db.Endpoint.Address}, alias ${DbKeyAlias}"
  DbKeyAlias:
    Type: AWS::KMS::Alias
    Properties:
      AliasName: alias/db
      TargetKeyId: !Ref DbKey
  Db:
    Type: AWS::RDS::DBInstance
    DeletionPolicy: Snapshot
    DependsOn: [DbKey, DbKeyAlias]
    Properties:
      Engine: mysql
      DBInstanceClass: db.t3.micro
      AllocatedStorage: "20"
      StorageEncrypted: true
      KmsKeyId: !GetAtt DbKey.Arn
      Tags:
        - Key: alias
          Value: !Ref DbKeyAlias
Outputs:
  Db:
    Value: !GetAtt [Db, Endpoint.Address]
  DbKey:
    Value: !Ref DbKey
"""


@pytest.mark.parametrize(
    "renames",
    [{"Db": "Database"}, {"DbKey": "DataKey"}, {"Db": "Database", "DbKey": "DataKey"}],
    ids=["Db", "DbKey", "both"],
)
def test_ids_that_are_prefixes_of_each_other_are_renamed_apart(tmp_path, renames):
    """Db, DbKey and DbKeyAlias: renaming one renames no other."""
    desired = plain(parse(PREFIXES)[0])
    for old, new in renames.items():
        desired = renamed_template(desired, old, new)
    p = stacks(tmp_path, {"a": json.dumps(desired)}, {"a": PREFIXES})["a"]
    assert p.action is Action.REFACTOR, p.reason
    assert {(m.source.logical_id, m.destination.logical_id) for m in p.refactor} == set(
        renames.items()
    )
    assert p.changes == ()
    assert body(p, "a") == desired


NAMED = """\
Resources:
  A:
    Type: AWS::Logs::LogGroup
    Properties:
      LogGroupName: /a
  B:
    Type: AWS::Logs::LogGroup
    Properties:
      LogGroupName: /b
"""


@pytest.mark.parametrize(
    ("desired", "blocked"),
    [
        (NAMED.replace("  A:", "  X:").replace("  B:", "  A:").replace("  X:", "  B:"), "A B"),
        (NAMED.replace("  B:", "  C:").replace("  A:", "  B:"), "A B"),
    ],
    ids=["swap", "chain"],
)
def test_swap_and_chain_of_ids_are_blocked_as_replacements(tmp_path, desired, blocked):
    """A->B with B->A, or A->B with B->C, in one push: no refactor is guessed; the
    resources whose names change under an existing id are blocked as replacements."""
    p = stacks(tmp_path, {"a": desired}, {"a": NAMED})["a"]
    assert p.action is Action.BLOCKED
    assert p.refactor == ()
    assert " ".join(sorted(v.logical_id for v in p.violations)) == blocked
    assert "B (AWS::Logs::LogGroup) would be replaced: LogGroupName changes" in p.reason


def test_id_renamed_in_one_stack_and_added_in_another_is_the_rename(tmp_path):
    """A renamed Z in `a` while `b` adds an `A` of the same values: the rename in its own
    stack is the move; `b` only adds."""
    desired_b = ANCHOR + "  A:\n    Type: AWS::Logs::LogGroup\n    Properties:\n"
    desired_b += "      LogGroupName: /a\n"
    plans = stacks(
        tmp_path, {"a": NAMED.replace("  A:", "  Z:"), "b": desired_b}, {"a": NAMED, "b": ANCHOR}
    )
    assert plans["a"].refactor == (move("AWS::Logs::LogGroup", ("a", "A"), ("a", "Z")),)
    assert plans["a"].action is Action.REFACTOR
    assert (plans["b"].action, plans["b"].refactor) == (Action.UPDATE, ())


def test_sub_with_pseudo_parameters_and_escapes_in_a_moved_resource_is_written_out(tmp_path):
    """`${AWS::Region}` is the region's name, `${!Literal}` the text `${Literal}`."""
    moved = AUDIT.replace(
        "LogGroupName: /audit/x", 'LogGroupName: !Sub "/audit/${AWS::Region}/${!Literal}"'
    )
    arrived = AUDIT.replace("LogGroupName: /audit/x", 'LogGroupName: "/audit/us-east-1/${Literal}"')
    keep = "Resources:\n  Keep:\n    Type: AWS::SNS::Topic\n"
    plans = stacks(tmp_path, {"a": keep, "b": ANCHOR + arrived}, {"a": keep + moved, "b": ANCHOR})
    assert plans["b"].action is Action.REFACTOR, plans["b"].reason
    assert plans["b"].changes == ()
    group = body(plans["b"], "b")["Resources"]["Audit"]["Properties"]
    assert group["LogGroupName"] == "/audit/us-east-1/${Literal}"


def test_moved_resource_deployed_with_the_stack_name_is_not_refactored(tmp_path):
    """AWS's stack refactoring: "You can't refactor resources that reference pseudo
    parameters whose values differ between the source and destination stacks, such as
    AWS::StackName"; the project's local AWS refuses such a CreateStackRefactor
    (localaws/stack_refactor.py, `_check_pseudo_parameters`, which reads the source's
    deployed resource). The plan writes the value out and promises a refactor that apply
    then sees refused. Expected: not refactored at plan time, saying why."""
    moved = AUDIT.replace("LogGroupName: /audit/x", 'LogGroupName: !Sub "/audit/${AWS::StackName}"')
    arrived = AUDIT.replace("LogGroupName: /audit/x", "LogGroupName: /audit/a")
    keep = "Resources:\n  Keep:\n    Type: AWS::SNS::Topic\n"
    plans = stacks(tmp_path, {"a": keep, "b": ANCHOR + arrived}, {"a": keep + moved, "b": ANCHOR})
    assert plans["a"].action is Action.BLOCKED
    assert "not refactored: Audit in a refers to AWS::StackName" in plans["a"].reason


FUZZED = """\
Parameters:
  P:
    Type: String
    Default: v
Resources:
  Keep:
    Type: AWS::SSM::Parameter
    DependsOn: [Audit]
    Properties:
      Type: String
      Value: !Sub "${Audit}-${P}"
  Key:
    Type: AWS::KMS::Key
    DeletionPolicy: Retain
    Metadata: {a: !Ref P}
    Properties:
      Description: !Sub "${AWS::Region}"
  Audit:
    Type: AWS::Logs::LogGroup
    DeletionPolicy: Retain
    UpdateReplacePolicy: !Ref P
    DependsOn: Key
    Metadata: {owner: !Ref P}
    Properties:
      LogGroupName: /audit/x
      KmsKeyId: !GetAtt Key.Arn
      RetentionInDays: 7
      Tags: [{Key: k, Value: !Sub "${P}-${Key}"}]
Outputs:
  O:
    Value: !Ref Audit
"""


def places(node: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a template node, as a path of keys and indexes."""
    found = [at]
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, value in items:
        found += places(value, (*at, key))
    return found


def replaced(template: dict[str, Any], at: tuple[Any, ...], value: Any) -> dict[str, Any]:
    copy = json.loads(json.dumps(template))
    node = copy
    for key in at[:-1]:
        node = node[key]
    node[at[-1]] = value
    return copy


@pytest.mark.parametrize(
    "odd",
    [
        None,
        42,
        [],
        {},
        [{"Ref": "Audit"}],
        {"Ref": ["x"]},
        {"Fn::Sub": None},
        {"Fn::GetAtt": [None]},
        {"Fn::If": 1},
        {"Fn::Sub": ["${Audit}", {"Audit": {"Ref": "Key"}}]},
        {"Fn::GetAtt": "Key"},
        [None, {"Ref": "Audit"}],
    ],
    ids=json.dumps,
)
def test_odd_value_anywhere_in_the_deployed_template_never_raises(tmp_path, odd):
    """GIVEN `odd` put in each place of a deployed template in turn (every resource node,
    attribute, property and intrinsic argument, every output) WHEN its log group Audit is
    renamed, and WHEN Audit and its key move to another stack THEN a plan every time, never
    an exception; a rename's refactor template is the deployed one with only the rename
    made; a move leaves nothing in the source naming what moved."""
    base = plain(parse(FUZZED)[0])
    fixed = {("Resources", "Audit"), ("Resources", "Audit", "Type"), ("Resources", "Key", "Type")}
    count = 0
    for n, at in enumerate(places(base)):
        if len(at) < 2 or at[0] not in ("Resources", "Outputs") or at in fixed:
            continue
        deployed = replaced(base, at, odd)
        desired = renamed_template(deployed, "Audit", "AuditLogs")
        p = stacks(tmp_path / f"r{n}", {"a": json.dumps(desired)}, {"a": deployed})["a"]
        if p.refactor_templates:
            assert body(p, "a") == desired, at
        source = json.loads(json.dumps(deployed))
        moved = {k: source["Resources"].pop(k) for k in ("Key", "Audit")}
        destination = {"Parameters": base["Parameters"], "Resources": {"Anchor": ANCHOR_NODE}}
        destination["Resources"] |= moved
        desired_stacks = {"a": json.dumps(source), "b": json.dumps(destination)}
        plans = stacks(tmp_path / f"m{n}", desired_stacks, {"a": deployed, "b": ANCHOR})
        if plans["a"].refactor_templates:
            assert not {"Key", "Audit"} & references(body(plans["a"], "a")), at
        count += 1
    assert count == 38
