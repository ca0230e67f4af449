"""Resource-level diff between the deployed template and the desired one, both rendered
for their stack (`render`), predicting replacement offline from the resource schemas'
create-only and conditionally create-only properties and what AWS documents beyond them
(`schemas`). A change set adds what only AWS knows; where the two disagree the graver
verdict stands (see `merge_change_set`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from reconciler.render import (
    ABSENT,
    Rendered,
    RenderedResource,
    Unknown,
    contains_unknown,
    refs_of,
    same,
)
from reconciler.schemas import (
    REPLACES,
    conditional_create_only_paths,
    create_only_paths,
    refusal,
)


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
    refused: tuple[tuple[str, str], ...] = ()  # (property, why AWS fails the update)

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
            "refused": [{"property": p, "reason": r} for p, r in self.refused],
        }


def predict_changes(old: Rendered | None, new: Rendered, region: str) -> list[ResourceChange]:
    """Changes CloudFormation would make going from the deployed template (rendered with
    its deployed parameters) to the desired one, in logical-id order."""
    before = old.resources if old else {}
    after = new.resources
    changes: dict[str, ResourceChange] = {}
    for logical_id in sorted(before.keys() | after.keys()):
        if logical_id not in before:
            resource = after[logical_id]
            changes[logical_id] = ResourceChange(logical_id, resource.type, ChangeAction.ADD)
        elif logical_id not in after:
            changes[logical_id] = _removed(before[logical_id], old, new)
        else:
            change = _modify(before[logical_id], after[logical_id], region)
            if change:
                changes[logical_id] = change
    _propagate_replacement(changes, before, after, region)
    return [changes[k] for k in sorted(changes)]


def _removed(resource: RenderedResource, old: Rendered | None, new: Rendered) -> ResourceChange:
    causes = []
    if resource.condition and new.conditions.get(resource.condition) is False:
        causes.append(f"its condition {resource.condition} is now false")
    renamed = sorted(
        lid
        for lid, r in new.resources.items()
        if r.type == resource.type and old is not None and lid not in old.resources
    )
    if renamed:
        causes.append(
            f"{', '.join(renamed)} of the same type is added: a new logical id is a new resource"
        )
    return ResourceChange(
        resource.logical_id, resource.type, ChangeAction.REMOVE, causes=tuple(causes)
    )


def _modify(old: RenderedResource, new: RenderedResource, region: str) -> ResourceChange | None:
    if old.type != new.type:
        # The deployed resource is the one replaced: the guard judges its type, so a log
        # group turned into a parameter is not waved through as a parameter.
        cause = f"Type changes from {old.type} to {new.type}"
        return ResourceChange(
            new.logical_id, old.type, ChangeAction.MODIFY, Replacement.TRUE, ("Type",), (cause,)
        )
    changed, causes, refused = [], [], []
    replacement = Replacement.FALSE
    for name in sorted(old.properties.keys() | new.properties.keys()):
        before, after = old.properties.get(name, ABSENT), new.properties.get(name, ABSENT)
        if same(before, after):
            continue
        masked = _masked(before) or _masked(after)
        verdict, cause = _verdict(region, old, new, name)
        if masked and verdict is Replacement.FALSE:
            continue  # a NoEcho value cannot be compared, and it would not replace anything
        changed.append(name)
        why = refusal(new.type, name, before, after)
        if why:
            refused.append((name, why))
            continue
        if verdict is not Replacement.FALSE and (masked or _unknown_differs(before, after)):
            verdict, cause = (
                Replacement.CONDITIONAL,
                f"{name} may change ({_unknown_of(before, after)})",
            )
        if verdict is not Replacement.FALSE:
            replacement = max(replacement, verdict, key=_rank)
            causes.append(cause)
    if not changed:
        return None
    return ResourceChange(
        new.logical_id,
        new.type,
        ChangeAction.MODIFY,
        replacement,
        tuple(changed),
        tuple(causes),
        tuple(refused),
    )


def _verdict(
    region: str, old: RenderedResource, new: RenderedResource, name: str
) -> tuple[Replacement, str]:
    """Whether changing property `name` replaces the resource, and why."""
    key = (new.type, name)
    if key in REPLACES and REPLACES[key].applies(old.properties, new.properties):
        return Replacement.TRUE, f"{name} changes ({REPLACES[key].source})"
    for path in create_only_paths(region, new.type):
        if path[0] == name and not same(_at(old.properties, path), _at(new.properties, path)):
            return Replacement.TRUE, f"{'.'.join(path)} changes (create-only)"
    for path in conditional_create_only_paths(region, new.type):
        if path[0] == name and not same(_at(old.properties, path), _at(new.properties, path)):
            return (
                Replacement.CONDITIONAL,
                f"{'.'.join(path)} changes (the schema says this can replace the resource)",
            )
    return Replacement.FALSE, ""


def _at(props: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    """The value at a schema path; a list or wildcard on the way compares the whole."""
    value: Any = props
    for part in path:
        if not isinstance(value, dict) or part == "*":
            return value
        value = value.get(part, ABSENT)
    return value


def _masked(value: Any) -> bool:
    return isinstance(value, Unknown) and value.masked


def _unknown_differs(before: Any, after: Any) -> bool:
    return contains_unknown(before) or contains_unknown(after)


def _unknown_of(before: Any, after: Any) -> str:
    for value in (after, before):
        found = _first_unknown(value)
        if found is not None:
            return f"it depends on {found.expression}, known only at deploy time"
    return "known only at deploy time"


def _first_unknown(value: Any) -> Unknown | None:
    if isinstance(value, Unknown):
        return value
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    for item in items:
        found = _first_unknown(item)
        if found is not None:
            return found
    return None


def _rank(r: Replacement) -> int:
    return [Replacement.FALSE, Replacement.CONDITIONAL, Replacement.TRUE].index(r)


def _propagate_replacement(
    changes: dict[str, ResourceChange],
    before: Mapping[str, RenderedResource],
    after: Mapping[str, RenderedResource],
    region: str,
) -> None:
    """A property that refers to a replaced resource gets a new value at deploy time; if it
    is create-only, its resource may be replaced too (a new KMS key replaces the database
    it encrypts, a new DB subnet group name replaces the DB instance)."""
    grew = True
    while grew:
        grew = False
        gone = {k for k, c in changes.items() if c.replaces}
        for logical_id in sorted(before.keys() & after.keys()):
            resource = after[logical_id]
            current = changes.get(logical_id)
            if current and current.action is not ChangeAction.MODIFY:
                continue
            replacing = {p[0] for p in create_only_paths(region, resource.type)}
            replacing |= {p[0] for p in conditional_create_only_paths(region, resource.type)}
            for name, value in sorted(resource.properties.items()):
                hit = sorted(gone & refs_of(value))
                if not hit:
                    continue
                current = changes.get(logical_id) or ResourceChange(
                    logical_id, resource.type, ChangeAction.MODIFY
                )
                props = tuple(dict.fromkeys((*current.properties, name)))
                updated = replace(current, properties=props)
                if name in replacing:
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
    """The change set is the last word on what AWS will do, but never softens the
    prediction: a replacement or removal either of them sees stands, so the guard sees it.
    The prediction fills what a change set leaves out (a missing Replacement)."""
    merged = {c.logical_id: c for c in predicted}
    for r in reported:
        mine = merged.get(r.logical_id)
        known = r.action in {a.value for a in ChangeAction}
        action = ChangeAction(r.action) if known else ChangeAction.MODIFY
        if mine and ChangeAction.REMOVE in (mine.action, action):
            action = ChangeAction.REMOVE
        replacement = max(
            r.replacement or Replacement.FALSE,
            mine.replacement if mine else Replacement.FALSE,
            key=_rank,
        )
        causes = (*(mine.causes if mine else ()), *r.causes)
        merged[r.logical_id] = ResourceChange(
            r.logical_id,
            r.resource_type,
            action,
            replacement,
            mine.properties if mine else (),
            tuple(dict.fromkeys(causes)),
            mine.refused if mine else (),
        )
    return [merged[k] for k in sorted(merged)]


def differences(predicted: list[ResourceChange], reported: list[ReportedChange]) -> list[str]:
    """Where the change set and the prediction disagree, one line each."""
    mine = {c.logical_id: c for c in predicted}
    lines = []
    for r in reported:
        p = mine.pop(r.logical_id, None)
        said = f"{r.action}" + (f", replacement {r.replacement}" if r.replacement else "")
        if p is None:
            lines.append(f"{r.logical_id}: change set says {said}; not predicted")
        elif p.action.value != r.action or (
            r.replacement is not None
            and p.action is ChangeAction.MODIFY
            and p.replacement is not r.replacement
        ):
            guess = p.action.value + (
                f", replacement {p.replacement}" if p.action is ChangeAction.MODIFY else ""
            )
            lines.append(f"{r.logical_id}: change set says {said}; predicted {guess}")
    lines += [
        f"{lid}: predicted {c.action.value}; not in the change set"
        for lid, c in sorted(mine.items())
    ]
    return lines
