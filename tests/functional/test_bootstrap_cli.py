"""`reconciler bootstrap` on moto: the zips go to S3 under their sha256, the real
infra/bootstrap.yml is created or updated through a change set, an unchanged run uploads
and executes nothing, and every bad flag, missing build or missing bucket is one line,
with nothing written.

The runs pass --webhook-secret: on moto, an update of the template with its webhook
condition false fails ("GetAtt references undefined resource WebhookRole"), a gap of the
local AWS's condition handling, not of the command (see docs/packaging.md)."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import boto3
import pytest

from handlers.routes import change_rules
from localaws import extensions
from reconciler.aws import session
from reconciler.aws.cloudformation import ChangeSet
from reconciler.bundle import LOCAL_RECONCILER_ZIP, reconciler_zip, rotation_zip
from reconciler.change_rules import watched
from reconciler.cli import bootstrap as cli_bootstrap
from reconciler.cli import main
from reconciler.cli import parser as cli_parser
from reconciler.cli.bootstrap import (
    MEMBER_TEMPLATE,
    TEMPLATE,
    WORK_QUEUE_TEMPLATE,
    BootstrapError,
    BootstrapUsageError,
    find_code,
)
from reconciler.desired import load_desired_state
from reconciler.live import LiveStack

extensions.install_all()

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "acme-reconciler-code"
REPOSITORY = "github:acme/desired-state"
WEBHOOK_SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:gitops-webhook-AbCdEf"
STACK = "gitops-reconciler"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The zips as `make package` leaves them; the reconciler's is the local build (moto
    never runs it), under the full build's name."""
    folder = tmp_path_factory.mktemp("dist")
    reconciler_zip(folder / "reconciler.zip", local=True)
    rotation_zip(folder / "rotation_lambda.zip")
    return folder


@pytest.fixture
def code_dir(built, tmp_path) -> Path:
    """A copy a test may change."""
    return Path(shutil.copytree(built, tmp_path / "dist"))


@pytest.fixture
def bucket(aws) -> str:
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
    return BUCKET


def bootstrap(code_dir: Path, *extra: str, bucket: str = BUCKET) -> int:
    return main(
        [
            "bootstrap",
            "--bucket",
            bucket,
            "--repository",
            REPOSITORY,
            "--webhook-secret",
            WEBHOOK_SECRET,
            "--code-dir",
            str(code_dir),
            *extra,
        ]
    )


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def objects() -> dict[str, bytes]:
    s3 = boto3.client("s3", region_name="us-east-1")
    listed = s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read() for o in listed}


def stacks() -> list[dict]:
    return boto3.client("cloudformation", region_name="us-east-1").describe_stacks()["Stacks"]


def parameters() -> dict[str, str]:
    (stack,) = stacks()
    return {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}


def calls() -> list[str]:
    """The AWS operations made from now on, by name."""
    made: list[str] = []
    session.on_every_call(lambda model, **_: made.append(model.name))
    return made


def assert_one_line_error(captured, starts: str) -> None:
    assert captured.err.splitlines() == [captured.err.strip()]
    assert captured.err.startswith(f"error: {starts}")
    assert "Traceback" not in captured.out + captured.err


def test_the_default_template_is_the_checkouts_infra_bootstrap_yml():
    """GIVEN a checkout WHEN bootstrap looks for its template THEN it finds
    infra/bootstrap.yml relative to the package (so these tests run the real template)."""
    assert TEMPLATE == ROOT / "infra" / "bootstrap.yml"
    assert TEMPLATE.is_file()


# --- Uploads under content hashes, create, update, up to date ----------------------------


def test_the_zips_and_the_template_are_uploaded_under_their_sha256(code_dir, bucket, capsys):
    """GIVEN built zips and an empty bucket WHEN bootstrap runs THEN each zip and the
    template are in the bucket at gitops-reconciler/<sha256>/<name>, byte for byte."""
    assert bootstrap(code_dir) == 0
    expected = {
        f"gitops-reconciler/{sha256(code_dir / name)}/{name}": (code_dir / name).read_bytes()
        for name in ("reconciler.zip", "rotation_lambda.zip")
    }
    expected[f"gitops-reconciler/{sha256(TEMPLATE)}/bootstrap.yml"] = TEMPLATE.read_bytes()
    # For a StackSet over member accounts (next steps name it); the same policy.
    member = f"gitops-reconciler/{sha256(MEMBER_TEMPLATE)}/member-account.yml"
    expected[member] = MEMBER_TEMPLATE.read_bytes()
    assert objects() == expected
    assert f"stacks in other accounts: deploy s3://{BUCKET}/{member} to them" in (
        capsys.readouterr().out
    )


def test_the_stack_is_created_from_the_flags_with_the_uploaded_code(code_dir, bucket, capsys):
    """GIVEN a first run WHEN bootstrap completes THEN the stack exists with the flags'
    parameters and ReconcilerCodeKey naming the uploaded zip, and its functions' code is
    that object."""
    assert bootstrap(code_dir, "--branch", "prod", "--email", "ops@acme.example") == 0
    key = f"gitops-reconciler/{sha256(code_dir / 'reconciler.zip')}/reconciler.zip"
    (stack,) = stacks()
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert parameters() == {
        "CodeBucket": BUCKET,
        "ReconcilerCodeKey": key,
        "DesiredStateRepository": REPOSITORY,
        "DesiredStateBranch": "prod",
        "ManagedStackPrefix": "pci-db-",
        "OutputsPathPrefix": "/pci-db/",
        "ScheduleRate": "rate(1 hour)",
        "NotificationEmail": "ops@acme.example",
        "GitHubTokenSecretArn": "",
        "GitHubAppSecretArn": "",
        "GitHubWebhookSecretArn": WEBHOOK_SECRET,
        "LogRetentionDays": "365",
        "DriftMaxConcurrent": "5",
        "Tracing": "Active",
        "AuditBucketName": "",
        "AuditRetentionDays": "365",
        "RegionConcurrency": "10",
        "OrganizationId": "",
        "MemberExternalId": "",
        "MemberRoleName": "gitops-reconciler-member",
        "MemberExecutionRoleName": "gitops-reconciler-member-execution",
        "MemberPreviewRoleName": "gitops-reconciler-member-preview",
    }
    push = next(o["OutputValue"] for o in stack["Outputs"] if o["OutputKey"] == "PushFunctionArn")
    code = boto3.client("lambda", region_name="us-east-1").get_function(FunctionName=push)["Code"]
    assert code["Location"].endswith(f"/{key}")


def test_the_outputs_and_the_webhook_step_are_printed(code_dir, bucket, capsys):
    """GIVEN a completed run WHEN bootstrap reports THEN it prints every output (the
    webhook URL, the status table...) and tells to add the webhook in GitHub with that URL."""
    assert bootstrap(code_dir) == 0
    out = capsys.readouterr().out
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks()[0]["Outputs"]}
    assert {"WebhookUrl", "StatusTableName", "NotificationTopicArn"} <= set(outputs)
    for key, value in outputs.items():
        assert any(line.split() == [key, value] for line in out.splitlines()), key
    assert f"Add webhook: Payload URL {outputs['WebhookUrl']}," in out


def test_a_second_run_with_the_same_zips_uploads_nothing_and_is_up_to_date(
    code_dir, bucket, capsys
):
    """GIVEN an installation from these zips WHEN bootstrap runs again THEN nothing is
    uploaded, no change set is executed, and it says the stack is up to date."""
    assert bootstrap(code_dir) == 0
    capsys.readouterr()
    made = calls()
    assert bootstrap(code_dir) == 0
    assert "PutObject" not in made and "ExecuteChangeSet" not in made
    out = capsys.readouterr().out
    assert f"{STACK}: up to date (nothing to change)" in out
    assert "uploaded" not in out


def test_a_new_build_goes_under_a_new_key_and_updates_the_functions(code_dir, bucket, capsys):
    """GIVEN an installation WHEN a changed reconciler.zip is bootstrapped THEN it is
    uploaded under its own sha256 beside the old one (which stays, for a rollback), and the
    stack's ReconcilerCodeKey moves to it."""
    assert bootstrap(code_dir) == 0
    old = parameters()["ReconcilerCodeKey"]
    with zipfile.ZipFile(code_dir / "reconciler.zip", "a") as archive:
        archive.writestr("handlers/added.py", "ADDED = True\n")
    assert bootstrap(code_dir) == 0
    new = f"gitops-reconciler/{sha256(code_dir / 'reconciler.zip')}/reconciler.zip"
    assert parameters()["ReconcilerCodeKey"] == new != old
    assert {old, new} <= set(objects())
    assert stacks()[0]["StackStatus"] == "UPDATE_COMPLETE"


def test_flags_left_out_of_a_later_run_keep_the_stacks_values(code_dir, bucket, capsys):
    """GIVEN an installation made with --branch and --email WHEN bootstrap runs again
    without them THEN the stack keeps them (a run that only ships code changes nothing
    else) and is up to date."""
    assert bootstrap(code_dir, "--branch", "prod", "--email", "ops@acme.example") == 0
    assert bootstrap(code_dir) == 0
    assert parameters()["DesiredStateBranch"] == "prod"
    assert parameters()["NotificationEmail"] == "ops@acme.example"
    assert "up to date" in capsys.readouterr().out


def test_no_wait_starts_the_deploy_and_returns(code_dir, bucket, capsys):
    """GIVEN --no-wait WHEN bootstrap executes the change set THEN it exits 0 saying it did
    not wait, without following events or printing outputs."""
    assert bootstrap(code_dir, "--no-wait") == 0
    out = capsys.readouterr().out
    assert f"{STACK}: started, not waiting (--no-wait)" in out
    assert "outputs:" not in out


# --- Nothing written when the command line or the build is wrong ------------------------


def test_missing_zips_exit_2_asking_for_make_package(tmp_path, bucket, capsys):
    """GIVEN a code dir without the zips WHEN bootstrap runs THEN it exits 2 with one line
    naming the missing zip and `make package`, and writes nothing."""
    assert bootstrap(tmp_path) == 2
    captured = capsys.readouterr()
    assert_one_line_error(captured, f"{tmp_path / 'reconciler.zip'}: not found")
    assert captured.err.rstrip().endswith("run `make package` first")
    assert objects() == {} and stacks() == []


@pytest.mark.parametrize(
    "repository",
    [
        "acme/desired-state",
        "github:acme",
        "https://github.com/acme/desired-state",
        "codecommit:",
        "gitlab:acme/desired-state",
    ],
)
def test_a_bad_repository_exits_2_and_writes_nothing(bucket, capsys, repository):
    """GIVEN --repository that is neither github:OWNER/NAME nor codecommit:NAME WHEN
    bootstrap runs THEN it exits 2 with one line saying what is expected, writing nothing."""
    code = main(["bootstrap", "--bucket", BUCKET, "--repository", repository])
    assert code == 2
    assert_one_line_error(capsys.readouterr(), f"--repository {repository!r}: use github:")
    assert objects() == {} and stacks() == []


def test_the_outputs_path_prefix_flag_sets_the_parameter(code_dir, bucket):
    assert bootstrap(code_dir, "--outputs-path-prefix", "/apps/") == 0
    assert parameters()["OutputsPathPrefix"] == "/apps/"


@pytest.mark.parametrize("path", ["apps", "/apps", "/a b/"])
def test_a_bad_outputs_path_prefix_exits_2_and_writes_nothing(bucket, capsys, path):
    code = main(
        ["bootstrap", "--bucket", BUCKET, "--repository", REPOSITORY, "--outputs-path-prefix", path]
    )
    assert code == 2
    assert_one_line_error(capsys.readouterr(), f"--outputs-path-prefix {path!r}: an SSM path")
    assert objects() == {} and stacks() == []


def test_a_secret_in_another_region_exits_2(bucket, capsys):
    """GIVEN a webhook secret ARN of another region WHEN bootstrap runs THEN it exits 2:
    the functions read their secrets in their own region."""
    other = WEBHOOK_SECRET.replace("us-east-1", "eu-west-1")
    code = main(
        ["bootstrap", "--bucket", BUCKET, "--repository", REPOSITORY, "--webhook-secret", other]
    )
    assert code == 2
    assert_one_line_error(capsys.readouterr(), "--webhook-secret: the secret is in eu-west-1")
    assert objects() == {}


def test_a_github_app_secret_is_the_stacks_parameter(code_dir, bucket, capsys):
    """GIVEN --github-app-secret ARN WHEN bootstrap completes THEN GitHubAppSecretArn is
    that ARN: the reporting functions read the App's credentials from it."""
    app = WEBHOOK_SECRET.replace("gitops-webhook", "gitops-github-app")
    assert bootstrap(code_dir, "--github-app-secret", app) == 0
    assert parameters()["GitHubAppSecretArn"] == app


AUDIT_BUCKET = "acme-audit-trail"


def test_the_audit_bucket_is_created_with_object_lock_in_compliance_mode(code_dir, bucket, capsys):
    """GIVEN --audit-bucket NAME --audit-retention-days 400 WHEN bootstrap completes THEN the
    parameters name them, the bucket exists locked in COMPLIANCE mode for 400 days, and the
    next steps say how to read the trail."""
    assert bootstrap(code_dir, "--audit-bucket", AUDIT_BUCKET, "--audit-retention-days", "400") == 0

    s3 = boto3.client("s3", region_name="us-east-1")
    lock = s3.get_object_lock_configuration(Bucket=AUDIT_BUCKET)["ObjectLockConfiguration"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks()[0]["Outputs"]}
    assert (parameters()["AuditBucketName"], parameters()["AuditRetentionDays"]) == (
        AUDIT_BUCKET,
        "400",
    )
    assert lock["Rule"]["DefaultRetention"]["Mode"] == "COMPLIANCE"
    assert lock["Rule"]["DefaultRetention"]["Days"] == 400
    assert outputs["AuditBucketName"] == AUDIT_BUCKET
    assert (
        f"RECONCILER_AUDIT_TABLE={outputs['AuditTableName']} "
        f"RECONCILER_AUDIT_BUCKET={AUDIT_BUCKET} reconciler history"
    ) in capsys.readouterr().out


def test_a_later_run_without_the_audit_flags_keeps_the_bucket(code_dir, bucket, capsys):
    """GIVEN an installation with an audit bucket WHEN bootstrap runs again without the
    audit flags THEN the parameters keep the bucket and its retention (no refusal of the
    bucket this stack made)."""
    assert bootstrap(code_dir, "--audit-bucket", AUDIT_BUCKET, "--audit-retention-days", "400") == 0
    assert bootstrap(code_dir, "--audit-bucket", AUDIT_BUCKET) == 0
    assert bootstrap(code_dir) == 0
    assert (parameters()["AuditBucketName"], parameters()["AuditRetentionDays"]) == (
        AUDIT_BUCKET,
        "400",
    )


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (["--audit-retention-days", "30"], "--audit-retention-days '30': a whole number of days"),
        (["--audit-retention-days", "a year"], "--audit-retention-days 'a year': a whole number"),
        (["--audit-retention-days", "36501"], "--audit-retention-days '36501': a whole number"),
        (["--audit-bucket", "Audit_Trail"], "--audit-bucket 'Audit_Trail': not an S3 bucket name"),
        (["--audit-bucket", BUCKET], "--audit-bucket: give a new bucket, not the code bucket"),
    ],
)
def test_a_bad_audit_flag_exits_2_and_writes_nothing(code_dir, bucket, capsys, flags, says):
    """GIVEN an audit retention under a year (PCI DSS 10.5.1) or not a number, or a bad or
    reused bucket name WHEN bootstrap runs THEN it exits 2 with one line, writing nothing."""
    assert bootstrap(code_dir, *flags) == 2
    assert_one_line_error(capsys.readouterr(), says)
    assert objects() == {} and stacks() == []


def test_an_audit_bucket_that_exists_already_exits_1_before_anything_is_deployed(
    code_dir, bucket, capsys
):
    """GIVEN --audit-bucket naming a bucket that exists WHEN bootstrap runs THEN it exits 1
    naming it (the stack must create the bucket to lock it), uploading nothing."""
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=AUDIT_BUCKET)
    assert bootstrap(code_dir, "--audit-bucket", AUDIT_BUCKET) == 1
    assert_one_line_error(capsys.readouterr(), f"--audit-bucket '{AUDIT_BUCKET}': that bucket")
    assert objects() == {} and stacks() == []


def test_a_github_app_secret_in_another_region_or_for_codecommit_exits_2(bucket, capsys):
    """GIVEN an App secret ARN of another region, or one for a CodeCommit repository, WHEN
    bootstrap runs THEN it exits 2 with one line saying why."""
    other = WEBHOOK_SECRET.replace("us-east-1", "eu-west-1")
    given = ["bootstrap", "--bucket", BUCKET, "--github-app-secret"]
    assert main([*given, other, "--repository", REPOSITORY]) == 2
    assert_one_line_error(capsys.readouterr(), "--github-app-secret: the secret is in eu-west-1")
    assert main([*given, WEBHOOK_SECRET, "--repository", "codecommit:desired"]) == 2
    assert_one_line_error(capsys.readouterr(), "--github-app-secret is for a github: repository")
    assert objects() == {}


def test_a_stack_name_inside_the_managed_prefix_exits_2(code_dir, bucket, capsys):
    """GIVEN a bootstrap stack name that starts with the managed prefix WHEN bootstrap runs
    THEN it exits 2: the reconciler would take its own stack for a managed one."""
    code = bootstrap(code_dir, "--stack-name", "pci-db-reconciler")
    assert code == 2
    assert_one_line_error(capsys.readouterr(), "--stack-name 'pci-db-reconciler' starts with")
    assert stacks() == []


def test_a_zip_that_is_not_a_reconciler_build_exits_2(code_dir, bucket, capsys):
    """GIVEN a reconciler.zip without the handler modules WHEN bootstrap runs THEN it exits
    2 naming the missing module, uploading nothing."""
    with zipfile.ZipFile(code_dir / "reconciler.zip", "w") as archive:
        archive.writestr("app.py", "")
    assert bootstrap(code_dir) == 2
    assert_one_line_error(capsys.readouterr(), f"{code_dir / 'reconciler.zip'}: has no handlers/")
    assert objects() == {}


def test_the_local_build_is_taken_for_a_local_aws(tmp_path, built):
    """GIVEN a code dir holding only the local build WHEN the code is looked up for a local
    AWS (AWS_ENDPOINT_URL set) THEN the local zip is the one uploaded."""
    shutil.copy(built / "reconciler.zip", tmp_path / LOCAL_RECONCILER_ZIP)
    shutil.copy(built / "rotation_lambda.zip", tmp_path / "rotation_lambda.zip")
    reconciler, _ = find_code(tmp_path, local_aws=True)
    assert reconciler.name == LOCAL_RECONCILER_ZIP


def test_the_local_build_is_refused_for_a_real_account(tmp_path, built):
    """GIVEN a code dir holding only the local build (no dependencies) WHEN the code is
    looked up for a real account THEN it is refused, asking for `make package`."""
    shutil.copy(built / "reconciler.zip", tmp_path / LOCAL_RECONCILER_ZIP)
    shutil.copy(built / "rotation_lambda.zip", tmp_path / "rotation_lambda.zip")
    with pytest.raises(BootstrapUsageError, match=r"local build .* run `make package` first$"):
        find_code(tmp_path, local_aws=False)


def test_a_usage_error_from_the_shell_is_one_line_without_traceback(tmp_path):
    """GIVEN `python -m reconciler bootstrap` with a bad repository WHEN it runs THEN it
    exits 2 with exactly one line on stderr, before any AWS call."""
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "bootstrap", "--bucket", BUCKET, "--repository", "x"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "error: --repository 'x': use github:OWNER/NAME or codecommit:NAME"
    ]


# --- What AWS refuses: exit 1 ------------------------------------------------------------


def test_a_missing_bucket_exits_1_naming_it(code_dir, aws, capsys):
    """GIVEN a bucket that does not exist WHEN bootstrap runs THEN it exits 1 with one line
    naming the bucket, and no stack is created."""
    assert bootstrap(code_dir, bucket="no-such-bucket") == 1
    assert_one_line_error(capsys.readouterr(), "bucket 'no-such-bucket' does not exist")
    assert stacks() == []


def test_a_bucket_in_another_region_exits_1(code_dir, aws, capsys):
    """GIVEN a bucket in eu-west-1 and a us-east-1 run WHEN bootstrap runs THEN it exits 1:
    Lambda reads its code from a bucket in its own region. Nothing is uploaded."""
    s3 = boto3.client("s3", region_name="eu-west-1")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert bootstrap(code_dir) == 1
    assert_one_line_error(capsys.readouterr(), f"bucket '{BUCKET}' is in eu-west-1, not us-east-1")
    assert s3.list_objects_v2(Bucket=BUCKET).get("Contents", []) == []


def test_a_template_without_a_contract_parameter_exits_1_before_uploading(
    code_dir, bucket, tmp_path, capsys
):
    """GIVEN a template that lacks ReconcilerCodeKey WHEN bootstrap runs with it THEN it
    exits 1 naming the parameter, and nothing is uploaded."""
    template = tmp_path / "bootstrap.yml"
    template.write_text(TEMPLATE.read_text().replace("ReconcilerCodeKey:", "CodeKey:", 1))
    assert bootstrap(code_dir, "--template", str(template)) == 1
    assert_one_line_error(
        capsys.readouterr(), f"{template}: declares no parameter ReconcilerCodeKey"
    )
    assert objects() == {}


# --- Stack states moto cannot produce, with a stand-in for the AWS adapter ---------------


class FakeAws:
    """BootstrapAws with a stack in a given state; records what would be written."""

    def __init__(self, stack=None, change_set=None) -> None:
        self.region = "us-east-1"
        self.written: list[str] = []
        self._stack = stack
        self._change_set = change_set
        self.cfn = self

    def bucket_region(self, bucket: str) -> str:
        return "us-east-1"

    def describe_stack(self, name: str, region: str):
        return self._stack

    def has_object(self, bucket: str, key: str) -> bool:
        return False

    def put_object(self, bucket: str, key: str, data: bytes) -> None:
        self.written.append(key)

    def create_change_set(self, **kwargs):
        self.written.append(kwargs["name"])
        return self._change_set

    def delete_change_set(self, change_set) -> None:
        self.written.append(f"deleted {change_set.name}")


def run_with(aws: FakeAws, code_dir: Path):
    args = cli_parser().parse_args(
        ["bootstrap", "--bucket", BUCKET, "--repository", REPOSITORY, "--code-dir", str(code_dir)]
    )
    return cli_bootstrap.bootstrap(
        cli_bootstrap.settings_from(args, "us-east-1"),
        cli_bootstrap.find_code(code_dir, local_aws=False),
        cli_bootstrap.read_template(TEMPLATE),
        aws,
        lambda line: None,
    )


def test_a_stack_whose_creation_rolled_back_is_refused_before_any_upload(code_dir):
    """GIVEN a bootstrap stack in ROLLBACK_COMPLETE (its creation failed) WHEN bootstrap
    runs THEN it stops with the way out (delete it, run again) and writes nothing."""
    aws = FakeAws(LiveStack(STACK, "id", "us-east-1", "ROLLBACK_COMPLETE"))
    with pytest.raises(
        BootstrapError, match=r"ROLLBACK_COMPLETE .*: delete it, then run bootstrap"
    ):
        run_with(aws, code_dir)
    assert aws.written == []


def test_a_stack_being_updated_is_refused_before_any_upload(code_dir):
    """GIVEN the bootstrap stack UPDATE_IN_PROGRESS WHEN bootstrap runs THEN it stops,
    asking to run again once the stack has settled, and writes nothing."""
    aws = FakeAws(LiveStack(STACK, "id", "us-east-1", "UPDATE_IN_PROGRESS"))
    with pytest.raises(BootstrapError, match=r"is UPDATE_IN_PROGRESS: run bootstrap again when"):
        run_with(aws, code_dir)
    assert aws.written == []


def test_a_failed_change_set_is_reported_and_deleted(code_dir):
    """GIVEN CloudFormation failing the change set (not for want of changes) WHEN bootstrap
    runs THEN it raises with CloudFormation's reason and deletes the change set, so a
    rerun after the fix is not handed the same failure."""
    failed = ChangeSet("cs", STACK, "us-east-1", "FAILED", "UNAVAILABLE", "Template error", ())
    aws = FakeAws(None, failed)
    with pytest.raises(BootstrapError, match=r"change set cs is FAILED: Template error$"):
        run_with(aws, code_dir)
    assert aws.written[-1] == "deleted cs"


def test_an_installation_without_a_webhook_updates_too(code_dir, bucket, capsys):
    """GIVEN an installation from a CodeCommit repository (no webhook function) WHEN a
    changed build is bootstrapped THEN the stack updates to it."""
    flags = ["bootstrap", "--bucket", BUCKET, "--repository", "codecommit:desired-state"]
    flags += ["--code-dir", str(code_dir)]
    assert main(flags) == 0
    with zipfile.ZipFile(code_dir / "reconciler.zip", "a") as archive:
        archive.writestr("handlers/added.py", "ADDED = True\n")
    assert main(flags) == 0, capsys.readouterr().err
    assert stacks()[0]["StackStatus"] == "UPDATE_COMPLETE"


def test_the_execution_role_is_computed_from_the_desired_state_and_the_difference_shown(
    code_dir, bucket, tmp_path, capsys
):
    """GIVEN a desired-state checkout whose template adds an SNS topic WHEN bootstrap runs
    with --desired-state THEN the difference is printed before deploying and the uploaded
    template's execution role holds sns:CreateTopic."""
    from tests.repo import make_repo

    topic = "  Topic:\n    Type: AWS::SNS::Topic\n"
    root = make_repo(tmp_path / "repo")
    (root / "templates/app.yml").write_text(
        (root / "templates/app.yml").read_text().replace("Resources:\n", "Resources:\n" + topic)
    )
    assert bootstrap(code_dir, "--desired-state", str(root)) == 0
    out = capsys.readouterr().out
    assert "+              - sns:CreateTopic" in out
    assert out.index("sns:CreateTopic") < out.index("uploaded")
    (body,) = [v for k, v in objects().items() if k.endswith("bootstrap.yml")]
    assert b"sns:CreateTopic" in body


# --- --regions: forwarding and a work queue per other region ------------------------------

HOME, OTHER = "us-east-1", "eu-west-1"


def stack_in(region: str, name: str) -> dict | None:
    cloudformation = boto3.client("cloudformation", region_name=region)
    found = [s for s in cloudformation.describe_stacks()["Stacks"] if s["StackName"] == name]
    return found[0] if found else None


def parameters_of(stack: dict) -> dict[str, str]:
    return {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}


def mappings(queue_name: str) -> list[dict]:
    sqs = boto3.client("sqs", region_name=HOME)
    url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    listed = boto3.client("lambda", region_name=HOME).list_event_source_mappings(
        EventSourceArn=arn["QueueArn"]
    )
    return listed["EventSourceMappings"]


def test_regions_forward_their_events_home_and_get_a_work_queue_here(code_dir, bucket, capsys):
    """GIVEN --regions eu-west-1 WHEN bootstrap completes THEN eu-west-1 holds
    gitops-reconciler-forward (the member template without roles, forwarding to this
    account's bus in us-east-1) and us-east-1 holds gitops-reconciler-work-eu-west-1, whose
    FIFO queue <stack>-work-eu-west-1.fifo feeds the stack worker with the region's cap."""
    assert bootstrap(code_dir, "--regions", OTHER) == 0

    forward = stack_in(OTHER, f"{STACK}-forward")
    assert forward is not None and forward["StackStatus"] == "CREATE_COMPLETE"
    assert parameters_of(forward) | {"ExternalId": ""} == {
        "CentralAccountId": "123456789012",
        "HomeRegion": HOME,
        "ReconcilerStackName": STACK,
        "ExternalId": "",
        "ManagedStackPrefix": "pci-db-",
        "OutputsPathPrefix": "/pci-db/",
        "MemberRoleName": "gitops-reconciler-member",
        "MemberExecutionRoleName": "gitops-reconciler-member-execution",
        "MemberPreviewRoleName": "gitops-reconciler-member-preview",
        "CreateRoles": "false",
    }
    rules = boto3.client("events", region_name=OTHER).list_rules()["Rules"]
    # The stack status and drift events, and CloudTrail's of the calls the change rules watch.
    changes = change_rules(watched(load_desired_state(ROOT)))
    assert len(rules) == 2 + len(changes)
    forwarded = {rule["EventPattern"] for rule in rules}
    assert {json.dumps(r.event_pattern, sort_keys=True) for r in changes} <= {
        json.dumps(json.loads(p), sort_keys=True) for p in forwarded
    }
    work = stack_in(HOME, f"{STACK}-work-{OTHER}")
    assert work is not None and work["StackStatus"] == "CREATE_COMPLETE"
    (mapping,) = mappings(f"{STACK}-work-{OTHER}.fifo")
    assert mapping["FunctionArn"].endswith(f":function:{STACK}-stack-worker")
    assert mapping["BatchSize"] == 1
    assert str(mapping["ScalingConfig"]["MaximumConcurrency"]) == "10"
    assert stack_in(HOME, f"{STACK}-forward") is None  # the home region hears its own events


def test_a_second_run_with_the_same_regions_changes_nothing(code_dir, bucket, capsys):
    """GIVEN an installation with --regions eu-west-1 WHEN bootstrap runs again the same
    THEN no change set is executed and each of the three stacks is up to date."""
    assert bootstrap(code_dir, "--regions", OTHER) == 0
    capsys.readouterr()
    made = calls()
    assert bootstrap(code_dir, "--regions", OTHER) == 0
    out = capsys.readouterr().out
    assert "ExecuteChangeSet" not in made
    for name in (STACK, f"{STACK}-forward", f"{STACK}-work-{OTHER}"):
        assert f"{name}: up to date (nothing to change)" in out, name


def test_region_concurrency_sets_every_regions_cap(code_dir, bucket, capsys):
    """GIVEN --region-concurrency 25 --regions eu-west-1 WHEN bootstrap completes THEN the
    bootstrap stack's RegionConcurrency is 25 and so is eu-west-1's queue's cap."""
    assert bootstrap(code_dir, "--region-concurrency", "25", "--regions", OTHER) == 0
    assert parameters_of(stack_in(HOME, STACK))["RegionConcurrency"] == "25"
    (mapping,) = mappings(f"{STACK}-work-{OTHER}.fifo")
    assert str(mapping["ScalingConfig"]["MaximumConcurrency"]) == "25"


def test_the_home_region_and_repeats_in_regions_are_set_up_once(code_dir, bucket, capsys):
    """GIVEN --regions naming the home region and eu-west-1 twice WHEN bootstrap completes
    THEN eu-west-1 gets its two stacks once, the home region none of its own (the bootstrap
    stack serves it), and the output says so."""
    assert bootstrap(code_dir, "--regions", f"{HOME},{OTHER},{OTHER}") == 0
    out = capsys.readouterr().out
    assert f"{HOME}: the home region; the bootstrap stack's rules and queue serve it" in out
    assert out.count(f"{OTHER}: events forwarded to {HOME}") == 1
    home_stacks = boto3.client("cloudformation", region_name=HOME).describe_stacks()["Stacks"]
    assert sorted(s["StackName"] for s in home_stacks) == [STACK, f"{STACK}-work-{OTHER}"]


# moto 5.2.5 makes no AWS::Events::EventBusPolicy (it warns and skips it); the template's
# shape is tests/unit/test_bootstrap_template.py's.
@pytest.mark.filterwarnings("ignore:Tried to parse AWS.*EventBusPolicy")
def test_organization_and_external_id_flags_set_their_parameters(code_dir, bucket, capsys):
    """GIVEN --organization-id and --member-external-id WHEN bootstrap completes THEN the
    stack's OrganizationId (the bus policy) and MemberExternalId are theirs."""
    flags = ("--organization-id", "o-a1b2c3d4e5", "--member-external-id", "acme-gitops-2026")
    assert bootstrap(code_dir, *flags) == 0
    assert parameters()["OrganizationId"] == "o-a1b2c3d4e5"
    assert parameters()["MemberExternalId"] == "acme-gitops-2026"


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (["--regions", "eu-cental-1"], "--regions: 'eu-cental-1' is not an AWS region"),
        (["--regions", "eu-west-1,EU-WEST-2"], "--regions: 'EU-WEST-2' is not an AWS region"),
        (["--regions", "eu-west-1;us-east-2"], "--regions: 'eu-west-1;us-east-2' is not an AWS"),
        (["--regions", " , "], "--regions ' , ': name one region or more"),
        (["--regions", OTHER, "--no-wait"], "--regions with --no-wait"),
        (["--region-concurrency", "1"], "--region-concurrency '1': a whole number"),
        (["--region-concurrency", "1001"], "--region-concurrency '1001': a whole number"),
        (["--region-concurrency", "ten"], "--region-concurrency 'ten': a whole number"),
        (["--organization-id", "acme"], "--organization-id 'acme': not an AWS Organizations id"),
        (["--member-external-id", "a b"], "--member-external-id 'a b': 2 to 1224"),
        (["--stack-name", "g" * 52], f"--stack-name '{'g' * 52}': at most 51 characters"),
    ],
)
def test_a_bad_region_or_member_flag_exits_2_and_writes_nothing(
    code_dir, bucket, capsys, flags, says
):
    """GIVEN a region that is not one, a cap outside Lambda's 2 to 1000, a malformed
    organisation or external id, --regions without waiting, or a stack name too long for its
    functions WHEN bootstrap runs THEN it exits 2 with one line naming it, writing nothing."""
    assert bootstrap(code_dir, *flags) == 2
    assert_one_line_error(capsys.readouterr(), says)
    assert objects() == {} and stacks() == []


def test_the_work_queue_template_is_uploaded_only_for_regions(code_dir, bucket, capsys):
    """GIVEN a run without --regions and one with WHEN the bucket is listed THEN
    work-queue.yml is there only after the second."""
    key = f"gitops-reconciler/{sha256(WORK_QUEUE_TEMPLATE)}/work-queue.yml"
    assert bootstrap(code_dir) == 0
    assert key not in objects()
    assert bootstrap(code_dir, "--regions", OTHER) == 0
    assert objects()[key] == WORK_QUEUE_TEMPLATE.read_bytes()
