"""`make demo`: the whole GitOps loop on a local AWS, with no AWS account.

It starts the local AWS, copies desired-state/ and templates/ into a temporary git
repository, and drives the real Lambda handlers through events, as in an account: each push
is a "Git Push" event put on the default bus, the local AWS puts its stack status and drift
events on its buses, and the rules of `handlers/routes.py` route them to the handlers
(`harness/router.py`). A push deploys the stacks, stack status events publish their
outputs to SSM, a committed parameter change is pushed and applied, an operator's
out-of-band calls reach the change handler as CloudTrail events and the drift detection
they start repairs them, a pull request's preview (run_preview with
harness/github_stand_in.py for GitHub) says its replacement is blocked, a production
change under `approval: required` is held, refused to its author and run once another
person approves it (`reconciler approve`, each person signed in as an IAM user), the
a stack is deployed into a second account (222222222222) and region (eu-west-1) through
the same events (infra/member-account.yml deployed there, the member role assumed by the
stack worker, the stack's events forwarded to the central bus), the audit trail is listed
and written as an evidence pack, and the status table ends the run. Every delivery is
printed as `rule => handler: event -> outcome`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

from harness.github_stand_in import GitHubStandIn, LocalPullRequests
from harness.inbox import NotificationInbox
from harness.router import Delivery, EventRouter
from localaws.server import LocalAws

PROJECT = Path(__file__).resolve().parent.parent
STACK = "pci-db-dev"
STACK_FILE = "desired-state/pci-db-dev.yml"
STACK_PREFIX = "pci-db-"  # the managed stacks: the rules route only their events
REGIONS = ("us-east-1", "eu-central-1")  # home region first
HOME_ACCOUNT = "123456789012"  # the local AWS's default account
MEMBER, MEMBER_REGION = "222222222222", "eu-west-1"  # a second account, a third region
MEMBER_STACK = "pci-db-eu"
EXTERNAL_ID = "pci-demo-external-id"
WORK_QUEUE_PREFIX = "gitops-reconciler-work"  # bootstrap's: <stack>-work
FUNCTIONS_ROLE = "gitops-reconciler-functions"  # the role the handlers run as
TRAIL_BUCKET = "demo-cloudtrail-logs"


def say(text: str = "") -> None:
    print(text, flush=True)


def step(number: int, title: str) -> None:
    say(f"\n== {number}. {title}")


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=demo", "-c", "user.email=demo@localhost", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def make_repository(root: Path) -> Path:
    repo = root / "desired-state-repo"
    repo.mkdir()
    for folder in ("desired-state", "templates"):
        shutil.copytree(PROJECT / folder, repo / folder)
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "add", ".")
    git(repo, "commit", "--quiet", "-m", "Desired state for the PCI database stacks")
    return repo


def push(events, router: EventRouter, repo: Path) -> dict:
    """A git server's push notification: a "Git Push" event on the home region's bus. The
    push rule routes it to the push handler; what the push sets off is routed in turn."""
    detail = {
        "repository": str(repo),
        "ref": "refs/heads/main",
        "after": git(repo, "rev-parse", "HEAD"),
    }
    say(f"put on the {REGIONS[0]} bus: Git Push {json.dumps(detail)}")
    events.put_events(
        Entries=[{"Source": "gitops.git", "DetailType": "Git Push", "Detail": json.dumps(detail)}]
    )
    deliveries = show(router.run_until_idle())
    pushes = [d.result for d in deliveries if d.handler == "push"]
    if not pushes:
        return {"status": "not delivered"}
    # A queued stack's stack worker answers SQS only (its batch item failures): what it
    # did is read from the stack's status record, as `reconciler status` shows it.
    from reconciler.aws.dynamodb import store_from_env

    store = store_from_env(create_if_missing=False)
    stacks = []
    for stack in pushes[0].get("stacks", []):
        record = store.get(stack["stack_name"]) if stack["outcome"] == "queued" else None
        if record is not None:
            say(f"    {stack['stack_name']} now: {record.phase.value}: {record.message}")
            stack = {**stack, "outcome": record.phase.value, "message": record.message,
                     "change_set": record.change_set}  # fmt: skip
        stacks.append(stack)
    return {**pushes[0], "stacks": stacks}


def show(deliveries: list[Delivery]) -> list[Delivery]:
    """One line per routed delivery; under a push, what it did to each stack."""
    for delivery in deliveries:
        say(f"  {delivery.line()}")
        if delivery.handler != "push":
            continue
        for stack in delivery.result.get("stacks", []):
            say(
                f"    {stack['stack_name']}: {stack['action']} -> {stack['outcome']}: "
                f"{stack['message']}"
            )
        for finding in delivery.result.get("findings", []):
            say(f"    {finding}")
    return deliveries


def upload_rotation_code(s3_for, repo: Path) -> None:
    """What `make package` and an upload do for a real account: the rotation Lambda's zip
    in the bucket each stack file names (moto never runs it)."""
    from reconciler.desired import load_desired_state
    from rotation_lambda.package import build

    with tempfile.TemporaryDirectory(prefix="rotation-zip-") as folder:
        archive = build(Path(folder) / "rotation_lambda.zip").path.read_bytes()
    for spec in load_desired_state(repo).stacks:
        bucket = spec.parameters["RotationLambdaS3Bucket"]
        s3 = s3_for(spec.region)
        if spec.region == "us-east-1":
            s3.create_bucket(Bucket=bucket)
        else:
            s3.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": spec.region}
            )
        s3.put_object(Bucket=bucket, Key="rotation_lambda.zip", Body=archive)


def cli(*args: str) -> int:
    from reconciler.cli import main

    say(f"$ reconciler {' '.join(args)}")
    return main(list(args))


def run(aws: LocalAws, workdir: Path) -> int:
    import boto3

    from reconciler.aws import session

    os.environ.update(aws.env())
    os.environ["DESIRED_STATE_BRANCH"] = "main"
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    # The handlers' EMF metrics are log lines for CloudWatch; here they would bury the story.
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    # The reconciler's notifications go on a bus of their own, where the demo subscribes.
    os.environ["NOTIFY_EVENT_BUS"] = NOTIFICATION_BUS
    # As bootstrap sets the functions up: pushes fan out to the stack worker through the
    # work queues, and a member account's role is assumed with the external id.
    os.environ["WORK_QUEUE_PREFIX"] = WORK_QUEUE_PREFIX
    # The reconciler's own role (run_as_central_role): calls made in it are its own.
    os.environ["RECONCILER_ROLES"] = FUNCTIONS_ROLE
    os.environ["MEMBER_EXTERNAL_ID"] = EXTERNAL_ID
    session.reset_clients()
    run_as_central_role(aws)
    started = datetime.now(UTC).date()
    repo = make_repository(workdir)
    os.environ["DESIRED_STATE_REPOSITORY"] = str(repo)
    say(f"local AWS at {aws.endpoint_url}; desired-state repository at {repo}")

    def client(service: str, region: str = "us-east-1"):
        return boto3.client(service, endpoint_url=aws.endpoint_url, region_name=region)

    router = EventRouter(
        aws.endpoint_url, REGIONS, stack_prefix=STACK_PREFIX, watched=watched_calls(repo)
    )
    for region in REGIONS:
        say(f"rules on the {region} default bus: {', '.join(router.rule_names(region))}")
    start_trail(client)
    events = client("events")
    inbox = NotificationInbox(client, NOTIFICATION_BUS)
    upload_rotation_code(lambda region: client("s3", region), repo)

    step(1, "Validate the desired state (no AWS call)")
    if cli("validate", str(repo)) != 0:
        return 1

    step(2, "Push: a Git Push event is routed to the push handler, which deploys every stack")
    if push(events, router, repo)["status"] != "reconciled":
        return 1

    step(3, f"Every output of {STACK}, read back from SSM Parameter Store")
    cli("outputs", STACK, str(repo))
    show_pci_controls(client)

    step(4, "Commit a parameter change (DBInstanceClass db.t3.medium -> db.t3.large) and push")
    stack_file = repo / STACK_FILE
    stack_file.write_text(stack_file.read_text().replace("db.t3.medium", "db.t3.large"))
    git(repo, "commit", "--quiet", "-am", "Scale the dev database up")
    cli("plan", str(repo))
    push(events, router, repo)
    instance = client("rds").describe_db_instances(DBInstanceIdentifier="pci-mysql-dev")
    say(f"  RDS pci-mysql-dev is now {instance['DBInstances'][0]['DBInstanceClass']}")

    step(5, "The same push delivered again (a new event, the same commit) changes nothing")
    push(events, router, repo)

    step(
        6, "Drift: backups cut to 1 day and MySQL opened to 0.0.0.0/0 behind the reconciler's back"
    )
    if not drift_demo(client, router):
        return 1

    step(7, "The refactor renaming the database instances, opened as pull request #1: previewed")
    if not preview_demo(client, repo):
        return 1

    step(8, "Merged anyway: the guard refuses the replacement; a logical-id rename is refactored")
    git(repo, "merge", "--quiet", "--ff-only", "rename-db")
    push(events, router, repo)
    git(repo, "revert", "--quiet", "--no-edit", "HEAD")
    say("  reverted that commit; pushing the revert:")
    push(events, router, repo)
    if not refactor_demo(client, events, router, repo, inbox):
        return 1

    step(9, "A commit asking for MySQL 8.0.35 is refused before anything is written")
    stack_file.write_text(
        stack_file.read_text().replace(
            "  EnvironmentSuffix: dev\n", "  EnvironmentSuffix: dev\n  DBEngineVersion: 8.0.35\n"
        )
    )
    git(repo, "commit", "--quiet", "-am", "Pin MySQL 8.0.35")
    push(events, router, repo)
    git(repo, "revert", "--quiet", "--no-edit", "HEAD")
    say("  reverted that commit; pushing the revert:")
    push(events, router, repo)

    step(10, "A production change held for approval, approved by another person, and executed")
    if not approval_demo(client, events, router, repo, inbox):
        return 1

    step(11, f"A stack in another account ({MEMBER}) and region ({MEMBER_REGION}), same events")
    if not member_account_demo(aws, events, router, repo):
        return 1

    step(12, "The audit trail: the history of pci-db-prod, and the evidence pack for today")
    if not evidence_demo(started):
        return 1

    step(13, "Status")
    cli("status", str(repo))
    return report_routing(router)


def run_as_central_role(aws: LocalAws) -> None:
    """The handlers run as the reconciler's functions do: under a role of the central
    account named `gitops-reconciler-*`, the only principals a member account's trust
    policy admits (infra/member-account.yml; the local AWS checks trust policies)."""
    import boto3

    from reconciler.aws import session

    def client(service: str):
        return boto3.client(service, endpoint_url=aws.endpoint_url, region_name=REGIONS[0])

    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com", "AWS": HOME_ACCOUNT},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = client("iam").create_role(
        RoleName=FUNCTIONS_ROLE, AssumeRolePolicyDocument=json.dumps(trust)
    )["Role"]["Arn"]
    assumed = client("sts").assume_role(RoleArn=role, RoleSessionName="demo")["Credentials"]
    os.environ["AWS_ACCESS_KEY_ID"] = assumed["AccessKeyId"]
    os.environ["AWS_SECRET_ACCESS_KEY"] = assumed["SecretAccessKey"]
    os.environ["AWS_SESSION_TOKEN"] = assumed["SessionToken"]
    session.reset_clients()


def member_account_demo(aws: LocalAws, events, router: EventRouter, repo: Path) -> bool:
    """Account 222222222222 is set up as a StackSet would: infra/member-account.yml in
    the home region (the roles) and in eu-west-1 (forwarding CloudFormation's events to
    the central bus). A commit adds a stack file naming that account and region; the
    push puts its work item, the stack worker assumes the member role (external id,
    the commit in the session name) and runs the change set there, and the stack status
    event, forwarded to the home bus, publishes the outputs to the member's SSM."""
    import boto3

    from localaws.accounts import create_account_access_role

    admin_role = create_account_access_role(aws.endpoint_url, MEMBER)
    sts = boto3.client("sts", endpoint_url=aws.endpoint_url, region_name=REGIONS[0])
    admin = sts.assume_role(RoleArn=admin_role, RoleSessionName="stackset")["Credentials"]

    def member(service: str, region: str = MEMBER_REGION):
        return boto3.client(
            service,
            endpoint_url=aws.endpoint_url,
            region_name=region,
            aws_access_key_id=admin["AccessKeyId"],
            aws_secret_access_key=admin["SecretAccessKey"],
            aws_session_token=admin["SessionToken"],
        )

    parameters = {
        "CentralAccountId": HOME_ACCOUNT,
        "HomeRegion": REGIONS[0],
        "ReconcilerStackName": "gitops-reconciler",
        "ExternalId": EXTERNAL_ID,
        "ManagedStackPrefix": STACK_PREFIX,
        "OutputsPathPrefix": "/pci-db/",
    }
    template = (PROJECT / "infra" / "member-account.yml").read_text()
    for region in (REGIONS[0], MEMBER_REGION):  # as a StackSet: roles in HomeRegion only
        cfn = member("cloudformation", region)
        cfn.create_stack(
            StackName="gitops-reconciler-member",
            TemplateBody=template,
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
            Capabilities=["CAPABILITY_NAMED_IAM"],
        )
        status = cfn.describe_stacks(StackName="gitops-reconciler-member")["Stacks"][0]
        say(f"  infra/member-account.yml in {MEMBER}/{region}: {status['StackStatus']}")
    router.follow(MEMBER, MEMBER_REGION)  # CloudFormation's events there, on that bus

    bucket = f"pci-platform-artifacts-{MEMBER}-{MEMBER_REGION}"
    member("s3").create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": MEMBER_REGION}
    )
    from rotation_lambda.package import build

    with tempfile.TemporaryDirectory(prefix="rotation-zip-") as folder:
        archive = build(Path(folder) / "rotation_lambda.zip").path.read_bytes()
    member("s3").put_object(Bucket=bucket, Key="rotation_lambda.zip", Body=archive)

    dev = (repo / STACK_FILE).read_text()
    stack_file = (
        dev.replace("EnvironmentSuffix: dev", "EnvironmentSuffix: eu")
        .replace("pci-platform-artifacts-us-east-1", bucket)
        .replace("environment: dev", "environment: eu")
        .replace(f"stack-name: {STACK}", f"stack-name: {MEMBER_STACK}")
        .replace("region: us-east-1", f"region: {MEMBER_REGION}")
        .replace("outputs-path: /pci-db/dev", "outputs-path: /pci-db/eu")
    ) + f'account: "{MEMBER}"  # the role gitops-reconciler-member is assumed there\n'
    (repo / f"desired-state/{MEMBER_STACK}.yml").write_text(stack_file)
    git(repo, "add", ".")
    git(repo, "commit", "--quiet", "-m", "The EU database, in the EU payments account")
    push(events, router, repo)

    stack = member("cloudformation").describe_stacks(StackName=MEMBER_STACK)["Stacks"][0]
    endpoint = member("ssm").get_parameter(Name="/pci-db/eu/RDSEndpoint")["Parameter"]["Value"]
    say(f"  {MEMBER_STACK}: {stack['StackStatus']}, stack id {stack['StackId']}")
    say(f"  /pci-db/eu/RDSEndpoint in {MEMBER}'s SSM = {endpoint}")
    forwarded = [
        d
        for d in router.deliveries
        if d.handler == "stack_status" and f"in {MEMBER}/{MEMBER_REGION}" in d.line()
    ]
    return checked(
        {
            "stack complete in the member account": stack["StackStatus"] == "CREATE_COMPLETE"
            and f":{MEMBER}:stack/" in stack["StackId"],
            "its status event forwarded to the central bus and handled": bool(forwarded),
            "outputs published to the member account's SSM": bool(endpoint),
        }
    )


def preview_demo(client, repo: Path) -> bool:
    """The rename committed on branch rename-db and previewed as pull request #1 against
    the live stacks: preview change sets created, described, guarded and deleted, nothing
    executed. run_preview is called directly with stand-ins for GitHub's two ports (the
    handler behind the gitops-preview rule reads a pull request from GitHub itself)."""
    from reconciler.aws.services import services_from_env
    from reconciler.desired import load_desired_state
    from reconciler.preview import PullRequest, run_preview

    git(repo, "switch", "--quiet", "-c", "rename-db")
    template = repo / "templates" / "pci-database.yml"
    template.write_text(
        template.read_text().replace("Identifier: !Sub pci-mysql-", "Identifier: !Sub pci-db-")
    )
    git(repo, "commit", "--quiet", "-am", "Rename the database instances")
    git(repo, "switch", "--quiet", "main")
    sha = git(repo, "rev-parse", "rename-db")
    say(f"  committed on branch rename-db ({sha[:12]}); main is not touched")
    say(
        "  run_preview called directly (no GitHub here): the pull request's head is read "
        "from the local repository, and what GitHub would show is printed"
    )
    stacks = [(s.stack_name, s.region) for s in load_desired_state(repo).stacks]

    def live() -> dict[str, tuple]:
        found = {}
        for name, region in stacks:
            cfn = client("cloudformation", region)
            stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
            sets = cfn.list_change_sets(StackName=name)["Summaries"]
            found[name] = (stack["StackStatus"], stack.get("LastUpdatedTime"), len(sets))
        return found

    before = live()
    github = GitHubStandIn(say=say)
    source = LocalPullRequests(repo, {1: "rename-db"})
    pr = PullRequest("demo/desired-state", 1, sha, "https://github.com/demo/desired-state/pull/1")
    outcome = run_preview(pr, source, services_from_env(change_set_wait_seconds=10), github)
    say(f"  preview -> {outcome.status}: {outcome.reason}")
    after = live()
    left = sum(count for _, _, count in after.values())
    unchanged = {n: v[:2] for n, v in before.items()} == {n: v[:2] for n, v in after.items()}
    say(f"  after the preview: {left} change set(s) left; stacks unchanged: {unchanged}")
    comment = github.comments.get(1, "")
    checks = {
        "status gitops-reconciler/plan is failure": [s["state"] for s in github.statuses]
        == ["failure"],
        "the comment blocks the Database replacement": "**Blocked by the data-loss guard:**"
        in comment
        and "Database \\(AWS::RDS::DBInstance\\) would be replaced" in comment
        and "allow-replacement: [Database]" in comment,
        "the preview is blocked": outcome.status == "blocked",
        "no change set left": left == 0,
        "nothing executed (no stack's status or last update changed)": unchanged,
    }
    return checked(checks)


PROD = "pci-db-prod"
PROD_FILE = "desired-state/pci-db-prod.yml"
NOTIFICATION_BUS = "gitops-notifications"
# The author of the production change, and the person who approves it: each signs in to
# AWS as an IAM user of that name, which STS GetCallerIdentity then reports.
AUTHOR = "Dana Developer <dana@example.com>"
AUTHOR_USER, APPROVER_USER = "dana", "alex"


def approval_demo(client, events, router: EventRouter, repo: Path, inbox) -> bool:
    """`approval: required` in the production stack file, then Dana's change to it: the
    push creates, describes and guards the change set and holds it. Dana may not approve
    her own change; Alex does, with `reconciler approve`, which runs the held change set."""
    people = sign_up(client("iam"), (AUTHOR_USER, APPROVER_USER))
    say(
        f"  IAM users {AUTHOR_USER} and {APPROVER_USER}, one access key each: STS "
        "GetCallerIdentity names whoever signs in, and `reconciler approve` asks it"
    )
    inbox.receive()  # what earlier steps notified: not this step's
    stack_file = repo / PROD_FILE
    stack_file.write_text(stack_file.read_text() + "approval: required\n")
    git(repo, "commit", "--quiet", "-am", "Production changes need an approver (PCI DSS 6.5.4)")
    stack_file.write_text(
        stack_file.read_text().replace("DBAllocatedStorage: 200", "DBAllocatedStorage: 300")
    )
    git(repo, "commit", "--quiet", "-am", "Grow the production database to 300 GB",
        f"--author={AUTHOR}")  # fmt: skip
    say(f"  committed: `approval: required` in {PROD_FILE}")
    say(f"  committed by {AUTHOR}: DBAllocatedStorage 200 -> 300 in {PROD_FILE}")
    pushed = push(events, router, repo)
    held = next((s for s in pushed.get("stacks", []) if s["stack_name"] == PROD), {})
    change_set = held.get("change_set", "")
    cfn, rds = client("cloudformation"), client("rds")
    kept = _change_set_status(cfn, change_set)
    storage = _prod_storage(rds)
    say(f"  change set {change_set or '?'} kept, not run: {kept}; RDS storage {storage} GB")
    notified = [n for n in inbox.receive() if n.kind == "Approval Required" and n.stack == PROD]
    for note in notified:
        say(f"  notification on the {inbox.bus} bus: {note.kind} {note.stack}")
        for text in note.message.splitlines():
            say(f"    | {text}")
    cli("status", str(repo))

    say(f"  {AUTHOR_USER}, the author, signed in as IAM user {AUTHOR_USER}, approves her change:")
    with signed_in(people[AUTHOR_USER]):
        refused = cli("approve", PROD, str(repo), "--change-set", change_set)
    say(f"  -> exit {refused}")
    say(f"  {APPROVER_USER}, signed in as IAM user {APPROVER_USER}, reviews the plan and approves:")
    with signed_in(people[APPROVER_USER]):
        approved = cli("approve", PROD, str(repo), "--change-set", change_set)
    say(f"  -> exit {approved}")
    finished = show(router.run_until_idle())
    for note in inbox.receive():
        if note.stack == PROD:
            say(f"  notification on the {inbox.bus} bus: {note.kind} {note.stack}: {note.message}")
    grown = _prod_storage(rds)
    say(f"  RDS pci-mysql-prod now has {grown} GB")
    checks = {
        f"the push held {PROD} for approval": held.get("outcome") == "awaiting approval",
        "its change set kept, not executed": kept == "AVAILABLE" and storage == 200,
        "an Approval Required notification carries the plan": any(
            f"plan: update {PROD}" in n.message for n in notified
        ),
        "the author's approval is refused": refused == 1,
        "another person's approval runs the change set": approved == 0,
        f"{PROD} completes": any(
            d.subject == f"{PROD} UPDATE_COMPLETE" and d.status == "recorded" for d in finished
        )
        and grown == 300,
    }
    return checked(checks)


def evidence_demo(started: date) -> bool:
    """The trail as `reconciler history` lists it, and the evidence pack an assessor gets.
    The pack is kept after the demo (the rest of its files are not), to be opened."""
    cli("history", PROD)
    folder = Path(tempfile.mkdtemp(prefix="reconciler-demo-evidence-"))
    # A bare --until date includes that day: the pack covers the days the demo ran.
    since, until = started.isoformat(), datetime.now(UTC).date().isoformat()
    wrote = cli("evidence", "--since", since, "--until", until, "--out", str(folder))
    report, trail = folder / "report.html", folder / "audit.jsonl"
    page = report.read_text() if report.is_file() else ""
    records = (
        [json.loads(line) for line in trail.read_text().splitlines()] if trail.is_file() else []
    )
    mine = [r for r in records if r.get("stack") == PROD]
    seen = {r.get("event") for r in mine}
    say(f"  evidence pack kept: open {report} ({len(page)} characters)")
    say(f"  and {trail}: {len(records)} record(s), {len(mine)} of them about {PROD}")
    checks = {
        "both files written": wrote == 0 and bool(page) and bool(records),
        f"the report names {PROD} and PCI DSS 6.5.4": PROD in page and "6.5.4" in page,
        "the trail holds the hold, the refusal, the approval and the run": {
            "held for approval",
            "approval refused",
            "approved",
            "executed",
            "completed",
        }
        <= seen,
        "approved by someone other than the author": any(
            r.get("event") == "approved" and r.get("actor", "").endswith(f"/{APPROVER_USER}")
            for r in mine
        ),
    }
    return checked(checks)


def checked(checks: dict[str, bool]) -> bool:
    """Print what was checked, or what failed; whether all held."""
    failed = [what for what, ok in checks.items() if not ok]
    say(f"  checked: {'; '.join(checks) if not failed else 'FAILED: ' + '; '.join(failed)}")
    return not failed


def _change_set_status(cfn, name: str) -> str:
    if not name:
        return "none"
    found = cfn.describe_change_set(ChangeSetName=name, StackName=PROD)
    return found["ExecutionStatus"]


def _prod_storage(rds) -> int:
    found = rds.describe_db_instances(DBInstanceIdentifier="pci-mysql-prod")
    return found["DBInstances"][0]["AllocatedStorage"]


def sign_up(iam, users: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """An IAM user and access key per person: moto's GetCallerIdentity answers with the
    user's ARN for its key (arn:aws:iam::ACCOUNT:user/NAME), as AWS does."""
    keys = {}
    for user in users:
        iam.create_user(UserName=user)
        keys[user] = iam.create_access_key(UserName=user)["AccessKey"]
    return keys


@contextmanager
def signed_in(key: dict[str, str]) -> Iterator[None]:
    """The CLI run with a person's credentials, as on their own machine; the process's
    are put back after."""
    from reconciler.aws import session

    names = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
    saved = {name: os.environ.get(name) for name in names}
    os.environ["AWS_ACCESS_KEY_ID"] = key["AccessKeyId"]
    os.environ["AWS_SECRET_ACCESS_KEY"] = key["SecretAccessKey"]
    os.environ.pop("AWS_SESSION_TOKEN", None)
    session.reset_clients()
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        session.reset_clients()


def report_routing(router: EventRouter) -> int:
    """How many deliveries each rule made, and the dead letters (there should be none)."""
    by_rule: dict[str, int] = {}
    for delivery in router.deliveries:
        by_rule[delivery.rule] = by_rule.get(delivery.rule, 0) + 1
    counts = ", ".join(f"{rule} {count}" for rule, count in sorted(by_rule.items()))
    say(f"\nrouted {len(router.deliveries)} deliveries by rule: {counts}")
    say(f"dead letters: {len(router.dead_letters)}")
    for letter in router.dead_letters:
        say(f"  {letter.rule} => {letter.handler}: {letter.error}")
    return 1 if router.dead_letters else 0


def refactor_demo(client, events, router: EventRouter, repo: Path, inbox) -> bool:
    """Renaming logical ids (Database -> PrimaryDatabase, EncryptionKey -> DataKey) keeps
    every create-only value: the plan says refactor, and the push moves the same RDS
    instance and KMS key to their new ids by a CloudFormation stack refactor."""
    rds, kms, cfn = client("rds"), client("kms"), client("cloudformation")

    def identities() -> tuple[str, str]:
        db = rds.describe_db_instances(DBInstanceIdentifier="pci-mysql-dev")["DBInstances"][0]
        return db["DbiResourceId"], kms.describe_key(KeyId=db["KmsKeyId"])["KeyMetadata"]["KeyId"]

    def logical_ids() -> dict[str, str]:
        listed = cfn.describe_stack_resources(StackName=STACK)["StackResources"]
        kinds = ("AWS::RDS::DBInstance", "AWS::KMS::Key")
        return {
            r["LogicalResourceId"]: r["PhysicalResourceId"]
            for r in listed
            if r["ResourceType"] in kinds
        }

    inbox.receive()  # what earlier steps notified: not this step's
    before = identities()
    ids_before = logical_ids()
    say(f"  before: {ids_before}; DbiResourceId {before[0]}, KMS key {before[1]}")
    template = repo / "templates" / "pci-database.yml"
    text = template.read_text()
    for old, new in (("Database", "PrimaryDatabase"), ("EncryptionKey", "DataKey")):
        text = re.sub(rf"\b{old}\b(?=[:.\s]|$)", new, text, flags=re.M)
    template.write_text(text)
    git(repo, "commit", "--quiet", "-am", "Rename Database and EncryptionKey (logical ids only)")
    say("  committed: only the logical ids change; `reconciler plan` says:")
    cli("plan", str(repo))
    push(events, router, repo)
    after = identities()
    ids_after = logical_ids()
    say(f"  after: {ids_after}; DbiResourceId {after[0]}, KMS key {after[1]}")
    notified = [n for n in inbox.receive() if n.kind == "Stack Refactored"]
    for note in notified:
        say(f"  notification on the {inbox.bus} bus: {note.kind} {note.stack}: {note.message}")
    refactors = cfn.list_stack_refactors()["StackRefactorSummaries"]
    done = [r for r in refactors if r.get("ExecutionStatus") == "EXECUTE_COMPLETE"]
    checks = {
        "the same RDS instance and KMS key (DbiResourceId, key id)": after == before,
        "now filed as PrimaryDatabase and DataKey": set(ids_after) == {"PrimaryDatabase", "DataKey"}
        and sorted(ids_after.values()) == sorted(ids_before.values()),
        "stack refactors executed (one per stack of the template)": len(done) >= 1,
        "a Stack Refactored notification for pci-db-dev": any(n.stack == STACK for n in notified),
    }
    return checked(checks)


def drift_demo(client, router: EventRouter) -> bool:
    """An operator, signed in as an IAM user of their own, cuts the backups and opens
    MySQL. CloudTrail's events of those two calls (the local AWS puts them on the bus)
    are routed to the change handler, which starts drift detection on pci-db-dev at once:
    no schedule. The detection's event repairs both."""
    import boto3

    rds, ec2 = client("rds"), client("ec2")
    group = ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": ["pci-mysql-dev"]}]
    )
    group_id = group["SecurityGroups"][0]["GroupId"]
    (key,) = sign_up(client("iam"), ("ops-console",)).values()
    operator = boto3.Session(key["AccessKeyId"], key["SecretAccessKey"], region_name="us-east-1")
    endpoint = rds.meta.endpoint_url
    operator.client("rds", endpoint_url=endpoint).modify_db_instance(
        DBInstanceIdentifier="pci-mysql-dev", BackupRetentionPeriod=1, ApplyImmediately=True
    )
    operator.client("ec2", endpoint_url=endpoint).authorize_security_group_ingress(
        GroupId=group_id, IpPermissions=[_mysql_from_anywhere()]
    )
    say("  done in the console by IAM user ops-console: BackupRetentionPeriod=1, 3306 open")
    say("  CloudTrail's events of those calls go to the change handler (no schedule):")
    deliveries = show(router.run_until_idle())
    db = rds.describe_db_instances(DBInstanceIdentifier="pci-mysql-dev")["DBInstances"][0]
    rules = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]["IpPermissions"]
    open_to_all = any(r["CidrIp"] == "0.0.0.0/0" for rule in rules for r in rule["IpRanges"])
    say(
        f"  read back: BackupRetentionPeriod={db['BackupRetentionPeriod']}, "
        f"3306 open to 0.0.0.0/0: {open_to_all}"
    )
    cli("drift", "--stack", STACK, str(Path(os.environ["DESIRED_STATE_REPOSITORY"])))
    show(router.run_until_idle())  # that detection sent its event too
    handled = [d for d in deliveries if d.handler == "change"]
    checks = {
        "both calls reached the change handler": len(handled) == 2,
        "one detection for the two calls": sum(d.status == "detecting" for d in handled) == 1,
        "the schedule did not fire": not any(d.handler == "schedule" for d in deliveries),
        "backups back to 7 days": db["BackupRetentionPeriod"] == 7,
        "3306 closed to 0.0.0.0/0": not open_to_all,
    }
    return checked(checks)


def start_trail(client) -> None:
    """What EventBridge needs to receive "AWS API Call via CloudTrail": a trail logging
    management events, here one for every region (docs/deploy.md)."""
    client("s3").create_bucket(Bucket=TRAIL_BUCKET)
    trail = client("cloudtrail")
    trail.create_trail(Name="management-events", S3BucketName=TRAIL_BUCKET, IsMultiRegionTrail=True)
    trail.start_logging(Name="management-events")
    say(f"CloudTrail trail management-events logging every region to s3://{TRAIL_BUCKET}")


def watched_calls(repo: Path):
    """The calls the change rules watch, from the repository's templates."""
    from reconciler.change_rules import watched
    from reconciler.desired import load_desired_state

    return watched(load_desired_state(repo))


def _mysql_from_anywhere() -> dict:
    return {
        "IpProtocol": "tcp",
        "FromPort": 3306,
        "ToPort": 3306,
        "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
    }


def show_pci_controls(client) -> None:
    """What the deployed dev stack looks like, read from the services themselves."""
    db = client("rds").describe_db_instances(DBInstanceIdentifier="pci-mysql-dev")["DBInstances"][0]
    say(
        f"  RDS: MultiAZ={db['MultiAZ']} StorageEncrypted={db['StorageEncrypted']} "
        f"PubliclyAccessible={db['PubliclyAccessible']} "
        f"BackupRetentionPeriod={db['BackupRetentionPeriod']}"
    )
    groups = client("elasticache").describe_replication_groups(ReplicationGroupId="pci-redis-dev")
    redis = groups["ReplicationGroups"][0]
    say(
        f"  Redis: MultiAZ={redis['MultiAZ']} AtRest={redis['AtRestEncryptionEnabled']} "
        f"Transit={redis['TransitEncryptionEnabled']} AuthToken={redis['AuthTokenEnabled']}"
    )


def main() -> int:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="reconciler-demo-") as tmp, LocalAws() as aws:
        code = run(aws, Path(tmp))
    say(f"\ndemo finished in {time.monotonic() - started:.1f} s; the local AWS is stopped.")
    return code


if __name__ == "__main__":
    sys.exit(main())
