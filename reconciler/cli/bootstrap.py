"""`reconciler bootstrap`: from the zips `make package` built to a running installation.

It uploads the zips (and the templates) under content-hash keys, so an unchanged build is
never uploaded twice and a changed one gets a new key (CloudFormation updates a function's
code only when its S3 key changes), then creates or updates the bootstrap stack
(`infra/bootstrap.yml`) through a change set, so an unchanged installation is reported
"up to date" and nothing is executed. With `--regions`, each other region gets, the same
way, the forwarding of its CloudFormation events (`infra/member-account.yml` without
roles, stack `<stack>-forward` there) and a work queue of its own in the home region
(`infra/work-queue.yml`, stack `<stack>-work-<region>`).

Everything the command line says is checked before anything is written: exit 2 for a bad
flag or a missing build, exit 1 for what AWS refuses.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.errors import ReconcilerError

EXIT_USAGE = 2
MASKED = "****"  # how CloudFormation shows a NoEcho parameter's value
PROJECT = Path(__file__).resolve().parents[2]
TEMPLATE = PROJECT / "infra" / "bootstrap.yml"
MEMBER_TEMPLATE = PROJECT / "infra" / "member-account.yml"
WORK_QUEUE_TEMPLATE = PROJECT / "infra" / "work-queue.yml"
KEY_PREFIX = "gitops-reconciler"
DEFAULT_STACK = "gitops-reconciler"
DEFAULT_PREFIX = "pci-db-"
DEFAULT_BRANCH = "main"
DEFAULT_SCHEDULE = "rate(1 hour)"
# The template's Handler settings: the reconciler zip must carry these modules.
HANDLER_MODULES = tuple(
    f"handlers/{name}.py"
    for name in (
        "push", "stack_status", "drift", "schedule", "webhook", "preview", "stack_worker", "change"
    )
)  # fmt: skip
# The parameters of the template contract this command sets (docs/packaging.md).
CONTRACT_PARAMETERS = (
    "CodeBucket",
    "ReconcilerCodeKey",
    "DesiredStateRepository",
    "DesiredStateBranch",
    "ManagedStackPrefix",
    "OutputsPathPrefix",
    "ScheduleRate",
    "NotificationEmail",
    "GitHubTokenSecretArn",
    "GitHubAppSecretArn",
    "GitHubWebhookSecretArn",
    "AuditBucketName",
    "AuditRetentionDays",
    "RegionConcurrency",
    "OrganizationId",
    "MemberExternalId",
)
# The audit bucket's Object Lock retention: PCI DSS 10.5.1's year at least, and S3's
# longest default retention at most (the template's MinValue and MaxValue).
AUDIT_RETENTION_DAYS = (365, 36500)
# An SQS event source's MaximumConcurrency (the template's MinValue and MaxValue).
REGION_CONCURRENCY = (2, 1000)
# Lambda's 64-character function names hold "<stack>-stack-status"; the work queues'
# "<stack>-work-<region>.fifo" fit SQS's 80 with it.
STACK_NAME_MAX = 51

_REPOSITORY = re.compile(
    r"github:[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}|codecommit:[\w.-]{1,100}"
)
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_STACK_NAME = re.compile(r"[A-Za-z][-A-Za-z0-9]{0,127}")
_PREFIX = re.compile(r"[A-Za-z][-A-Za-z0-9]{0,99}")  # the template's AllowedPattern
_BRANCH = re.compile(r"(?!-)(?!refs/)[^\s~^:?*\[\\]+")
_SCHEDULE = re.compile(r"rate\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\)|cron\(.+\)")
_SECRET_ARN = re.compile(r"arn:aws[a-z-]*:secretsmanager:([a-z0-9-]+):[0-9]{12}:secret:.+")
_OUTPUTS_PATH = re.compile(r"/[A-Za-z0-9_.-]+/")  # the template's AllowedPattern
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]+")
_ORGANIZATION = re.compile(r"o-[a-z0-9]{10,32}")
_EXTERNAL_ID = re.compile(r"[\w+=,.@:/-]{2,1224}", re.ASCII)  # sts:AssumeRole's ExternalId


class BootstrapUsageError(ReconcilerError):
    """A flag or the build is wrong: the user fixes the command line (exit 2)."""


class BootstrapError(ReconcilerError):
    """The installation cannot go ahead or did not complete (exit 1)."""


@dataclass(frozen=True)
class Settings:
    """The command line, checked. Optional values are None when not given: on an update
    the stack then keeps its current value, so a run that only ships new code cannot drop
    the webhook or the notifications by forgetting a flag."""

    bucket: str
    repository: str
    stack_name: str
    region: str
    branch: str | None = None
    prefix: str | None = None
    outputs_path_prefix: str | None = None
    schedule: str | None = None
    github_token_secret: str | None = None
    github_app_secret: str | None = None
    webhook_secret: str | None = None
    email: str | None = None
    audit_bucket: str | None = None
    audit_retention_days: int | None = None
    region_concurrency: int | None = None
    organization_id: str | None = None
    member_external_id: str | None = None
    regions: tuple[str, ...] = ()  # --regions, checked and without repeats (the home one kept)
    wait: bool = True

    def parameters(self, code_key: str) -> dict[str, str]:
        """The contract parameters the command line sets."""
        given = {
            "CodeBucket": self.bucket,
            "ReconcilerCodeKey": code_key,
            "DesiredStateRepository": self.repository,
            "DesiredStateBranch": self.branch,
            "ManagedStackPrefix": self.prefix,
            "OutputsPathPrefix": self.outputs_path_prefix,
            "ScheduleRate": self.schedule,
            "NotificationEmail": self.email,
            "GitHubTokenSecretArn": self.github_token_secret,
            "GitHubAppSecretArn": self.github_app_secret,
            "GitHubWebhookSecretArn": self.webhook_secret,
            "AuditBucketName": self.audit_bucket,
            "AuditRetentionDays": (
                None if self.audit_retention_days is None else str(self.audit_retention_days)
            ),
            "RegionConcurrency": (
                None if self.region_concurrency is None else str(self.region_concurrency)
            ),
            "OrganizationId": self.organization_id,
            "MemberExternalId": self.member_external_id,
        }
        return {key: value for key, value in given.items() if value is not None}


@dataclass(frozen=True)
class Artifact:
    """A file uploaded under its content hash."""

    name: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def key(self) -> str:
        return f"{KEY_PREFIX}/{self.sha256}/{self.name}"


def settings_from(args: argparse.Namespace, region: str) -> Settings:
    def check(value: str | None, pattern: re.Pattern[str], flag: str, expected: str) -> None:
        if value is not None and not pattern.fullmatch(value):
            raise BootstrapUsageError(f"{flag} {value!r}: {expected}")

    check(args.repository, _REPOSITORY, "--repository", "use github:OWNER/NAME or codecommit:NAME")
    check(args.bucket, _BUCKET, "--bucket", "not an S3 bucket name")
    check(args.stack_name, _STACK_NAME, "--stack-name", "not a CloudFormation stack name")
    if len(args.stack_name) > STACK_NAME_MAX:
        raise BootstrapUsageError(
            f"--stack-name {args.stack_name!r}: at most {STACK_NAME_MAX} characters (its "
            "functions are named <stack>-stack-status, and Lambda allows 64)"
        )
    check(args.branch, _BRANCH, "--branch", "not a branch name (give it without refs/heads/)")
    check(args.schedule, _SCHEDULE, "--schedule", 'use "rate(N minutes|hours|days)" or "cron(...)"')
    check(args.email or None, _EMAIL, "--email", "not an email address")
    check(args.audit_bucket, _BUCKET, "--audit-bucket", "not an S3 bucket name")
    if args.audit_bucket is not None and args.audit_bucket == args.bucket:
        raise BootstrapUsageError(
            "--audit-bucket: give a new bucket, not the code bucket: bootstrap creates it "
            "with Object Lock"
        )
    retention = _retention_days(args.audit_retention_days)
    check(
        args.outputs_path_prefix, _OUTPUTS_PATH, "--outputs-path-prefix",
        "an SSM path with a leading and a trailing slash, like /pci-db/",
    )  # fmt: skip
    if args.prefix is not None and not _PREFIX.fullmatch(args.prefix):
        raise BootstrapUsageError(
            f"--prefix {args.prefix!r}: the start of a stack name (a letter, then letters, "
            "digits and hyphens); the functions' permissions are scoped to it"
        )
    if args.stack_name.startswith(args.prefix or DEFAULT_PREFIX):
        raise BootstrapUsageError(
            f"--stack-name {args.stack_name!r} starts with the managed prefix "
            f"{args.prefix or DEFAULT_PREFIX!r}: the reconciler would take its own stack for "
            "one it manages"
        )
    for flag, arn in (
        ("--github-token-secret", args.github_token_secret),
        ("--github-app-secret", args.github_app_secret),
        ("--webhook-secret", args.webhook_secret),
    ):
        if not arn:
            continue
        match = _SECRET_ARN.fullmatch(arn)
        if not match:
            raise BootstrapUsageError(f"{flag} {arn!r}: not a Secrets Manager secret ARN")
        if match.group(1) != region:
            raise BootstrapUsageError(
                f"{flag}: the secret is in {match.group(1)}; the functions read it in {region}"
            )
    if args.webhook_secret and not args.repository.startswith("github:"):
        raise BootstrapUsageError("--webhook-secret is for a github: repository")
    if args.github_app_secret and not args.repository.startswith("github:"):
        raise BootstrapUsageError("--github-app-secret is for a github: repository")
    if args.organization_id:
        check(
            args.organization_id,
            _ORGANIZATION,
            "--organization-id",
            "not an AWS Organizations id (o-...)",
        )
    if args.member_external_id:
        check(
            args.member_external_id, _EXTERNAL_ID, "--member-external-id",
            "2 to 1224 letters, digits and +=,.@:/-_ (what sts:AssumeRole takes)",
        )  # fmt: skip
    regions = _regions(args.regions)
    if regions and args.no_wait:
        raise BootstrapUsageError(
            "--regions with --no-wait: the other regions' stacks need the bootstrap stack "
            "complete (their work queues feed its stack worker); drop --no-wait"
        )
    return Settings(
        bucket=args.bucket,
        repository=args.repository,
        stack_name=args.stack_name,
        region=region,
        branch=args.branch,
        prefix=args.prefix,
        outputs_path_prefix=args.outputs_path_prefix,
        schedule=args.schedule,
        github_token_secret=args.github_token_secret,
        github_app_secret=args.github_app_secret,
        webhook_secret=args.webhook_secret,
        email=args.email,
        audit_bucket=args.audit_bucket,
        audit_retention_days=retention,
        region_concurrency=_region_concurrency(args.region_concurrency),
        organization_id=args.organization_id,
        member_external_id=args.member_external_id,
        regions=regions,
        wait=not args.no_wait,
    )


def _regions(value: str | None) -> tuple[str, ...]:
    """The --regions list, each a region AWS has, in order, each once."""
    if value is None:
        return ()
    from reconciler.aws.bootstrap import known_regions

    names = [name.strip() for name in value.split(",") if name.strip()]
    if not names:
        raise BootstrapUsageError(f"--regions {value!r}: name one region or more, like eu-west-1")
    known = known_regions()
    for name in names:
        if not _REGION.fullmatch(name) or name not in known:
            raise BootstrapUsageError(
                f"--regions: {name!r} is not an AWS region (give them comma-separated, like "
                "eu-west-1,ap-southeast-2)"
            )
    return tuple(dict.fromkeys(names))


def _region_concurrency(value: str | None) -> int | None:
    low, high = REGION_CONCURRENCY
    if value is None:
        return None
    if not value.isdigit() or not low <= int(value) <= high:
        raise BootstrapUsageError(
            f"--region-concurrency {value!r}: a whole number of stack workers per region from "
            f"{low} to {high} (Lambda's range for an SQS event source's MaximumConcurrency)"
        )
    return int(value)


def _retention_days(value: str | None) -> int | None:
    low, high = AUDIT_RETENTION_DAYS
    if value is None:
        return None
    if not value.isdigit() or not low <= int(value) <= high:
        raise BootstrapUsageError(
            f"--audit-retention-days {value!r}: a whole number of days from {low} (PCI DSS "
            f"10.5.1 keeps audit logs a year) to {high}"
        )
    return int(value)


def find_code(code_dir: Path, local_aws: bool) -> tuple[Artifact, Artifact]:
    """The reconciler's and the rotation function's zips, as `make package` left them. The
    local build (no dependencies) is taken only for a local AWS, and only when no full
    build is there."""
    # The build tool is not in the Lambda zip, this module is: imported when used.
    from reconciler.bundle import LOCAL_RECONCILER_ZIP, RECONCILER_ZIP, ROTATION_ZIP

    reconciler = code_dir / RECONCILER_ZIP
    local = code_dir / LOCAL_RECONCILER_ZIP
    if not reconciler.is_file() and local.is_file() and local_aws:
        reconciler = local
    elif not reconciler.is_file() and local.is_file():
        raise BootstrapUsageError(
            f"{reconciler}: not found ({local.name} is a local build without dependencies, "
            "for a local AWS only): run `make package` first"
        )
    found = (_read_zip(reconciler), _read_zip(code_dir / ROTATION_ZIP))
    with zipfile.ZipFile(reconciler) as archive:
        missing = sorted(set(HANDLER_MODULES) - set(archive.namelist()))
    if missing:
        raise BootstrapUsageError(
            f"{reconciler}: has no {missing[0]}, not a reconciler build: run `make package` first"
        )
    return found


def _read_zip(path: Path) -> Artifact:
    if not path.is_file():
        raise BootstrapUsageError(f"{path}: not found: run `make package` first")
    if not zipfile.is_zipfile(path):
        raise BootstrapUsageError(f"{path}: not a zip file: run `make package` first")
    return Artifact(path.name, path.read_bytes())


def read_template(
    path: Path, contract: tuple[str, ...] = CONTRACT_PARAMETERS, name: str = "bootstrap.yml"
) -> tuple[Artifact, dict[str, str | None]]:
    """A template (the bootstrap one by default) and the parameters it declares, with their
    defaults. It must declare every parameter of `contract`: a mismatch is found here, not
    half way through a deploy."""
    try:
        text = path.read_text()
    except OSError as error:
        raise BootstrapError(
            f"{path}: {error.strerror or error} (bootstrap runs from a checkout of "
            f"gitops-reconciler, where infra/{path.name} is)"
        ) from None
    declared = _declared(text, path)
    missing = [p for p in contract if p not in declared]
    if missing:
        raise BootstrapError(f"{path}: declares no parameter {', '.join(missing)}")
    return Artifact(name, text.encode()), declared


def _declared(text: str, path: Path | str) -> dict[str, str | None]:
    from reconciler.yamlfile import parse

    data, problem = parse(text)
    if problem is not None or not isinstance(data, dict):
        where = f":{problem.line}: {problem.message}" if problem else ": not a template"
        raise BootstrapError(f"{path}{where}")
    return {
        str(name): _parameter_value(spec.get("Default")) if isinstance(spec, dict) else None
        for name, spec in (data.get("Parameters") or {}).items()
    }


def _parameter_value(default: Any) -> str | None:
    """A template default as CloudFormation reads it: a string (YAML may have typed it)."""
    if default is None or isinstance(default, str):
        return default
    if isinstance(default, bool):
        return str(default).lower()
    if isinstance(default, list):
        return ",".join(str(item) for item in default)
    return str(default)


# --- the run -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Extras:
    """The other templates a run uploads: member-account.yml (with the execution policy of
    the bootstrap template deployed, for a StackSet and for `--regions`' forwarding) and
    work-queue.yml (a region's work queue, with `--regions`); each with its parameters."""

    member: tuple[Artifact, dict[str, str | None]]
    work_queue: tuple[Artifact, dict[str, str | None]]


def bootstrap(
    settings: Settings,
    code: tuple[Artifact, Artifact],
    template: tuple[Artifact, dict[str, str | None]],
    aws: Any,
    echo: Callable[[str], None],
    extras: Extras | None = None,
) -> int:
    """Upload, create or update the stack, wait, set up the other regions and report.
    `aws` is a BootstrapAws."""
    from reconciler.aws.bootstrap import template_url

    reconciler_code, rotation_code = code
    body, declared = template
    bucket_region = aws.bucket_region(settings.bucket)
    if bucket_region is None:
        raise BootstrapError(f"bucket {settings.bucket!r} does not exist (or is not yours)")
    if bucket_region != settings.region:
        raise BootstrapError(
            f"bucket {settings.bucket!r} is in {bucket_region}, not {settings.region}: Lambda "
            "reads its code from a bucket in its own region"
        )
    stack = aws.cfn.describe_stack(settings.stack_name, settings.region)
    create = stack is None or stack.status == "REVIEW_IN_PROGRESS"
    if not create and (stack.in_progress or stack.failed):
        raise BootstrapError(_not_updatable(stack))
    parameters = stack_parameters(
        settings.parameters(reconciler_code.key), declared, {} if create else stack.parameters
    )
    _check_audit_bucket(settings, aws, {} if create else stack.parameters)

    echo(f"bootstrap: stack {settings.stack_name} in {settings.region}")
    uploads = [reconciler_code, rotation_code, body]
    if extras is not None:
        uploads.append(extras.member[0])
        if settings.regions:
            uploads.append(extras.work_queue[0])
    for artifact in uploads:
        url = f"s3://{settings.bucket}/{artifact.key}"
        if aws.has_object(settings.bucket, artifact.key):
            echo(f"  unchanged {url}")
        else:
            aws.put_object(settings.bucket, artifact.key, artifact.data)
            echo(f"  uploaded  {url} ({len(artifact.data)} bytes)")

    final = _apply(
        aws,
        settings.stack_name,
        settings.region,
        (body, template_url(settings.bucket, body.key, settings.region)),
        parameters,
        create,
        echo,
        wait=settings.wait,
    )
    if final is None:
        return 0
    if settings.regions and extras is not None:
        _set_up_regions(settings, final, extras, aws, echo)
    member = f"s3://{settings.bucket}/{extras.member[0].key}" if extras is not None else None
    return _report(settings, final, rotation_code, echo, member)


def _apply(
    aws: Any,
    stack_name: str,
    region: str,
    template: tuple[Artifact, str],
    parameters: dict[str, str | None],
    create: bool,
    echo: Callable[[str], None],
    wait: bool = True,
) -> Any:
    """Create or update a stack through a change set (none executed when nothing changes)
    and follow it. The stack as it ended; None when not waited for."""
    from reconciler.cli.follow import follow, operation_start

    body, url = template
    change_set = aws.create_change_set(
        name=_change_set_name(body, parameters, create),
        stack_name=stack_name,
        template_url=url,
        parameters=parameters,
        create=create,
        region=region,
    )
    if change_set.empty:
        aws.delete_change_set(change_set)
        echo(f"{stack_name}: up to date (nothing to change)")
        return aws.cfn.describe_stack(stack_name, region)
    if not change_set.ready:
        # Deleted, so that a rerun after the cause is fixed is not handed the same failure.
        aws.delete_change_set(change_set)
        raise BootstrapError(
            f"change set {change_set.name} is {change_set.status}: {change_set.reason}"
        )
    verb = "creating" if create else "updating"
    echo(f"{stack_name}: {verb} ({len(change_set.changes)} resource change(s))")
    started = operation_start()
    aws.execute_change_set(change_set)
    if not wait:
        echo(
            f"{stack_name}: started, not waiting (--no-wait). Follow it with "
            f"`aws cloudformation describe-stack-events --stack-name {stack_name}`; "
            "run bootstrap again to see the outputs"
        )
        return None
    final = follow(aws.cfn, stack_name, region, echo, since=started)
    if final is None or not final.succeeded:
        status = final.status if final else "deleted"
        reason = f": {final.status_reason}" if final and final.status_reason else ""
        raise BootstrapError(f"stack {stack_name} ended {status}{reason}")
    echo(f"{stack_name}: {final.status}")
    return final


def _set_up_regions(
    settings: Settings, main: Any, extras: Extras, aws: Any, echo: Callable[[str], None]
) -> None:
    """For each other region: its CloudFormation events forwarded to the home region's bus
    (member-account.yml without roles, there), and its work queue with its own cap (here)."""
    from reconciler.aws.bootstrap import template_url

    worker = main.outputs.get("StackWorkerFunctionArn")
    if not worker:
        raise BootstrapError(
            f"stack {settings.stack_name} has no StackWorkerFunctionArn output: deploy the "
            "template of this checkout first"
        )
    account = aws.caller_account()
    home = settings.region
    current = main.parameters
    for region in settings.regions:
        if region == home:
            echo(f"{region}: the home region; the bootstrap stack's rules and queue serve it")
            continue
        echo(f"{region}: events forwarded to {home}, work queue in {home}")
        forward = {
            "CentralAccountId": account,
            "HomeRegion": home,
            "ReconcilerStackName": settings.stack_name,
            "ExternalId": "",
            "CreateRoles": "false",  # the home account's functions act here as themselves
            **{
                key: current[key]
                for key in (
                    "ManagedStackPrefix",
                    "OutputsPathPrefix",
                    "MemberRoleName",
                    "MemberExecutionRoleName",
                    "MemberPreviewRoleName",
                )
                if key in current
            },
        }
        queue = {
            "ReconcilerStackName": settings.stack_name,
            "TargetRegion": region,
            "WorkerFunctionArn": worker,
            **(
                {"RegionConcurrency": current["RegionConcurrency"]}
                if "RegionConcurrency" in current
                else {}
            ),
        }
        for stack_name, where, (artifact, declared), given in (
            (f"{settings.stack_name}-forward", region, extras.member, forward),
            (f"{settings.stack_name}-work-{region}", home, extras.work_queue, queue),
        ):
            stack = aws.cfn.describe_stack(stack_name, where)
            create = stack is None or stack.status == "REVIEW_IN_PROGRESS"
            if not create and (stack.in_progress or stack.failed):
                raise BootstrapError(_not_updatable(stack))
            parameters = stack_parameters(given, declared, {} if create else stack.parameters)
            url = template_url(settings.bucket, artifact.key, settings.region)
            _apply(aws, stack_name, where, (artifact, url), parameters, create, echo)


def _check_audit_bucket(settings: Settings, aws: Any, current: dict[str, str]) -> None:
    """The stack creates the audit bucket: a name already taken would fail the deploy half
    way, so it is refused here, unless it is the bucket this stack made already."""
    name = settings.audit_bucket
    if not name or current.get("AuditBucketName") == name:
        return
    if aws.bucket_exists(name):
        raise BootstrapError(
            f"--audit-bucket {name!r}: that bucket exists already; bootstrap creates the "
            "audit bucket itself (Object Lock can only be set up on a bucket it makes): give "
            "a new name"
        )


def stack_parameters(
    given: dict[str, str], declared: dict[str, str | None], current: dict[str, str]
) -> dict[str, str | None]:
    """Every parameter the template declares, explicitly: the flag's value, else the
    stack's current value (None, "keep it", for a NoEcho one CloudFormation masks), else
    the template's default. Explicit values make the change set show exactly what is
    deployed, and an unchanged run compare equal."""
    parameters: dict[str, str | None] = {}
    for key, default in declared.items():
        if key in given:
            parameters[key] = given[key]
        elif key in current:
            parameters[key] = None if current[key] == MASKED else current[key]
        elif default is not None:
            parameters[key] = default
        else:
            raise BootstrapError(f"template parameter {key} has no default and no flag sets it")
    return parameters


def _not_updatable(stack: Any) -> str:
    if stack.in_progress:
        return f"stack {stack.name} is {stack.status}: run bootstrap again when it has settled"
    if stack.status == "ROLLBACK_COMPLETE":
        return (
            f"stack {stack.name} is ROLLBACK_COMPLETE (its creation failed; see its events): "
            "delete it, then run bootstrap again"
        )
    return f"stack {stack.name} is {stack.status}: it cannot be updated until that is resolved"


def _change_set_name(body: Artifact, parameters: dict[str, str | None], create: bool) -> str:
    """Derived from what is deployed, so a rerun after an interruption finds its own."""
    inputs = "\n".join(
        [body.sha256, str(create), *(f"{k}={v}" for k, v in sorted(parameters.items()))]
    )
    return f"gitops-reconciler-bootstrap-{hashlib.sha256(inputs.encode()).hexdigest()[:16]}"


def _report(
    settings: Settings,
    stack: Any,
    rotation: Artifact,
    echo: Callable[[str], None],
    member: str | None = None,
) -> int:
    outputs = stack.outputs if stack is not None else {}
    if outputs:
        echo("outputs:")
        width = max(len(key) for key in outputs)
        for key, value in sorted(outputs.items()):
            echo(f"  {key:<{width}}  {value}")
    branch = stack.parameters.get("DesiredStateBranch") if stack is not None else None
    echo("next:")
    for line in next_steps(settings, outputs, rotation, branch or DEFAULT_BRANCH, member):
        echo(f"  {line}")
    return 0


def next_steps(
    settings: Settings,
    outputs: dict[str, str],
    rotation: Artifact,
    branch: str,
    member: str | None = None,
) -> list[str]:
    """What the user does after the stack is up: connect the source, push, point the PCI
    stack at the rotation zip, and (for stacks in other accounts) the StackSet's template."""
    kind, _, name = settings.repository.partition(":")
    steps = []
    if kind == "github" and outputs.get("WebhookUrl"):
        steps.append(
            f"in GitHub, {name} > Settings > Webhooks > Add webhook: Payload URL "
            f"{outputs['WebhookUrl']}, content type application/json, the secret stored in "
            "the --webhook-secret secret, just the push event"
        )
    elif kind == "github":
        steps.append(
            "no webhook (no --webhook-secret): pushes are picked up by the schedule; give "
            "--webhook-secret ARN to react to each push at once"
        )
    steps.append(f"push a stack file under desired-state/ to {branch} of {settings.repository}")
    steps.append(
        f"the PCI stack's rotation function: set RotationLambdaS3Bucket={settings.bucket} and "
        f"RotationLambdaS3Key={rotation.key} in its stack file's parameters"
    )
    if outputs.get("StatusTableName"):
        steps.append(f"watch it: RECONCILER_TABLE={outputs['StatusTableName']} reconciler status")
    if outputs.get("AuditTableName"):
        bucket = outputs.get("AuditBucketName")
        copy = f" RECONCILER_AUDIT_BUCKET={bucket}" if bucket else ""
        steps.append(
            f"the audit trail: RECONCILER_AUDIT_TABLE={outputs['AuditTableName']}{copy} "
            "reconciler history"
        )
    if member:
        steps.append(
            f"stacks in other accounts: deploy {member} to them as a StackSet "
            "(docs/deploy.md, Stacks in other accounts)"
        )
    return steps


# --- member-account.yml's execution policy -------------------------------------------------

# Where infra/member-account.yml holds infra/bootstrap.yml's generated execution policy,
# made for its MemberExecutionRole and only where that role is (CreatesRoles).
MEMBER_BEGIN = "# BEGIN the execution role's policy, as infra/bootstrap.yml's generated block"
MEMBER_END = "# END the execution role's policy"
MEMBER_CONDITION = "CreatesRoles"
MEMBER_PARAMETERS = (
    "CentralAccountId",
    "HomeRegion",
    "ReconcilerStackName",
    "ExternalId",
    "ManagedStackPrefix",
    "OutputsPathPrefix",
    "MemberRoleName",
    "MemberExecutionRoleName",
    "MemberPreviewRoleName",
    "CreateRoles",
)
WORK_QUEUE_PARAMETERS = ("ReconcilerStackName", "TargetRegion", "WorkerFunctionArn")


def member_policy_block(bootstrap_text: str) -> str:
    """The bootstrap template's generated execution policy (`reconciler iam-policy
    --bootstrap`) as member-account.yml's: the same statements, for MemberExecutionRole, each
    managed policy made only with it."""
    from reconciler.iam_policy import BEGIN, END, generated_block

    block = generated_block(bootstrap_text)
    if block is None:
        raise BootstrapError(f"the bootstrap template has no {BEGIN!r} ... {END!r} block")
    lines = []
    for line in block.splitlines():
        if line.strip() == BEGIN:
            line = line.replace(BEGIN, MEMBER_BEGIN)
        elif line.strip() == END:
            line = line.replace(END, MEMBER_END)
        else:
            line = line.replace("CloudFormationExecutionRole", "MemberExecutionRole")
        lines.append(line)
        if line == "    Type: AWS::IAM::ManagedPolicy":
            lines.append(f"    Condition: {MEMBER_CONDITION}")
    return "\n".join(lines)


def with_member_policy(member_text: str, bootstrap_text: str) -> str:
    """member-account.yml with its execution policy block and its change rules'
    forwarding made from the bootstrap template's generated blocks."""
    from reconciler.change_rules_block import splice_member

    lines = member_text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip() == MEMBER_BEGIN]
    ends = [i for i, line in enumerate(lines) if line.strip() == MEMBER_END]
    if len(starts) != 1 or len(ends) != 1 or ends[0] < starts[0]:
        raise BootstrapError(f"the member template has no single {MEMBER_BEGIN!r} block")
    block = member_policy_block(bootstrap_text).splitlines()
    text = "\n".join(lines[: starts[0]] + block + lines[ends[0] + 1 :]) + "\n"
    try:
        return splice_member(text, bootstrap_text)
    except ReconcilerError as error:
        raise BootstrapError(str(error)) from None


def read_extras(bootstrap: Artifact) -> Extras:
    """member-account.yml with the policy of the bootstrap template to deploy, and
    work-queue.yml."""
    member_body, _ = read_template(MEMBER_TEMPLATE, MEMBER_PARAMETERS, MEMBER_TEMPLATE.name)
    text = with_member_policy(member_body.data.decode(), bootstrap.data.decode())
    member = Artifact(MEMBER_TEMPLATE.name, text.encode())
    work_queue = read_template(WORK_QUEUE_TEMPLATE, WORK_QUEUE_PARAMETERS, WORK_QUEUE_TEMPLATE.name)
    return Extras((member, _declared(text, MEMBER_TEMPLATE)), work_queue)


def write_member_policy(root: Path = PROJECT) -> None:
    """Rewrite infra/member-account.yml's execution policy and change rules' forwarding from
    infra/bootstrap.yml's, after `reconciler iam-policy --bootstrap infra/bootstrap.yml`
    (the test of the member template fails until both agree): `python -m
    reconciler.cli.bootstrap`."""
    member = root / "infra" / MEMBER_TEMPLATE.name
    bootstrap_text = (root / "infra" / TEMPLATE.name).read_text()
    member.write_text(with_member_policy(member.read_text(), bootstrap_text))


def with_execution_policy(
    template: tuple[Artifact, dict[str, str | None]], root: Path, echo: Callable[[str], None]
) -> tuple[Artifact, dict[str, str | None]]:
    """The template with the execution role's policy and the change rules computed from
    the desired state at `root` (`reconciler iam-policy`), the difference from the
    template's shown first, so a resource type added to the templates gets its permissions
    and its rules."""
    import difflib

    from reconciler import change_rules_block
    from reconciler.desired import DESIRED_DIR, load_desired_state
    from reconciler.iam_policy import bootstrap_policy, generated_block, policy_summary, splice

    if not (root / DESIRED_DIR).is_dir():
        echo(
            f"execution role: {root} has no {DESIRED_DIR}/; the template's policy is kept "
            "(give --desired-state PATH to compute it from your templates)"
        )
        return template
    body, declared = template
    state = load_desired_state(root)
    policy = bootstrap_policy(state)
    rules = change_rules_block.bootstrap_rules(state)
    old_text = body.data.decode()
    new_text = change_rules_block.splice(splice(old_text, policy), rules)
    echo(f"execution role, from {root}: {policy_summary(policy)}")
    echo(f"change rules, from {root}: {change_rules_block.summary(rules)}")
    if new_text == old_text:
        echo("execution role and change rules: the same as the template's")
        return template
    for block in (generated_block, change_rules_block.generated_block):
        diff = difflib.unified_diff(
            (block(old_text) or "").splitlines(),
            (block(new_text) or "").splitlines(),
            "template",
            str(root),
            lineterm="",
            n=1,
        )
        for line in diff:
            echo(f"  {line}")
    return Artifact(body.name, new_text.encode()), declared


def check_rule_names(stack_name: str, template: Artifact) -> None:
    """The generated change rules are named <stack>-change-<service>: a long stack name and
    a long service name may pass EventBridge's 64 characters, found here rather than half
    way through the deploy."""
    from reconciler.change_rules_block import rule_name_problems

    problems = rule_name_problems(stack_name, template.data.decode())
    if problems:
        raise BootstrapUsageError(
            f"--stack-name {stack_name!r}: {problems[0]}; use a shorter stack name"
        )


# --- the command -------------------------------------------------------------------------


def register(sub: Any) -> None:
    """Add `bootstrap` to the CLI's subcommands."""
    c = sub.add_parser(
        "bootstrap",
        help="upload the Lambda zips and deploy the reconciler (infra/bootstrap.yml)",
        description="Upload the zips `make package` built and create or update the "
        "bootstrap stack: the reconciler's functions, rules, tables and roles.",
    )
    c.add_argument("--bucket", required=True, help="S3 bucket for the code, in the region")
    c.add_argument(
        "--repository", required=True, help="desired state: github:OWNER/NAME or codecommit:NAME"
    )
    c.add_argument("--branch", help=f"branch followed (default: {DEFAULT_BRANCH})")
    c.add_argument(
        "--stack-name", default=DEFAULT_STACK, help=f"bootstrap stack (default: {DEFAULT_STACK})"
    )
    c.add_argument("--prefix", help=f"managed stacks' name prefix (default: {DEFAULT_PREFIX})")
    c.add_argument(
        "--outputs-path-prefix",
        metavar="PATH",
        help="SSM path the stack files' outputs-path lie under (default: /pci-db/)",
    )
    c.add_argument("--schedule", help=f"resync and drift schedule (default: {DEFAULT_SCHEDULE})")
    c.add_argument("--github-token-secret", metavar="ARN", help="secret with a GitHub token")
    c.add_argument(
        "--github-app-secret",
        metavar="ARN",
        help='secret with a GitHub App\'s JSON {"app_id", "private_key"}: check runs',
    )
    c.add_argument(
        "--webhook-secret", metavar="ARN", help="secret with the GitHub webhook's HMAC secret"
    )
    c.add_argument("--email", metavar="ADDRESS", help="subscribe this address to notifications")
    c.add_argument(
        "--audit-bucket",
        metavar="NAME",
        help="create this S3 bucket for a copy of the audit trail under Object Lock "
        "(COMPLIANCE mode, kept when the stack is deleted)",
    )
    c.add_argument(
        "--audit-retention-days",
        metavar="N",
        help="days each audit record is locked in that bucket (default 365, at least 365)",
    )
    c.add_argument(
        "--code-dir", type=Path, default=Path("dist"), help="where `make package` put the zips"
    )
    c.add_argument(
        "--regions",
        metavar="R1,R2",
        help="other regions holding managed stacks: forward their CloudFormation events to "
        "this region's bus and give each a work queue (stacks <stack>-forward there, "
        "<stack>-work-<region> here)",
    )
    c.add_argument(
        "--region-concurrency",
        metavar="N",
        help="stack workers at once per region's work queue (default 10, 2 to 1000)",
    )
    c.add_argument(
        "--organization-id",
        metavar="o-ID",
        help="let this AWS organisation's accounts forward their events to the bus "
        '(infra/member-account.yml; "" removes it)',
    )
    c.add_argument(
        "--member-external-id",
        metavar="ID",
        help="the external id given when assuming a member account's role (its ExternalId)",
    )
    c.add_argument("--no-wait", action="store_true", help="start the deploy, do not follow it")
    c.add_argument(
        "--desired-state",
        type=Path,
        default=Path("."),
        metavar="PATH",
        help="a local checkout of the desired-state repository: the execution role's policy "
        "is computed from its templates (default: .; the template's as it is when PATH has "
        "no desired-state/)",
    )
    c.add_argument("--template", type=Path, default=TEMPLATE, help=argparse.SUPPRESS)
    c.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from reconciler.aws.bootstrap import BootstrapAws
    from reconciler.aws.session import default_region
    from reconciler.cli import err, out

    region = default_region()
    try:
        settings = settings_from(args, region)
        code = find_code(args.code_dir, local_aws=bool(os.environ.get("AWS_ENDPOINT_URL")))
    except BootstrapUsageError as error:
        err(f"error: {error}")
        return EXIT_USAGE
    template = read_template(args.template)
    template = with_execution_policy(template, args.desired_state, out)
    try:
        check_rule_names(settings.stack_name, template[0])
    except BootstrapUsageError as error:
        err(f"error: {error}")
        return EXIT_USAGE
    extras = read_extras(template[0])
    return bootstrap(settings, code, template, BootstrapAws(region), out, extras)


if __name__ == "__main__":
    write_member_policy()
