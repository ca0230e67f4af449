"""CodeCommitSource on botocore's Stubber (moto has no CodeCommit file or commit APIs):
the Stubber checks every request and answer against the service model, and each request's
parameters against the ones queued here, so every GetFolder and GetFile below is checked
to name the commit GetBranch gave. Then the push handler end to end: a real
"CodeCommit Repository State Change" event, CodeCommit stubbed, the rest on moto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from handlers import idempotency, push, runtime
from localaws.lambda_context import LambdaContext
from reconciler.aws import codecommit, session
from reconciler.aws.codecommit import CodeCommitSource
from reconciler.aws.idempotency import DEFAULT_TABLE as IDEMPOTENCY_TABLE
from reconciler.desired import load_desired_state
from reconciler.errors import AwsError, SourceError
from reconciler.source import Checkout
from reconciler.validation import validate
from tests.repo import STACK, TEMPLATE

EVENTS = Path(__file__).parent.parent / "events"
REPO = "gitops-desired-state"
HEAD = "5d8e2f9a1b3c4d5e6f708192a3b4c5d6e7f80912"  # the commit the event names, too
OLDER = "c1a2b3d4e5f60718293a4b5c6d7e8f9012345678"
BUCKET = b'{"Resources": {"Bucket": {"Type": "AWS::S3::Bucket"}}}\n'


@pytest.fixture
def client() -> object:
    return boto3.client("codecommit", region_name="us-east-1")


@pytest.fixture
def stubber(client) -> Iterator[Stubber]:
    with Stubber(client) as stub:
        yield stub


@pytest.fixture
def source(client) -> CodeCommitSource:
    return CodeCommitSource(REPO, "main", client=client)


# --- what the stubbed CodeCommit answers, each request's parameters checked ----------


def get_branch(stub: Stubber, commit: str = HEAD) -> None:
    stub.add_response(
        "get_branch",
        {"branch": {"branchName": "main", "commitId": commit}},
        {"repositoryName": REPO, "branchName": "main"},
    )


def get_commit(stub: Stubber, commit: str = HEAD) -> None:
    """The commit's author, read once a stack is about to change (change control)."""
    person = {"name": "Dana", "email": "dana@example.com", "date": "1714557600 +0000"}
    stub.add_response(
        "get_commit",
        {
            "commit": {
                "commitId": commit,
                "treeId": "0" * 40,
                "parents": [],
                "message": "change\n",
                "author": person,
                "committer": person,
            }
        },
        {"repositoryName": REPO, "commitId": commit},
    )


def get_folder(
    stub: Stubber,
    path: str,
    files: tuple[str, ...] = (),
    folders: tuple[str, ...] = (),
    links: tuple[str, ...] = (),
    modules: tuple[str, ...] = (),
    modes: dict[str, str] | None = None,
    commit: str = HEAD,
) -> None:
    """GetFolder of `path` ('' is the root) at `commit`, listing entries by name."""
    at = f"{path}/" if path else ""
    modes = modes or {}
    answer = {
        "commitId": commit,
        "folderPath": "/" + path,
        "treeId": "7b3c4dad" + "0" * 32,
        "subFolders": [
            {"absolutePath": at + n, "relativePath": n, "treeId": "d5e92ae3" + "0" * 32}
            for n in folders
        ],
        "files": [
            {
                "absolutePath": at + n,
                "relativePath": n,
                "blobId": "74094e8b" + "0" * 32,
                "fileMode": modes.get(n, "NORMAL"),
            }
            for n in files
        ],
        "symbolicLinks": [
            {
                "absolutePath": at + n,
                "relativePath": n,
                "blobId": "9ceb72f6" + "0" * 32,
                "fileMode": "SYMLINK",
            }
            for n in links
        ],
        "subModules": [
            {"absolutePath": at + n, "relativePath": n, "commitId": "795c4a2a" + "0" * 32}
            for n in modules
        ],
    }
    params = {"repositoryName": REPO, "commitSpecifier": commit, "folderPath": "/" + path}
    stub.add_response("get_folder", answer, params)


def get_file(stub: Stubber, path: str, content: bytes, size: int | None = None) -> None:
    answer = {
        "commitId": HEAD,
        "blobId": "559b44fe" + "0" * 32,
        "filePath": path,
        "fileMode": "NORMAL",
        "fileSize": len(content) if size is None else size,
        "fileContent": content,
    }
    params = {"repositoryName": REPO, "commitSpecifier": HEAD, "filePath": "/" + path}
    stub.add_response("get_file", answer, params)


def desired_repository(stub: Stubber, commit: str = HEAD) -> None:
    """A repository with a stack file, its template, a JSON template two folders down,
    files that are not desired state, a symlink (listed apart and as a SYMLINK file) and
    a submodule. The order is the walk's: breadth first, then the wanted files."""
    get_branch(stub, commit)
    get_folder(
        stub,
        "",
        files=("README.md", "latest.yml"),
        folders=("desired-state", "templates", "docs"),
        links=("current.yml",),
        modules=("vendored",),
        modes={"latest.yml": "SYMLINK"},
        commit=commit,
    )
    get_folder(stub, "desired-state", files=("app-dev.yml", "notes.txt"), commit=commit)
    get_folder(stub, "templates", files=("app.yml",), folders=("shared",), commit=commit)
    get_folder(stub, "docs", files=("guide.md",), commit=commit)
    get_folder(stub, "templates/shared", files=("bucket.json",), commit=commit)


def desired_files(stub: Stubber) -> None:
    get_file(stub, "desired-state/app-dev.yml", STACK.encode())
    get_file(stub, "templates/app.yml", TEMPLATE.encode())
    get_file(stub, "templates/shared/bucket.json", BUCKET)


@pytest.fixture
def checked_out(source, stubber, tmp_path) -> Checkout:
    desired_repository(stubber)
    desired_files(stubber)
    checkout = source.checkout(tmp_path / "repo")
    stubber.assert_no_pending_responses()
    return checkout


def tree(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


# --- the source ----------------------------------------------------------------------


def test_head_revision_is_the_commit_get_branch_names(source, stubber):
    """GIVEN main at HEAD WHEN the head is asked for THEN it is GetBranch's commit id."""
    get_branch(stubber)
    assert source.head_revision() == HEAD
    stubber.assert_no_pending_responses()


def test_checkout_reads_every_folder_and_file_at_the_branch_head_commit(checked_out):
    """GIVEN main at HEAD WHEN checked out THEN every GetFolder and GetFile carried HEAD
    as commitSpecifier (checked by the Stubber, all queued calls made) and the checkout
    says HEAD."""
    assert checked_out.revision == HEAD


def test_checkout_writes_desired_state_and_templates_with_their_paths(checked_out):
    """GIVEN a stack file and its template WHEN checked out THEN they are written under
    dest at their repository paths, byte for byte."""
    root = checked_out.root
    assert (root / "desired-state" / "app-dev.yml").read_bytes() == STACK.encode()
    assert (root / "templates" / "app.yml").read_bytes() == TEMPLATE.encode()


def test_checkout_fetches_only_yaml_json_and_template_files(checked_out):
    """GIVEN README.md, notes.txt and docs/guide.md WHEN checked out THEN none of them is
    fetched (an extra GetFile would not match the queued calls) or written."""
    assert tree(checked_out.root) == {
        "desired-state/app-dev.yml",
        "templates/app.yml",
        "templates/shared/bucket.json",
    }


def test_checkout_walks_nested_folders(checked_out):
    """GIVEN a template two folders down WHEN checked out THEN it is there."""
    assert (checked_out.root / "templates" / "shared" / "bucket.json").read_bytes() == BUCKET


def test_symlinks_and_submodules_are_neither_read_nor_written(checked_out):
    """GIVEN a symlink (in symbolicLinks, and one in files with mode SYMLINK) and a
    submodule WHEN checked out THEN no call reads them and nothing is written for them."""
    names = {p.name for p in checked_out.root.rglob("*")}
    assert not {"current.yml", "latest.yml", "vendored"} & names


def test_checked_out_tree_loads_and_validates_without_errors(checked_out):
    """GIVEN the checkout WHEN loaded and validated as the push handler does THEN the
    stack is there and no error is found."""
    state = load_desired_state(checked_out.root)
    report = validate(state)
    assert [s.stack_name for s in state.stacks] == ["app-dev"]
    assert "templates/app.yml" in state.templates
    assert not report.has_errors, [str(f) for f in report.findings]


def test_missing_repository_is_a_source_error_naming_repository_and_branch(
    source, stubber, tmp_path
):
    """GIVEN a repository name CodeCommit does not know WHEN checked out THEN a one-line
    SourceError names the repository, branch and region, and nothing is written."""
    stubber.add_client_error(
        "get_branch",
        service_error_code="RepositoryDoesNotExistException",
        service_message=f"{REPO} does not exist",
        http_status_code=400,
    )
    with pytest.raises(SourceError) as raised:
        source.checkout(tmp_path / "repo")
    assert str(raised.value) == (
        f"CodeCommit {REPO} (branch main): repository does not exist in us-east-1"
    )
    assert not (tmp_path / "repo").exists()


def test_missing_branch_is_a_source_error_naming_repository_and_branch(source, stubber):
    """GIVEN a branch the repository does not have WHEN the head is read THEN a one-line
    SourceError names the repository and branch."""
    stubber.add_client_error(
        "get_branch",
        service_error_code="BranchDoesNotExistException",
        service_message="Branch main does not exist",
        http_status_code=400,
    )
    with pytest.raises(SourceError, match=rf"^CodeCommit {REPO} \(branch main\): branch does not"):
        source.head_revision()


def test_other_aws_errors_become_one_line_aws_errors(source, stubber):
    """GIVEN the Lambda's role may not call GetBranch WHEN the head is read THEN an
    AwsError says which call failed and why (not a SourceError: no retry of the same
    configuration fixes a missing repository, while a permission can be granted)."""
    stubber.add_client_error(
        "get_branch",
        service_error_code="AccessDeniedException",
        service_message="not authorized to perform: codecommit:GetBranch",
        http_status_code=400,
    )
    with pytest.raises(AwsError) as raised:
        source.head_revision()
    assert str(raised.value) == (
        "AWS GetBranch failed: AccessDeniedException: "
        "not authorized to perform: codecommit:GetBranch"
    )


def test_a_file_over_one_mib_is_refused_by_name(source, stubber, tmp_path):
    """GIVEN a template of 1 MiB and one byte WHEN checked out THEN a SourceError names it
    and it is not written."""
    get_branch(stubber)
    get_folder(stubber, "", files=("big.yml",))
    get_file(stubber, "big.yml", b"a: 1\n", size=1024 * 1024 + 1)
    with pytest.raises(SourceError) as raised:
        source.checkout(tmp_path / "repo")
    assert str(raised.value) == (
        f"CodeCommit {REPO} (branch main): big.yml is larger than 1 MiB; not read"
    )
    assert not (tmp_path / "repo" / "big.yml").exists()


def test_a_file_codecommit_will_not_return_is_refused_by_name(source, stubber, tmp_path):
    """GIVEN GetFile answers FileTooLargeException WHEN checked out THEN a SourceError
    names the file."""
    get_branch(stubber)
    get_folder(stubber, "", folders=("templates",))
    get_folder(stubber, "templates", files=("huge.json",))
    stubber.add_client_error(
        "get_file", service_error_code="FileTooLargeException", http_status_code=400
    )
    with pytest.raises(SourceError, match=r"templates/huge\.json is too large for GetFile"):
        source.checkout(tmp_path / "repo")


@pytest.mark.parametrize(
    "name, kind",
    [
        ("..", "folders"),
        ("..", "files"),
        ("../outside.yml", "files"),
        ("/etc/cron.d/job.yml", "files"),
    ],
)
def test_a_path_leaving_the_repository_is_refused(source, stubber, tmp_path, name, kind):
    """GIVEN a listing whose entry is `..`, contains `..` or is absolute WHEN checked out
    THEN a SourceError, before any file is read or written."""
    get_branch(stubber)
    get_folder(stubber, "", **{kind: (name,)})
    with pytest.raises(SourceError, match=r"refusing path .*: it would leave the repository"):
        source.checkout(tmp_path / "repo")
    stubber.assert_no_pending_responses()
    assert not (tmp_path / "repo").exists()


def test_more_than_a_thousand_desired_state_files_are_refused_before_reading(
    source, stubber, tmp_path
):
    """GIVEN 1,001 YAML files WHEN checked out THEN a SourceError before any GetFile."""
    get_branch(stubber)
    get_folder(stubber, "", files=tuple(f"s{i}.yml" for i in range(1001)))
    with pytest.raises(SourceError, match="more than 1000 desired-state files"):
        source.checkout(tmp_path / "repo")
    stubber.assert_no_pending_responses()


def test_a_walk_past_the_folder_limit_stops(source, stubber, tmp_path, monkeypatch):
    """GIVEN a limit of 2 folders and a tree of 3 WHEN checked out THEN a SourceError
    after 2 GetFolder calls."""
    monkeypatch.setattr(codecommit, "MAX_FOLDERS", 2)
    get_branch(stubber)
    get_folder(stubber, "", folders=("a",))
    get_folder(stubber, "a", folders=("b",))
    with pytest.raises(SourceError, match="more than 2 folders"):
        source.checkout(tmp_path / "repo")
    stubber.assert_no_pending_responses()


@pytest.mark.parametrize(
    "name, same",
    [(REPO, True), ("Gitops-Desired-State", False), ("gitops-desired-state.git", False)],
)
def test_repository_names_match_exactly_as_codecommit_names_are_case_sensitive(source, name, same):
    """GIVEN an event's repository name WHEN compared THEN only the exact name matches
    (CodeCommit's quotas page: repository names are case sensitive)."""
    assert source.is_repository(name) is same


# --- the push handler, end to end ------------------------------------------------------


def table_of(params: dict) -> str:
    """The table a DynamoDB call names (its JSON body), '' for any other call."""
    body = params.get("body")
    if isinstance(body, bytes) and body.startswith(b"{"):
        return json.loads(body).get("TableName", "")
    return ""


@pytest.fixture
def calls() -> list[str]:
    """Every AWS call made through reconciler.aws.session, except those on the table of
    handled events (a skipped or rejected event is still recorded as handled)."""
    made: list[str] = []

    def record(model, params, **_) -> None:
        if table_of(params) != IDEMPOTENCY_TABLE:
            made.append(model.name)

    session.on_every_call(record)
    return made


def clear_caches() -> None:
    runtime.services.cache_clear()
    runtime.source.cache_clear()
    idempotency.reset()


@pytest.fixture
def lambda_env(monkeypatch, aws, calls, source) -> Iterator[None]:
    """The push Lambda as deployed for `codecommit:REPO`, its CodeCommit client stubbed."""
    monkeypatch.setenv("DESIRED_STATE_REPOSITORY", f"codecommit:{REPO}")
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "WARNING")
    clear_caches()
    monkeypatch.setattr(push, "source", lambda: source)
    yield
    clear_caches()


def codecommit_event(**detail: str) -> dict:
    event = json.loads((EVENTS / "codecommit_push.json").read_text())
    event["detail"].update(detail)
    return event


def test_codecommit_push_deploys_the_head_and_records_its_commit(lambda_env, stubber, calls):
    """GIVEN a push to main in CodeCommit WHEN EventBridge delivers the event THEN the
    stack is created through an executed change set and its status records the head
    commit as the attempted revision."""
    desired_repository(stubber)
    desired_files(stubber)
    get_branch(stubber)  # the head again, under the stack's lease, before its change
    get_commit(stubber)  # its author, for change control and the audit trail
    outcome = push.handler(codecommit_event(), LambdaContext())
    assert (outcome["status"], outcome["revision"]) == ("reconciled", HEAD)
    assert [(s["stack_name"], s["outcome"]) for s in outcome["stacks"]] == [("app-dev", "executed")]
    cfn = boto3.client("cloudformation", region_name="us-east-1")
    assert cfn.describe_stacks(StackName="app-dev")["Stacks"][0]["StackStatus"] == (
        "CREATE_COMPLETE"
    )
    assert runtime.services().status.get("app-dev").attempted_revision == HEAD
    assert {"CreateChangeSet", "ExecuteChangeSet"} <= set(calls)
    stubber.assert_no_pending_responses()


def test_a_late_event_applies_the_branch_head_not_the_commit_it_names(lambda_env, stubber):
    """GIVEN an event naming OLDER, delivered after main moved to HEAD WHEN handled THEN
    HEAD is read (every call names it) and recorded, so a late delivery cannot roll back."""
    desired_repository(stubber, commit=HEAD)
    desired_files(stubber)
    get_branch(stubber)
    outcome = push.handler(codecommit_event(commitId=OLDER), LambdaContext())
    assert outcome["revision"] == HEAD
    assert runtime.services().status.get("app-dev").attempted_revision == HEAD


@pytest.mark.parametrize(
    "detail",
    [
        {"referenceType": "tag", "referenceName": "v1", "referenceFullName": "refs/tags/v1"},
        {"event": "referenceDeleted"},
    ],
    ids=["tag push", "branch deleted"],
)
def test_tag_pushes_and_deleted_branches_are_skipped_touching_nothing(
    lambda_env, stubber, calls, detail
):
    """GIVEN a tag push or a deleted main WHEN handled THEN skipped: no CodeCommit read
    (nothing is queued on the Stubber, so any call would fail) and no AWS call but the
    record of the handled event."""
    event = codecommit_event(**detail)
    if event["detail"]["event"] == "referenceDeleted":  # as AWS sends it: no new commit
        del event["detail"]["commitId"]
    outcome = push.handler(event, LambdaContext())
    assert outcome["status"] == "skipped"
    assert calls == []


def test_a_push_to_another_repository_is_rejected_touching_nothing(lambda_env, stubber, calls):
    """GIVEN a push to main of another repository WHEN handled THEN rejected, naming both,
    with no CodeCommit read and no AWS call but the record of the handled event."""
    outcome = push.handler(codecommit_event(repositoryName="other-repo"), LambdaContext())
    assert outcome["status"] == "rejected"
    assert outcome["reason"] == f"push is for other-repo, but this reconciler follows {REPO}"
    assert calls == []
