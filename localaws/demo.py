"""`make demo`: the whole GitOps loop on a local AWS, with no AWS account.

It starts the local AWS, copies desired-state/ and templates/ into a temporary git
repository, and drives the real Lambda handlers: a push deploys the dev stack, stack
status events publish its outputs to SSM, a committed parameter change is pushed and
applied, and the status table ends the run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from localaws.lambda_context import LambdaContext
from localaws.server import LocalAws

PROJECT = Path(__file__).resolve().parent.parent
STACK = "pci-db-dev"
STACK_FILE = "desired-state/pci-db-dev.yml"


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


def push(repo: Path) -> dict:
    from handlers import push as push_handler

    event = {
        "repository": str(repo),
        "ref": "refs/heads/main",
        "after": git(repo, "rev-parse", "HEAD"),
    }
    say(f"push event: {json.dumps(event)}")
    outcome = push_handler.handler(event, LambdaContext())
    for stack in outcome.get("stacks", []):
        say(f"  {stack['stack_name']}: {stack['action']} -> {stack['outcome']}: {stack['message']}")
    if outcome["status"] != "reconciled":
        say(f"  {outcome['status']}: {outcome.get('reason', '')}")
    return outcome


def deliver_stack_events(tap) -> None:
    """moto sends no events to EventBridge: localaws reads them off the stacks and
    hands each to the stack status handler, as the EventBridge rule would."""
    from handlers import stack_status

    for event in tap.poll():
        detail = event["detail"]
        name = detail["stack-id"].split("/")[1]
        outcome = stack_status.handler(event, LambdaContext())
        status = detail["status-details"]["status"]
        say(f"  event {name} {status} -> {outcome['status']}: {outcome.get('reason', '')}")


def cli(*args: str) -> int:
    from reconciler.cli import main

    say(f"$ reconciler {' '.join(args)}")
    return main(list(args))


def run(aws: LocalAws, workdir: Path) -> int:
    import boto3

    from localaws.stack_events import StackStatusEvents
    from reconciler.aws import session

    os.environ.update(aws.env())
    os.environ["DESIRED_STATE_BRANCH"] = "main"
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    session.reset_clients()
    repo = make_repository(workdir)
    os.environ["DESIRED_STATE_REPOSITORY"] = str(repo)
    say(f"local AWS at {aws.endpoint_url}; desired-state repository at {repo}")
    tap = StackStatusEvents(boto3.client("cloudformation", endpoint_url=aws.endpoint_url))
    rds = boto3.client("rds", endpoint_url=aws.endpoint_url)

    step(1, "Validate the desired state (no AWS call)")
    if cli("validate", str(repo)) != 0:
        return 1

    step(2, "Push: the push handler reads the branch head and deploys through a change set")
    if push(repo)["status"] != "reconciled":
        return 1
    deliver_stack_events(tap)

    step(3, "Outputs, read back from SSM Parameter Store")
    cli("outputs", STACK, str(repo))

    step(4, "Commit a parameter change (DBInstanceClass db.t3.medium -> db.t3.large) and push")
    stack_file = repo / STACK_FILE
    stack_file.write_text(stack_file.read_text().replace("db.t3.medium", "db.t3.large"))
    git(repo, "commit", "--quiet", "-am", "Scale the dev database up")
    cli("plan", str(repo))
    push(repo)
    deliver_stack_events(tap)
    instance = rds.describe_db_instances(DBInstanceIdentifier="pci-mysql-dev")["DBInstances"][0]
    say(f"  RDS pci-mysql-dev is now {instance['DBInstanceClass']} (MultiAZ={instance['MultiAZ']})")

    step(5, "The same push delivered again changes nothing")
    push(repo)

    step(6, "A commit that would replace the database is refused by the data-loss guard")
    stack_file.write_text(
        stack_file.read_text().replace("EnvironmentSuffix: dev", "EnvironmentSuffix: dev2")
    )
    git(repo, "commit", "--quiet", "-am", "Rename the dev environment (replaces the database)")
    push(repo)
    git(repo, "revert", "--quiet", "--no-edit", "HEAD")
    say("  reverted that commit; pushing the revert:")
    push(repo)

    step(7, "Status")
    cli("status", str(repo))
    return 0


def main() -> int:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="reconciler-demo-") as tmp, LocalAws() as aws:
        code = run(aws, Path(tmp))
    say(f"\ndemo finished in {time.monotonic() - started:.1f} s; the local AWS is stopped.")
    return code


if __name__ == "__main__":
    sys.exit(main())
