"""The templates a stack refactor is given (CreateStackRefactor's StackDefinitions).

AWS refuses a refactor that creates, deletes or reconfigures a resource, or adds
parameters, conditions or mappings
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stack-refactoring.html,
"Stack refactoring considerations"). So each stack's refactor template is its DEPLOYED
template with only the moves made: logical ids renamed with every reference to them, a
resource leaving for another stack taken out (with what only referred to it), and a
resource arriving from another stack written with the values it was deployed with (the
source's parameters do not exist in the destination). Where that cannot be done,
NotRefactorable says why, and the guard blocks as it would without refactoring.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.refactor import (
    SUB_VAR,
    Group,
    Move,
    Side,
    rename_node,
    renamed_variable,
    renames_of,
    sub_parts,
)
from reconciler.render import Pseudo, Unknown, evaluate

MAX_STACKS = 5  # CloudFormation refactors across at most five stacks
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
    renames = renames_of(moves, mine, mine)
    if renames:
        template = _rename_template(template, renames)
    for m in moves:
        if m.destination.stack_name == mine and m.across:
            template["Resources"][m.destination.logical_id] = _moved_in(m, moves, sides)
    if not template["Resources"]:
        raise NotRefactorable(
            f"{mine} would be left with no resources, and CloudFormation does not refactor a "
            "stack into an empty one; keep a resource in it (AWS suggests an AWS::SNS::Topic) "
            "until the move is done"
        )
    return template


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
            text, local = sub_parts(value)
            if isinstance(text, str):
                found |= {v.split(".", 1)[0] for v in SUB_VAR.findall(text)} & (ids - local)
        found |= _referenced(value, ids)
    return found


# Every `${...}` of a Fn::Sub text, as CloudFormation reads it: one written out must leave
# none unresolved (a map variable `${my-var}` the narrower pattern skips included).
_ANYSUB_VAR = re.compile(r"\$\{([^}]*)\}")


def _rename_template(template: dict[str, Any], renames: Mapping[str, str]) -> dict[str, Any]:
    """The template with resources renamed, and every Ref, Fn::GetAtt, Fn::Sub variable
    and DependsOn that names them."""
    resources = template["Resources"]
    template["Resources"] = {renames.get(k, k): v for k, v in resources.items()}
    renamed = rename_node(template, renames)
    for node in renamed["Resources"].values():
        if not isinstance(node, dict):
            continue
        depends = node.get("DependsOn")
        if isinstance(depends, str):
            node["DependsOn"] = renames.get(depends, depends)
        elif isinstance(depends, list):
            node["DependsOn"] = [renames.get(d, d) if isinstance(d, str) else d for d in depends]
    return renamed


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
    renames = renames_of(moves, move.source.stack_name, move.destination.stack_name)
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
                    found |= {v for v in SUB_VAR.findall(text) if v.startswith("AWS::")}
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
                found |= sub_parts(value)[1]
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
            return renamed_variable(name, renames, set())
        value = evaluate({"Ref": name}, origin.deployed, origin.params, _pseudo(origin))
        if value is None or isinstance(value, (Unknown, dict, list)):
            raise NotRefactorable(f"{where} depends on ${{{name}}}, which cannot be written out")
        return str(value).replace("${", "${!")

    return _ANYSUB_VAR.sub(swap, text)
