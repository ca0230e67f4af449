"""A template as CloudFormation will see it for one stack: parameters, pseudo parameters,
conditions and the intrinsic functions whose inputs are known before deploy evaluated;
what only deploy can tell (a resource's attributes, imports, masked parameters) kept as
an `Unknown` that remembers what it depends on. Dynamic references (`{{resolve:...}}`)
stay as written: CloudFormation resolves them at deploy time, and the same reference text
is the same value to a diff.

Why not cfn-lint's resolvers: they enumerate every value a template *could* take (each
`Fn::If` branch, each allowed value, up to a cap) to lint all of them, and they cannot
represent "known only at deploy time"; the guard needs the one value a stack gets from its
parameters, and to know where that value is unknown. The evaluation rules follow the
intrinsic function reference of the CloudFormation User Guide.
"""

from __future__ import annotations

import base64
import ipaddress
import itertools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from reconciler import cache as disk

PARTITIONS = (("cn-", "aws-cn", "amazonaws.com.cn"), ("us-gov-", "aws-us-gov", "amazonaws.com"))
NO_VALUE = object()  # Ref AWS::NoValue: the key or list item is removed
ABSENT = object()  # a property the template does not set
_SUB_VAR = re.compile(r"\$\{([^}]*)\}")


@dataclass(frozen=True)
class Unknown:
    """A value known only at deploy time. Two unknowns are equal when they come from
    the same expression: `!GetAtt Key.Arn` is the same value before and after, unless the
    key is replaced (the diff follows `refs` for that)."""

    expression: str
    refs: frozenset[str] = frozenset()  # logical ids of resources it depends on
    masked: bool = False  # a value exists but CloudFormation does not show it (NoEcho)

    def __str__(self) -> str:
        return f"<{self.expression}>"


@dataclass(frozen=True)
class RenderedResource:
    logical_id: str
    type: str
    properties: dict[str, Any]
    node: Mapping[str, Any] = field(repr=False)  # as written, for line numbers
    condition: str = ""
    uncertain: bool = False  # its Condition could not be evaluated

    def policy(self, name: str) -> str:
        value = self.node.get(name)
        return value if isinstance(value, str) else ""


@dataclass(frozen=True)
class Rendered:
    resources: dict[str, RenderedResource]  # only those whose Condition is not false
    conditions: dict[str, bool | Unknown]


@dataclass(frozen=True)
class Pseudo:
    """Pseudo parameter values; None where not known (a stack not yet created)."""

    region: str
    stack_name: str = ""
    account_id: str | None = None
    stack_id: str | None = None

    def value(self, name: str) -> Any:
        partition, suffix = "aws", "amazonaws.com"
        for prefix, part, url in PARTITIONS:
            if self.region.startswith(prefix):
                partition, suffix = part, url
        known = {
            "AWS::Region": self.region,
            "AWS::Partition": partition,
            "AWS::URLSuffix": suffix,
            "AWS::StackName": self.stack_name or None,
            "AWS::AccountId": self.account_id,
            "AWS::StackId": self.stack_id,
        }
        value = known.get(name)
        return value if value is not None else Unknown(name)


@cache
def availability_zones(region: str) -> tuple[str, ...]:
    """AWS's zone names in `region` as cfn-lint ships them (kept in the disk cache by
    cfn-lint's version: reading them imports cfn-lint); empty for a region it does not know."""
    return tuple(
        disk.memo("availability-zones", (region,), lambda: _read_zones(region), disk.strings)
    )


def _read_zones(region: str) -> list[str]:
    from cfnlint.helpers import AVAILABILITY_ZONES

    return list(AVAILABILITY_ZONES.get(region) or ())


def parameter_values(
    template: Mapping[str, Any], given: Mapping[str, Any], masked: bool = False
) -> dict[str, Any]:
    """Every declared parameter's value: given, else the template's default; lists for
    list types. With masked=True (values read back from a live stack), NoEcho values are
    unknown. SSM parameter types resolve at deploy time, so they stay unknown, keyed by
    the parameter name they read."""
    values: dict[str, Any] = {}
    for name, spec in _mapping(template.get("Parameters")).items():
        spec = spec if isinstance(spec, dict) else {}
        value = given.get(name, spec.get("Default"))
        if value is None:
            continue
        kind = str(spec.get("Type", "String"))
        if isinstance(value, list):
            value = ",".join(map(_scalar, value))
        value = _scalar(value)  # YAML `Default: true` is the string "true", not "True"
        if masked and value == "****":
            values[name] = Unknown(f"NoEcho parameter {name}", masked=True)
        elif kind.startswith("AWS::SSM::Parameter::Value<"):
            values[name] = Unknown(f"SSM parameter {value}")
        elif kind.startswith("List<") or kind == "CommaDelimitedList":
            values[name] = [v.strip() for v in value.split(",")] if value else []
        else:
            values[name] = value
    return values


def render(
    template: Mapping[str, Any] | None, params: Mapping[str, Any], pseudo: Pseudo
) -> Rendered:
    """The template's resources for these parameter values (see `parameter_values`)."""
    template = template or {}
    renderer = _Renderer(template, params, pseudo)
    resources = {}
    for logical_id, node in _mapping(template.get("Resources")).items():
        if not isinstance(node, dict):
            continue
        condition = node.get("Condition")
        holds: bool | Unknown = True
        if isinstance(condition, str):
            holds = renderer.condition(condition)
        if holds is False:
            continue
        props = node.get("Properties")
        rendered = renderer.value(props) if isinstance(props, dict) else {}
        resources[str(logical_id)] = RenderedResource(
            logical_id=str(logical_id),
            type=str(node.get("Type")),
            properties=rendered if isinstance(rendered, dict) else {},
            node=node,
            condition=condition if isinstance(condition, str) else "",
            uncertain=isinstance(holds, Unknown),
        )
    conditions = {str(n): renderer.condition(str(n)) for n in _mapping(template.get("Conditions"))}
    return Rendered(resources, conditions)


def canonical(value: Any) -> Any:
    """A rendered value as CloudFormation compares it: scalars as strings."""
    if isinstance(value, dict):
        return {k: canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [canonical(v) for v in value]
    if value is ABSENT or isinstance(value, Unknown) or value is None:
        return value
    return _scalar(value)


def same(a: Any, b: Any) -> bool:
    return canonical(a) == canonical(b)


def evaluate(
    node: Any, template: Mapping[str, Any], params: Mapping[str, Any], pseudo: Pseudo
) -> Any:
    """One part of a template (an attribute, an output) as rendered; None for NoValue."""
    value = _Renderer(template, params, pseudo).value(node)
    return None if value is NO_VALUE else value


def contains_unknown(value: Any) -> bool:
    if isinstance(value, Unknown):
        return True
    if isinstance(value, dict):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_unknown(v) for v in value)
    return False


def refs_of(value: Any) -> frozenset[str]:
    """The resources an (unknown part of a) rendered value depends on."""
    if isinstance(value, Unknown):
        return value.refs
    if isinstance(value, dict):
        return frozenset().union(*(refs_of(v) for v in value.values()))
    if isinstance(value, list):
        return frozenset().union(*(refs_of(v) for v in value))
    return frozenset()


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class _Renderer:
    def __init__(self, template: Mapping[str, Any], params: Mapping[str, Any], pseudo: Pseudo):
        self.params, self.pseudo = params, pseudo
        self.resources = set(_mapping(template.get("Resources")))
        self.mappings = _mapping(template.get("Mappings"))
        self.conditions = _mapping(template.get("Conditions"))
        self._evaluated: dict[str, bool | Unknown] = {}
        self._evaluating: set[str] = set()

    # --- conditions --------------------------------------------------------------------

    def condition(self, name: str) -> bool | Unknown:
        if name in self._evaluated:
            return self._evaluated[name]
        if name not in self.conditions or name in self._evaluating:
            return Unknown(f"Condition {name}")  # undeclared or circular: cfn-lint reports it
        self._evaluating.add(name)
        result = self._truth(self.conditions[name])
        self._evaluating.discard(name)
        self._evaluated[name] = result
        return result

    def _truth(self, node: Any) -> bool | Unknown:
        fn, arg = _function(node)
        if fn == "Condition" and isinstance(arg, str):
            return self.condition(arg)
        if fn == "Fn::Equals" and isinstance(arg, list) and len(arg) == 2:
            left, right = self.value(arg[0]), self.value(arg[1])
            if contains_unknown(left) or contains_unknown(right):
                return Unknown("Fn::Equals", refs_of(left) | refs_of(right))
            return _scalar(left) == _scalar(right)
        if fn in ("Fn::And", "Fn::Or") and isinstance(arg, list):
            values = [self._truth(a) for a in arg]
            decisive = fn == "Fn::Or"  # True decides an Or, False decides an And
            if decisive in values:
                return decisive
            if any(isinstance(v, Unknown) for v in values):
                return Unknown(fn)
            return not decisive
        if fn == "Fn::Not" and isinstance(arg, list) and len(arg) == 1:
            inner = self._truth(arg[0])
            return inner if isinstance(inner, Unknown) else not inner
        value = self.value(node)
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        return Unknown("condition")

    # --- values ------------------------------------------------------------------------

    def value(self, node: Any) -> Any:
        if isinstance(node, list):
            items = [self.value(v) for v in node]
            return [v for v in items if v is not NO_VALUE]
        if isinstance(node, str):
            return node  # a dynamic reference stays as written: the same text, the same value
        if not isinstance(node, dict):
            return node
        fn, arg = _function(node)
        if fn is None:
            items = {str(k): self.value(v) for k, v in node.items()}
            return {k: v for k, v in items.items() if v is not NO_VALUE}
        method = getattr(self, _METHODS.get(fn, ""), None)
        if method is None:
            return Unknown(fn)  # Fn::Transform and other functions evaluated only by AWS
        return method(arg)

    def _ref(self, name: Any) -> Any:
        if not isinstance(name, str):
            return Unknown("Ref")
        if name == "AWS::NoValue":
            return NO_VALUE
        if name.startswith("AWS::"):
            return self.pseudo.value(name)
        if name in self.params:
            return self.params[name]
        if name in self.resources:
            return Unknown(f"Ref {name}", frozenset({name}))
        return Unknown(f"Ref {name}")  # undeclared: cfn-lint reports it

    def _fn_getatt(self, arg: Any) -> Any:
        if isinstance(arg, str):
            arg = arg.split(".", 1)
        if not isinstance(arg, list) or len(arg) != 2:
            return Unknown("Fn::GetAtt")
        target, attribute = arg[0], self.value(arg[1])
        name = f"{target}.{attribute}"
        return Unknown(f"GetAtt {name}", frozenset({str(target)}))

    def _fn_importvalue(self, arg: Any) -> Any:
        name = self.value(arg)
        return Unknown(f"ImportValue {name}", refs_of(name))

    def _fn_if(self, arg: Any) -> Any:
        if not isinstance(arg, list) or len(arg) != 3 or not isinstance(arg[0], str):
            return Unknown("Fn::If")
        holds = self.condition(arg[0])
        if isinstance(holds, Unknown):
            return Unknown(
                f"Fn::If {arg[0]}", refs_of(self.value(arg[1])) | refs_of(self.value(arg[2]))
            )
        return self.value(arg[1] if holds else arg[2])

    def _fn_findinmap(self, arg: Any) -> Any:
        if not isinstance(arg, list) or len(arg) not in (3, 4):
            return Unknown("Fn::FindInMap")
        keys = [self.value(a) for a in arg[:3]]
        default = NO_VALUE
        if len(arg) == 4 and isinstance(arg[3], dict) and "DefaultValue" in arg[3]:
            default = self.value(arg[3]["DefaultValue"])
        if any(contains_unknown(k) for k in keys):
            return Unknown("Fn::FindInMap", refs_of(keys))
        found: Any = self.mappings
        for key in keys:
            found = found.get(_scalar(key)) if isinstance(found, dict) else None
        if found is None:
            return default if default is not NO_VALUE else Unknown("Fn::FindInMap (no such key)")
        return self.value(found)

    def _fn_sub(self, arg: Any) -> Any:
        text, extra = arg, {}
        if isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], dict):
            text, extra = arg[0], {k: self.value(v) for k, v in arg[1].items()}
        if not isinstance(text, str):
            return Unknown("Fn::Sub")
        parts, unknown = [], []

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"  # ${!Literal}
            if name in extra:
                value = extra[name]
            elif "." in name and name.split(".", 1)[0] in self.resources:
                value = self._fn_getatt(name)
            else:
                value = self._ref(name)
            if contains_unknown(value) or not _is_scalar(value):
                unknown.append(value)
                return match.group(0)
            parts.append(name)
            return _scalar(value)

        result = _SUB_VAR.sub(substitute, text)
        if unknown:
            return Unknown(f"Fn::Sub {text}", refs_of(unknown))
        return result

    def _fn_join(self, arg: Any) -> Any:
        if not isinstance(arg, list) or len(arg) != 2:
            return Unknown("Fn::Join")
        sep, items = self.value(arg[0]), self.value(arg[1])
        if contains_unknown(sep) or contains_unknown(items) or not isinstance(items, list):
            return Unknown("Fn::Join", refs_of(items))
        return _scalar(sep).join(_scalar(i) for i in items)

    def _fn_select(self, arg: Any) -> Any:
        if not isinstance(arg, list) or len(arg) != 2:
            return Unknown("Fn::Select")
        index, items = self.value(arg[0]), self.value(arg[1])
        if isinstance(items, list) and not contains_unknown(index):
            try:
                position = int(_scalar(index))
            except ValueError:
                position = -1
            if 0 <= position < len(items):  # no counting from the end
                return items[position]
            return Unknown("Fn::Select (out of range)")
        return Unknown("Fn::Select", refs_of(items))

    def _fn_split(self, arg: Any) -> Any:
        if not isinstance(arg, list) or len(arg) != 2:
            return Unknown("Fn::Split")
        sep, text = self.value(arg[0]), self.value(arg[1])
        if contains_unknown(sep) or contains_unknown(text) or not _is_scalar(text):
            return Unknown("Fn::Split", refs_of(text))
        return _scalar(text).split(_scalar(sep))

    def _fn_base64(self, arg: Any) -> Any:
        text = self.value(arg)
        if contains_unknown(text) or not _is_scalar(text):
            return Unknown("Fn::Base64", refs_of(text))
        return base64.b64encode(_scalar(text).encode()).decode()

    def _fn_getazs(self, arg: Any) -> Any:
        region = self.value(arg)
        if contains_unknown(region):
            return Unknown("Fn::GetAZs")
        # "" (and null, as AWS's own Config.json sample writes it): the stack's region
        region = (_scalar(region) if region is not None else "") or self.pseudo.region
        zones = availability_zones(region)
        return list(zones) if zones else Unknown(f"Fn::GetAZs {region}")

    def _fn_cidr(self, arg: Any) -> Any:
        values = self.value(arg)
        if not isinstance(values, list) or len(values) != 3 or contains_unknown(values):
            return Unknown("Fn::Cidr", refs_of(values))
        try:
            block = ipaddress.ip_network(_scalar(values[0]), strict=False)
            count, bits = int(_scalar(values[1])), int(_scalar(values[2]))
            if not 1 <= count <= 256:  # CloudFormation's own bounds for the count
                return Unknown("Fn::Cidr (count out of range)")
            prefix = block.max_prefixlen - bits
            return [str(n) for n in itertools.islice(block.subnets(new_prefix=prefix), count)]
        except ValueError:
            return Unknown("Fn::Cidr (invalid)")

    def _fn_tojsonstring(self, arg: Any) -> Any:
        value = self.value(arg)
        if contains_unknown(value):
            return Unknown("Fn::ToJsonString", refs_of(value))
        # An unquoted YAML date (`Version: 2012-10-17`) is text to CloudFormation.
        return json.dumps(value, separators=(",", ":"), default=str)

    def _fn_length(self, arg: Any) -> Any:
        value = self.value(arg)
        return len(value) if isinstance(value, list) else Unknown("Fn::Length", refs_of(value))

    def _condition(self, arg: Any) -> Any:
        return self.condition(arg) if isinstance(arg, str) else Unknown("Condition")


# Function names as CloudFormation spells them (case matters) -> the method evaluating it.
_METHODS = {
    name: "_" + name.replace("Fn::", "fn_").lower()
    for name in (
        "Ref", "Condition", "Fn::GetAtt", "Fn::ImportValue", "Fn::If", "Fn::FindInMap",
        "Fn::Sub", "Fn::Join", "Fn::Select", "Fn::Split", "Fn::Base64", "Fn::GetAZs",
        "Fn::Cidr", "Fn::ToJsonString", "Fn::Length",
    )
}  # fmt: skip


def _function(node: Any) -> tuple[str | None, Any]:
    if isinstance(node, dict) and len(node) == 1:
        ((key, arg),) = node.items()
        if key == "Ref" or key == "Condition" or str(key).startswith("Fn::"):
            return str(key), arg
    return None, None


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)


def _scalar(value: Any) -> str:
    """A scalar as CloudFormation compares and joins it: as a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
