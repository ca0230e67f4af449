"""Stack refactoring instead of a data-loss block. A stateful resource that leaves one
logical id and appears under another, in the same stack or in another managed stack of
the same account and region, with the same type and the same rendered create-only
values, is the same resource renamed or moved. CloudFormation's stack refactoring
(CreateStackRefactor, ExecuteStackRefactor) moves it without touching the physical
resource; the stacks' normal change sets then apply whatever else changed.

Pure: from the deployed templates (rendered with their deployed parameters) and the
desired ones to the moves, the templates handed to CreateStackRefactor, and the changes
that follow. AWS refuses a refactor that creates, deletes or reconfigures a resource, or
adds parameters, conditions or mappings; so each stack's refactor template is its
deployed template with only the moves made (references renamed), and a resource moving
to another stack carries its deployed values written out.
"""

from __future__ import annotations

import datetime
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
    evaluate,
    refs_of,
    same,
)
from reconciler.schemas import create_only_paths, is_stateful

MAX_STACKS = 5  # CloudFormation refactors across at most five stacks
PREFIX = "gitops-refactor-"
MAX_BODY = 51_200  # TemplateBody's limit, in bytes
# The attributes a resource moving to another stack keeps, their deployed values written
# out (its Condition stops the move; its DependsOn keeps the resources moving with it).
ATTRIBUTES = ("DeletionPolicy", "UpdateReplacePolicy", "Metadata", "UpdatePolicy", "CreationPolicy")
# The stateful types on AWS's list of resources stack refactoring does not support
# (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stack-refactoring.html,
# "Resource limitations"): renaming or moving one stays blocked.
NOT_SUPPORTED = frozenset(
    {
        "AWS::DynamoDB::GlobalTable",
        "AWS::ElastiCache::CacheCluster",
        "AWS::ElastiCache::ReplicationGroup",
        "AWS::Elasticsearch::Domain",
        "AWS::EMR::Cluster",
        "AWS::SDB::Domain",
    }
)


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
        written.append(None if value is ABSENT else _plain(value))
    before, after = written
    return before is not None and _rename_node(before, renames) == after


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
    return _SUB_VAR.sub(lambda m: _renamed_variable(m.group(1), renames, set()), expression)


def _renamed_variable(name: str, renames: Mapping[str, str], local: set[str]) -> str:
    """One `${...}` of a Fn::Sub text, renamed where it names a renamed resource."""
    head, dot, rest = name.partition(".")
    if head in local or head not in renames:
        return "${" + name + "}"
    return "${" + renames[head] + dot + rest + "}"


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
    staying = _renames_of(moves, mine, mine)
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
        renames = _renames_of(moves, m.source.stack_name, mine)
        resource = origin.old.resources[m.source.logical_id]
        resources[m.destination.logical_id] = _renamed(resource, m.destination.logical_id, renames)
    return Rendered(resources, side.old.conditions)


def _renames_of(moves: Iterable[Move], source: str, destination: str) -> dict[str, str]:
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


class NotRefactorable(Exception):
    """Why these moves cannot be made by a refactor: the guard then blocks as before."""


def templates(group: Group, sides: Mapping[str, Side]) -> dict[str, str]:
    """Each stack's template for CreateStackRefactor: its deployed template with the
    moves made and nothing else. Raises NotRefactorable with the reason."""
    unsupported = sorted({m.resource_type for m in group.moves} & NOT_SUPPORTED)
    if unsupported:
        raise NotRefactorable(
            f"CloudFormation's stack refactoring does not support {', '.join(unsupported)}"
        )
    if len(group.stacks) > MAX_STACKS:
        raise NotRefactorable(
            f"{len(group.stacks)} stacks would be refactored together; CloudFormation "
            f"refactors at most {MAX_STACKS} at once"
        )
    bodies = {}
    for name in group.stacks:
        body = _template_after(name, group.moves, sides)
        text = _json(body, f"the refactor template of {name}")
        if len(text.encode()) > MAX_BODY:
            raise NotRefactorable(
                f"the refactor template of {name} is {len(text.encode())} bytes; "
                f"CloudFormation takes at most {MAX_BODY} in a request"
            )
        bodies[name] = text
    return bodies


def _template_after(mine: str, moves: Sequence[Move], sides: Mapping[str, Side]) -> dict:
    side = sides[mine]
    template = json.loads(_json(side.deployed, f"the deployed template of {mine}"))
    resources = template.get("Resources")
    if not isinstance(resources, dict):
        raise NotRefactorable(f"the deployed template of {mine} has no Resources")
    leaving = {m.source.logical_id: m for m in moves if m.source.stack_name == mine and m.across}
    for logical_id in leaving:
        resources.pop(logical_id, None)
    template["Resources"] = resources
    _drop_references(template, leaving, mine)
    renames = _renames_of(moves, mine, mine)
    if renames:
        template = _rename_template(template, renames)
    for m in moves:
        if m.destination.stack_name == mine and m.across:
            template["Resources"][m.destination.logical_id] = _moved_in(m, moves, sides)
    if not template["Resources"]:
        raise NotRefactorable(
            f"{mine} would be left with no resources, and CloudFormation does not refactor a "
            "stack into an empty one; keep a resource in it (an "
            "AWS::CloudFormation::WaitConditionHandle will do) until the move is done"
        )
    return template


def _plain(node: Any) -> Any:
    """A deep copy in plain JSON types (the parser's mappings carry line marks), to
    compare; `_json` writes a template out."""
    return json.loads(json.dumps(node, default=str))


def _json(node: Any, where: str) -> str:
    """Compact JSON of what a refactor template holds, each value as CloudFormation read
    it. A YAML date is its ISO text (`Version: 2012-10-17`, the only way YAML writes a
    date); a YAML timestamp with a time, or `.inf`/`.nan`, has no faithful JSON (Python's
    own text of a timestamp is not the text deployed, and JSON has no infinity): refused,
    as a refactor template may not change a value. Text stays UTF-8, as deployed (an
    escaped é takes six of the 51,200 bytes instead of two), unless it holds what UTF-8
    cannot encode."""
    try:
        text = json.dumps(
            node, separators=(",", ":"), allow_nan=False, default=_as_written, ensure_ascii=False
        )
    except TypeError as why:
        raise NotRefactorable(f"{where} holds {why}, which JSON cannot write as deployed") from None
    except ValueError:
        raise NotRefactorable(f"{where} holds .inf or .nan, which JSON cannot write") from None
    try:
        text.encode()
    except UnicodeEncodeError:  # a lone surrogate: escaped, as JSON allows
        text = json.dumps(node, separators=(",", ":"), default=_as_written)
    return text


def _as_written(value: Any) -> Any:
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, datetime.datetime):
        raise TypeError(f"the YAML timestamp {value}")
    raise TypeError(f"a {type(value).__name__}")


def _drop_references(template: dict[str, Any], leaving: Mapping[str, Move], mine: str) -> None:
    """What stays may not refer to what leaves: a DependsOn on it is dropped (ordering
    of resources that already exist), an output that is not exported is dropped (the
    desired template no longer has it); anything else stops the refactor."""
    if not leaving:
        return
    gone = set(leaving)
    for logical_id, node in template["Resources"].items():
        if isinstance(node, dict):
            _drop_depends_on(node, gone)
        hit = _referenced(node, gone)  # a node of another shape is searched all the same
        if hit:
            target = leaving[sorted(hit)[0]].destination.stack_name
            raise NotRefactorable(
                f"{logical_id} in {mine} refers to {sorted(hit)[0]}, which moves to {target}; "
                "a reference across stacks needs an export, so move the reference first"
            )
    outputs = template.get("Outputs")
    if isinstance(outputs, dict):
        for name, output in list(outputs.items()):
            hit = _referenced(output, gone)
            if not hit:
                continue
            if isinstance(output, dict) and "Export" in output:
                raise NotRefactorable(
                    f"output {name} of {mine} exports a value of {sorted(hit)[0]}, which "
                    "moves; other stacks may import it, so move the export first"
                )
            del outputs[name]


def _drop_depends_on(node: dict[str, Any], gone: set[str]) -> None:
    """A DependsOn on what leaves goes: it ordered resources that already exist (an item
    that is not a name stays, and is searched for references like the rest)."""
    depends = node.get("DependsOn")
    if isinstance(depends, str) and depends in gone:
        node.pop("DependsOn")
    elif isinstance(depends, list):
        kept = [d for d in depends if not (isinstance(d, str) and d in gone)]
        if kept:
            node["DependsOn"] = kept
        else:
            node.pop("DependsOn")


def _referenced(node: Any, ids: set[str]) -> set[str]:
    """Which of `ids` a template node refers to (Ref, Fn::GetAtt, Fn::Sub)."""
    found: set[str] = set()
    if isinstance(node, list):
        for item in node:
            found |= _referenced(item, ids)
        return found
    if not isinstance(node, dict):
        return found
    for key, value in node.items():
        if key == "Ref" and isinstance(value, str) and value in ids:
            found.add(value)
        elif key == "Fn::GetAtt":
            target = value.split(".", 1)[0] if isinstance(value, str) else None
            if isinstance(value, list) and value and isinstance(value[0], str):
                target = value[0]
            if target in ids:
                found.add(target)
        elif key == "Fn::Sub":
            text, local = _sub_parts(value)
            if isinstance(text, str):
                found |= {v.split(".", 1)[0] for v in _SUB_VAR.findall(text)} & (ids - local)
        found |= _referenced(value, ids)
    return found


_SUB_VAR = re.compile(r"\$\{([A-Za-z0-9_.:]+)\}")
# Every `${...}` of a Fn::Sub text, as CloudFormation reads it: one written out must leave
# none unresolved (a map variable `${my-var}` the narrower pattern skips included).
_ANY_SUB_VAR = re.compile(r"\$\{([^}]*)\}")


def _rename_template(template: dict[str, Any], renames: Mapping[str, str]) -> dict[str, Any]:
    """The template with resources renamed, and every Ref, Fn::GetAtt, Fn::Sub variable
    and DependsOn that names them."""
    resources = template["Resources"]
    template["Resources"] = {renames.get(k, k): v for k, v in resources.items()}
    renamed = _rename_node(template, renames)
    for node in renamed["Resources"].values():
        if not isinstance(node, dict):
            continue
        depends = node.get("DependsOn")
        if isinstance(depends, str):
            node["DependsOn"] = renames.get(depends, depends)
        elif isinstance(depends, list):
            node["DependsOn"] = [renames.get(d, d) if isinstance(d, str) else d for d in depends]
    return renamed


def _rename_node(node: Any, renames: Mapping[str, str]) -> Any:
    if isinstance(node, list):
        return [_rename_node(v, renames) for v in node]
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
            out[key] = [renames.get(value[0], value[0]), *_rename_node(value[1:], renames)]
        elif key == "Fn::Sub":
            out[key] = _rename_sub(value, renames)
        else:
            out[key] = _rename_node(value, renames)
    return out


def _sub_parts(value: Any) -> tuple[Any, set[str]]:
    """A Fn::Sub's text and the names of its variable map: `${Name}` of a map names the
    map's value, not a resource (`!Sub ["${Db}", {Db: literal}]` refers to no `Db`)."""
    if isinstance(value, list) and len(value) == 2 and isinstance(value[1], dict):
        return value[0], {str(k) for k in value[1]}
    return value, set()


def _rename_sub(value: Any, renames: Mapping[str, str]) -> Any:
    text, local = _sub_parts(value)
    if not isinstance(text, str):
        return _rename_node(value, renames)
    text = _SUB_VAR.sub(lambda m: _renamed_variable(m.group(1), renames, local), text)
    return [text, _rename_node(value[1], renames)] if isinstance(value, list) else text


def _moved_in(move: Move, moves: Sequence[Move], sides: Mapping[str, Side]) -> dict[str, Any]:
    """The resource as the destination's refactor template declares it: its deployed
    values written out (the source's parameters and pseudo parameters do not exist in
    the destination, and a refactor may add no parameter), and so are its attributes
    (deletion policies, metadata, update and creation policies: a `DeletionPolicy: !If`
    or `!Ref` left out would leave the moved data under the default, Delete)."""
    origin = sides[move.source.stack_name]
    resource = origin.old.resources[move.source.logical_id]
    where = f"{move.source.logical_id} in {move.source.stack_name}"
    if resource.condition:
        raise NotRefactorable(
            f"{where} has the Condition {resource.condition}, and a refactor may add no "
            "condition to the stack it moves to"
        )
    differing = sorted(_STACK_PSEUDO & _pseudo_refs(resource.node))
    if differing:
        raise NotRefactorable(
            f"{where} refers to {', '.join(differing)}, whose value differs between the "
            "source and destination stacks, and CloudFormation does not refactor such a "
            "resource into another stack; write the value out in the source first"
        )
    renames = _renames_of(moves, move.source.stack_name, move.destination.stack_name)
    local = _sub_variables(resource.node)
    node: dict[str, Any] = {"Type": resource.type}
    if resource.properties:
        node["Properties"] = {
            k: _literal(v, renames, f"{where}: {k}", origin, local)
            for k, v in resource.properties.items()
        }
    for attribute in ATTRIBUTES:
        if attribute not in resource.node:
            continue
        value = evaluate(resource.node[attribute], origin.deployed, origin.params, _pseudo(origin))
        if value is not None:
            node[attribute] = _literal(value, renames, f"{where}: {attribute}", origin, local)
    depends = resource.node.get("DependsOn")
    names = [depends] if isinstance(depends, str) else depends if isinstance(depends, list) else []
    kept = [renames[d] for d in names if isinstance(d, str) and d in renames]
    if kept:
        node["DependsOn"] = kept
    return node


# Pseudo parameters whose value is the stack's own (the user guide's "Stack refactoring
# considerations": a resource referring to one cannot move to another stack).
_STACK_PSEUDO = frozenset({"AWS::StackName", "AWS::StackId", "AWS::NotificationARNs"})


def _pseudo_refs(node: Any) -> set[str]:
    """The pseudo parameters a deployed template node refers to (Ref, Fn::Sub)."""
    found: set[str] = set()
    if isinstance(node, list):
        for item in node:
            found |= _pseudo_refs(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str) and value.startswith("AWS::"):
                found.add(value)
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) and value else value
                if isinstance(text, str):
                    found |= {v for v in _SUB_VAR.findall(text) if v.startswith("AWS::")}
            found |= _pseudo_refs(value)
    return found


def _pseudo(side: Side) -> Pseudo:
    """The stack's pseudo parameters; a Side made without them knows its region and name."""
    return side.pseudo or Pseudo(side.place[1], side.stack_name)


def _sub_variables(node: Any) -> frozenset[str]:
    """The names of every Fn::Sub variable map in a resource's node. A rendered Fn::Sub
    keeps its text, not its map: a `${Name}` of the map cannot be told from a resource
    `Name` moving with it, so it is not written out (it would name that resource)."""
    found: set[str] = set()
    if isinstance(node, list):
        for item in node:
            found |= _sub_variables(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "Fn::Sub":
                found |= _sub_parts(value)[1]
            found |= _sub_variables(value)
    return frozenset(found)


def _literal(
    value: Any, renames: Mapping[str, str], where: str, origin: Side, local: frozenset[str]
) -> Any:
    """A deployed value as the destination writes it: literal, except references to
    resources moving with it, which are renamed."""
    if isinstance(value, Unknown):
        if value.masked:
            raise NotRefactorable(f"{where} is a NoEcho value, which cannot be written out")
        head, _, rest = value.expression.partition(" ")
        if head == "Ref" and rest in renames:
            return {"Ref": renames[rest]}
        target, _, attribute = rest.partition(".")
        if head == "GetAtt" and target in renames and attribute:
            return {"Fn::GetAtt": [renames[target], attribute]}
        if head == "Fn::Sub" and value.refs and value.refs <= renames.keys():
            return {"Fn::Sub": _sub_text(rest, renames, where, origin, local)}
        if not value.refs:
            raise NotRefactorable(
                f"{where} is {value.expression}, known only when deployed in the stack it "
                "leaves, so it cannot be written out"
            )
        raise NotRefactorable(
            f"{where} depends on {value.expression}, which does not move with it (known "
            "only in the stack it leaves)"
        )
    if isinstance(value, dict):
        return {k: _literal(v, renames, where, origin, local) for k, v in value.items()}
    if isinstance(value, list):
        return [_literal(v, renames, where, origin, local) for v in value]
    return value


def _sub_text(
    text: str, renames: Mapping[str, str], where: str, origin: Side, local: frozenset[str]
) -> str:
    """A Fn::Sub text for the destination: resources moving with it renamed, parameters
    and pseudo parameters of the source written out as their deployed values (a `${` in
    a value escaped as `${!`, which Fn::Sub writes back as `${`: it is text, not a
    variable of the destination)."""

    def swap(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("!"):
            return match.group(0)  # `${!Literal}`: text, as it was
        head = name.partition(".")[0]
        if head in local:
            raise NotRefactorable(
                f"{where} substitutes ${{{name}}} from a Fn::Sub variable map, which cannot "
                "be written out"
            )
        if head in renames:
            return _renamed_variable(name, renames, set())
        value = evaluate({"Ref": name}, origin.deployed, origin.params, _pseudo(origin))
        if value is None or isinstance(value, (Unknown, dict, list)):
            raise NotRefactorable(f"{where} depends on ${{{name}}}, which cannot be written out")
        return str(value).replace("${", "${!")

    return _ANY_SUB_VAR.sub(swap, text)


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
