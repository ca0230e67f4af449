"""PAR001: the values a stack file gives, and the template's own defaults, meet the
template's parameter declarations (Type Number and List<Number>, AllowedValues,
AllowedPattern, MinLength/MaxLength, MinValue/MaxValue). CloudFormation refuses such a
value only when the change set is created; here it is caught before anything is sent,
and a NoEcho value is never repeated in the message."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from reconciler.findings import Finding
from reconciler.template import Template
from reconciler.validation.context import Context
from reconciler.validation.rule import Rule, error
from reconciler.yamlfile import key_line

RULE_ID = "PAR001"
# Types whose constraints CloudFormation checks on the value itself. AWS-specific types
# (AWS::EC2::VPC::Id...) are checked against the account, SSM types against the
# parameter store: neither can be judged offline.
LIST_TYPES = ("CommaDelimitedList", "List<Number>")
NUMERIC_TYPES = ("Number", "List<Number>")
CHECKED_TYPES = ("String", "Number", *LIST_TYPES)
NUMBER = re.compile(r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?")
Shown = Callable[[str], str]  # how an item is named in a message


@dataclass(frozen=True)
class Problem:
    constraint: str  # the declaration key that refuses the value: Type, AllowedValues...
    what: str  # what is wrong, never quoting a NoEcho value
    fix: str


def check(ctx: Context) -> Iterator[Finding]:
    state = ctx.state
    for spec in state.stacks:
        template = state.templates.get(spec.template_file_path)
        if template is None:
            continue
        for name, value in spec.parameters.items():
            declared = _declaration(template, name)
            if declared is None:
                continue  # undeclared: DS009
            for problem in problems(declared, value, _no_echo(template, name)):
                where = _where(template, name, declared, problem.constraint)
                msg = f"parameter {name!r}: {problem.what} ({where}): {problem.fix}"
                yield error(spec.path, spec.line("parameters"), RULE_ID, msg, spec.stack_name)
    for template in state.templates.values():
        yield from _defaults(template)


def _defaults(template: Template) -> Iterator[Finding]:
    for name in template.parameters:
        declared = _declaration(template, name)
        if declared is None or "Default" not in declared:
            continue
        default = _text(declared["Default"])
        line = key_line(declared, "Default", template.parameters[name].line)
        for problem in problems(declared, default, _no_echo(template, name), "Default"):
            where = _where(template, name, declared, problem.constraint)
            msg = f"parameter {name!r}: {problem.what} ({where}): {problem.fix}"
            yield error(template.path, line, RULE_ID, msg)


def problems(
    declared: dict[str, Any], value: str, no_echo: bool = False, subject: str = "value"
) -> list[Problem]:
    """Every constraint of the declaration that `value` (as CloudFormation receives it,
    a string) breaks, naming it `subject` (value, Default)."""
    kind = str(declared.get("Type", "String"))
    if kind not in CHECKED_TYPES:
        return []
    is_list = kind in LIST_TYPES
    items = [item.strip() for item in value.split(",")] if is_list else [value]

    def shown(item: str) -> str:
        if no_echo:
            return f"an item of the NoEcho {subject}" if is_list else f"the NoEcho {subject}"
        return f"{subject} item {item!r}" if is_list else f"{subject} {item!r}"

    if kind in NUMERIC_TYPES:
        bad = next((item for item in items if not NUMBER.fullmatch(item)), None)
        if bad is not None:
            want = "comma-separated numbers" if is_list else "a number"
            return [Problem("Type", f"{shown(bad)} is not a number", f"give {want}")]
    found = _allowed_values(declared, items, kind in NUMERIC_TYPES, shown)
    if kind not in NUMERIC_TYPES:
        found += _allowed_pattern(declared, items, shown)
    if kind == "String":
        found += _lengths(declared, value, shown(value), no_echo)
    if kind in NUMERIC_TYPES:
        found += _range(declared, items, shown)
    return found


def _allowed_values(declared: dict, items: list[str], numeric: bool, shown: Shown) -> list[Problem]:
    allowed = declared.get("AllowedValues")
    if not isinstance(allowed, list):
        return []
    texts = [_text(a) for a in allowed]
    for item in items:
        if item not in texts and not (numeric and _same_number(item, texts)):
            what = f"{shown(item)} is not one of AllowedValues [{', '.join(texts)}]"
            return [Problem("AllowedValues", what, "use one of them")]
    return []


def _allowed_pattern(declared: dict, items: list[str], shown: Shown) -> list[Problem]:
    pattern = declared.get("AllowedPattern")
    if not isinstance(pattern, str):
        return []
    try:
        compiled = re.compile(pattern)
    except re.error:
        return []  # a Java pattern Python cannot read: cfn-lint's to report
    for item in items:
        if not compiled.fullmatch(item):  # CloudFormation matches the whole value
            what = f"{shown(item)} does not match AllowedPattern {pattern!r}"
            return [Problem("AllowedPattern", what, _fix(declared, "give a value it matches"))]
    return []


def _lengths(declared: dict, value: str, shown: str, no_echo: bool) -> list[Problem]:
    found = []
    # Even a NoEcho value's length says something about it: only the bound is named.
    size = "" if no_echo else f" {len(value)} characters,"
    for key, side, fix in (
        ("MinLength", "under", "give a longer value"),
        ("MaxLength", "over", "give a shorter value"),
    ):
        bound = _number(declared.get(key))
        if bound is not None and _outside(len(value), side, bound):
            what = f"{shown} is{size} {side} {key} {_text(declared[key])}"
            found.append(Problem(key, what, _fix(declared, fix)))
    return found


def _range(declared: dict, items: list[str], shown: Shown) -> list[Problem]:
    found = []
    for key, side, fix in (
        ("MinValue", "under", "give a larger number"),
        ("MaxValue", "over", "give a smaller number"),
    ):
        bound = _number(declared.get(key))
        if bound is None:
            continue
        bad = next((item for item in items if _outside(float(item), side, bound)), None)
        if bad is not None:
            what = f"{shown(bad)} is {side} {key} {_text(declared[key])}"
            found.append(Problem(key, what, _fix(declared, fix)))
    return found


def _outside(number: float, side: str, bound: float) -> bool:
    return number < bound if side == "under" else number > bound


def _fix(declared: dict, default: str) -> str:
    """The template's ConstraintDescription when it has one (CloudFormation shows it too)."""
    description = declared.get("ConstraintDescription")
    return f"{default} ({description})" if isinstance(description, str) else default


def _declaration(template: Template, name: str) -> dict[str, Any] | None:
    declared = (template.data.get("Parameters") or {}).get(name)
    return declared if isinstance(declared, dict) else None


def _no_echo(template: Template, name: str) -> bool:
    declared = template.parameters.get(name)
    return declared is not None and declared.no_echo


def _where(template: Template, name: str, declared: dict, constraint: str) -> str:
    line = key_line(declared, constraint, template.parameters[name].line)
    if constraint == "Type":
        return f"Type {_text(declared.get('Type', 'String'))} at {template.path}:{line}"
    return f"{constraint} at {template.path}:{line}"


def _text(value: Any) -> str:
    """A template or stack-file scalar as CloudFormation reads it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_text(v) for v in value)
    return str(value)


def _number(value: Any) -> float | None:
    text = _text(value) if value is not None else ""
    return float(text) if NUMBER.fullmatch(text) else None


def _same_number(item: str, texts: list[str]) -> bool:
    number = float(item)
    return any(NUMBER.fullmatch(t) and float(t) == number for t in texts)


RULE = Rule((RULE_ID,), "parameter values and defaults meet the template's constraints", check)
