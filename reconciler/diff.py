"""Resource-level diff between the deployed template and the desired one, predicting
replacement offline from the resource schemas' create-only properties.

Only parameter references are resolved (Ref and Fn::Sub); other intrinsics are compared
as written. A change set, where it reports Replacement, is trusted over this prediction
(see `merge_change_set`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from reconciler.schemas import create_only_properties


class ChangeAction(StrEnum):
    ADD = "Add"
    MODIFY = "Modify"
    REMOVE = "Remove"


class Replacement(StrEnum):
    FALSE = "False"
    CONDITIONAL = "Conditional"
    TRUE = "True"


@dataclass(frozen=True)
class ResourceChange:
    logical_id: str
    resource_type: str
    action: ChangeAction
    replacement: Replacement = Replacement.FALSE
    properties: tuple[str, ...] = ()  # changed top-level properties
    causes: tuple[str, ...] = ()  # why it is (or may be) replaced, e.g. "DBName changes"

    @property
    def replaces(self) -> bool:
        return self.action is ChangeAction.MODIFY and self.replacement is not Replacement.FALSE

    def to_dict(self) -> dict[str, Any]:
        return {
            "logical_id": self.logical_id,
            "resource_type": self.resource_type,
            "action": str(self.action),
            "replacement": str(self.replacement),
            "properties": list(self.properties),
            "causes": list(self.causes),
        }


class _Unknown:
    """A value that cannot be known offline (a NoEcho parameter CloudFormation masks)."""

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN = _Unknown()
MASKED = "****"
_SUB_VAR = re.compile(r"\$\{(?!!)([^}]+)\}")


def resolve(value: Any, params: Mapping[str, Any]) -> Any:
    """Substitute parameter values for Ref and Fn::Sub references to parameters."""
    if isinstance(value, list):
        return [resolve(v, params) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((fn, arg),) = value.items()
        if fn == "Ref" and isinstance(arg, str) and arg in params:
            return params[arg]
        if fn == "Fn::Sub" and isinstance(arg, str):
            names = _SUB_VAR.findall(arg)
            if names and all(n in params for n in names):
                if any(params[n] is UNKNOWN for n in names):
                    return UNKNOWN
                return _SUB_VAR.sub(lambda m: str(params[m.group(1)]), arg)
    return {k: resolve(v, params) for k, v in value.items()}


def references(value: Any) -> Iterator[str]:
    """Names a value refers to through Ref, Fn::GetAtt and Fn::Sub."""
    if isinstance(value, list):
        for v in value:
            yield from references(v)
    elif isinstance(value, dict):
        for fn, arg in value.items():
            if fn == "Ref" and isinstance(arg, str):
                yield arg
            elif fn == "Fn::GetAtt":
                target = arg[0] if isinstance(arg, list) and arg else str(arg).split(".")[0]
                yield str(target)
            elif fn == "Fn::Sub":
                text = arg[0] if isinstance(arg, list) and arg else arg
                if isinstance(text, str):
                    yield from (n.split(".")[0] for n in _SUB_VAR.findall(text))
                yield from references(arg)
            else:
                yield from references(arg)


def _contains_unknown(value: Any) -> bool:
    if value is UNKNOWN:
        return True
    if isinstance(value, dict):
        return any(_contains_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(_contains_unknown(v) for v in value)
    return False


def parameter_values(
    template: Mapping[str, Any], given: Mapping[str, str], masked: bool = False
) -> dict[str, Any]:
    """Every declared parameter's value: given, else the template's default.
    With masked=True (values read back from a live stack), NoEcho values are unknown."""
    values: dict[str, Any] = {}
    for name, spec in (template.get("Parameters") or {}).items():
        spec = spec if isinstance(spec, dict) else {}
        value = given.get(name, spec.get("Default"))
        if value is None:
            continue
        if masked and value == MASKED:
            values[name] = UNKNOWN
        elif isinstance(value, list):
            values[name] = ",".join(map(str, value))
        else:
            values[name] = str(value)
    return values


def _resources(template: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    found = (template or {}).get("Resources") or {}
    return {k: v for k, v in found.items() if isinstance(v, dict)}


def _props(resource: Mapping[str, Any]) -> dict[str, Any]:
    props = resource.get("Properties")
    return props if isinstance(props, dict) else {}


def predict_changes(
    old_template: Mapping[str, Any] | None,
    old_params: Mapping[str, Any],
    new_template: Mapping[str, Any],
    new_params: Mapping[str, Any],
    region: str,
) -> list[ResourceChange]:
    """Changes CloudFormation would make going from old to new, in logical-id order.
    Parameter values must be complete (see `parameter_values`)."""
    old, new = _resources(old_template), _resources(new_template)
    changes: dict[str, ResourceChange] = {}
    for logical_id in sorted(old.keys() | new.keys()):
        if logical_id not in old:
            changes[logical_id] = ResourceChange(
                logical_id, str(new[logical_id].get("Type")), ChangeAction.ADD
            )
        elif logical_id not in new:
            changes[logical_id] = ResourceChange(
                logical_id, str(old[logical_id].get("Type")), ChangeAction.REMOVE
            )
        else:
            change = _modify(
                logical_id, old[logical_id], old_params, new[logical_id], new_params, region
            )
            if change:
                changes[logical_id] = change
    _propagate_replacement(changes, new, region)
    return [changes[k] for k in sorted(changes)]


def _modify(
    logical_id: str,
    old: Mapping[str, Any],
    old_params: Mapping[str, Any],
    new: Mapping[str, Any],
    new_params: Mapping[str, Any],
    region: str,
) -> ResourceChange | None:
    new_type = str(new.get("Type"))
    if old.get("Type") != new.get("Type"):
        cause = f"Type changes from {old.get('Type')} to {new_type}"
        return ResourceChange(
            logical_id, new_type, ChangeAction.MODIFY, Replacement.TRUE, ("Type",), (cause,)
        )
    old_props, new_props = _props(old), _props(new)
    create_only = create_only_properties(region, new_type)
    changed, replacement, causes = [], Replacement.FALSE, []
    for name in sorted(old_props.keys() | new_props.keys()):
        before = resolve(old_props.get(name), old_params)
        after = resolve(new_props.get(name), new_params)
        unknown = _contains_unknown(before) or _contains_unknown(after)
        if before == after and not unknown:
            continue
        if unknown and name not in create_only:
            continue  # cannot tell offline, and it would not replace anything
        changed.append(name)
        if name in create_only:
            if unknown:
                replacement = max(replacement, Replacement.CONDITIONAL, key=_rank)
                causes.append(f"{name} may change (a NoEcho parameter feeds it)")
            else:
                replacement = Replacement.TRUE
                causes.append(f"{name} changes")
    if not changed:
        return None
    return ResourceChange(
        logical_id, new_type, ChangeAction.MODIFY, replacement, tuple(changed), tuple(causes)
    )


def _rank(r: Replacement) -> int:
    return [Replacement.FALSE, Replacement.CONDITIONAL, Replacement.TRUE].index(r)


def _propagate_replacement(
    changes: dict[str, ResourceChange], new: Mapping[str, Mapping[str, Any]], region: str
) -> None:
    """A create-only property that refers to a replaced resource gets a new value, so its
    resource is replaced too (a new DB subnet group name replaces the DB instance)."""
    grew = True
    while grew:
        grew = False
        replaced = {k for k, c in changes.items() if c.replaces}
        for logical_id, resource in new.items():
            current = changes.get(logical_id)
            if current and current.action is not ChangeAction.MODIFY:
                continue
            create_only = create_only_properties(region, str(resource.get("Type")))
            for name, value in sorted(_props(resource).items()):
                hit = sorted(replaced & set(references(value)))
                if not hit:
                    continue
                current = changes.get(logical_id) or ResourceChange(
                    logical_id, str(resource.get("Type")), ChangeAction.MODIFY
                )
                props = tuple(dict.fromkeys((*current.properties, name)))
                updated = replace(current, properties=props)
                if name in create_only:
                    cause = f"{name} refers to {hit[0]}, which is replaced"
                    if cause not in current.causes:
                        updated = replace(
                            updated,
                            replacement=max(
                                current.replacement, Replacement.CONDITIONAL, key=_rank
                            ),
                            causes=(*current.causes, cause),
                        )
                if updated != changes.get(logical_id):
                    changes[logical_id] = updated
                    current = updated
                    grew = True


@dataclass(frozen=True)
class ReportedChange:
    """A resource change as a change set describes it. `replacement` is None when the
    change set does not say (moto never does)."""

    logical_id: str
    resource_type: str
    action: str  # Add, Modify, Remove, Import, Dynamic
    replacement: Replacement | None = None
    causes: tuple[str, ...] = ()


def merge_change_set(
    predicted: list[ResourceChange], reported: list[ReportedChange]
) -> list[ResourceChange]:
    """The change set wins where it says something; the prediction fills what it leaves
    out (a missing Replacement, or a change moto's change sets do not list)."""
    merged = {c.logical_id: c for c in predicted}
    for r in reported:
        mine = merged.get(r.logical_id)
        known = r.action in {a.value for a in ChangeAction}
        action = ChangeAction(r.action) if known else ChangeAction.MODIFY
        if r.replacement is not None:
            replacement = r.replacement
        else:
            replacement = mine.replacement if mine else Replacement.FALSE
        merged[r.logical_id] = ResourceChange(
            r.logical_id,
            r.resource_type,
            action,
            replacement,
            mine.properties if mine else (),
            r.causes if r.replacement is not None else (mine.causes if mine else ()),
        )
    return [merged[k] for k in sorted(merged)]
