"""Stack refactoring in the plan (reconciler/refactor.py, reconciler/plan.py): a stateful
resource renamed in its stack, or moved to another managed stack of the same account and
region, with the same type and create-only values, becomes a REFACTOR (CloudFormation's
CreateStackRefactor moves it, the change set then applies the rest) instead of a
data-loss block; what a refactor cannot do keeps the guard's block, saying why.

Proves, on the repository's PCI template and on small templates: the moves matched and
those refused (create-only change, other region or account, ambiguity, stack not yet
created, `refactor: false`); the refactor templates (renamed references, moved resources
written out with their deployed values, co-moved references renamed, dropped outputs and
DependsOn); the reasons a refactor is refused (a reference left behind, an empty stack,
an export, a NoEcho value, a Condition, a body too large, more than five stacks, an
unsupported type, a blocked partner); the idempotency token; the check of
CloudFormation's refactor actions; `rename_value`; the stack file key; the plan's JSON.
The tests at the end were written against two bugs found while writing them (a Fn::Sub
over a co-moved resource, literal text renamed), fixed since.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from reconciler import HASH_TAG, MANAGED_TAG
from reconciler.desired import load_desired_state
from reconciler.diff import ChangeAction, Replacement, ResourceChange
from reconciler.live import LiveStack
from reconciler.plan import Action, StackPlan, plan_all, plan_stack
from reconciler.refactor import Location, Move, rename_value, unexpected
from reconciler.render import Unknown
from reconciler.validation import validate
from reconciler.yamlfile import parse
from tests.repo import STACK, make_repo
from tests.template_refs import references

REGION = "us-east-1"
ACCOUNT = "123456789012"
REPO = Path(__file__).resolve().parents[2]
PCI_TEMPLATE = (REPO / "templates" / "pci-database.yml").read_text()
PCI_STACK = (REPO / "desired-state" / "pci-db-dev.yml").read_text()
PCI = "pci-db-dev"


# --- helpers ------------------------------------------------------------------------------


def stack_arn(name: str, region: str = REGION, account: str = ACCOUNT) -> str:
    return f"arn:aws:cloudformation:{region}:{account}:stack/{name}/3e6a1ff0-94b1-11ef-b6a2"


def live_stack(
    name: str, region: str = REGION, params: dict[str, str] | None = None, account: str = ""
) -> LiveStack:
    """A managed stack at an old desired hash; `account` as its stack file names it."""
    return LiveStack(
        name,
        stack_arn(name, region, account or ACCOUNT),
        region,
        "UPDATE_COMPLETE",
        tags={MANAGED_TAG: "true", HASH_TAG: "old"},
        parameters=params or {},
        account=account,
    )


def stack_file(name: str, template: str, region: str = REGION, extra: str = "") -> str:
    return (
        f"template-file-path: templates/{template}\nstack-name: {name}\nregion: {region}\n{extra}"
    )


def write_repo(root: Path, files: dict[str, str]) -> Path:
    """A repository holding exactly `files`, written as given (not dedented)."""
    (root / "desired-state").mkdir(parents=True)
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def plan(
    root: Path, files: dict[str, str], deployed: dict[str, str], live: list[LiveStack]
) -> dict[str, StackPlan]:
    """Every plan by stack name, planned against `live` whose deployed templates are the
    texts of `deployed` (stack name -> template text)."""
    state = load_desired_state(write_repo(root, files))
    assert state.findings == ()
    live_by_key = {(s.account, s.region, s.name): s for s in live}
    plans = plan_all(state, live_by_key, lambda stack: parse(deployed[stack.name])[0])
    return {p.stack_name: p for p in plans}


def body(p: StackPlan, stack: str) -> dict[str, Any]:
    return json.loads(p.refactor_templates[stack])


def plain(template_text: str) -> dict[str, Any]:
    """A template as plain JSON, as CloudFormation would hand it back."""
    return json.loads(json.dumps(parse(template_text)[0], default=str))


def move(resource_type: str, source: tuple[str, str], destination: tuple[str, str]) -> Move:
    return Move(Location(*source), Location(*destination), resource_type)


# --- the PCI stack ------------------------------------------------------------------------

PCI_PARAMS = {k: str(v) for k, v in parse(PCI_STACK)[0]["parameters"].items()}
DB_MOVE = move("AWS::RDS::DBInstance", (PCI, "Database"), (PCI, "PrimaryDatabase"))
KEY_MOVE = move("AWS::KMS::Key", (PCI, "EncryptionKey"), (PCI, "DataKey"))
DB_TEXT = f"Database -> PrimaryDatabase (AWS::RDS::DBInstance, {PCI})"
KEY_TEXT = f"EncryptionKey -> DataKey (AWS::KMS::Key, {PCI})"


def renamed(text: str, old: str, new: str, count: int) -> str:
    """`text` with every whole-word `old` (a logical id, not a longer id it starts) renamed."""
    result, n = re.subn(rf"(?<![\w-]){old}(?![\w-])", new, text)
    assert n == count, f"{old} occurs {n} times"
    return result


def rename_db(text: str) -> str:
    return renamed(text, "Database", "PrimaryDatabase", 4)


def rename_key(text: str) -> str:
    return renamed(text, "EncryptionKey", "DataKey", 16)


def edit(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{old!r} is not in the text exactly once"
    return text.replace(old, new)


def plan_pci(root: Path, desired: str, stack_text: str = PCI_STACK) -> StackPlan:
    files = {"templates/pci-database.yml": desired, f"desired-state/{PCI}.yml": stack_text}
    live = [live_stack(PCI, params=PCI_PARAMS)]
    return plan(root, files, {PCI: PCI_TEMPLATE}, live)[PCI]


def test_pci_rename_of_database_and_key_is_a_refactor_with_no_resource_changes(tmp_path):
    """GIVEN Database -> PrimaryDatabase and EncryptionKey -> DataKey renamed everywhere in
    the PCI template WHEN planned THEN a REFACTOR of exactly those two moves, nothing left
    to change and nothing blocked."""
    p = plan_pci(tmp_path, rename_key(rename_db(PCI_TEMPLATE)))
    assert p.action is Action.REFACTOR
    assert p.refactor == (DB_MOVE, KEY_MOVE)
    assert p.refactor_stacks == (PCI,)
    assert (p.changes, p.violations, p.findings) == ((), (), ())
    assert p.reason == f"refactor ({DB_TEXT}; {KEY_TEXT}), then no resource changes"
    assert list(p.refactor_templates) == [PCI]


def test_pci_refactor_template_is_the_deployed_one_with_only_the_ids_renamed(tmp_path):
    """The refactor template is the deployed template with the two ids renamed: every
    Ref/GetAtt/Sub/DependsOn that named them names the new ids, the parameters and every
    other property are the deployed ones."""
    desired = rename_key(rename_db(PCI_TEMPLATE))
    p = plan_pci(tmp_path, desired)
    got, before, after = body(p, PCI), plain(PCI_TEMPLATE), plain(desired)
    resources = got["Resources"]
    assert {"PrimaryDatabase", "DataKey"} <= set(resources)
    assert not {"Database", "EncryptionKey"} & set(resources)
    assert not {"Database", "EncryptionKey"} & references(got)
    assert resources["DBSecretAttachment"]["Properties"]["TargetId"] == {"Ref": "PrimaryDatabase"}
    assert resources["EncryptionKeyAlias"]["Properties"]["TargetKeyId"] == {"Ref": "DataKey"}
    assert resources["PrimaryDatabase"]["Properties"]["KmsKeyId"] == {"Ref": "DataKey"}
    assert resources["Redis"]["Properties"]["KmsKeyId"] == {"Fn::GetAtt": ["DataKey", "Arn"]}
    assert got["Outputs"]["KmsKeyArn"] == {"Value": {"Fn::GetAtt": ["DataKey", "Arn"]}}
    assert got["Outputs"]["RDSEndpoint"] == {
        "Value": {"Fn::GetAtt": ["PrimaryDatabase", "Endpoint.Address"]}
    }
    assert got["Parameters"] == before["Parameters"]
    assert {k: v for k, v in got.items() if k not in ("Resources", "Outputs")} == {
        k: v for k, v in before.items() if k not in ("Resources", "Outputs")
    }
    # what names neither id is the deployed resource, untouched
    old_ids = {"Database", "EncryptionKey"}
    untouched = {
        k: v for k, v in before["Resources"].items() if not ({k} | references(v)) & old_ids
    }
    assert len(untouched) > 30
    assert {k: resources[k] for k in untouched} == untouched
    # and the rest is the deployed template renamed, which the desired one is exactly
    assert resources == after["Resources"]
    assert got["Outputs"] == after["Outputs"]
    assert [k for k in resources] == [k for k in after["Resources"]]


def test_pci_rename_with_a_create_only_change_blocks_but_the_key_still_moves(tmp_path):
    """GIVEN the renames and the database's DBInstanceIdentifier changed (create-only)
    WHEN planned THEN BLOCKED: the database is a new one (the old would be deleted), while
    the key's rename alone is matched."""
    desired = edit(
        rename_key(rename_db(PCI_TEMPLATE)),
        "DBInstanceIdentifier: !Sub pci-mysql-${EnvironmentSuffix}",
        "DBInstanceIdentifier: !Sub pci-db-${EnvironmentSuffix}",
    )
    p = plan_pci(tmp_path, desired)
    assert p.action is Action.BLOCKED
    assert p.refactor == (KEY_MOVE,)
    assert [(v.logical_id, v.resource_type) for v in p.violations] == [
        ("Database", "AWS::RDS::DBInstance")
    ]
    assert p.reason.startswith(
        f"after the refactor ({KEY_TEXT}): Database (AWS::RDS::DBInstance) would be deleted: "
        "it is no longer in the template"
    )
    assert ("PrimaryDatabase", ChangeAction.ADD) in [(c.logical_id, c.action) for c in p.changes]


def test_pci_rename_with_refactor_false_is_blocked_exactly_as_by_the_guard(tmp_path):
    """GIVEN `refactor: false` in the stack file WHEN the renames are planned THEN the plan
    is the guard's own plan of the stack: the removals blocked, no refactor."""
    stack_text = PCI_STACK + "refactor: false\n"
    desired = rename_key(rename_db(PCI_TEMPLATE))
    p = plan_pci(tmp_path, desired, stack_text)
    assert p.action is Action.BLOCKED
    assert (p.refactor, p.refactor_stacks, p.refactor_description) == ((), (), "")
    assert p.refactor_templates == {}
    # the two removals, and Redis, whose create-only KmsKeyId names the "new" key
    assert [(v.logical_id, v.message.split(": ")[0]) for v in p.violations] == [
        ("Database", "Database (AWS::RDS::DBInstance) would be deleted"),
        ("EncryptionKey", "EncryptionKey (AWS::KMS::Key) would be deleted"),
        ("Redis", "Redis (AWS::ElastiCache::ReplicationGroup) may be replaced"),
    ]
    assert "not refactored" not in p.reason
    state = load_desired_state(tmp_path)
    (spec,) = state.stacks
    guard_only = plan_stack(
        spec,
        state.templates[spec.template_file_path],
        live_stack(PCI, params=PCI_PARAMS),
        lambda stack: parse(PCI_TEMPLATE)[0],
    )
    assert p == guard_only
    assert p.reason == guard_only.reason == "; ".join(v.message for v in p.violations)


def test_pci_rename_with_an_in_place_change_refactors_then_modifies_the_new_id(tmp_path):
    """GIVEN Database renamed and its PreferredBackupWindow changed (updatable) WHEN
    planned THEN a REFACTOR whose change set modifies only PrimaryDatabase's window."""
    desired = edit(
        rename_db(PCI_TEMPLATE),
        'PreferredBackupWindow: "03:00-04:00"',
        'PreferredBackupWindow: "02:00-03:00"',
    )
    p = plan_pci(tmp_path, desired)
    assert p.action is Action.REFACTOR
    assert p.refactor == (DB_MOVE,)
    assert p.changes == (
        ResourceChange(
            "PrimaryDatabase",
            "AWS::RDS::DBInstance",
            ChangeAction.MODIFY,
            Replacement.FALSE,
            ("PreferredBackupWindow",),
        ),
    )
    assert p.reason == f"refactor ({DB_TEXT}), then 1 to modify"
    # the refactor itself changes nothing: the window is the deployed one
    window = body(p, PCI)["Resources"]["PrimaryDatabase"]["Properties"]["PreferredBackupWindow"]
    assert window == "03:00-04:00"


def test_refactor_description_is_stable_and_follows_the_desired_hashes(tmp_path):
    """The description (the refactor's idempotency token) is the same for the same
    inputs, and another for the same moves at another desired hash."""
    desired = rename_key(rename_db(PCI_TEMPLATE))
    first = plan_pci(tmp_path / "a", desired)
    again = plan_pci(tmp_path / "b", desired)
    other = plan_pci(tmp_path / "c", desired, edit(PCI_STACK, "  owner:", "  team: db\n  owner:"))
    assert re.fullmatch(r"gitops-refactor-[0-9a-f]{16}", first.refactor_description)
    assert again.refactor_description == first.refactor_description
    assert other.desired_hash != first.desired_hash
    assert other.refactor == first.refactor
    assert other.refactor_description != first.refactor_description


# --- small stacks -------------------------------------------------------------------------

SOURCE = """\
Resources:
  Keep:
    Type: AWS::SSM::Parameter
    DependsOn: Audit
    Properties:
      Name: !Sub /${AWS::StackName}/keep
      Type: String
      Value: keep
  Audit:
    Type: AWS::Logs::LogGroup
    DeletionPolicy: Retain
    UpdateReplacePolicy: Retain
    Properties:
      LogGroupName: /audit/platform
      RetentionInDays: 365
Outputs:
  KeepName:
    Value: !Ref Keep
  AuditName:
    Value: !Ref Audit
"""

SOURCE_AFTER = """\
Resources:
  Keep:
    Type: AWS::SSM::Parameter
    Properties:
      Name: !Sub /${AWS::StackName}/keep
      Type: String
      Value: keep
Outputs:
  KeepName:
    Value: !Ref Keep
"""

DESTINATION = """\
Resources:
  Anchor:
    Type: AWS::CloudFormation::WaitConditionHandle
"""

DESTINATION_AFTER = """\
Parameters:
  Retention:
    Type: Number
    Default: 365
Resources:
  Anchor:
    Type: AWS::CloudFormation::WaitConditionHandle
  AuditLogs:
    Type: AWS::Logs::LogGroup
    DeletionPolicy: Retain
    UpdateReplacePolicy: Retain
    Properties:
      LogGroupName: /audit/platform
      RetentionInDays: !Ref Retention
"""

AUDIT_MOVE = move("AWS::Logs::LogGroup", ("platform", "Audit"), ("app", "AuditLogs"))
AUDIT_TEXT = "platform/Audit -> app/AuditLogs (AWS::Logs::LogGroup)"


def plan_move(
    root: Path,
    source: str = SOURCE,
    source_after: str = SOURCE_AFTER,
    destination: str = DESTINATION,
    destination_after: str = DESTINATION_AFTER,
    app_region: str = REGION,
    app_account: str = "",
    app_live: bool = True,
    source_params: dict[str, str] | None = None,
) -> dict[str, StackPlan]:
    """The log group Audit of stack `platform` moved to stack `app` as AuditLogs; `app`
    depends on `platform`, so that plan order is not name order."""
    files = {
        "templates/platform.yml": source_after,
        "templates/app.yml": destination_after,
        "desired-state/platform.yml": stack_file("platform", "platform.yml"),
        "desired-state/app.yml": stack_file(
            "app",
            "app.yml",
            app_region,
            "depends-on: [platform]\n" + (f'account: "{app_account}"\n' if app_account else ""),
        ),
    }
    live = [live_stack("platform", params=source_params)]
    live += [live_stack("app", app_region, account=app_account)] if app_live else []
    return plan(root, files, {"platform": source, "app": destination}, live)


def test_log_group_moved_to_another_stack_is_one_refactor_of_both(tmp_path):
    """GIVEN a log group removed from `platform` (with its output) and added to `app`
    under another id, RetentionInDays from a parameter there WHEN planned THEN both
    stacks REFACTOR the same single move under the same description, in plan order, and
    nothing is left to change."""
    plans = plan_move(tmp_path)
    assert list(plans) == ["platform", "app"]
    source, dest = plans["platform"], plans["app"]
    assert (source.action, dest.action) == (Action.REFACTOR, Action.REFACTOR)
    assert source.refactor == dest.refactor == (AUDIT_MOVE,)
    assert source.refactor_stacks == dest.refactor_stacks == ("platform", "app")
    assert source.refactor_description == dest.refactor_description
    assert source.refactor_templates == dest.refactor_templates
    assert set(source.refactor_templates) == {"platform", "app"}
    assert (source.changes, dest.changes) == ((), ())
    assert source.reason == f"refactor ({AUDIT_TEXT}), then no resource changes"
    assert dest.reason == f"refactor ({AUDIT_TEXT}), then no resource changes"


def test_cross_stack_refactor_templates_drop_and_write_out_the_moved_log_group(tmp_path):
    """The source's template loses the log group, the output naming it and the DependsOn
    on it; the destination's gains it with its deployed values written out (the Sub of
    the source's stack name is the literal name), nothing else changed in either."""
    (source, _) = plan_move(tmp_path).values()
    left, arrived = body(source, "platform"), body(source, "app")
    assert left == {
        "Resources": {
            "Keep": {
                "Type": "AWS::SSM::Parameter",
                "Properties": {
                    "Name": {"Fn::Sub": "/${AWS::StackName}/keep"},
                    "Type": "String",
                    "Value": "keep",
                },
            }
        },
        "Outputs": {"KeepName": {"Value": {"Ref": "Keep"}}},
    }
    assert arrived == {
        "Resources": {
            "Anchor": {"Type": "AWS::CloudFormation::WaitConditionHandle"},
            "AuditLogs": {
                "Type": "AWS::Logs::LogGroup",
                "Properties": {"LogGroupName": "/audit/platform", "RetentionInDays": 365},
                "DeletionPolicy": "Retain",
                "UpdateReplacePolicy": "Retain",
            },
        }
    }


def test_moved_log_group_with_another_retention_is_modified_after_the_refactor(tmp_path):
    """What really differs in the destination is changed by its change set, after the
    refactor moved the group with its deployed retention."""
    after = DESTINATION_AFTER.replace("Default: 365", "Default: 400")
    dest = plan_move(tmp_path, destination_after=after)["app"]
    assert dest.action is Action.REFACTOR
    assert dest.changes == (
        ResourceChange(
            "AuditLogs",
            "AWS::Logs::LogGroup",
            ChangeAction.MODIFY,
            Replacement.FALSE,
            ("RetentionInDays",),
        ),
    )
    assert dest.reason == f"refactor ({AUDIT_TEXT}), then 1 to modify"
    moved = body(dest, "app")["Resources"]["AuditLogs"]["Properties"]
    assert moved["RetentionInDays"] == 365


KEY = """\
  Key:
    Type: AWS::KMS::Key
    DeletionPolicy: Retain
    Properties:
      Description: logs
"""
ENCRYPTED = ("RetentionInDays: 365", "RetentionInDays: 365\n      KmsKeyId: !GetAtt Key.Arn")
KEYED = SOURCE.replace("  Audit:\n", KEY + "  Audit:\n").replace(*ENCRYPTED)


def test_moved_resource_referring_to_one_left_behind_is_not_refactored(tmp_path):
    """GIVEN the moving log group is encrypted with a key staying in `platform` WHEN
    planned THEN no refactor: the source stays blocked by the guard, saying why."""
    source_after = SOURCE_AFTER.replace("Resources:\n", "Resources:\n" + KEY)
    dest_after = DESTINATION_AFTER.replace(
        "RetentionInDays: !Ref Retention",
        "RetentionInDays: !Ref Retention\n      KmsKeyId: !ImportValue platform-key",
    )
    plans = plan_move(tmp_path, KEYED, source_after, destination_after=dest_after)
    source, dest = plans["platform"], plans["app"]
    assert source.action is Action.BLOCKED
    assert source.refactor == ()
    why = (
        "not refactored: Audit in platform: KmsKeyId depends on GetAtt Key.Arn, which does "
        "not move with it (known only in the stack it leaves)"
    )
    assert source.reason.startswith("Audit (AWS::Logs::LogGroup) would be deleted")
    assert source.reason.endswith(f" ({why})")
    # the destination keeps the guard's verdict (an addition), with the same note
    assert dest.action is Action.UPDATE
    assert dest.refactor == ()
    assert dest.reason == f"desired state changed (1 to add); {why}"


@pytest.mark.parametrize(
    "where",
    [{"app_region": "eu-west-1"}, {"app_account": "210987654321"}],
    ids=["region", "account"],
)
def test_same_resource_added_in_another_region_or_account_is_no_move(tmp_path, where):
    """GIVEN the destination stack is in another region, or another account WHEN
    planned THEN no move: the removal is blocked and the addition is an addition."""
    plans = plan_move(tmp_path, **where)
    source, dest = plans["platform"], plans["app"]
    assert source.action is Action.BLOCKED
    assert [v.logical_id for v in source.violations] == ["Audit"]
    assert "not refactored" not in source.reason
    assert dest.action is Action.UPDATE
    assert (source.refactor, dest.refactor) == ((), ())


def test_move_into_a_stack_not_yet_created_is_blocked(tmp_path):
    """GIVEN the destination stack does not exist yet WHEN planned THEN it is created
    and the source's removal is blocked: no refactor into a stack being created."""
    plans = plan_move(tmp_path, app_live=False)
    source, dest = plans["platform"], plans["app"]
    assert source.action is Action.BLOCKED
    assert source.reason.startswith(
        "Audit (AWS::Logs::LogGroup) would be deleted: it is no longer in the template"
    )
    assert dest.action is Action.CREATE
    assert (source.refactor, dest.refactor) == ((), ())


TWO_GROUPS = """\
Resources:
  First:
    Type: AWS::Logs::LogGroup
    DeletionPolicy: Retain
    Properties:
      RetentionInDays: 365
  Second:
    Type: AWS::Logs::LogGroup
    DeletionPolicy: Retain
    Properties:
      RetentionInDays: 365
"""


def test_two_identical_unnamed_log_groups_renamed_are_ambiguous_and_blocked(tmp_path):
    """GIVEN two log groups without names (nothing tells them apart) renamed WHEN
    planned THEN no move is guessed: both removals are blocked."""
    desired = TWO_GROUPS.replace("First:", "Alpha:").replace("Second:", "Beta:")
    files = {
        "templates/logs.yml": desired,
        "desired-state/logs.yml": stack_file("logs", "logs.yml"),
    }
    p = plan(tmp_path, files, {"logs": TWO_GROUPS}, [live_stack("logs")])["logs"]
    assert p.action is Action.BLOCKED
    assert p.refactor == ()
    assert [v.logical_id for v in p.violations] == ["First", "Second"]
    assert "not refactored" not in p.reason


def test_moving_the_only_resource_out_of_a_stack_is_not_refactored(tmp_path):
    """GIVEN the log group is the only resource of `platform` WHEN it moves THEN no
    refactor (CloudFormation leaves no stack empty), saying so."""
    source = "Resources:\n  Audit:\n" + SOURCE.split("  Audit:\n", 1)[1].split("Outputs:")[0]
    source_after = "Resources:\n  Anchor:\n    Type: AWS::CloudFormation::WaitConditionHandle\n"
    plans = plan_move(tmp_path, source, source_after)
    p = plans["platform"]
    assert p.action is Action.BLOCKED
    assert p.refactor == ()
    assert (
        "(not refactored: platform would be left with no resources, and CloudFormation does "
        "not refactor a stack into an empty one;"
    ) in p.reason
    assert plans["app"].action is Action.UPDATE


def test_exported_output_of_the_moved_resource_is_not_refactored(tmp_path):
    """GIVEN `platform` exports the moving log group's name WHEN planned THEN no refactor:
    another stack may import it; the reason names the output."""
    exported = SOURCE.replace(
        "    Value: !Ref Audit\n", "    Value: !Ref Audit\n    Export:\n      Name: audit-name\n"
    )
    p = plan_move(tmp_path, exported)["platform"]
    assert p.action is Action.BLOCKED
    assert p.refactor == ()
    assert p.reason.endswith(
        "(not refactored: output AuditName of platform exports a value of Audit, which moves; "
        "other stacks may import it, so move the export first)"
    )


def test_partner_blocked_after_the_refactor_blocks_the_whole_group(tmp_path):
    """GIVEN the move, and in `app` a log group whose name (create-only) changes WHEN
    planned THEN `app` is blocked after the refactor and so is `platform`, which names
    its partner."""
    named = "  Other:\n    Type: AWS::Logs::LogGroup\n    Properties:\n      LogGroupName: {}\n"
    destination = DESTINATION + named.format("/other/one")
    dest_after = DESTINATION_AFTER + named.format("/other/two")
    plans = plan_move(tmp_path, destination=destination, destination_after=dest_after)
    source, dest = plans["platform"], plans["app"]
    assert (source.action, dest.action) == (Action.BLOCKED, Action.BLOCKED)
    blocked = (
        f"after the refactor ({AUDIT_TEXT}): Other (AWS::Logs::LogGroup) would be replaced: "
        "LogGroupName changes (create-only)"
    )
    assert dest.reason.startswith(blocked)
    assert source.reason == f"refactored with app, which is blocked: {dest.reason}"
    assert [v.logical_id for v in dest.violations] == ["Other"]
    assert source.refactor == dest.refactor == (AUDIT_MOVE,)


def test_log_group_moved_with_its_key_keeps_its_references_renamed(tmp_path):
    """GIVEN a key and the log group it encrypts (GetAtt, DependsOn) both moved, the key
    renamed WHEN planned THEN one refactor; in the destination the group refers to the
    key by its new id, and its DependsOn on a resource left behind is gone."""
    source = (
        KEYED.replace("    DependsOn: Audit\n", "")
        .replace("    UpdateReplacePolicy: Retain\n", "    UpdateReplacePolicy: Retain\n"
                 "    DependsOn: [Key, Keep]\n")
    )  # fmt: skip
    dest_after = DESTINATION_AFTER.replace(
        "  AuditLogs:\n", KEY.replace("Key:", "LogKey:") + "  AuditLogs:\n"
    ).replace(
        "RetentionInDays: !Ref Retention",
        "RetentionInDays: !Ref Retention\n      KmsKeyId: !GetAtt LogKey.Arn",
    )
    dest = plan_move(tmp_path, source, destination_after=dest_after)["app"]
    assert dest.action is Action.REFACTOR
    assert dest.refactor == (
        AUDIT_MOVE,
        move("AWS::KMS::Key", ("platform", "Key"), ("app", "LogKey")),
    )
    assert dest.changes == ()
    arrived = body(dest, "app")["Resources"]
    assert arrived["AuditLogs"] == {
        "Type": "AWS::Logs::LogGroup",
        "Properties": {
            "LogGroupName": "/audit/platform",
            "RetentionInDays": 365,
            "KmsKeyId": {"Fn::GetAtt": ["LogKey", "Arn"]},
        },
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "DependsOn": ["LogKey"],
    }
    assert arrived["LogKey"] == {
        "Type": "AWS::KMS::Key",
        "Properties": {"Description": "logs"},
        "DeletionPolicy": "Retain",
    }
    assert set(body(dest, "platform")["Resources"]) == {"Keep"}


NO_ECHO = SOURCE.replace(
    "Resources:\n", "Parameters:\n  Days:\n    Type: Number\n    NoEcho: true\nResources:\n"
).replace("RetentionInDays: 365", "RetentionInDays: !Ref Days")
CONDITIONAL = SOURCE.replace(
    "Resources:\n", "Conditions:\n  Always: !Equals [a, a]\nResources:\n"
).replace(
    "    Type: AWS::Logs::LogGroup\n", "    Type: AWS::Logs::LogGroup\n    Condition: Always\n"
)
HUGE = SOURCE.replace("Value: keep", "Value: " + "x" * 52_000)


@pytest.mark.parametrize(
    ("source", "params", "why"),
    [
        (
            NO_ECHO,
            {"Days": "****"},
            "Audit in platform: RetentionInDays is a NoEcho value, which cannot be written out",
        ),
        (
            CONDITIONAL,
            None,
            "Audit in platform has the Condition Always, and a refactor may add no condition "
            "to the stack it moves to",
        ),
        (HUGE, None, "the refactor template of platform is 52"),
    ],
    ids=["no-echo", "condition", "body-too-large"],
)
def test_move_that_cannot_be_written_out_is_not_refactored(tmp_path, source, params, why):
    """GIVEN the moving log group's value is a NoEcho parameter, or it has a Condition,
    or the source's refactor template would exceed 51,200 bytes WHEN planned THEN no
    refactor: the source stays blocked, saying why."""
    plans = plan_move(tmp_path, source, source_params=params)
    p = plans["platform"]
    assert p.action is Action.BLOCKED
    assert (p.refactor, plans["app"].refactor) == ((), ())
    assert p.reason.startswith("Audit (AWS::Logs::LogGroup) would be deleted")
    assert f" (not refactored: {why}" in p.reason


def test_more_than_five_stacks_in_one_refactor_are_not_refactored(tmp_path):
    """GIVEN six stacks each passing a log group to the next (one group of six) WHEN
    planned THEN none is refactored: CloudFormation refactors at most five at once."""
    keep = "  Keep:\n    Type: AWS::CloudFormation::WaitConditionHandle\n"
    group = "  {}:\n    Type: AWS::Logs::LogGroup\n    Properties:\n      LogGroupName: /chain/{}\n"
    names = [f"s{i}" for i in range(6)]
    files, deployed = {}, {}
    for i, name in enumerate(names):
        mine = group.format("Logs", name) if i < 5 else ""
        theirs = group.format("Passed", names[i - 1]) if i > 0 else ""
        deployed[name] = "Resources:\n" + keep + mine
        files[f"templates/{name}.yml"] = "Resources:\n" + keep + theirs
        files[f"desired-state/{name}.yml"] = stack_file(name, f"{name}.yml")
    plans = plan(tmp_path, files, deployed, [live_stack(n) for n in names])
    why = (
        "not refactored: 6 stacks would be refactored together; CloudFormation refactors at most 5"
    )
    # s0 to s4 lose a log group (blocked by the guard), s5 only gains one
    assert [p.action for p in plans.values()] == [Action.BLOCKED] * 5 + [Action.UPDATE]
    assert all(why in p.reason for p in plans.values())
    assert all(p.refactor == () for p in plans.values())


REDIS = """\
Resources:
  Redis:
    Type: AWS::ElastiCache::ReplicationGroup
    Properties:
      ReplicationGroupDescription: guard
      Engine: redis
      CacheNodeType: cache.t3.micro
"""


def test_rename_of_a_type_stack_refactoring_does_not_support_stays_blocked(tmp_path):
    """GIVEN an ElastiCache replication group renamed WHEN planned THEN blocked as a
    removal: AWS's stack refactoring does not take that type."""
    files = {
        "templates/cache.yml": REDIS.replace("  Redis:", "  Cache:"),
        "desired-state/cache.yml": stack_file("cache", "cache.yml"),
    }
    p = plan(tmp_path, files, {"cache": REDIS}, [live_stack("cache")])["cache"]
    assert p.action is Action.BLOCKED
    assert p.refactor == ()
    assert [v.logical_id for v in p.violations] == ["Redis"]
    assert p.reason.endswith(
        "(not refactored: CloudFormation's stack refactoring does not support "
        "AWS::ElastiCache::ReplicationGroup)"
    )


def test_refactor_plan_json_lists_the_moves(tmp_path):
    """`to_dict()["refactor"]`: each move's type, source and destination, as JSON."""
    source = plan_move(tmp_path)["platform"]
    data = json.loads(json.dumps(source.to_dict()))
    assert data["action"] == "refactor"
    assert data["refactor"] == [
        {
            "resource_type": "AWS::Logs::LogGroup",
            "source": {"stack_name": "platform", "logical_id": "Audit"},
            "destination": {"stack_name": "app", "logical_id": "AuditLogs"},
        }
    ]


# --- CloudFormation's refactor actions --------------------------------------------------


def action(
    source: tuple[str, str], destination: tuple[str, str], verb: str = "MOVE"
) -> dict[str, Any]:
    """One entry of ListStackRefactorActions, shaped as AWS documents it (stacks by ARN)."""
    return {
        "Action": verb,
        "Entity": "RESOURCE",
        "PhysicalResourceId": "/audit/platform",
        "Description": "No configuration changes detected.",
        "Detection": "AUTO",
        "TagResources": [],
        "UntagResources": [],
        "ResourceMapping": {
            "Source": {"StackName": stack_arn(source[0]), "LogicalResourceId": source[1]},
            "Destination": {
                "StackName": stack_arn(destination[0]),
                "LogicalResourceId": destination[1],
            },
        },
    }


RENAME = move("AWS::KMS::Key", ("platform", "Key"), ("platform", "DataKey"))


def test_refactor_actions_equal_to_the_moves_are_expected():
    actions = [
        action(("platform", "Audit"), ("app", "AuditLogs")),
        action(("platform", "Key"), ("platform", "DataKey")),
    ]
    assert unexpected(actions, [AUDIT_MOVE, RENAME]) == []


def test_refactor_action_not_asked_for_is_a_problem():
    actions = [
        action(("platform", "Audit"), ("app", "AuditLogs")),
        action(("platform", "Keep"), ("app", "Keep")),
    ]
    assert unexpected(actions, [AUDIT_MOVE]) == [
        "CloudFormation would also MOVE platform/Keep -> app/Keep"
    ]


def test_refactor_creating_a_stack_is_a_problem():
    create = {"Action": "CREATE", "Entity": "STACK", "Description": "Stack app2 created."}
    actions = [action(("platform", "Audit"), ("app", "AuditLogs")), create]
    assert unexpected(actions, [AUDIT_MOVE]) == [
        "CloudFormation would also create a stack (Stack app2 created.)"
    ]
    assert unexpected([{"Action": "CREATE", "Entity": "STACK"}], []) == [
        "CloudFormation would also create a stack"
    ]


def test_move_missing_from_the_refactor_actions_is_a_problem():
    actions = [action(("platform", "Audit"), ("app", "AuditLogs"))]
    assert unexpected(actions, [AUDIT_MOVE, RENAME]) == [
        "CloudFormation does not list the move platform/Key -> platform/DataKey"
    ]


# --- rename_value --------------------------------------------------------------------------


def test_rename_value_renames_references_in_unknown_values_only():
    renames = {"A": "B"}
    assert rename_value(Unknown("Ref A", frozenset({"A"})), renames) == Unknown(
        "Ref B", frozenset({"B"})
    )
    assert rename_value(Unknown("GetAtt A.Arn", frozenset({"A"})), renames) == Unknown(
        "GetAtt B.Arn", frozenset({"B"})
    )
    assert rename_value(Unknown("Fn::Sub arn:${A}", frozenset({"A"})), renames) == Unknown(
        "Fn::Sub arn:${B}", frozenset({"B"})
    )
    prefix = Unknown("Ref AB", frozenset({"AB"}))
    assert rename_value(prefix, renames) == prefix
    both = Unknown("Fn::Sub ${A}-${AB}", frozenset({"A", "AB"}))
    assert rename_value(both, renames) == Unknown("Fn::Sub ${B}-${AB}", frozenset({"B", "AB"}))
    nested = {"Key": [Unknown("Ref A", frozenset({"A"})), "A"], "Name": "A"}
    assert rename_value(nested, renames) == {
        "Key": [Unknown("Ref B", frozenset({"B"})), "A"],
        "Name": "A",
    }
    masked = Unknown("GetAtt A.Arn", frozenset({"A"}), masked=True)
    assert rename_value(masked, renames) == Unknown("GetAtt B.Arn", frozenset({"B"}), True)


# --- the stack file key ------------------------------------------------------------------


def test_refactor_key_is_read_and_true_by_default(tmp_path):
    path = "desired-state/app-dev.yml"
    (default,) = load_desired_state(make_repo(tmp_path / "a")).stacks
    (off,) = load_desired_state(
        make_repo(tmp_path / "b", {path: STACK + "refactor: false\n"})
    ).stacks
    assert (default.refactor, off.refactor) == (True, False)


@pytest.mark.parametrize(
    ("value", "shown"), [("maybe", "'maybe'"), ("'true'", "'true'"), ("1", "int 1")]
)
def test_refactor_key_that_is_not_a_boolean_is_a_finding_at_its_line(tmp_path, value, shown):
    path = "desired-state/app-dev.yml"
    state = load_desired_state(make_repo(tmp_path, {path: STACK + f"refactor: {value}\n"}))
    (finding,) = validate(state).findings
    assert (finding.rule, finding.path, finding.line) == ("DS003", path, 8)
    assert finding.message == f"refactor: must be true or false, not {shown}"
    assert state.stacks == ()


# --- bugs ---------------------------------------------------------------------------------

DB_WITH_SECRET = """\
Resources:
  Keep:
    Type: AWS::CloudFormation::WaitConditionHandle
  Secret:
    Type: AWS::SecretsManager::Secret
    DeletionPolicy: Retain
    Properties:
      Name: payments/db-admin
      GenerateSecretString:
        SecretStringTemplate: '{"username": "admin"}'
        GenerateStringKey: password
  Db:
    Type: AWS::RDS::DBInstance
    DeletionPolicy: Snapshot
    Properties:
      Engine: mysql
      DBInstanceClass: db.t3.micro
      AllocatedStorage: "20"
      MasterUsername: !Sub "{{resolve:secretsmanager:${Secret}:SecretString:username}}"
      MasterUserPassword: !Sub "{{resolve:secretsmanager:${Secret}:SecretString:password}}"
"""


def test_database_moved_with_its_secret_keeps_the_sub_reference_to_it(tmp_path):
    """GIVEN a database and the secret its credentials resolve from (`!Sub
    {{resolve:secretsmanager:${Secret}...}}`) both moved from `platform` to `app` WHEN
    planned THEN one refactor, the moved database still naming the moved secret. Today:
    both moves are matched, then refused with a false reason (the secret does move)."""
    source_after = "Resources:\n  Keep:\n    Type: AWS::CloudFormation::WaitConditionHandle\n"
    dest_after = DESTINATION + DB_WITH_SECRET.split("WaitConditionHandle\n", 1)[1]
    plans = plan_move(tmp_path, DB_WITH_SECRET, source_after, destination_after=dest_after)
    source, dest = plans["platform"], plans["app"]
    assert "does not move with it" not in source.reason
    assert (source.action, dest.action) == (Action.REFACTOR, Action.REFACTOR)
    assert dest.changes == ()
    db = body(dest, "app")["Resources"]["Db"]["Properties"]
    assert references(db["MasterUsername"]) == references(db["MasterUserPassword"]) == {"Secret"}


ORDERS = """\
Resources:
  Orders:
    Type: AWS::DynamoDB::Table
    DeletionPolicy: Retain
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - AttributeName: pk
          AttributeType: S
      KeySchema:
        - AttributeName: pk
          KeyType: HASH
  Logs:
    Type: AWS::Logs::LogGroup
    DeletionPolicy: Retain
    Properties:
      LogGroupName: !Sub /aws/vendedlogs/Orders/${Orders}
      RetentionInDays: 365
"""


def test_rename_value_leaves_literal_text_of_a_sub_alone():
    value = Unknown("Fn::Sub /aws/vendedlogs/Orders/${Orders}", frozenset({"Orders"}))
    assert rename_value(value, {"Orders": "OrdersTable"}) == Unknown(
        "Fn::Sub /aws/vendedlogs/Orders/${OrdersTable}", frozenset({"OrdersTable"})
    )


def test_rename_with_the_old_id_as_literal_text_in_a_sub_is_not_blocked(tmp_path):
    """GIVEN table Orders renamed OrdersTable, and a log group named
    `!Sub /aws/vendedlogs/Orders/${Orders}` -> `.../Orders/${OrdersTable}` (the same
    name: the refactor template renames only the reference) WHEN planned THEN a
    REFACTOR with nothing else to change. Today the diff after the refactor sees
    `/aws/vendedlogs/OrdersTable/${OrdersTable}` and blocks a replacement of Logs."""
    desired = ORDERS.replace("  Orders:\n", "  OrdersTable:\n").replace(
        "${Orders}", "${OrdersTable}"
    )
    files = {"templates/t.yml": desired, "desired-state/t.yml": stack_file("orders", "t.yml")}
    p = plan(tmp_path, files, {"orders": ORDERS}, [live_stack("orders")])["orders"]
    logs = body(p, "orders")["Resources"]["Logs"]["Properties"]["LogGroupName"]
    assert logs == {"Fn::Sub": "/aws/vendedlogs/Orders/${OrdersTable}"}  # holds today
    assert p.action is Action.REFACTOR, p.reason
    assert p.changes == ()
