"""Stack refactoring instead of a data-loss block (issue 20, docs/guard.md section 4), end to
end on the local AWS: `reconciler plan` and `reconciler apply` in-process, and the push
handler, against the emulated CreateStackRefactor / ListStackRefactorActions /
ExecuteStackRefactor of `localaws.stack_refactor`.

Each scenario is deployed, changed and applied once by a module-scoped fixture, which keeps
what the tests look at (CLI results, the services' own view of the resources, the status
record, the audit trail, the notifications received on the bus); the tests assert on it.
Every scenario uses its own stacks; the status table, the audit trail and the notification
bus are shared, so each is read per stack, and right after the scenario's own passes (a
later pass over another repository records this scenario's stacks as orphaned).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import time
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from harness.inbox import NotificationInbox, Received
from localaws import stack_refactor
from localaws.lambda_context import LambdaContext
from localaws.server import LocalAws
from reconciler import HASH_TAG
from reconciler.audit import AuditRecord
from reconciler.aws import session
from reconciler.aws.audit import DEFAULT_TABLE as AUDIT_TABLE
from reconciler.aws.audit import DynamoAuditLog
from reconciler.aws.dynamodb import DEFAULT_TABLE as STATUS_TABLE
from reconciler.aws.dynamodb import DynamoStatusStore
from reconciler.cli import main
from reconciler.status import StackStatus
from reconciler.yamlfile import parse
from tests.repo import commit, git, make_repo

pytestmark = pytest.mark.integration
PROJECT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
BUS = "refactor-notifications"
REFACTORED = "Stack Refactored"
BLOCKED = "Reconcile Blocked"
POLICY_REASON = (
    "Stack refactor doesn't support stacks that have stack policies attached, regardless of "
    "what the policies allow or deny."
)

# The templates are minimal on purpose (a 30-day log group, no encryption): what is under
# test is the refactor, not the PCI controls.
SUPPRESS = {
    rule: "a minimal template for the refactor tests"
    for rule in (
        "PCI001", "PCI002", "PCI003", "PCI004", "PCI005", "PCI006", "PCI007", "PCI008",
        "PCI009", "PCI011",
    )
}  # fmt: skip


# --- templates and stack files -------------------------------------------------------------


def anchor(stack: str) -> str:
    """A resource that stays in its stack (CloudFormation refuses to leave a stack empty)."""
    return f"""\
  Anchor:
    Type: AWS::SSM::Parameter
    Properties:
      Name: /{stack}/anchor
      Type: String
      Value: anchor
"""


def log_group(logical_id: str, name: str, retention: str | int = 30) -> str:
    return f"""\
  {logical_id}:
    Type: AWS::Logs::LogGroup
    DeletionPolicy: Retain
    UpdateReplacePolicy: Retain
    Properties:
      LogGroupName: {name}
      RetentionInDays: {retention}
"""


RETENTION_PARAMETER = """\
Parameters:
  Retention:
    Type: Number
"""


def template(*resources: str, parameters: str = "") -> str:
    return parameters + "Resources:\n" + "".join(resources)


def stack_file(name: str, parameters: dict[str, str] | None = None, refactor: bool = True) -> str:
    body = {
        "template-file-path": f"templates/{name}.yml",
        "stack-name": name,
        "region": REGION,
        "parameters": parameters or {},
        "refactor": refactor,
        "suppress": SUPPRESS,
    }
    return json.dumps(body, indent=2)  # JSON is YAML


def move(resource_type: str, source: tuple[str, str], destination: tuple[str, str]) -> dict:
    """A move as `plan --json` and the audit trail write it."""
    return {
        "resource_type": resource_type,
        "source": {"stack_name": source[0], "logical_id": source[1]},
        "destination": {"stack_name": destination[0], "logical_id": destination[1]},
    }


# --- the local AWS, the CLI and what they record -------------------------------------------


@pytest.fixture(scope="module")
def aws(local_aws: LocalAws) -> Iterator[LocalAws]:
    """The CLI and the handlers pointed at the module's local AWS, notifying on BUS, with
    nothing from the developer's AWS configuration."""
    with pytest.MonkeyPatch.context() as patch:
        for name in [
            n
            for n in os.environ
            if n.startswith(("AWS_", "RECONCILER_", "NOTIFY_", "LOCALAWS_"))
            and n != "RECONCILER_CACHE_DIR"
        ]:
            patch.delenv(name)
        for name, value in local_aws.env().items():
            patch.setenv(name, value)
        patch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
        patch.setenv("NOTIFY_EVENT_BUS", BUS)
        session.reset_clients()
        yield local_aws
    session.reset_clients()


@pytest.fixture(scope="module")
def client(aws: LocalAws) -> Callable[[str], Any]:
    made: dict[str, Any] = {}

    def make(service: str) -> Any:
        if service not in made:
            made[service] = boto3.client(service, endpoint_url=aws.endpoint_url, region_name=REGION)
        return made[service]

    return make


class Mailbox:
    """Everything received on the notification bus, kept across scenarios (one drain may
    receive another scenario's notifications)."""

    def __init__(self, inbox: NotificationInbox) -> None:
        self._inbox = inbox
        self._received: list[Received] = []
        self._read: dict[str, int] = {}

    def new(self, stack: str) -> list[tuple[str, str]]:
        """(kind, message) of each notification about `stack` received since the last
        call for `stack`, oldest first."""
        self._received += self._inbox.receive()
        mine = [(n.kind, n.message) for n in self._received if n.stack == stack]
        seen, self._read[stack] = self._read.get(stack, 0), len(mine)
        return mine[seen:]


@pytest.fixture(scope="module")
def mailbox(aws: LocalAws, client: Callable[[str], Any]) -> Mailbox:
    """Subscribed before any scenario applies anything."""
    return Mailbox(NotificationInbox(client, BUS))


@dataclass(frozen=True)
class Cli:
    exit_code: int
    out: str
    err: str

    def row(self, stack: str) -> tuple[str, str, str]:
        """(action, outcome, message) of the stack's line in apply's results table."""
        for line in self.out.splitlines():
            if line.startswith(f"{stack} "):
                _, action, outcome, message = re.split(r"\s{2,}", line.rstrip(), maxsplit=3)
                return action, outcome, message
        raise AssertionError(f"no result for {stack}:\n{self.out}\n{self.err}")

    def planned(self, stack: str) -> dict[str, Any]:
        """The stack's entry in `plan --json` output."""
        stacks = {s["stack_name"]: s for s in json.loads(self.out)["stacks"]}
        assert stack in stacks, self.out + self.err
        return stacks[stack]


def cli(*args: str) -> Cli:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return Cli(code, out.getvalue(), err.getvalue())


def apply(root: Path) -> Cli:
    return cli("apply", "--wait", str(root))


def plan(root: Path) -> Cli:
    return cli("plan", "--json", str(root))


def deploy(root: Path, files: dict[str, str]) -> None:
    make_repo(root, files, defaults=False)
    applied = apply(root)
    assert applied.exit_code == 0, applied.out + applied.err


def deploy_logs(tmp_path_factory: Any, name: str, **stack_options: Any) -> tuple[Path, str]:
    """A stack `name` with an anchor and a log group `Logs`, deployed from a repository of
    its own: the repository's root and the log group's name."""
    group_name = f"/refactor/{name}/logs"
    root = tmp_path_factory.mktemp(name)
    deploy(
        root,
        {
            f"templates/{name}.yml": template(anchor(name), log_group("Logs", group_name)),
            f"desired-state/{name}.yml": stack_file(name, **stack_options),
        },
    )
    return root, group_name


def physical_ids(client: Callable[[str], Any], stack: str) -> dict[str, str]:
    listed = client("cloudformation").describe_stack_resources(StackName=stack)["StackResources"]
    return {r["LogicalResourceId"]: r.get("PhysicalResourceId", "") for r in listed}


def stack_status(client: Callable[[str], Any], stack: str) -> str:
    return client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]


def stack_id(client: Callable[[str], Any], stack: str) -> str:
    return client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]["StackId"]


def deployed_template(client: Callable[[str], Any], stack: str) -> dict[str, Any]:
    body = client("cloudformation").get_template(StackName=stack)["TemplateBody"]
    return parse(body)[0] if isinstance(body, str) else json.loads(json.dumps(body))


def log_groups(client: Callable[[str], Any], name: str) -> list[dict[str, Any]]:
    """The log groups CloudWatch Logs has under `name` (as a prefix)."""
    found = client("logs").describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    keep = ("logGroupName", "arn", "creationTime", "retentionInDays")
    return [{k: g.get(k) for k in keep} for g in found]


def refactors_of(client: Callable[[str], Any], stack: str) -> list[dict[str, str]]:
    """Every stack refactor (ListStackRefactors) whose stacks include `stack`, as
    DescribeStackRefactor describes it."""
    cfn = client("cloudformation")
    mine = stack_id(client, stack)
    found = []
    for page in cfn.get_paginator("list_stack_refactors").paginate():
        for summary in page["StackRefactorSummaries"]:
            described = cfn.describe_stack_refactor(StackRefactorId=summary["StackRefactorId"])
            if mine in described.get("StackIds", []):
                keep = ("StackRefactorId", "Description", "Status", "ExecutionStatus")
                found.append({k: described.get(k, "") for k in (*keep, "StatusReason")})
    return found


def all_refactor_ids(client: Callable[[str], Any]) -> set[str]:
    pages = client("cloudformation").get_paginator("list_stack_refactors").paginate()
    return {s["StackRefactorId"] for page in pages for s in page["StackRefactorSummaries"]}


def status_of(client: Callable[[str], Any], stack: str) -> StackStatus:
    store = DynamoStatusStore(STATUS_TABLE, REGION, client=client("dynamodb"))
    found = store.get(stack)
    assert found is not None, f"no status record for {stack}"
    return found


def lease_owner(client: Callable[[str], Any], stack: str) -> str:
    item = client("dynamodb").get_item(
        TableName=STATUS_TABLE, Key={"stack_name": {"S": stack}}, ConsistentRead=True
    )["Item"]
    return item.get("lease_owner", {}).get("S", "")


def trail(client: Callable[[str], Any], stack: str) -> list[AuditRecord]:
    return DynamoAuditLog(AUDIT_TABLE, REGION, client=client("dynamodb")).read(stack)


def events_of(records: list[AuditRecord], event: str) -> list[AuditRecord]:
    return [r for r in records if str(r.event) == event]


# --- 1. the PCI stack: Database -> PrimaryDatabase, EncryptionKey -> DataKey -----------------

PCI = "pci-db-dev"
PCI_RENAMES = (("Database", "PrimaryDatabase"), ("EncryptionKey", "DataKey"))
PCI_MOVES = [
    move("AWS::RDS::DBInstance", (PCI, "Database"), (PCI, "PrimaryDatabase")),
    move("AWS::KMS::Key", (PCI, "EncryptionKey"), (PCI, "DataKey")),
]
PCI_MAPPING = (
    "Database -> PrimaryDatabase (AWS::RDS::DBInstance, pci-db-dev); "
    "EncryptionKey -> DataKey (AWS::KMS::Key, pci-db-dev)"
)


def renamed_pci(text: str) -> str:
    """The logical ids renamed everywhere (definitions, Ref, GetAtt), as the demo does."""
    for old, new in PCI_RENAMES:
        text = re.sub(rf"\b{old}\b(?=[:.\s]|$)", new, text, flags=re.M)
    return text


@dataclass
class PciRename:
    plan: Cli
    applied: Cli
    replan: Cli
    again: Cli
    desired: str
    ids_before: dict[str, str]
    ids_after: dict[str, str]
    db_before: dict[str, Any]
    db_after: dict[str, Any]
    key_before: dict[str, Any]
    key_after: dict[str, Any]
    counts_before: tuple[int, int]  # (DB instances, KMS keys)
    counts_after: tuple[int, int]
    stack_status: str
    hash_tag: str
    template: dict[str, Any]
    status: StackStatus
    trail: list[AuditRecord]
    notified: list[tuple[str, str]]
    refactors: list[dict[str, str]]
    refactors_again: list[dict[str, str]]
    notified_again: list[tuple[str, str]]
    trail_again: list[AuditRecord]


@pytest.fixture(scope="module")
def pci(aws, client, mailbox, tmp_path_factory) -> PciRename:
    """pci-db-dev from the repository's files deployed with `reconciler apply --wait`;
    then the two logical ids renamed, planned, applied, planned and applied again."""
    rds, kms = client("rds"), client("kms")
    root = tmp_path_factory.mktemp("pci")
    (root / "desired-state").mkdir()
    (root / "templates").mkdir()
    shutil.copy(PROJECT / "desired-state" / f"{PCI}.yml", root / "desired-state")
    shutil.copy(PROJECT / "templates" / "pci-database.yml", root / "templates")
    from harness.demo import upload_rotation_code

    upload_rotation_code(lambda region: client("s3"), root)
    applied = apply(root)
    assert applied.exit_code == 0, applied.out + applied.err

    def identities(ids: dict[str, str], db_id: str, key_id: str) -> tuple[dict, dict]:
        db = rds.describe_db_instances(DBInstanceIdentifier=ids[db_id])["DBInstances"][0]
        key = kms.describe_key(KeyId=ids[key_id])["KeyMetadata"]
        db_fields = ("DBInstanceIdentifier", "DbiResourceId", "DBInstanceArn", "KmsKeyId")
        return {k: db[k] for k in db_fields}, {k: key[k] for k in ("KeyId", "Arn")}

    def counts() -> tuple[int, int]:
        return len(rds.describe_db_instances()["DBInstances"]), len(kms.list_keys()["Keys"])

    ids_before = physical_ids(client, PCI)
    db_before, key_before = identities(ids_before, "Database", "EncryptionKey")
    counts_before = counts()
    mailbox.new(PCI)  # what the deployment notified: not the refactor's

    path = root / "templates" / "pci-database.yml"
    desired = renamed_pci(path.read_text())
    path.write_text(desired)
    planned = plan(root)
    applied = apply(root)
    ids_after = physical_ids(client, PCI)
    db_after, key_after = identities(ids_after, "PrimaryDatabase", "DataKey")
    tags = client("cloudformation").describe_stacks(StackName=PCI)["Stacks"][0]["Tags"]
    replanned, counts_after, status_after = plan(root), counts(), stack_status(client, PCI)
    template_after, status = deployed_template(client, PCI), status_of(client, PCI)
    records, notified, refactors = trail(client, PCI), mailbox.new(PCI), refactors_of(client, PCI)
    again = apply(root)
    return PciRename(
        plan=planned,
        applied=applied,
        replan=replanned,
        again=again,
        desired=desired,
        ids_before=ids_before,
        ids_after=ids_after,
        db_before=db_before,
        db_after=db_after,
        key_before=key_before,
        key_after=key_after,
        counts_before=counts_before,
        counts_after=counts_after,
        stack_status=status_after,
        hash_tag={t["Key"]: t["Value"] for t in tags}.get(HASH_TAG, ""),
        template=template_after,
        status=status,
        trail=records,
        notified=notified,
        refactors=refactors,
        refactors_again=refactors_of(client, PCI),
        notified_again=mailbox.new(PCI),
        trail_again=trail(client, PCI),
    )


def test_plan_shows_the_pci_rename_as_a_refactor_with_exactly_the_two_moves(pci):
    """GIVEN pci-db-dev deployed WHEN Database and EncryptionKey are renamed in the template
    THEN `plan --json` says refactor, with exactly the two moves and no resource change"""
    entry = pci.plan.planned(PCI)
    assert pci.plan.exit_code == 0, pci.plan.out + pci.plan.err
    assert entry["action"] == "refactor"
    assert entry["refactor"] == PCI_MOVES
    assert entry["changes"] == []
    assert entry["reason"] == f"refactor ({PCI_MAPPING}), then no resource changes"


def test_applying_the_pci_rename_keeps_the_same_rds_instance_and_kms_key(pci):
    """GIVEN the rename planned WHEN applied THEN the RDS instance (identifier,
    DbiResourceId, ARN, key) and the KMS key (id, ARN) are the very ones deployed, and no
    second instance or key was made"""
    assert pci.applied.exit_code == 0, pci.applied.out + pci.applied.err
    assert pci.db_after == pci.db_before
    assert pci.db_after["DBInstanceIdentifier"] == "pci-mysql-dev"
    assert pci.key_after == pci.key_before
    assert pci.counts_after == pci.counts_before
    assert pci.counts_after[0] == 1


def test_the_pci_resources_are_filed_under_their_new_logical_ids(pci):
    """GIVEN the rename applied THEN DescribeStackResources lists PrimaryDatabase and DataKey
    with the old physical ids, no Database or EncryptionKey, and every other resource as it
    was; the deployed template is the desired one"""
    renames = dict(PCI_RENAMES)
    expected = {renames.get(k, k): v for k, v in pci.ids_before.items()}
    assert pci.ids_after == expected
    assert pci.ids_after["PrimaryDatabase"] == pci.ids_before["Database"] == "pci-mysql-dev"
    assert pci.ids_after["DataKey"] == pci.ids_before["EncryptionKey"]
    assert not {"Database", "EncryptionKey"} & pci.ids_after.keys()
    assert pci.stack_status == "UPDATE_COMPLETE"
    assert pci.template == parse(pci.desired)[0]


def test_after_the_pci_refactor_the_stack_is_in_sync(pci):
    """GIVEN the rename applied THEN the stack carries the new desired hash and a second plan
    says none"""
    assert pci.hash_tag == pci.plan.planned(PCI)["desired_hash"]
    assert pci.replan.exit_code == 0
    assert pci.replan.planned(PCI)["action"] == "none"
    assert pci.status.sync.value == "Synced"
    assert pci.status.desired_hash == pci.hash_tag


def test_the_pci_refactor_is_recorded_in_status_audit_and_notification(pci):
    """GIVEN the rename applied THEN the status record's refactor names the refactor and both
    moves, the audit trail has one refactored record with the refactor id and the moves,
    and one Stack Refactored notification was sent"""
    (refactor,) = pci.refactors
    refactor_id = refactor["StackRefactorId"]
    assert pci.status.refactor == f"{refactor_id}: {PCI_MAPPING}"
    message = f"refactored by stack refactor {refactor_id}: {PCI_MAPPING}; the change set follows"
    (record,) = events_of(pci.trail, "refactored")
    assert (record.stack, record.message) == (PCI, message)
    assert record.detail == {"refactor_id": refactor_id, "moves": PCI_MOVES}
    assert [n for n in pci.notified if n[0] == REFACTORED] == [(REFACTORED, message)]


def test_the_pci_rename_makes_one_refactor_and_applying_again_makes_none(pci):
    """GIVEN the rename applied THEN ListStackRefactors shows exactly one refactor of the
    stack, EXECUTE_COMPLETE; WHEN applied again THEN nothing changes: no second refactor,
    no notification, no new audit record"""
    (refactor,) = pci.refactors
    assert (refactor["Status"], refactor["ExecutionStatus"]) == (
        "CREATE_COMPLETE",
        "EXECUTE_COMPLETE",
    )
    assert refactor["Description"].startswith("gitops-refactor-")
    assert pci.again.exit_code == 0, pci.again.out + pci.again.err
    assert pci.again.row(PCI)[:2] == ("none", "unchanged")
    assert pci.refactors_again == pci.refactors
    assert pci.notified_again == []
    assert len(pci.trail_again) == len(pci.trail)


# --- 2. a log group moved between two managed stacks ----------------------------------------


@dataclass
class CrossMove:
    variant: str
    source: str
    destination: str
    group_name: str
    retention: int  # what the log group should end with
    plan: Cli
    applied: Cli
    replan: Cli
    groups_before: list[dict[str, Any]]
    groups_after: list[dict[str, Any]]
    ids: dict[str, dict[str, str]]  # stack -> logical id -> physical id, after
    stack_statuses: dict[str, str]
    statuses: dict[str, StackStatus]
    trails: dict[str, list[AuditRecord]]
    notified: dict[str, list[tuple[str, str]]]
    refactors: list[dict[str, str]]

    @property
    def moves(self) -> list[dict]:
        return [
            move("AWS::Logs::LogGroup", (self.source, "Logs"), (self.destination, "Logs")),
        ]

    @property
    def mapping(self) -> str:
        return f"{self.source}/Logs -> {self.destination}/Logs (AWS::Logs::LogGroup)"


# variant -> (the destination's template fragment, its parameters, the retention it ends with)
CROSS_VARIANTS = {
    "literal": ("", None, 30),
    "parameter-equal-to-the-literal": (RETENTION_PARAMETER, {"Retention": "30"}, 30),
    "retention-changes-too": ("", None, 90),
}


@pytest.fixture(scope="module", params=list(CROSS_VARIANTS))
def cross(request, aws, client, mailbox, tmp_path_factory) -> CrossMove:
    """Two stacks: the source with an SSM parameter and a log group (literal name, 30 days),
    the destination with an SSM parameter; then the log group's definition moved into the
    destination's template (as written by the variant), planned, applied, planned again."""
    variant = request.param
    parameters_text, parameters, retention = CROSS_VARIANTS[variant]
    short = {"literal": "lit", "parameter-equal-to-the-literal": "par"}.get(variant, "ret")
    source, destination = f"mv-{short}-source", f"mv-{short}-target"
    group_name = f"/refactor/{source}/audit"
    root = tmp_path_factory.mktemp(f"cross-{short}")
    deploy(
        root,
        {
            f"templates/{source}.yml": template(anchor(source), log_group("Logs", group_name)),
            f"templates/{destination}.yml": template(anchor(destination)),
            f"desired-state/{source}.yml": stack_file(source),
            f"desired-state/{destination}.yml": stack_file(destination),
        },
    )
    groups_before = log_groups(client, group_name)
    for stack in (source, destination):
        mailbox.new(stack)

    if parameters_text:
        moved = log_group("Logs", group_name, "!Ref Retention")
    else:
        moved = log_group("Logs", group_name, retention)
    make_repo(
        root,
        {
            f"templates/{source}.yml": template(anchor(source)),
            f"templates/{destination}.yml": template(
                anchor(destination), moved, parameters=parameters_text
            ),
            f"desired-state/{destination}.yml": stack_file(destination, parameters),
        },
        defaults=False,
    )
    planned = plan(root)
    applied = apply(root)
    stacks = (source, destination)
    return CrossMove(
        variant=variant,
        source=source,
        destination=destination,
        group_name=group_name,
        retention=retention,
        plan=planned,
        applied=applied,
        replan=plan(root),
        groups_before=groups_before,
        groups_after=log_groups(client, group_name),
        ids={s: physical_ids(client, s) for s in stacks},
        stack_statuses={s: stack_status(client, s) for s in stacks},
        statuses={s: status_of(client, s) for s in stacks},
        trails={s: trail(client, s) for s in stacks},
        notified={s: mailbox.new(s) for s in stacks},
        refactors=refactors_of(client, source),
    )


def test_plan_shows_the_same_cross_stack_move_on_both_stacks(cross):
    """GIVEN a log group's definition moved from one managed stack's template to another's
    WHEN planned THEN both stacks say refactor with the same move; only a changed retention
    is a change, a Modify in place of the destination after the refactor"""
    assert cross.plan.exit_code == 0, cross.plan.out + cross.plan.err
    source, destination = (cross.plan.planned(s) for s in (cross.source, cross.destination))
    assert (source["action"], destination["action"]) == ("refactor", "refactor")
    assert source["refactor"] == destination["refactor"] == cross.moves
    assert source["changes"] == []
    assert source["reason"] == f"refactor ({cross.mapping}), then no resource changes"
    if cross.variant == "retention-changes-too":
        (change,) = destination["changes"]
        assert change == {
            "logical_id": "Logs",
            "resource_type": "AWS::Logs::LogGroup",
            "action": "Modify",
            "replacement": "False",
            "properties": ["RetentionInDays"],
            "causes": [],
            "refused": [],
        }
        assert destination["reason"] == f"refactor ({cross.mapping}), then 1 to modify"
    else:
        assert destination["changes"] == []
        assert destination["reason"] == f"refactor ({cross.mapping}), then no resource changes"


def test_applying_the_move_keeps_the_same_log_group(cross):
    """GIVEN the move planned WHEN applied THEN exactly one log group has the name, with the
    ARN and creation time it was created with; its retention is the desired one, read back
    from CloudWatch Logs"""
    assert cross.applied.exit_code == 0, cross.applied.out + cross.applied.err
    (before,) = cross.groups_before
    (after,) = cross.groups_after
    assert before["retentionInDays"] == 30
    assert after == {**before, "retentionInDays": cross.retention}


def test_the_moved_log_group_is_filed_in_the_destination_only(cross):
    """GIVEN the move applied THEN DescribeStackResources lists the log group in the
    destination, not in the source, and both stacks end UPDATE_COMPLETE"""
    assert cross.ids[cross.source] == {"Anchor": f"/{cross.source}/anchor"}
    assert cross.ids[cross.destination] == {
        "Anchor": f"/{cross.destination}/anchor",
        "Logs": cross.group_name,
    }
    assert cross.stack_statuses == {
        cross.source: "UPDATE_COMPLETE",
        cross.destination: "UPDATE_COMPLETE",
    }


def test_both_stacks_are_in_sync_after_the_move(cross):
    """GIVEN the move applied THEN a second plan says none for both stacks, and both are
    recorded Synced"""
    assert cross.replan.exit_code == 0
    for stack in (cross.source, cross.destination):
        assert cross.replan.planned(stack)["action"] == "none", stack
        assert cross.statuses[stack].sync.value == "Synced", stack


def test_the_move_is_recorded_once_on_each_stack(cross):
    """GIVEN the move applied THEN one refactor (EXECUTE_COMPLETE) touched the stacks, and
    each stack's status, audit trail (one refactored record) and notifications (one Stack
    Refactored) name it"""
    (refactor,) = cross.refactors
    assert refactor["ExecutionStatus"] == "EXECUTE_COMPLETE"
    refactor_id = refactor["StackRefactorId"]
    message = f"refactored by stack refactor {refactor_id}: {cross.mapping}; the change set follows"
    for stack in (cross.source, cross.destination):
        assert cross.statuses[stack].refactor == f"{refactor_id}: {cross.mapping}", stack
        (record,) = events_of(cross.trails[stack], "refactored")
        assert record.message == message
        assert record.detail == {"refactor_id": refactor_id, "moves": cross.moves}
        assert [n for n in cross.notified[stack] if n[0] == REFACTORED] == [(REFACTORED, message)]


# --- 3 and 4. renames that are still blocked --------------------------------------------------


@dataclass
class Blocked:
    name: str
    plan: Cli
    applied: Cli
    refactors_before: set[str]
    refactors_after: set[str]
    ids_before: dict[str, str]
    ids_after: dict[str, str]
    groups_before: list[dict[str, Any]]
    groups_after: list[dict[str, Any]]
    template_before: dict[str, Any]
    template_after: dict[str, Any]
    stack_status: str
    change_sets: list[dict[str, Any]]
    status: StackStatus
    trail: list[AuditRecord]
    notified: list[tuple[str, str]]

    @property
    def reason(self) -> str:
        return (
            "Logs (AWS::Logs::LogGroup) would be deleted: it is no longer in the template "
            f"(list 'Logs' under allow-replacement in desired-state/{self.name}.yml to allow it)"
        )


BLOCKED_VARIANTS = ("rename-and-log-group-name-change", "refactor-false")


@pytest.fixture(scope="module", params=BLOCKED_VARIANTS)
def blocked(request, aws, client, mailbox, tmp_path_factory) -> Blocked:
    """A stack with a log group `Logs`, renamed to `AuditLogs` either with its LogGroupName
    (create-only) changed too, or unchanged in a stack file that says `refactor: false`."""
    off = request.param == "refactor-false"
    name = "rf-off" if off else "rf-renamed-and-named"
    root, group_name = deploy_logs(tmp_path_factory, name, refactor=not off)
    mailbox.new(name)
    ids_before, groups_before = physical_ids(client, name), log_groups(client, group_name)
    template_before = deployed_template(client, name)
    new_name = group_name if off else f"/refactor/{name}/audit"
    changed = template(anchor(name), log_group("AuditLogs", new_name))
    make_repo(root, {f"templates/{name}.yml": changed}, defaults=False)
    refactors_before = all_refactor_ids(client)
    planned = plan(root)
    applied = apply(root)
    return Blocked(
        name=name,
        plan=planned,
        applied=applied,
        refactors_before=refactors_before,
        refactors_after=all_refactor_ids(client),
        ids_before=ids_before,
        ids_after=physical_ids(client, name),
        groups_before=groups_before,
        groups_after=log_groups(client, group_name),
        template_before=template_before,
        template_after=deployed_template(client, name),
        stack_status=stack_status(client, name),
        change_sets=client("cloudformation").list_change_sets(StackName=name)["Summaries"],
        status=status_of(client, name),
        trail=trail(client, name),
        notified=mailbox.new(name),
    )


def test_a_rename_that_cannot_be_refactored_is_blocked_as_before(blocked):
    """GIVEN a log group renamed together with its LogGroupName (a new physical resource),
    or renamed in a stack whose file says refactor: false
    WHEN planned and applied THEN it is blocked with the removal and the allow-replacement
    hint, and no refactor is planned"""
    entry = blocked.plan.planned(blocked.name)
    assert blocked.plan.exit_code == 1
    assert (entry["action"], entry["refactor"], entry["reason"]) == ("blocked", [], blocked.reason)
    assert blocked.applied.exit_code == 1, blocked.applied.out + blocked.applied.err
    assert blocked.applied.row(blocked.name) == ("blocked", "blocked", blocked.reason)
    assert (blocked.status.sync.value, blocked.status.message) == ("Blocked", blocked.reason)
    assert blocked.status.refactor == ""
    assert [r.message for r in events_of(blocked.trail, "blocked")] == [blocked.reason]
    assert events_of(blocked.trail, "refactored") == []
    assert blocked.notified == [(BLOCKED, blocked.reason)]


def test_a_blocked_rename_makes_no_refactor_and_touches_nothing(blocked):
    """GIVEN the blocked rename applied THEN no stack refactor was created, the stack, its
    template and the log group are as deployed, and no change set is left"""
    assert blocked.refactors_after == blocked.refactors_before
    assert blocked.ids_after == blocked.ids_before
    assert blocked.groups_after == blocked.groups_before
    assert len(blocked.groups_after) == 1
    assert blocked.template_after == blocked.template_before
    assert blocked.stack_status == "CREATE_COMPLETE"
    assert blocked.change_sets == []


# --- 5. a refactor CloudFormation refuses ----------------------------------------------------


@dataclass
class Refused:
    name: str
    stack_id: str
    applied: Cli
    again: Cli
    refactors: list[dict[str, str]]
    refactors_again: list[dict[str, str]]
    ids_before: dict[str, str]
    ids_after: dict[str, str]
    groups_before: list[dict[str, Any]]
    groups_after: list[dict[str, Any]]
    template_before: dict[str, Any]
    template_after: dict[str, Any]
    stack_status: str
    change_sets: list[dict[str, Any]]
    status: StackStatus
    trail: list[AuditRecord]
    trail_again: list[AuditRecord]
    notified: list[tuple[str, str]]
    notified_again: list[tuple[str, str]]

    @property
    def mapping(self) -> str:
        return f"Logs -> AuditLogs (AWS::Logs::LogGroup, {self.name})"


@pytest.fixture(scope="module")
def refused(aws, client, mailbox, tmp_path_factory) -> Refused:
    """A stack with a stack policy (the user guide: such stacks cannot be refactored), its
    log group renamed (a pure rename), applied twice."""
    name = "rf-policy"
    root, group_name = deploy_logs(tmp_path_factory, name)
    mailbox.new(name)
    allow_all = {
        "Statement": [{"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"}]
    }
    client("cloudformation").set_stack_policy(StackName=name, StackPolicyBody=json.dumps(allow_all))
    ids_before, groups_before = physical_ids(client, name), log_groups(client, group_name)
    template_before = deployed_template(client, name)
    renamed = template(anchor(name), log_group("AuditLogs", group_name))
    make_repo(root, {f"templates/{name}.yml": renamed}, defaults=False)
    applied = apply(root)
    refactors, status = refactors_of(client, name), status_of(client, name)
    records, notified = trail(client, name), mailbox.new(name)
    again = apply(root)
    return Refused(
        name=name,
        stack_id=stack_id(client, name),
        applied=applied,
        again=again,
        refactors=refactors,
        refactors_again=refactors_of(client, name),
        ids_before=ids_before,
        ids_after=physical_ids(client, name),
        groups_before=groups_before,
        groups_after=log_groups(client, group_name),
        template_before=template_before,
        template_after=deployed_template(client, name),
        stack_status=stack_status(client, name),
        change_sets=client("cloudformation").list_change_sets(StackName=name)["Summaries"],
        status=status,
        trail=records,
        trail_again=trail(client, name),
        notified=notified,
        notified_again=mailbox.new(name),
    )


def test_a_refactor_cloudformation_refuses_blocks_with_its_reason(refused):
    """GIVEN a pure rename in a stack with a stack policy WHEN applied THEN CloudFormation's
    validation refuses the refactor (CREATE_FAILED), and the stack is blocked with its
    reason and the refactor id: in the output, the status, a blocked audit record and a
    Reconcile Blocked notification"""
    (refactor,) = refused.refactors
    refactor_id = refactor["StackRefactorId"]
    assert (refactor["Status"], refactor["ExecutionStatus"]) == ("CREATE_FAILED", "UNAVAILABLE")
    assert refactor["StatusReason"] == f"{refused.stack_id}: {POLICY_REASON}"
    message = (
        f"stack refactor {refactor_id} ({refused.mapping}) refused: "
        f"{refactor['StatusReason']}; nothing was moved or deleted"
    )
    assert refused.applied.exit_code == 1, refused.applied.out + refused.applied.err
    assert refused.applied.row(refused.name) == ("refactor", "blocked", message)
    assert (refused.status.sync.value, refused.status.phase.value) == ("Blocked", "blocked")
    assert refused.status.message == message
    (record,) = events_of(refused.trail, "blocked")
    assert record.message == message
    moves = [move("AWS::Logs::LogGroup", (refused.name, "Logs"), (refused.name, "AuditLogs"))]
    assert record.detail == {"refactor_id": refactor_id, "moves": moves}
    assert events_of(refused.trail, "refactored") == []
    assert refused.notified == [(BLOCKED, message)]


def test_a_refused_refactor_moves_and_deletes_nothing(refused):
    """GIVEN the refused refactor THEN the log group is still `Logs`, the same log group,
    the template is the deployed one, and no change set was made"""
    assert (
        refused.ids_after
        == refused.ids_before
        == {
            "Anchor": f"/{refused.name}/anchor",
            "Logs": f"/refactor/{refused.name}/logs",
        }
    )
    assert refused.groups_after == refused.groups_before
    assert len(refused.groups_after) == 1
    assert refused.template_after == refused.template_before
    assert refused.stack_status == "CREATE_COMPLETE"
    assert refused.change_sets == []


def test_applying_a_refused_refactor_again_makes_no_new_refactor_and_says_nothing_new(refused):
    """GIVEN the refused refactor WHEN applied again at the same inputs THEN the same
    refactor is found by its description (no second CreateStackRefactor), the stack is
    blocked with the same message, and nothing new is recorded or notified"""
    assert refused.again.exit_code == 1
    assert refused.again.row(refused.name) == refused.applied.row(refused.name)
    assert refused.refactors_again == refused.refactors
    assert len(refused.trail_again) == len(refused.trail)
    assert refused.notified_again == []


# --- 6. two passes racing: the partner stack's lease is held elsewhere ----------------------


@dataclass
class Raced:
    source: str
    destination: str
    held: Cli
    lease_owners_while_held: dict[str, str]
    refactors_while_held: list[dict[str, str]]
    ids_while_held: dict[str, dict[str, str]]
    deferred_revision: str
    released_with_deferral: bool
    applied: Cli
    refactors: list[dict[str, str]]
    ids: dict[str, dict[str, str]]


@pytest.fixture(scope="module")
def raced(aws, client, tmp_path_factory) -> Raced:
    """A log group moved from lease-a-source to lease-b-target while another owner holds
    the target's lease (as a pass running elsewhere would); applied, then the lease
    released and applied again."""
    source, destination = "lease-a-source", "lease-b-target"
    group_name = f"/refactor/{source}/audit"
    root = tmp_path_factory.mktemp("lease")
    deploy(
        root,
        {
            f"templates/{source}.yml": template(anchor(source), log_group("Logs", group_name)),
            f"templates/{destination}.yml": template(anchor(destination)),
            f"desired-state/{source}.yml": stack_file(source),
            f"desired-state/{destination}.yml": stack_file(destination),
        },
    )
    make_repo(
        root,
        {
            f"templates/{source}.yml": template(anchor(source)),
            f"templates/{destination}.yml": template(
                anchor(destination), log_group("Logs", group_name)
            ),
        },
        defaults=False,
    )
    store = DynamoStatusStore(STATUS_TABLE, REGION, client=client("dynamodb"))
    assert store.acquire(destination, "another-pass", 600)
    held = apply(root)
    stacks = (source, destination)
    while_held = {s: lease_owner(client, s) for s in stacks}
    refactors_while_held = refactors_of(client, source)
    ids_while_held = {s: physical_ids(client, s) for s in stacks}
    deferred = status_of(client, destination).deferred_revision
    released = store.release(destination, "another-pass")
    applied = apply(root)
    return Raced(
        source=source,
        destination=destination,
        held=held,
        lease_owners_while_held=while_held,
        refactors_while_held=refactors_while_held,
        ids_while_held=ids_while_held,
        deferred_revision=deferred,
        released_with_deferral=released,
        applied=applied,
        refactors=refactors_of(client, source),
        ids={s: physical_ids(client, s) for s in stacks},
    )


def test_a_partner_stacks_lease_held_elsewhere_defers_the_refactor(raced):
    """GIVEN another owner holding the lease of the stack a log group moves into WHEN the
    move is applied THEN both stacks are deferred, no stack refactor is created, nothing
    moves, and the pass keeps no lease of its own"""
    message = (
        f"another operation holds the lease of {raced.destination}, which this refactor "
        "touches; deferred until it ends"
    )
    assert raced.held.exit_code == 0, raced.held.out + raced.held.err
    for stack in (raced.source, raced.destination):
        assert raced.held.row(stack) == ("refactor", "deferred", message)
    assert raced.refactors_while_held == []
    assert raced.lease_owners_while_held == {raced.source: "", raced.destination: "another-pass"}
    assert raced.ids_while_held == {
        raced.source: {
            "Anchor": f"/{raced.source}/anchor",
            "Logs": f"/refactor/{raced.source}/audit",
        },
        raced.destination: {"Anchor": f"/{raced.destination}/anchor"},
    }
    assert raced.deferred_revision == "local"  # the lease's holder learns of it on release


def test_once_the_lease_is_released_the_next_apply_refactors(raced):
    """GIVEN the deferred refactor WHEN the other owner releases the lease (told a pass was
    deferred) and apply runs again THEN the log group is moved by one refactor"""
    assert raced.released_with_deferral
    assert raced.applied.exit_code == 0, raced.applied.out + raced.applied.err
    (refactor,) = raced.refactors
    assert refactor["ExecutionStatus"] == "EXECUTE_COMPLETE"
    assert raced.ids == {
        raced.source: {"Anchor": f"/{raced.source}/anchor"},
        raced.destination: {
            "Anchor": f"/{raced.destination}/anchor",
            "Logs": f"/refactor/{raced.source}/audit",
        },
    }


# --- 7. the Lambda path: the push handler ----------------------------------------------------


class Clock:
    """The local AWS's refactor clock (`localaws.stack_refactor._now`) for the whole
    module: the real monotonic clock plus an offset the tests move by hand, so that a
    refactor stays CREATE_IN_PROGRESS / EXECUTE_IN_PROGRESS (LOCALAWS_STACK_REFACTOR_SECONDS)
    until the test moves the clock on. Never moved back: what one scenario's refactors
    show stays consistent for the others."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture(scope="module")
def clock(aws) -> Iterator[Clock]:
    made = Clock()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(stack_refactor, "_now", made)
        yield made


LATENCY = 60  # seconds a refactor is shown in progress, on the moved clock


@dataclass
class Pushed:
    stack: str
    group_name: str
    deliveries: list[dict[str, Any]]  # the handler's answers, in order
    refactors: list[dict[str, str]]
    ids: dict[str, str]
    groups_before: list[dict[str, Any]]
    groups_after: list[dict[str, Any]]
    status: StackStatus
    trail: list[AuditRecord]
    notified: list[tuple[str, str]]

    def outcome(self, delivery: int) -> tuple[str, str, str]:
        (item,) = [s for s in self.deliveries[delivery]["stacks"] if s["stack_name"] == self.stack]
        return item["action"], item["outcome"], item["message"]

    @property
    def mapping(self) -> str:
        return f"Logs -> AuditLogs (AWS::Logs::LogGroup, {self.stack})"


@dataclass
class LambdaRun:
    now: Pushed  # a refactor CloudFormation completes at once
    slow: Pushed  # one that is still in progress when the handler describes it


@pytest.fixture(scope="module")
def lambda_run(aws, client, mailbox, clock, tmp_path_factory) -> LambdaRun:
    """The push handler (a direct invoke: no event id, so a repeated delivery is not
    answered by the idempotency record but runs the pass again) on a git repository
    holding two stacks, each with a log group: deployed by a first push; then `Logs`
    renamed to `AuditLogs` in lam-now and the same event delivered twice; then the same
    rename in lam-slow, with the refactor shown in progress for LATENCY seconds, and the
    same event delivered while the clock moves on."""
    from handlers import idempotency, push, runtime

    root = tmp_path_factory.mktemp("lambda") / "desired"
    root.mkdir()
    git(root, "init", "-q", "--initial-branch=main")
    stacks = ("lam-now", "lam-slow")
    names = {s: f"/refactor/{s}/logs" for s in stacks}
    files = {}
    for stack in stacks:
        files[f"templates/{stack}.yml"] = template(anchor(stack), log_group("Logs", names[stack]))
        files[f"desired-state/{stack}.yml"] = stack_file(stack)
    commit(root, files, "two stacks")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DESIRED_STATE_REPOSITORY", str(root))
        patch.setenv("POWERTOOLS_LOG_LEVEL", "WARNING")
        runtime.services.cache_clear()
        runtime.source.cache_clear()
        idempotency.reset()

        def deliver(event: dict[str, str]) -> dict[str, Any]:
            return push.handler(dict(event), LambdaContext())

        def event() -> dict[str, str]:
            head = git(root, "rev-parse", "HEAD")
            return {"repository": str(root), "ref": "refs/heads/main", "after": head}

        first = deliver(event())
        created = {
            s["stack_name"]: s["outcome"] for s in first["stacks"] if s["stack_name"] in stacks
        }
        assert created == dict.fromkeys(stacks, "executed"), first

        def rename(stack: str) -> dict[str, str]:
            mailbox.new(stack)
            renamed = template(anchor(stack), log_group("AuditLogs", names[stack]))
            commit(root, {f"templates/{stack}.yml": renamed}, f"rename the log group of {stack}")
            return event()

        def pushed(stack: str, deliveries: list, before: list) -> Pushed:
            return Pushed(
                stack=stack,
                group_name=names[stack],
                deliveries=deliveries,
                refactors=refactors_of(client, stack),
                ids=physical_ids(client, stack),
                groups_before=before,
                groups_after=log_groups(client, names[stack]),
                status=status_of(client, stack),
                trail=trail(client, stack),
                notified=mailbox.new(stack),
            )

        before = log_groups(client, names["lam-now"])
        renamed = rename("lam-now")
        now = pushed("lam-now", [deliver(renamed), deliver(renamed)], before)

        before = log_groups(client, names["lam-slow"])
        renamed = rename("lam-slow")
        patch.setenv(stack_refactor.SECONDS, str(LATENCY))
        deliveries = [deliver(renamed), deliver(renamed)]  # created: still being validated
        clock.advance(LATENCY + 1)
        deliveries.append(deliver(renamed))  # validated: executed, still executing
        clock.advance(LATENCY + 1)
        deliveries += [deliver(renamed), deliver(renamed)]  # executed
        slow = pushed("lam-slow", deliveries, before)
    runtime.services.cache_clear()
    runtime.source.cache_clear()
    idempotency.reset()
    return LambdaRun(now, slow)


def test_the_push_handler_refactors_a_rename(lambda_run):
    """GIVEN a log group renamed in a pushed commit WHEN the push handler runs THEN the
    stack is refactored (the same log group, now AuditLogs) and the change set follows;
    the refactor is in the status record, the audit trail and a notification"""
    pushed = lambda_run.now
    action, outcome, _ = pushed.outcome(0)
    assert (action, outcome) == ("refactor", "tags-updated"), pushed.deliveries[0]
    (refactor,) = pushed.refactors
    refactor_id = refactor["StackRefactorId"]
    assert refactor["ExecutionStatus"] == "EXECUTE_COMPLETE"
    assert pushed.ids == {"Anchor": f"/{pushed.stack}/anchor", "AuditLogs": pushed.group_name}
    assert pushed.groups_after == pushed.groups_before
    assert len(pushed.groups_after) == 1
    assert pushed.status.refactor == f"{refactor_id}: {pushed.mapping}"
    message = (
        f"refactored by stack refactor {refactor_id}: {pushed.mapping}; the change set follows"
    )
    assert [r.message for r in events_of(pushed.trail, "refactored")] == [message]
    assert [n for n in pushed.notified if n[0] == REFACTORED] == [(REFACTORED, message)]


def test_the_same_push_delivered_twice_makes_one_refactor(lambda_run):
    """GIVEN the refactored rename WHEN the same push event is delivered again THEN the
    stack is up to date: no second refactor, no second record or notification"""
    pushed = lambda_run.now
    assert pushed.outcome(1)[0] == "none", pushed.deliveries[1]
    assert len(pushed.refactors) == 1
    assert len(events_of(pushed.trail, "refactored")) == 1
    assert len([n for n in pushed.notified if n[0] == REFACTORED]) == 1


def test_a_push_delivered_while_its_refactor_is_in_progress_finds_the_same_refactor(
    lambda_run,
):
    """GIVEN a refactor CloudFormation is still validating WHEN the same push is delivered
    again, and again once it is validated and once it is executed THEN every delivery finds
    the one refactor by its description: it is created once, executed once, and the log
    group ends as AuditLogs, the same log group"""
    pushed = lambda_run.slow
    (refactor,) = pushed.refactors
    refactor_id = refactor["StackRefactorId"]
    name = f"stack refactor {refactor_id} ({pushed.mapping})"
    creating = ("refactor", "waiting", f"{name} is CREATE_IN_PROGRESS; resumed by the next event")
    executing = ("refactor", "waiting", f"{name} is EXECUTE_IN_PROGRESS; resumed by the next event")
    assert [pushed.outcome(i) for i in range(3)] == [creating, creating, executing]
    assert pushed.outcome(3)[:2] == ("update", "tags-updated")
    assert pushed.outcome(4)[0] == "none"
    assert (refactor["Status"], refactor["ExecutionStatus"]) == (
        "CREATE_COMPLETE",
        "EXECUTE_COMPLETE",
    )
    assert pushed.ids == {"Anchor": f"/{pushed.stack}/anchor", "AuditLogs": pushed.group_name}
    assert pushed.groups_after == pushed.groups_before
    assert len(pushed.groups_after) == 1


def test_a_refactor_that_completes_after_the_pass_is_still_recorded(lambda_run):
    """GIVEN the refactor that was still executing when the handler described it WHEN the
    next delivery finds it done THEN it is recorded as any refactor is: the status record
    names it, the audit trail has a refactored record, a Stack Refactored notification is
    sent (docs/guard.md: "Recorded")"""
    pushed = lambda_run.slow
    (refactor,) = pushed.refactors
    refactor_id = refactor["StackRefactorId"]
    assert pushed.status.refactor == f"{refactor_id}: {pushed.mapping}"
    assert len(events_of(pushed.trail, "refactored")) == 1
    assert len([n for n in pushed.notified if n[0] == REFACTORED]) == 1


# --- the CLI's apply --wait over a refactor in progress ----------------------------------------


@dataclass
class Waited:
    stack: str
    applied: Cli
    sleeps: list[float]
    refactors: list[dict[str, str]]
    ids: dict[str, str]
    status: StackStatus
    trail: list[AuditRecord]
    notified: list[tuple[str, str]]


@pytest.fixture(scope="module")
def waited(aws, client, mailbox, clock, tmp_path_factory) -> Waited:
    """A pure rename applied by `reconciler apply --wait` while refactors are shown in
    progress for 8 seconds: the CLI's 5-second sleeps move the local AWS's refactor clock
    instead of sleeping."""
    import reconciler.cli

    name = "rf-waited"
    root, group_name = deploy_logs(tmp_path_factory, name)
    mailbox.new(name)
    renamed = template(anchor(name), log_group("AuditLogs", group_name))
    make_repo(root, {f"templates/{name}.yml": renamed}, defaults=False)
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.advance(seconds)

    fake_time = types.SimpleNamespace(monotonic=reconciler.cli.time.monotonic, sleep=sleep)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(stack_refactor.SECONDS, "8")
        patch.setattr(reconciler.cli, "time", fake_time)
        applied = apply(root)
    return Waited(
        stack=name,
        applied=applied,
        sleeps=sleeps,
        refactors=refactors_of(client, name),
        ids=physical_ids(client, name),
        status=status_of(client, name),
        trail=trail(client, name),
        notified=mailbox.new(name),
    )


def test_apply_wait_applies_again_until_the_refactor_in_progress_is_done(waited):
    """GIVEN a refactor that CloudFormation validates and executes in 8 seconds each WHEN
    `reconciler apply --wait` runs THEN it applies again every 5 seconds until the refactor
    is executed and the change set has followed: one refactor, the log group renamed, the
    stack Synced"""
    assert waited.applied.exit_code == 0, waited.applied.out + waited.applied.err
    # 8 s validating, 8 s executing: four rounds of 5 s until the execution is seen done
    assert waited.sleeps == [5, 5, 5, 5]
    assert "a stack refactor is in progress; applying again in 5 seconds" in waited.applied.err
    (refactor,) = waited.refactors
    assert refactor["ExecutionStatus"] == "EXECUTE_COMPLETE"
    assert waited.ids == {
        "Anchor": f"/{waited.stack}/anchor",
        "AuditLogs": f"/refactor/{waited.stack}/logs",
    }
    assert waited.status.sync.value == "Synced"


def test_apply_wait_records_the_refactor_it_waited_for(waited):
    """GIVEN `apply --wait` that waited for the refactor THEN the refactor is recorded on
    the stack: status, audit trail, notification (docs/guard.md: "Recorded")"""
    (refactor,) = waited.refactors
    mapping = f"Logs -> AuditLogs (AWS::Logs::LogGroup, {waited.stack})"
    assert waited.status.refactor == f"{refactor['StackRefactorId']}: {mapping}"
    assert len(events_of(waited.trail, "refactored")) == 1
    assert len([n for n in waited.notified if n[0] == REFACTORED]) == 1
