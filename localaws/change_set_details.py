"""Stand-in for what CloudFormation's DescribeChangeSet says about each resource change.

AWS behaviour (CloudFormation API reference, `ResourceChange` and `ResourceChangeDetail`;
user guide, "Update behaviors of stack resources"): CloudFormation compares the stack's
template and parameters with the change set's, both evaluated (parameters, pseudo
parameters, conditions, `Fn::If`, `Fn::FindInMap`, `Fn::Sub`, `Fn::Join`, ...). Each
changed resource is listed with its `Action`: `Add`, `Modify` or `Remove`. A resource whose
`Condition` turns false is removed, one whose condition turns true is added, and a renamed
logical id is a removal plus an addition. A `Modify` names the `PhysicalResourceId`, says
whether the resource will be replaced (`Replacement`: `True`, `False` or `Conditional`),
which of its attributes change (`Scope`: `Properties`, `Tags`, `Metadata`, `DeletionPolicy`,
`UpdateReplacePolicy`, ...) and one `Details` entry per cause: the `Target` (attribute,
property name and `RequiresRecreation`: `Never`, `Conditionally`, `Always`), the
`Evaluation` (`Static` when the new value is known, `Dynamic` when it depends on a resource
the change set changes) and the `ChangeSource` (`DirectModification` of the template,
`ParameterReference`, `ResourceReference` for a `Ref` to a replaced resource,
`ResourceAttribute` for a `Fn::GetAtt` of a modified one) with its `CausingEntity`. A
property the resource schema marks create-only requires recreation `Always`, one in
`conditionalCreateOnlyProperties` `Conditionally`; a static `Always` makes the replacement
`True`, a dynamic `Always` or any `Conditionally` makes it `Conditional`. `PolicyAction`
says what happens to the old physical resource: `Delete`, `Retain` or `Snapshot` for a
removal (its `DeletionPolicy`, which defaults to `Snapshot` for an RDS DBInstance outside a
cluster and a DBCluster: "DeletionPolicy attribute" page), `ReplaceAndDelete`,
`ReplaceAndRetain` or `ReplaceAndSnapshot` for a replacement (its `UpdateReplacePolicy`).

moto 5.2.5 compares the raw template text only and lists `Action`, `LogicalResourceId` and
`ResourceType`: no physical id, replacement, scope or details; a parameter-only change and a
condition that turns show no change at all.

`install()` replaces moto's `ChangeSet.diff`, which builds the change list once when the
change set is created; moto's response serialiser then writes every field the botocore
model of `ResourceChange` has from the change objects' attributes. Templates are evaluated
with moto's own parameter, mapping and condition loading and its `clean_json`, with every
resource of the template standing for itself (a `Ref` or `Fn::GetAtt` to it stays symbolic),
so nothing is created. When evaluation fails (say, a parameter without a value, which
execution refuses too) the change set keeps moto's plain list.

Limits: stack-level tag changes are not reported as resource changes; nested stacks and
`Import`/`Dynamic` actions are not modelled; the create-only lists come from cfn-lint's copy
of the resource schemas, plus the documented exceptions below.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

_INSTALLED_MARK = "_localaws_change_set_details"

# Properties AWS documents as requiring replacement that the resource schema does not mark
# create-only:
# - AWS::DynamoDB::Table KeySchema: "You can't change the key schema of an existing table"
#   (DynamoDB developer guide, "Working with tables"; the CloudFormation page for the table
#   lists KeySchema as "Update requires: Replacement"); the schema only lists it in
#   conditionalCreateOnlyProperties.
# - AWS::KMS::Key KeySpec, KeyUsage, Origin, MultiRegion: "Update requires: Replacement"
#   on the AWS::KMS::Key page, whose note adds that such an update fails whatever the
#   UpdateReplacePolicy (localaws.cfn_updates refuses it on execution).
DOCUMENTED_CREATE_ONLY: dict[str, frozenset[str]] = {
    "AWS::DynamoDB::Table": frozenset({"KeySchema"}),
    "AWS::KMS::Key": frozenset({"KeySpec", "KeyUsage", "Origin", "MultiRegion"}),
}
# Types whose DeletionPolicy defaults to Snapshot ("DeletionPolicy attribute": an RDS
# DBCluster, and a DBInstance that does not name a DBClusterIdentifier).
SNAPSHOT_BY_DEFAULT = frozenset({"AWS::RDS::DBInstance", "AWS::RDS::DBCluster"})
# Resource attributes other than Properties that a change set reports, in AWS's enum order.
_POLICY_ATTRIBUTES = ("Metadata", "CreationPolicy", "UpdatePolicy", "DeletionPolicy")
_ATTRIBUTE_ORDER = (
    "Properties",
    "Metadata",
    "CreationPolicy",
    "UpdatePolicy",
    "DeletionPolicy",
    "UpdateReplacePolicy",
    "Tags",
)


# --- the resource schemas ---------------------------------------------------------------------


@dataclass(frozen=True)
class Recreation:
    """What changing each property of a type does, from its resource schema."""

    always: frozenset[str] = frozenset()
    conditionally: frozenset[str] = frozenset()

    def of(self, prop: str) -> str:
        if prop in self.always:
            return "Always"
        if prop in self.conditionally:
            return "Conditionally"
        return "Never"


@functools.lru_cache(maxsize=256)
def recreation(region: str, resource_type: str) -> Recreation:
    """The create-only and conditionally create-only top-level properties of a type. A
    pointer into a nested property makes its top-level property `Conditionally`."""
    always: set[str] = set(DOCUMENTED_CREATE_ONLY.get(resource_type, ()))
    conditionally: set[str] = set()
    try:
        from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, resource_type).schema
    except Exception:  # a custom resource, or a type cfn-lint does not know
        schema = {}
    for key, target in (
        ("createOnlyProperties", always),
        ("conditionalCreateOnlyProperties", conditionally),
    ):
        for pointer in schema.get(key) or ():
            parts = pointer.split("/")
            if len(parts) < 3 or parts[1] != "properties":
                continue
            (target if len(parts) == 3 else conditionally).add(parts[2])
    return Recreation(frozenset(always), frozenset(conditionally - always))


def deletion_policy(resource_json: Mapping[str, Any]) -> str:
    """The DeletionPolicy that applies to a resource, AWS's default when none is given."""
    policy = resource_json.get("DeletionPolicy")
    if isinstance(policy, str) and policy:
        return policy
    properties = resource_json.get("Properties") or {}
    if resource_json.get("Type") in SNAPSHOT_BY_DEFAULT and not properties.get(
        "DBClusterIdentifier"
    ):
        return "Snapshot"
    return "Delete"


def update_replace_policy(resource_json: Mapping[str, Any]) -> str:
    policy = resource_json.get("UpdateReplacePolicy")
    return policy if isinstance(policy, str) and policy else "Delete"


# --- evaluating a template without creating anything ------------------------------------------

_TOKEN = re.compile(r"\u27e6([^\u27e7.]+)(?:\.([^\u27e7]+))?\u27e7")


@dataclass(frozen=True)
class _Symbol:
    """A resource of the template, or one of its attributes, standing for its value."""

    logical_id: str
    attribute: str | None = None

    def get_cfn_attribute(self, attribute: str) -> _Symbol:
        return _Symbol(self.logical_id, attribute)

    def __str__(self) -> str:
        suffix = f".{self.attribute}" if self.attribute else ""
        return f"\u27e6{self.logical_id}{suffix}\u27e7"


class _Symbolic(Mapping[str, Any]):
    """What moto's clean_json reads names from: parameters, pseudo parameters and mappings
    from a loaded ResourceMap; each resource of the template as a symbol of itself."""

    def __init__(self, loaded: Any, resource_ids: Iterable[str]) -> None:
        self._loaded = loaded
        self._resource_ids = set(resource_ids)
        self.lazy_condition_map = loaded.lazy_condition_map
        self.cross_stack_resources = loaded.cross_stack_resources
        self.stack_id = loaded.stack_id

    def __getitem__(self, key: str) -> Any:
        if key in self._resource_ids:
            return _Symbol(key)
        return self._loaded._parsed_resources[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._resource_ids)

    def __len__(self) -> int:
        return len(self._resource_ids)


def _tokens(value: Any) -> Any:
    """The evaluated value with each symbol written as a token string."""
    if isinstance(value, _Symbol):
        return str(value)
    if isinstance(value, dict):
        return {key: _tokens(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_tokens(item) for item in value]
    return value


def _references(value: Any) -> set[tuple[str, str | None]]:
    """The (logical id, attribute or None) of every resource an evaluated value uses."""
    if isinstance(value, str):
        return {(m.group(1), m.group(2)) for m in _TOKEN.finditer(value)}
    if isinstance(value, dict):
        return set().union(*(_references(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_references(v) for v in value)) if value else set()
    return set()


@dataclass
class _Side:
    """One side of the comparison: a template evaluated with its parameters."""

    template: dict[str, Any]
    resources: dict[str, Any]  # logical id -> raw resource JSON
    parameters: dict[str, Any]  # resolved parameter values
    conditions: dict[str, bool]
    symbolic: _Symbolic | None = None
    _rendered: dict[str, dict[str, Any]] = field(default_factory=dict)

    def active(self, logical_id: str) -> bool:
        resource = self.resources.get(logical_id)
        if resource is None:
            return False
        condition = resource.get("Condition")
        return not condition or bool(self.conditions.get(condition))

    def rendered(self, logical_id: str) -> dict[str, Any]:
        """The resource's Properties and attributes, evaluated (symbols as tokens)."""
        if logical_id not in self._rendered:
            from moto.cloudformation import parsing

            resource = self.resources[logical_id]
            out: dict[str, Any] = {}
            for key in ("Properties", *_POLICY_ATTRIBUTES, "UpdateReplacePolicy"):
                if key in resource:
                    out[key] = _tokens(parsing.clean_json(resource[key], self.symbolic))
            self._rendered[logical_id] = out
        return self._rendered[logical_id]


def _empty_side() -> _Side:
    return _Side(template={}, resources={}, parameters={}, conditions={})


def _side(loaded: Any, template: dict[str, Any]) -> _Side:
    resources = dict(template.get("Resources") or {})
    conditions = {name: bool(loaded.lazy_condition_map[name]) for name in loaded.lazy_condition_map}
    side = _Side(
        template=template,
        resources=resources,
        parameters=dict(loaded.resolved_parameters),
        conditions=conditions,
    )
    side.symbolic = _Symbolic(loaded, resources)
    return side


def _new_side(change_set: Any) -> _Side:
    from moto.cloudformation.parsing import ResourceMap

    stack = change_set.stack
    template = change_set.template_dict or {}
    # As moto's execution: the change set's parameters, or the stack's when none are given.
    parameters = change_set.parameters or stack.resource_map.input_parameters
    loaded = ResourceMap(
        stack.stack_id,
        stack.name,
        {key: _as_given(value) for key, value in (parameters or {}).items()},
        {},
        region_name=stack.region_name,
        account_id=stack.account_id,
        template=template,
        cross_stack_resources=stack.cross_stack_resources,
    )
    loaded.load_mapping()
    loaded.load_parameters()
    loaded.load_conditions()
    return _side(loaded, template)


def _as_given(value: Any) -> str:
    """A parameter value as a caller gives it (moto copies a resolved list or number for
    UsePreviousValue)."""
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return str(value)


def _old_side(stack: Any) -> _Side:
    resource_map = stack.resource_map
    template = resource_map._template or {}
    if not template.get("Resources") or stack.status == "REVIEW_IN_PROGRESS":
        return _empty_side()
    return _side(resource_map, template)


# --- comparing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Detail:
    attribute: str
    name: str | None
    requires_recreation: str
    evaluation: str
    change_source: str
    causing_entity: str | None = None

    def as_dict(self) -> dict[str, Any]:
        target: dict[str, Any] = {"Attribute": self.attribute}
        if self.name is not None:
            target["Name"] = self.name
        target["RequiresRecreation"] = self.requires_recreation
        detail: dict[str, Any] = {
            "Target": target,
            "Evaluation": self.evaluation,
            "ChangeSource": self.change_source,
        }
        if self.causing_entity is not None:
            detail["CausingEntity"] = self.causing_entity
        return detail


class ResourceChange:
    """One `ResourceChange` of DescribeChangeSet, serialised by moto from its attributes."""

    def __init__(
        self,
        action: str,
        logical_resource_id: str,
        resource_type: str,
        physical_resource_id: str | None = None,
        policy_action: str | None = None,
    ) -> None:
        self.action = action
        self.logical_resource_id = logical_resource_id
        self.resource_type = resource_type
        self.physical_resource_id = physical_resource_id
        self.policy_action = policy_action
        self._static: list[Detail] = []
        self._dynamic: list[Detail] = []
        self.replacement: str | None = None
        self.scope: list[str] | None = None
        self.details: list[dict[str, Any]] | None = None

    def settle(self, replace_policy: str | None = None) -> None:
        """Fill Replacement, Scope, Details (and for a replacement its PolicyAction)."""
        if self.action != "Modify":
            return
        details = self._static + self._dynamic
        if any(d.requires_recreation == "Always" and d.evaluation == "Static" for d in details):
            self.replacement = "True"
        elif any(d.requires_recreation in ("Always", "Conditionally") for d in details):
            self.replacement = "Conditional"
        else:
            self.replacement = "False"
        attributes = {d.attribute for d in details}
        self.scope = [a for a in _ATTRIBUTE_ORDER if a in attributes]
        self.details = [d.as_dict() for d in details]
        if self.replacement != "False" and replace_policy is not None:
            self.policy_action = f"Replace{_POLICY_VERB.get(replace_policy, 'Delete')}"
        else:
            self.policy_action = None


_POLICY_VERB = {"Delete": "AndDelete", "Retain": "AndRetain", "Snapshot": "AndSnapshot"}
_REMOVAL_ACTION = {"Delete": "Delete", "Retain": "Retain", "Snapshot": "Snapshot"}


def _parameter_names(raw: Any, side: _Side) -> set[str]:
    """Parameters a raw template value refers to: Ref, ${Name} in Fn::Sub, and through the
    conditions its Fn::If names."""
    names: set[str] = set()
    if isinstance(raw, dict):
        for key, value in raw.items():
            if key == "Ref" and isinstance(value, str):
                names.add(value)
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                if isinstance(text, str):
                    names |= {m.split(".")[0] for m in re.findall(r"\$\{([^!}][^}]*)\}", text)}
                if isinstance(value, list) and len(value) > 1:
                    names |= _parameter_names(value[1], side)
            elif key == "Fn::If" and isinstance(value, list) and value:
                condition = side.template.get("Conditions", {}).get(value[0])
                names |= _parameter_names(condition, side)
                names |= _parameter_names(value[1:], side)
            elif key == "Condition" and isinstance(value, str):
                names |= _parameter_names(side.template.get("Conditions", {}).get(value), side)
            else:
                names |= _parameter_names(value, side)
    elif isinstance(raw, list):
        for item in raw:
            names |= _parameter_names(item, side)
    return {name for name in names if name in side.parameters}


def _static_details(
    logical_id: str, old: _Side, new: _Side, region: str, resource_type: str
) -> list[Detail]:
    before, after = old.rendered(logical_id), new.rendered(logical_id)
    raw_before, raw_after = old.resources[logical_id], new.resources[logical_id]
    recreate = recreation(region, resource_type)
    details: list[Detail] = []

    def causes(raw_old: Any, raw_new: Any) -> list[tuple[str, str | None]]:
        if raw_old != raw_new:
            return [("DirectModification", None)]
        changed = sorted(
            name
            for name in _parameter_names(raw_new, new)
            if old.parameters.get(name) != new.parameters.get(name)
        )
        if changed:
            return [("ParameterReference", name) for name in changed]
        return [("DirectModification", None)]  # a mapping or condition edit

    props_before = before.get("Properties") or {}
    props_after = after.get("Properties") or {}
    raw_props_before = raw_before.get("Properties") or {}
    raw_props_after = raw_after.get("Properties") or {}
    for prop in sorted(set(props_before) | set(props_after)):
        if props_before.get(prop) == props_after.get(prop):
            continue
        attribute, name = ("Tags", None) if prop == "Tags" else ("Properties", prop)
        required = "Never" if prop == "Tags" else recreate.of(prop)
        for source, entity in causes(raw_props_before.get(prop), raw_props_after.get(prop)):
            details.append(Detail(attribute, name, required, "Static", source, entity))
    for attribute in (*_POLICY_ATTRIBUTES, "UpdateReplacePolicy"):
        if before.get(attribute) != after.get(attribute):
            for source, entity in causes(raw_before.get(attribute), raw_after.get(attribute)):
                details.append(Detail(attribute, None, "Never", "Static", source, entity))
    return details


def _dynamic_details(
    logical_id: str,
    new: _Side,
    changes: Mapping[str, ResourceChange],
    region: str,
    resource_type: str,
) -> list[Detail]:
    """Details for values that use a resource this change set replaces (Ref) or modifies
    (GetAtt): their new value is known only when the update runs."""
    recreate = recreation(region, resource_type)
    details: list[Detail] = []
    rendered = new.rendered(logical_id)
    targets: list[tuple[str, str | None, str, Any]] = [
        (
            "Tags" if prop == "Tags" else "Properties",
            None if prop == "Tags" else prop,
            "Never" if prop == "Tags" else recreate.of(prop),
            value,
        )
        for prop, value in sorted((rendered.get("Properties") or {}).items())
    ]
    targets += [
        (attribute, None, "Never", rendered[attribute])
        for attribute in _POLICY_ATTRIBUTES
        if attribute in rendered
    ]
    for attribute, name, required, value in targets:
        for referenced, referenced_attribute in sorted(
            _references(value), key=lambda r: (r[0], r[1] or "")
        ):
            change = changes.get(referenced)
            if change is None or not change.details or referenced == logical_id:
                continue
            if referenced_attribute is None:
                if change.replacement not in ("True", "Conditional"):
                    continue
                source, entity = "ResourceReference", referenced
            else:
                source, entity = "ResourceAttribute", f"{referenced}.{referenced_attribute}"
            details.append(Detail(attribute, name, required, "Dynamic", source, entity))
    return details


def resource_changes(change_set: Any) -> list[ResourceChange]:
    """The change set's resource changes, as CloudFormation lists them."""
    stack = change_set.stack
    region = stack.region_name
    old = _old_side(stack)
    new = _new_side(change_set)
    parsed = stack.resource_map._parsed_resources if old.resources else {}

    def physical_id(logical_id: str) -> str | None:
        resource = parsed.get(logical_id)
        value = getattr(resource, "physical_resource_id", None)
        return str(value) if value else None

    added: dict[str, ResourceChange] = {}
    modified: dict[str, ResourceChange] = {}
    removed: dict[str, ResourceChange] = {}
    for logical_id, resource in new.resources.items():
        if not new.active(logical_id):
            continue
        if not old.active(logical_id):
            added[logical_id] = ResourceChange("Add", logical_id, resource["Type"])
            continue
        old_type = old.resources[logical_id]["Type"]
        change = ResourceChange(
            "Modify", logical_id, resource["Type"], physical_resource_id=physical_id(logical_id)
        )
        if old_type != resource["Type"]:
            change._static = [Detail("Properties", None, "Always", "Static", "DirectModification")]
        else:
            change._static = _static_details(logical_id, old, new, region, resource["Type"])
        modified[logical_id] = change
    for logical_id, resource in old.resources.items():
        if old.active(logical_id) and not new.active(logical_id):
            policy = deletion_policy(_rendered_resource(old, logical_id))
            removed[logical_id] = ResourceChange(
                "Remove",
                logical_id,
                resource["Type"],
                physical_resource_id=physical_id(logical_id),
                policy_action=_REMOVAL_ACTION.get(policy, "Delete"),
            )

    # A replacement can make a resource that refers to it change in turn: settle the
    # changes until nothing moves (a template has no reference cycles).
    for change in modified.values():
        change.settle()
    for _ in range(len(modified) + 1):
        moved = False
        for logical_id, change in modified.items():
            before = (change.replacement, len(change._dynamic))
            change._dynamic = _dynamic_details(
                logical_id, new, modified, region, change.resource_type
            )
            change.settle()
            moved |= (change.replacement, len(change._dynamic)) != before
        if not moved:
            break
    for logical_id, change in modified.items():
        change.settle(update_replace_policy(_rendered_resource(old, logical_id)))
    changed = {k: c for k, c in modified.items() if c.details}
    return [*added.values(), *changed.values(), *removed.values()]


def _rendered_resource(side: _Side, logical_id: str) -> dict[str, Any]:
    resource = side.resources[logical_id]
    try:
        rendered = side.rendered(logical_id)
    except Exception:
        rendered = {}
    return {"Type": resource.get("Type"), **resource, **rendered}


def install() -> None:
    """Make change sets list their changes as CloudFormation does. Safe to call again."""
    from moto.cloudformation import models

    if models.ChangeSet.__dict__.get(_INSTALLED_MARK):
        return
    moto_diff = models.ChangeSet.diff

    def diff(self: Any) -> list[Any]:
        try:
            return list(resource_changes(self))
        except Exception as error:  # moto's own list, as before
            logger.warning("localaws: change set details not computed: %s", error)
            return moto_diff(self)

    models.ChangeSet.diff = diff
    setattr(models.ChangeSet, _INSTALLED_MARK, True)
