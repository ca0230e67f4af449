"""The change rules as infra/bootstrap.yml declares them, generated: for the resource types
the desired state's templates use (reconciler.change_rules.watched), one EventBridge rule
per `handlers.routes.change_rules` rule on "AWS API Call via CloudTrail", targeting the
change function, its Lambda permission, and the organisation bus policy statement that
admits those events from member accounts. infra/member-account.yml holds the same rules
as forwarding rules to the central bus, made from the bootstrap template's block (as its
execution policy is), so one regeneration updates both.

`reconciler iam-policy --bootstrap` and `reconciler bootstrap` splice this block beside
the execution role's policy (reconciler.iam_policy): a template that uses a new resource
type gets its rules. Pure: text in, text out."""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from handlers.routes import CHANGE, MAX_PATTERN, Rule, change_rules
from reconciler.desired import DesiredState
from reconciler.errors import ReconcilerError

BEGIN = (
    "# BEGIN generated change rules by `reconciler iam-policy --bootstrap` (do not edit by hand)"
)
END = "# END generated change rules by `reconciler iam-policy --bootstrap`"
MEMBER_BEGIN = (
    "# BEGIN the change rules' forwarding, as infra/bootstrap.yml's generated change rules"
)
MEMBER_END = "# END the change rules' forwarding"
FUNCTION = "ChangeFunction"
# EventBridge's limit on a rule's name; the bootstrap stack's name comes in front.
MAX_RULE_NAME = 64
CENTRAL_BUS = (
    '!Sub "arn:${AWS::Partition}:events:${HomeRegion}:${CentralAccountId}:event-bus/default"'
)
HERE = "in this region; other regions forward theirs"
FORWARDED = "to the central bus"
_PLAIN = re.compile(r"[A-Za-z0-9][\w .:/-]*")


@dataclass(frozen=True)
class ChangeRule:
    """One generated rule: `name` is the route's name without `gitops-` (the template
    puts the stack's name in front), `logical_id` its resource's stem (ChangeEc2,
    ChangeEc2Part2...)."""

    name: str
    logical_id: str
    service: str
    pattern: Mapping[str, Any]


def bootstrap_rules(state: DesiredState) -> list[ChangeRule]:
    """The change rules for every template a stack file uses."""
    from reconciler.change_rules import watched

    return rules_of(change_rules(watched(state)))


def rules_of(routes: Iterable[Rule]) -> list[ChangeRule]:
    """The change function's routes, each with its resources' logical id stem."""
    found: list[ChangeRule] = []
    seen: dict[str, int] = {}
    for route in routes:
        if route.handler != CHANGE or route.event_pattern is None:
            continue
        service = str(route.event_pattern["source"][0]).removeprefix("aws.")
        seen[service] = seen.get(service, 0) + 1
        stem = "Change" + "".join(p[:1].upper() + p[1:] for p in re.split(r"[^a-z0-9]+", service))
        found.append(
            ChangeRule(
                name=route.name.removeprefix("gitops-"),
                logical_id=stem + (f"Part{seen[service]}" if seen[service] > 1 else ""),
                service=service,
                pattern=route.event_pattern,
            )
        )
    return found


def summary(rules: list[ChangeRule]) -> str:
    calls = sum(len(r.pattern["detail"]["eventName"]) for r in rules)
    services = len({r.service for r in rules})
    return f"{len(rules)} change rule(s) on {services} service(s), {calls} API call(s) watched"


def bootstrap_block(rules: list[ChangeRule]) -> str:
    """The rules, their permissions and the organisation bus statement as YAML resources
    for infra/bootstrap.yml."""
    lines = [f"  {BEGIN}", f"  # {summary(rules)}"]
    for rule in rules:
        lines += [
            f"  {rule.logical_id}Rule:",
            "    Type: AWS::Events::Rule",
            "    Properties:",
            f'      Name: !Sub "${{AWS::StackName}}-{rule.name}"',
            f"      Description: {_description(rule, HERE)}",
            "      EventPattern:",
            *_yaml(rule.pattern, 8),
            "      Targets:",
            "        - Id: change",
            f"          Arn: !GetAtt {FUNCTION}.Arn",
            "",
            f"  {rule.logical_id}Permission:",
            "    Type: AWS::Lambda::Permission",
            "    Properties:",
            f"      FunctionName: !Ref {FUNCTION}",
            "      Action: lambda:InvokeFunction",
            "      Principal: events.amazonaws.com",
            f"      SourceArn: !GetAtt {rule.logical_id}Rule.Arn",
            "",
        ]
    sources = sorted({f"aws.{r.service}" for r in rules})
    if sources:
        lines += [
            "  # The organisation's accounts forward these calls (infra/member-account.yml): only",
            "  # AWS can put an aws.* source on a bus, and only these detail types pass.",
            "  OrganizationChangeBusPolicy:",
            "    Type: AWS::Events::EventBusPolicy",
            "    Condition: HasOrganization",
            "    Properties:",
            "      EventBusName: default",
            '      StatementId: !Sub "${AWS::StackName}-org-changes"',
            "      Statement:",
            "        Effect: Allow",
            '        Principal: "*"',
            "        Action: events:PutEvents",
            '        Resource: !Sub "arn:${AWS::Partition}:events:${AWS::Region}:'
            '${AWS::AccountId}:event-bus/default"',
            "        Condition:",
            "          StringEquals:",
            "            aws:PrincipalOrgID: !Ref OrganizationId",
            "          ForAllValues:StringEquals:",
            *_yaml(
                {"events:source": sources, "events:detail-type": ["AWS API Call via CloudTrail"]},
                12,
            ),
            "",
        ]
    lines.append(f"  {END}")
    return "\n".join(lines)


def member_block(bootstrap_text: str) -> str:
    """The bootstrap template's generated change rules as member-account.yml's forwarding
    rules: the same patterns, to the central bus as ForwarderRole, where Forwards holds."""
    block = generated_block(bootstrap_text)
    if block is None:
        raise ReconcilerError(f"the bootstrap template has no single {BEGIN!r} ... {END!r} block")
    lines = [f"  {MEMBER_BEGIN}"]
    for rule in parsed(block):
        lines += [
            f"  {rule.logical_id}ForwardRule:",
            "    Type: AWS::Events::Rule",
            "    Condition: Forwards",
            "    Properties:",
            # No Name: CloudFormation makes one per stack instance that fits EventBridge's
            # 64 characters whatever the service's name.
            f"      Description: {_description(rule, FORWARDED)}",
            "      EventPattern:",
            *_yaml(rule.pattern, 8),
            "      Targets:",
            "        - Id: central-bus",
            f"          Arn: {CENTRAL_BUS}",
            "          RoleArn: !GetAtt ForwarderRole.Arn",
            "",
        ]
    lines.append(f"  {MEMBER_END}")
    return "\n".join(lines)


def parsed(block: str) -> list[ChangeRule]:
    """The rules a generated bootstrap block declares, in order."""
    from cfnlint.decode import cfn_yaml

    body = "\n".join(line for line in block.splitlines() if line.strip() not in (BEGIN, END))
    resources = cfn_yaml.loads(textwrap.dedent(body) or "{}") or {}
    found = []
    for logical_id, resource in resources.items():
        if resource.get("Type") != "AWS::Events::Rule":
            continue
        props = resource["Properties"]
        name = str(props["Name"]["Fn::Sub"]).removeprefix("${AWS::StackName}-")
        pattern = _plain(props["EventPattern"])
        found.append(
            ChangeRule(
                name=name,
                logical_id=str(logical_id).removesuffix("Rule"),
                service=str(pattern["source"][0]).removeprefix("aws."),
                pattern=pattern,
            )
        )
    return found


def rule_name_problems(stack_name: str, bootstrap_text: str) -> list[str]:
    """The generated rules whose name, `<stack>-<name>`, would pass EventBridge's 64
    characters, and the patterns past its 2048."""
    block = generated_block(bootstrap_text)
    problems = []
    for rule in parsed(block) if block else []:
        full = f"{stack_name}-{rule.name}"
        if len(full) > MAX_RULE_NAME:
            problems.append(
                f"rule {full}: {len(full)} characters, EventBridge allows {MAX_RULE_NAME}"
            )
        size = len(json.dumps(rule.pattern))
        if size > MAX_PATTERN:
            problems.append(f"rule {full}: its pattern is {size} characters, over {MAX_PATTERN}")
    return problems


def generated_block(text: str, begin: str = BEGIN, end: str = END) -> str | None:
    """The generated lines of a template, markers included; None without them."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip() == begin]
    ends = [i for i, line in enumerate(lines) if line.strip() == end]
    if len(starts) != 1 or len(ends) != 1 or ends[0] < starts[0]:
        return None
    return "\n".join(lines[starts[0] : ends[0] + 1])


def splice(text: str, rules: list[ChangeRule]) -> str:
    """The bootstrap template with its generated change rules replaced by these."""
    old = generated_block(text)
    if old is None:
        raise ReconcilerError(f"the template has no single {BEGIN!r} ... {END!r} block")
    return text.replace(old, bootstrap_block(rules), 1)


def splice_member(member_text: str, bootstrap_text: str) -> str:
    """member-account.yml with its forwarding block made from the bootstrap template's."""
    old = generated_block(member_text, MEMBER_BEGIN, MEMBER_END)
    if old is None:
        raise ReconcilerError(
            f"the member template has no single {MEMBER_BEGIN!r} ... {MEMBER_END!r} block"
        )
    return member_text.replace(old, member_block(bootstrap_text), 1)


def _description(rule: ChangeRule, where: str) -> str:
    return json.dumps(
        f"{rule.service} calls that can change the managed stacks' resources, {where} "
        "(handlers/routes.py)"
    )


def _yaml(node: Mapping[str, Any], indent: int) -> list[str]:
    """A pattern as block YAML: a list of one string in flow style, as the template's
    hand-written rules have it; a matcher in a list ({"prefix": ...}) as a mapping item."""
    pad = " " * indent
    lines = []
    for key, value in node.items():
        if isinstance(value, Mapping):
            lines.append(f"{pad}{key}:")
            lines += _yaml(value, indent + 2)
        elif isinstance(value, str):
            lines.append(f"{pad}{key}: {_scalar(value)}")
        elif len(value) == 1 and isinstance(value[0], str):
            lines.append(f"{pad}{key}: [{_scalar(value[0])}]")
        else:
            lines.append(f"{pad}{key}:")
            for item in value:
                if isinstance(item, Mapping):
                    first, *rest = _yaml(item, indent + 4)
                    lines += [f"{pad}  - {first.lstrip()}", *rest]
                else:
                    lines.append(f"{pad}  - {_scalar(item)}")
    return lines


def _scalar(value: str) -> str:
    plain = _PLAIN.fullmatch(value) and not value.endswith(":") and ": " not in value
    return value if plain else json.dumps(value)


def _plain(node: Any) -> Any:
    """cfn-lint's YAML nodes as plain dicts, lists and strings."""
    if isinstance(node, Mapping):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return str(node)
