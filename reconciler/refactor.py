"""Stack refactoring instead of a data-loss block. A stateful resource that leaves one
logical id and appears under another, in the same stack or in another managed stack of
the same account and region, with the same type and the same rendered create-only
values, is the same resource renamed or moved. CloudFormation's stack refactoring
(CreateStackRefactor, ExecuteStackRefactor) moves it without touching the physical
resource; the stacks' normal change sets then apply whatever else changed.

Pure: from the deployed templates (rendered with their deployed parameters) and the
desired ones to the moves, grouped by the stacks they touch, and each stack's resources
as they are once the refactor ran (what its change set then changes); and from
CloudFormation's refactor actions to whether they are exactly the moves asked for. The
templates a refactor is given are `refactor_templates`'.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reconciler.diff import ChangeAction, ResourceChange, _at
from reconciler.render import (
    ABSENT,
    Pseudo,
    Rendered,
    RenderedResource,
    Unknown,
    refs_of,
    same,
)
from reconciler.schemas import create_only_paths, is_stateful

PREFIX = "gitops-refactor-"
SUB_VAR = re.compile(r"\$\{([A-Za-z0-9_.:]+)\}")  # a Fn::Sub variable


@dataclass(frozen=True, order=True)
class Location:
    stack_name: str
    logical_id: str

    def to_dict(self) -> dict[str, str]:
        return {"stack_name": self.stack_name, "logical_id": self.logical_id}


@dataclass(frozen=True, order=True)
class Move:
    source: Location
    destination: Location
    resource_type: str

    @property
    def across(self) -> bool:
        return self.source.stack_name != self.destination.stack_name

    def __str__(self) -> str:
        src, dst = self.source, self.destination
        if not self.across:
            return f"{src.logical_id} -> {dst.logical_id} ({self.resource_type}, {src.stack_name})"
        return (
            f"{src.stack_name}/{src.logical_id} -> {dst.stack_name}/{dst.logical_id} "
            f"({self.resource_type})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "resource_type": self.resource_type,
            "source": self.source.to_dict(),
            "destination": self.destination.to_dict(),
        }


def mapping_text(moves: Iterable[Move]) -> str:
    return "; ".join(str(m) for m in moves)


@dataclass(frozen=True)
class Side:
    """One live stack's part: its deployed template (as GetTemplate gave it), both
    renders, and the changes predicted without a refactor."""

    stack_name: str
    place: tuple[str, str]  # (account, region)
    deployed: Mapping[str, Any]
    old: Rendered
    new: Rendered
    changes: tuple[ResourceChange, ...]
    enabled: bool = True  # the stack file's `refactor:` (false: the guard blocks as before)
    params: Mapping[str, Any] = field(default_factory=dict)  # deployed, as rendered
    pseudo: Pseudo | None = None


@dataclass(frozen=True)
class Group:
    """Stacks refactored together: one CreateStackRefactor. `stacks` in plan order."""

    stacks: tuple[str, ...]
    moves: tuple[Move, ...]
    templates: dict[str, str] = field(default_factory=dict, compare=False)  # stack -> body
    why_not: str = ""  # set when no refactor can be made: the guard blocks as before

    def of(self, stack_name: str) -> tuple[Move, ...]:
        return tuple(
            m for m in self.moves if stack_name in (m.source.stack_name, m.destination.stack_name)
        )

    def description(self, desired_hashes: Mapping[str, str]) -> str:
        """The refactor's Description, its idempotency token: the same moves at the same
        desired inputs name the same refactor, so a repeated event finds it."""
        basis = {
            "moves": [m.to_dict() for m in self.moves],
            "stacks": {s: desired_hashes.get(s, "") for s in self.stacks},
        }
        digest = hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()[:16]
        return f"{PREFIX}{digest}"


# --- which resources moved ------------------------------------------------------------------


@dataclass(frozen=True)
class _End:
    side: Side
    resource: RenderedResource

    @property
    def location(self) -> Location:
        return Location(self.side.stack_name, self.resource.logical_id)


def candidates(changes: Iterable[ResourceChange]) -> bool:
    """Whether a stack's changes could be half of a refactor: a stateful resource added
    or removed."""
    return any(
        c.action in (ChangeAction.ADD, ChangeAction.REMOVE) and is_stateful(c.resource_type)
        for c in changes
    )


def find_moves(sides: Sequence[Side]) -> list[Move]:
    """The removed stateful resources that reappear, each matched to exactly one added
    resource of the same type, place and create-only values. A create-only value that
    refers to another resource compares through that resource's own move (a database
    whose KMS key is renamed with it still matches); one that depends on a resource not
    yet matched waits for it; one AWS hides (a NoEcho parameter) compares as written. A
    resource matched more than one way is not matched; one match in its own stack is
    preferred to matches in others."""
    removed, added = [], []
    for side in sides:
        if not side.enabled:
            continue
        for change in side.changes:
            if not is_stateful(change.resource_type):
                continue
            if change.action is ChangeAction.REMOVE:
                resource = side.old.resources.get(change.logical_id)
                if resource is not None and not resource.uncertain:
                    removed.append(_End(side, resource))
            elif change.action is ChangeAction.ADD:
                resource = side.new.resources.get(change.logical_id)
                if resource is not None and not resource.uncertain:
                    added.append(_End(side, resource))
    moves: dict[Location, Move] = {}
    progress = True
    while progress:
        progress = False
        taken = {m.destination for m in moves.values()}
        pending = {e.location for e in removed if e.location not in moves}
        for end in removed:
            if end.location in moves:
                continue
            matches = _nearest(
                end,
                [
                    a
                    for a in added
                    if a.location not in taken and _same_resource(end, a, moves, pending)
                ],
            )
            if len(matches) != 1:
                continue
            rivals = _nearest(
                matches[0],
                [
                    r
                    for r in removed
                    if r.location not in moves and _same_resource(r, matches[0], moves, pending)
                ],
            )
            if len(rivals) != 1:
                continue
            target = matches[0]
            moves[end.location] = Move(end.location, target.location, end.resource.type)
            progress = True
            break
    return sorted(moves.values())


def _nearest(end: _End, found: list[_End]) -> list[_End]:
    """Of the resources found the same as `end`, those of its own stack if any: a rename
    within a stack is matched before a move between stacks (two stacks of one template,
    each renaming its own key, are two renames, not an ambiguity)."""
    own = [o for o in found if o.side.stack_name == end.side.stack_name]
    return own or found


def _same_resource(
    old: _End, new: _End, moves: Mapping[Location, Move], pending: set[Location]
) -> bool:
    if old.side.place != new.side.place or old.resource.type != new.resource.type:
        return False
    renames = _renames(moves, old.side.stack_name, new.side.stack_name)
    region = old.side.place[1]
    for path in create_only_paths(region, old.resource.type):
        before = _at(old.resource.properties, path)
        waiting = {Location(old.side.stack_name, r) for r in refs_of(before)} & pending
        if waiting - {old.location}:
            return False  # decided once what it refers to is matched
        if same(rename_value(before, renames), _at(new.resource.properties, path)):
            continue
        if not (_hidden(before) and _written_alike(old, new, path, renames)):
            return False
    return True


def _hidden(value: Any) -> bool:
    """Whether a deployed value holds what AWS does not show: a NoEcho parameter (masked,
    or inside a Fn::Sub, where it is an unknown that depends on no resource). The desired
    side knows the value, so the two never compare equal."""
    if isinstance(value, Unknown):
        return value.masked or not value.refs
    if isinstance(value, dict):
        return any(_hidden(v) for v in value.values())
    if isinstance(value, list):
        return any(_hidden(v) for v in value)
    return False


def _written_alike(old: _End, new: _End, path: tuple[str, ...], renames: Mapping[str, str]) -> bool:
    """Whether a create-only value AWS hides was written the same way on both sides (the
    same `!Ref DBUser`): then the resource is the one renamed (`MasterUsername: !Ref DBUser`
    from a NoEcho parameter, as AWS's own samples write it, would otherwise make every
    such database unrenamable, blocked as a deletion whose reason steers the owner to
    allow it). Whether the hidden value itself changed is left to the update after the
    refactor, which the guard judges as any update (a NoEcho value in a property that can
    replace: `Conditional`, blocked unless allowed under the new id)."""
    written = []
    for end in (old, new):
        props = end.resource.node.get("Properties")
        value = _at(props, path) if isinstance(props, dict) else None
        written.append(None if value is ABSENT else plain(value))
    before, after = written
    return before is not None and rename_node(before, renames) == after


def _renames(moves: Mapping[Location, Move], source: str, destination: str) -> dict[str, str]:
    """Logical ids of stack `source` renamed on the way to `destination`."""
    return {
        m.source.logical_id: m.destination.logical_id
        for m in moves.values()
        if m.source.stack_name == source and m.destination.stack_name == destination
    }


def rename_value(value: Any, renames: Mapping[str, str]) -> Any:
    """A rendered value with references to renamed resources renamed."""
    if not renames:
        return value
    if isinstance(value, Unknown):
        hit = value.refs & renames.keys()
        if not hit:
            return value
        refs = frozenset(renames.get(r, r) for r in value.refs)
        return Unknown(_renamed_expression(value.expression, renames), refs, value.masked)
    if isinstance(value, dict):
        return {k: rename_value(v, renames) for k, v in value.items()}
    if isinstance(value, list):
        return [rename_value(v, renames) for v in value]
    return value


def _renamed_expression(expression: str, renames: Mapping[str, str]) -> str:
    """An Unknown's expression ("Ref X", "GetAtt X.Attr", "Fn::Sub text") with the
    references renamed, and nothing else: literal text that spells an id stays."""
    head, _, rest = expression.partition(" ")
    if head == "Ref" and rest in renames:
        return f"Ref {renames[rest]}"
    if head == "GetAtt":
        target, dot, attribute = rest.partition(".")
        return f"GetAtt {renames.get(target, target)}{dot}{attribute}"
    return SUB_VAR.sub(lambda m: renamed_variable(m.group(1), renames, set()), expression)


def renamed_variable(name: str, renames: Mapping[str, str], local: set[str]) -> str:
    """One `${...}` of a Fn::Sub text, renamed where it names a renamed resource."""
    head, dot, rest = name.partition(".")
    if head in local or head not in renames:
        return "${" + name + "}"
    return "${" + renames[head] + dot + rest + "}"


def plain(node: Any) -> Any:
    """A deep copy in plain JSON types (the parser's mappings carry line marks), to
    compare; `_json` writes a template out."""
    return json.loads(json.dumps(node, default=str))


def rename_node(node: Any, renames: Mapping[str, str]) -> Any:
    if isinstance(node, list):
        return [rename_node(v, renames) for v in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "Ref" and isinstance(value, str):
            out[key] = renames.get(value, value)
        elif key == "Fn::GetAtt" and isinstance(value, str) and "." in value:
            target, attribute = value.split(".", 1)
            out[key] = f"{renames.get(target, target)}.{attribute}"
        elif (
            key == "Fn::GetAtt" and isinstance(value, list) and value and isinstance(value[0], str)
        ):
            out[key] = [renames.get(value[0], value[0]), *rename_node(value[1:], renames)]
        elif key == "Fn::Sub":
            out[key] = _rename_sub(value, renames)
        else:
            out[key] = rename_node(value, renames)
    return out


def sub_parts(value: Any) -> tuple[Any, set[str]]:
    """A Fn::Sub's text and the names of its variable map: `${Name}` of a map names the
    map's value, not a resource (`!Sub ["${Db}", {Db: literal}]` refers to no `Db`)."""
    if isinstance(value, list) and len(value) == 2 and isinstance(value[1], dict):
        return value[0], {str(k) for k in value[1]}
    return value, set()


def _rename_sub(value: Any, renames: Mapping[str, str]) -> Any:
    text, local = sub_parts(value)
    if not isinstance(text, str):
        return rename_node(value, renames)
    text = SUB_VAR.sub(lambda m: renamed_variable(m.group(1), renames, local), text)
    return [text, rename_node(value[1], renames)] if isinstance(value, list) else text


# --- what each stack looks like after the refactor ------------------------------------------


def groups(moves: Sequence[Move], order: Sequence[str]) -> list[Group]:
    """Moves joined by the stacks they touch; each group's stacks in plan order."""
    parent: dict[str, str] = {}

    def root(s: str) -> str:
        while parent.setdefault(s, s) != s:
            s = parent[s]
        return s

    for m in moves:
        parent[root(m.source.stack_name)] = root(m.destination.stack_name)
    found: dict[str, list[Move]] = {}
    for m in moves:
        found.setdefault(root(m.source.stack_name), []).append(m)
    rank = {name: i for i, name in enumerate(order)}
    result = []
    for members in found.values():
        stacks = {s for m in members for s in (m.source.stack_name, m.destination.stack_name)}
        ordered = tuple(sorted(stacks, key=lambda s: (rank.get(s, len(rank)), s)))
        result.append(Group(ordered, tuple(sorted(members))))
    return sorted(result, key=lambda g: (rank.get(g.stacks[0], len(rank)), g.stacks))


def after_refactor(side: Side, moves: Sequence[Move], sides: Mapping[str, Side]) -> Rendered:
    """The stack's deployed resources as they are once the refactor ran: renamed, moved
    out, moved in (with the values they had where they came from)."""
    mine = side.stack_name
    resources: dict[str, RenderedResource] = {}
    staying = renames_of(moves, mine, mine)
    leaving = {m.source.logical_id for m in moves if m.source.stack_name == mine and m.across}
    for logical_id, resource in side.old.resources.items():
        if logical_id in leaving:
            continue
        new_id = staying.get(logical_id, logical_id)
        resources[new_id] = _renamed(resource, new_id, staying)
    for m in moves:
        if m.destination.stack_name != mine or not m.across:
            continue
        origin = sides[m.source.stack_name]
        renames = renames_of(moves, m.source.stack_name, mine)
        resource = origin.old.resources[m.source.logical_id]
        resources[m.destination.logical_id] = _renamed(resource, m.destination.logical_id, renames)
    return Rendered(resources, side.old.conditions)


def renames_of(moves: Iterable[Move], source: str, destination: str) -> dict[str, str]:
    return {
        m.source.logical_id: m.destination.logical_id
        for m in moves
        if m.source.stack_name == source and m.destination.stack_name == destination
    }


def _renamed(
    resource: RenderedResource, new_id: str, renames: Mapping[str, str]
) -> RenderedResource:
    return RenderedResource(
        logical_id=new_id,
        type=resource.type,
        properties=rename_value(resource.properties, renames),
        node=resource.node,
        condition=resource.condition,
        uncertain=resource.uncertain,
    )


# --- the templates CreateStackRefactor is given ---------------------------------------------


# --- what CloudFormation says it will do ---------------------------------------------------


def unexpected(actions: Iterable[Mapping[str, Any]], moves: Sequence[Move]) -> list[str]:
    """Where CloudFormation's refactor actions (ListStackRefactorActions) differ from the
    moves asked for: a stack it would create, a resource it would move that was not
    asked for, or a move missing. Empty when they are exactly the moves."""
    wanted = {(m.source, m.destination) for m in moves}
    seen = set()
    problems = []
    for action in actions:
        entity, verb = action.get("Entity", ""), action.get("Action", "")
        mapping = action.get("ResourceMapping") or {}
        src, dst = mapping.get("Source") or {}, mapping.get("Destination") or {}
        pair = (
            Location(_stack_name(src.get("StackName", "")), src.get("LogicalResourceId", "")),
            Location(_stack_name(dst.get("StackName", "")), dst.get("LogicalResourceId", "")),
        )
        if entity == "RESOURCE" and verb == "MOVE" and pair in wanted:
            seen.add(pair)
            continue
        said = action.get("Description", "")
        what = f"{verb.lower()} a {entity.lower()}" + (f" ({said})" if said else "")
        if entity == "RESOURCE":
            what = f"{verb} {pair[0].stack_name}/{pair[0].logical_id} -> "
            what += f"{pair[1].stack_name}/{pair[1].logical_id}"
        problems.append(f"CloudFormation would also {what}")
    for src, dst in sorted(wanted - seen):
        problems.append(
            f"CloudFormation does not list the move {src.stack_name}/{src.logical_id} -> "
            f"{dst.stack_name}/{dst.logical_id}"
        )
    return problems


def _stack_name(name_or_arn: str) -> str:
    """A stack's name from its name or ARN (refactor actions name stacks by ARN)."""
    if name_or_arn.startswith("arn:") and ":stack/" in name_or_arn:
        return name_or_arn.split(":stack/", 1)[1].split("/", 1)[0]
    return name_or_arn
