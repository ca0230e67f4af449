"""Issue 14, points 3 and 7: permanent AWS errors are recorded, not retried for ever;
transient ones are raised for Lambda to retry; every botocore exception is one clear
line from the CLI; nothing stays stuck (REVIEW_IN_PROGRESS, a dead holder's lease, a
push Lambda near its timeout). Faults are made at botocore's before-send hook, so the
real retry handler and the real adapters see them."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from urllib.parse import parse_qs

import botocore.endpoint
import botocore.exceptions
import botocore.parsers
import pytest
from botocore.awsrequest import AWSResponse

from handlers import idempotency, push, runtime
from localaws import extensions
from reconciler.aws import session
from reconciler.aws.dynamodb import DynamoStatusStore
from reconciler.aws.services import services_from_env
from reconciler.cli.follow import REVIEW_SECONDS, follow
from reconciler.deadline import LEASE_MARGIN_SECONDS, Deadline
from reconciler.errors import AwsError, PermanentAwsError
from reconciler.live import LiveStack
from reconciler.notify import Kind
from reconciler.source import GitSource
from reconciler.status import Phase, Sync
from tests.repo import STACK, commit, git, git_repo

extensions.install_all()
REF = "refs/heads/main"
EVENTS = Path(__file__).parent.parent / "events"
QA = STACK.replace("EnvironmentSuffix: dev", "EnvironmentSuffix: qa").replace("app-dev", "app-qa")

# (code, HTTP status, AWS's message, the call refused). CreateChangeSet's own
# AlreadyExistsException means "made by a previous attempt" and is picked up, so that
# code is made at ExecuteChangeSet.
PERMANENT = [
    ("ValidationError", 400, "Template format error: Unresolved resource dependencies [Nope]",
     "CreateChangeSet"),
    ("AlreadyExistsException", 400, "Stack [app-dev] already exists", "ExecuteChangeSet"),
    ("LimitExceededException", 400, "Limit on the number of stacks has been exceeded",
     "CreateChangeSet"),
    ("InsufficientCapabilitiesException", 400, "Requires capabilities : [CAPABILITY_IAM]",
     "CreateChangeSet"),
    ("AccessDenied", 403, "User: arn:aws:sts::1:assumed-role/r is not authorized",
     "CreateChangeSet"),
]  # fmt: skip
TRANSIENT = [
    ("Throttling", 400),
    ("InternalFailure", 500),
    ("ServiceUnavailable", 503),
    ("RequestTimeout", 408),
]


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_):
        yield self.body


def refuse(code: str, status: int, message: str, stack: str | None = None, made=None):
    """A before-send hook answering CloudFormation's error (for `stack` only, if given)."""

    def hook(request, **_):
        body = parse_qs(request.body.decode() if isinstance(request.body, bytes) else "")
        if stack is not None and body.get("StackName") != [stack]:
            return None
        if made is not None:
            made.append(body.get("StackName"))
        xml = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
            f"<Message>{message}</Message></Error><RequestId>r</RequestId></ErrorResponse>"
        )
        return AWSResponse(request.url, status, {}, _Raw(xml.encode()))

    return hook


def on_create_change_set(hook, operation: str = "CreateChangeSet") -> None:
    """`hook` at before-send: botocore's retry handler sees its answer."""
    cfn = session.client("cloudformation", "us-east-1")
    cfn.meta.events.register(f"before-send.cloudformation.{operation}", hook)


class _Status:
    def __init__(self, status_code: int) -> None:
        self.status_code, self.headers, self.content = status_code, {}, b""


def refused_call(code: str, status: int, message: str, operation: str, stack: str | None = None):
    """AWS refusing `operation` (for `stack` only, if given), answered at before-call, as
    botocore's Stubber does. A before-send answer is not enough for a write: in-process
    moto answers before-send too, so the change would be made behind the fault."""

    def hook(params, **_):
        if stack is not None and params["body"].get("StackName") != stack:
            return None
        error = {"Error": {"Code": code, "Message": message}}
        return _Status(status), {**error, "ResponseMetadata": {"HTTPStatusCode": status}}

    cfn = session.client("cloudformation", "us-east-1")
    cfn.meta.events.register(f"before-call.cloudformation.{operation}", hook)


@pytest.fixture(autouse=True)
def no_sleeping(monkeypatch):
    """botocore's backoffs are recorded, not slept."""
    slept: list[float] = []
    monkeypatch.setattr(botocore.endpoint.time, "sleep", slept.append)
    return slept


@pytest.fixture
def repo(tmp_path, monkeypatch, aws):
    root = git_repo(tmp_path / "desired")
    monkeypatch.setenv("DESIRED_STATE_REPOSITORY", str(root))
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "WARNING")
    runtime.services.cache_clear()
    runtime.source.cache_clear()
    idempotency.reset()
    return root


class Context:
    """A Lambda context whose remaining time the test sets."""

    def __init__(self, seconds: float = 200.0) -> None:
        self.seconds = seconds
        self.aws_request_id = str(uuid.uuid4())
        self.function_name = "gitops-reconciler-push"
        self.memory_limit_in_mb = 1024
        self.invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:push"

    def get_remaining_time_in_millis(self) -> int:
        return int(self.seconds * 1000)


def push_event(repo: Path, stacks: list[str] | None = None) -> dict:
    event = json.loads((EVENTS / "git_push.json").read_text())
    event["id"] = str(uuid.uuid4())
    event["detail"].update(repository=str(repo), after=git(repo, "rev-parse", "HEAD"))
    if stacks:
        event["detail"]["stacks"] = stacks
    return event


def failed_notes() -> list:
    collected = runtime.services().notifier.notifiers[0]
    return [n for n in collected.sent if n.kind is Kind.FAILED]


def outcomes(result: dict) -> dict[str, str]:
    return {s["stack_name"]: s["outcome"] for s in result["stacks"]}


# --- point 3: permanent errors are recorded, transient ones raised ---------------------


@pytest.mark.parametrize(("code", "status", "message", "operation"), PERMANENT)
def test_a_permanent_error_is_recorded_failed_notified_once_and_answered(
    repo, code, status, message, operation
):
    """GIVEN CloudFormation refuses the change set with a permanent code WHEN the push
    handler runs (twice, as two events) THEN it returns, the stack is Failed with AWS's
    message, and one Reconcile Failed is sent in all."""
    refused_call(code, status, message, operation)
    first = push.handler(push_event(repo), Context())
    again = push.handler(push_event(repo), Context())
    assert outcomes(first) == outcomes(again) == {"app-dev": "failed"}
    recorded = runtime.services().status.get("app-dev")
    assert (recorded.sync, recorded.phase) == (Sync.FAILED, Phase.FAILED)
    assert f"{operation} failed: {code}: {message}" in recorded.message
    (note,) = failed_notes()
    assert message in note.message


@pytest.mark.parametrize(("code", "status"), TRANSIENT)
def test_a_transient_error_past_botocores_retries_is_raised(repo, code, status, no_sleeping):
    """GIVEN CloudFormation keeps answering a transient error WHEN the push handler runs
    THEN botocore retried it and the handler raises (Lambda retries, then the DLQ)."""
    made: list = []
    on_create_change_set(refuse(code, status, "try later", made=made))
    with pytest.raises(AwsError) as raised:
        push.handler(push_event(repo), Context())
    assert not isinstance(raised.value, PermanentAwsError)
    assert code in str(raised.value)
    assert len(made) == 5 and no_sleeping  # botocore's attempts, with backoffs
    assert failed_notes() == []


def test_one_stacks_refusal_does_not_stop_the_independent_stack(repo):
    """GIVEN two independent stacks WHEN app-dev's CreateChangeSet is refused THEN app-dev
    is Failed and app-qa is still applied in the same pass."""
    commit(repo, {"desired-state/app-qa.yml": QA})
    refused_call("ValidationError", 400, "bad template", "CreateChangeSet", stack="app-dev")
    result = push.handler(push_event(repo), Context())
    assert outcomes(result) == {"app-dev": "failed", "app-qa": "executed"}
    assert runtime.services().status.get("app-qa").phase is Phase.APPLYING


def test_a_dependent_of_the_refused_stack_waits(repo):
    """GIVEN app-qa depends on app-dev WHEN app-dev is refused THEN app-qa waits."""
    commit(repo, {"desired-state/app-qa.yml": QA + "depends-on: [app-dev]\n"})
    refused_call("ValidationError", 400, "bad template", "CreateChangeSet", stack="app-dev")
    result = push.handler(push_event(repo), Context())
    assert outcomes(result) == {"app-dev": "failed", "app-qa": "waiting"}


@pytest.mark.parametrize(("code", "status", "message", "operation"), PERMANENT)
def test_permanent_codes_are_permanent(code, status, message, operation):
    err = botocore.exceptions.ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        "CreateChangeSet",
    )
    assert not session.is_transient(err)


@pytest.mark.parametrize(("code", "status"), [*TRANSIENT, ("TooManyRequests", 429)])
def test_transient_codes_are_botocores(code, status):
    err = botocore.exceptions.ClientError(
        {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "DescribeStacks",
    )
    assert session.is_transient(err)


# --- every botocore exception: one line from the CLI, no traceback --------------------


def botocore_classes() -> list[type]:
    found = [
        c
        for c in vars(botocore.exceptions).values()
        if isinstance(c, type)
        and issubclass(c, Exception)
        and not issubclass(c, Warning)
        and c.__module__ == "botocore.exceptions"
    ]
    return sorted({*found, botocore.parsers.ResponseParserError}, key=lambda c: c.__name__)


DRIVER = textwrap.dedent(
    """
    import contextlib, io, json, string, sys
    import botocore.exceptions, botocore.parsers
    from reconciler.aws import session
    from reconciler.cli import main

    def instance(cls):
        if issubclass(cls, botocore.exceptions.ClientError):
            return cls({"Error": {"Code": "Boom", "Message": "it broke"}}, "Scan")
        if cls is botocore.exceptions.WaiterError:
            return cls(name="w", reason="r", last_response={})
        fmt = getattr(cls, "fmt", "")
        names = [f for _, f, _, _ in string.Formatter().parse(fmt) if f]
        try:
            return cls(**{n: "x\\nsecond line" for n in names})
        except TypeError:
            return cls("x")

    results = []
    for name in sys.argv[2:]:
        cls = getattr(botocore.exceptions, name, None) or botocore.parsers.ResponseParserError
        for command in (["status", sys.argv[1]], ["drift", sys.argv[1]]):
            session.reset_clients()
            def hook(request, _cls=cls, **_):
                raise instance(_cls)
            session._session().events.register("before-send", hook)
            err = io.StringIO()
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                code = main(command)
            results.append([name, command[0], code, err.getvalue()])
    print(json.dumps(results))
    """
)


def test_every_botocore_exception_is_one_clear_line_from_the_cli(tmp_path):
    """GIVEN each botocore exception class raised at before-send WHEN `status` and `drift`
    run (in a subprocess) THEN each exits 1 with one `error:` line and no traceback."""
    root = git_repo(tmp_path / "desired")
    classes = botocore_classes()
    env = {
        "PATH": "/usr/bin:/bin",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
    }
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, str(root), *(c.__name__ for c in classes)],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).parents[2],
        timeout=300,
    )
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    results = json.loads(done.stdout)
    assert len(results) == 2 * len(classes) and len(classes) >= 95
    bad = [r for r in results if r[2] != 1 or r[3].count("\n") != 1 or "Traceback" in r[3]]
    assert bad == []
    assert all(r[3].startswith("error: ") for r in results)


def test_an_unreachable_endpoint_is_one_line_from_the_real_cli(tmp_path):
    """The real CLI process, no injection: nothing listens on the endpoint."""
    root = git_repo(tmp_path / "desired")
    env = {
        "PATH": "/usr/bin:/bin",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    }
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "status", str(root)],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).parents[2],
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("error: cannot reach AWS")
    assert done.stderr.count("\n") == 1


# --- point 7: nothing stays stuck ------------------------------------------------------


class Review:
    """A stack that stays REVIEW_IN_PROGRESS (its change set never executes)."""

    def __init__(self) -> None:
        self.describes = 0

    def events(self, *_args):
        return []

    def describe_stack(self, name, region):
        self.describes += 1
        return LiveStack(name, "id", region, "REVIEW_IN_PROGRESS")


def test_apply_wait_stops_following_a_stack_left_in_review():
    """GIVEN a stack that stays REVIEW_IN_PROGRESS WHEN followed THEN following stops
    shortly after REVIEW_SECONDS (not hours), saying why; no real time passes."""
    now = [0.0]
    said: list[str] = []
    cfn = Review()
    stack = follow(
        cfn, "app-dev", "us-east-1", said.append, clock=lambda: now[0],
        sleep=lambda s: now.__setitem__(0, now[0] + s),
    )  # fmt: skip
    assert stack.status == "REVIEW_IN_PROGRESS"
    assert now[0] <= REVIEW_SECONDS + 5
    assert "not followed further" in said[-1] and "change set" in said[-1]


def test_a_dead_holders_lease_is_taken_over_after_its_timeout_and_deferred_work_runs(repo):
    """GIVEN a Lambda took app-dev's lease with 60 s left and died WHEN a push comes THEN
    it is deferred; WHEN the lease has expired (60 s + the margin) THEN the next pass
    takes it over and applies the head, clearing the deferral."""
    now = [1_000_000.0]
    services = services_from_env(change_set_wait_seconds=0)
    services.status = DynamoStatusStore("gitops-reconciler", "us-east-1", clock=lambda: now[0])
    dead = Deadline(lambda: 60.0)
    assert services.status.acquire("app-dev", "dead-lambda", dead.lease_seconds())
    from reconciler.triggers import on_push, on_schedule

    first = on_push(None, REF, GitSource(str(repo)), services, "push-1")
    assert first.stacks[0]["outcome"] == "deferred"
    now[0] += 60 + LEASE_MARGIN_SECONDS - 5
    assert on_push(None, REF, GitSource(str(repo)), services, "push-2").stacks[0]["outcome"] == (
        "deferred"
    )
    now[0] += 10
    later = on_schedule(services, 0, GitSource(str(repo)))
    assert "1 stack(s) acted on" in later.reason
    status = services.status.get("app-dev")
    assert status.phase is Phase.APPLYING and status.deferred_revision == ""


def test_a_push_near_its_timeout_hands_the_rest_on(repo):
    """GIVEN two stacks and a push Lambda whose time runs short after the first WHEN it
    runs THEN it reports app-dev executed, puts one new event naming app-qa, and that
    event, handled, applies app-qa."""
    commit(repo, {"desired-state/app-qa.yml": QA})
    context = Context(200.0)
    put: list[dict] = []

    def after_execute(model, params, **_):
        if model.name == "ExecuteChangeSet":
            context.seconds = 20.0  # what is left once the first stack is done
        if model.name == "PutEvents":
            entries = json.loads(params["body"])["Entries"]
            put.extend(e for e in entries if e["DetailType"] == "Git Push")

    session.on_every_call(after_execute)
    runtime.services.cache_clear()
    result = push.handler(push_event(repo), context)
    assert outcomes(result) == {"app-dev": "executed", "app-qa": "handed-on"}
    (entry,) = put
    detail = json.loads(entry["Detail"])
    assert (entry["DetailType"], detail["stacks"], detail["ref"]) == ("Git Push", ["app-qa"], REF)

    handed = push_event(repo, stacks=detail["stacks"])
    assert outcomes(push.handler(handed, Context(200.0))) == {"app-qa": "executed"}
    assert len(put) == 1
