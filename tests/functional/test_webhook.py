"""The GitHub webhook handler on moto: only a body signed with the webhook secret is
read, a push for the followed branch is put on the bus as one "Git Push" event (once per
delivery), and each answer tells GitHub whether redelivering can help. An EventBridge
rule to an SQS queue stands in for the push Lambda's rule; the end-to-end test hands
what the queue got to the push handler, which reads a fake GitHub on 127.0.0.1."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from handlers import idempotency, push, runtime, webhook
from localaws import extensions
from localaws.lambda_context import LambdaContext
from reconciler.aws import session
from reconciler.aws.push_events import forward_push
from reconciler.aws.secrets import forget_secrets, secret_string
from reconciler.errors import AwsError
from tests.functional.fake_github import SHA, fake_github

__all__ = ["fake_github"]  # the fixture, imported for pytest

extensions.install_all()
EVENTS = Path(__file__).parent.parent / "events"
SECRET = "It's a Secret to Everybody"
REGION = "us-east-1"
# The push Lambda's rule (handlers/routes.py matches any source; this one is narrower).
PUSH_PATTERN = {"source": ["gitops.github"], "detail-type": ["Git Push"]}
# What Powertools idempotency calls on DynamoDB: left out when counting the other calls.
IDEMPOTENCY_CALLS = {"DescribeTable", "CreateTable", "UpdateTimeToLive", "PutItem", "UpdateItem"}


@pytest.fixture
def calls() -> list[str]:
    """The AWS operations the code under test calls, in order."""
    made: list[str] = []
    session.on_every_call(lambda model, **_: made.append(model.name))
    return made


@pytest.fixture
def webhook_env(aws, monkeypatch, calls) -> Iterator[None]:
    """The webhook as deployed: its secret in Secrets Manager, the desired state at
    github:owner/repo, no GitHub token, pushes put on the default bus."""
    session.client("secretsmanager").create_secret(  # the handler's client: one model load
        Name="gitops/github-webhook", SecretString=SECRET
    )
    calls.clear()
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", "gitops/github-webhook")
    monkeypatch.setenv("DESIRED_STATE_REPOSITORY", "github:owner/repo")
    # Nothing listens there: a webhook that asked GitHub would fail, not reach the internet.
    monkeypatch.setenv("GITHUB_API_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "WARNING")
    for name in ("GITHUB_TOKEN_SECRET", "DESIRED_STATE_BRANCH", "PUSH_EVENT_BUS"):
        monkeypatch.delenv(name, raising=False)
    _forget()
    yield
    _forget()


@pytest.fixture
def queue(webhook_env) -> str:
    """The URL of a queue receiving what the default bus's push rule matches."""
    return route_to_queue("default")


def _forget() -> None:
    runtime.services.cache_clear()
    runtime.source.cache_clear()
    idempotency.reset()
    forget_secrets()


def route_to_queue(bus: str) -> str:
    """A rule on `bus` matching the webhook's events, with a new SQS queue as target: the
    queue receives what the push Lambda would be invoked with."""
    sqs = boto3.client("sqs", region_name=REGION)
    events = boto3.client("events", region_name=REGION)
    url = sqs.create_queue(QueueName=f"pushes-{bus}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    events.put_rule(Name="to-queue", EventBusName=bus, EventPattern=json.dumps(PUSH_PATTERN))
    events.put_targets(
        Rule="to-queue", EventBusName=bus, Targets=[{"Id": "queue", "Arn": arn["QueueArn"]}]
    )
    return url


def received(queue: str) -> list[dict]:
    """Every event on the queue (read once per test: a read hides the messages)."""
    sqs = boto3.client("sqs", region_name=REGION)
    answer = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=0)
    return [json.loads(m["Body"]) for m in answer.get("Messages", [])]


def payload(name: str = "github_push.json", **changes) -> bytes:
    body = json.loads((EVENTS / name).read_text())
    body.update(changes)
    return json.dumps(body).encode()


def other_repository(full_name: str) -> bytes:
    body = json.loads(payload())
    body["repository"]["full_name"] = full_name
    return json.dumps(body).encode()


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def envelope(
    body: bytes,
    event: str = "push",
    delivery: str | None = None,
    signature: str | None = None,
    encoded: bool = False,
) -> dict:
    """A Function URL event as GitHub's delivery arrives: headers in lower case, the body
    as text (or base64), signed with SECRET unless `signature` is given."""
    request = json.loads((EVENTS / "function_url_github_webhook.json").read_text())
    headers = request["headers"]
    headers["content-length"] = str(len(body))
    headers["x-github-event"] = event
    headers["x-github-delivery"] = delivery or str(uuid.uuid4())
    headers["x-hub-signature-256"] = sign(body) if signature is None else signature
    request["body"] = base64.b64encode(body).decode() if encoded else body.decode()
    request["isBase64Encoded"] = encoded
    return request


def deliver(request: dict) -> tuple[int, dict]:
    answer = webhook.handler(request, LambdaContext())
    return answer["statusCode"], json.loads(answer["body"])


def not_idempotency(calls: list[str]) -> list[str]:
    return [c for c in calls if c not in IDEMPOTENCY_CALLS]


# A push for the followed branch is forwarded


def test_a_signed_push_is_put_on_the_bus_as_one_git_push(queue):
    """GIVEN a push to main signed with the webhook secret WHEN delivered THEN 202
    accepted with the event's id, and exactly one "Git Push" reaches the rule's target,
    its detail naming the repository, ref, head sha and delivery."""
    status, answer = deliver(envelope(payload(), delivery="d-1"))
    assert status == 202
    assert answer == {"status": "accepted", "event_id": answer["event_id"], "delivery": "d-1"}
    (event,) = received(queue)
    assert (event["source"], event["detail-type"], event["id"]) == (
        "gitops.github",
        "Git Push",
        answer["event_id"],
    )
    assert event["detail"] == {
        "repository": "owner/repo",
        "ref": "refs/heads/main",
        "after": SHA,
        "delivery": "d-1",
    }


def test_forwarding_reads_neither_github_nor_a_token(webhook_env, calls):
    """GIVEN no GitHub token configured and no GitHub reachable WHEN a push is delivered
    THEN it is accepted with one secret read (the webhook's) and one PutEvents, besides
    the idempotency record: no CloudFormation, no GitHub."""
    status, _ = deliver(envelope(payload()))
    assert status == 202
    assert not_idempotency(calls) == ["GetSecretValue", "PutEvents"]


def test_a_redelivered_push_is_forwarded_once_and_answers_the_same(queue, calls):
    """GIVEN a push delivered WHEN the same X-GitHub-Delivery comes again THEN the first
    answer is returned and no second event is put on the bus."""
    request = envelope(payload(), delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958")
    first = deliver(request)
    again = deliver(request)
    assert first[0] == again[0] == 202
    assert again[1] == first[1]
    assert calls.count("PutEvents") == 1
    assert [e["id"] for e in received(queue)] == [first[1]["event_id"]]


def test_two_deliveries_of_the_same_push_are_both_forwarded(queue):
    """GIVEN two deliveries (two ids) of one push WHEN delivered THEN two events: the key
    is the delivery, and the push handler dedupes by reading the head."""
    for _ in range(2):
        assert deliver(envelope(payload()))[0] == 202
    assert len(received(queue)) == 2


def test_the_repository_name_is_compared_without_case(queue):
    """GIVEN a push whose repository.full_name differs from DESIRED_STATE_REPOSITORY only
    in case WHEN delivered THEN it is forwarded: GitHub's names are case-insensitive."""
    status, answer = deliver(envelope(other_repository("Owner/Repo")))
    assert (status, answer["status"]) == (202, "accepted")
    assert [e["detail"]["repository"] for e in received(queue)] == ["Owner/Repo"]


def test_the_branch_followed_is_desired_state_branch(queue, monkeypatch):
    """GIVEN DESIRED_STATE_BRANCH=release WHEN pushes to release and to main come THEN
    the one to release is forwarded and the one to main is skipped."""
    monkeypatch.setenv("DESIRED_STATE_BRANCH", "release")
    assert deliver(envelope(payload(ref="refs/heads/release")))[0] == 202
    status, answer = deliver(envelope(payload()))
    assert (status, answer["status"]) == (200, "skipped")
    assert [e["detail"]["ref"] for e in received(queue)] == ["refs/heads/release"]


def test_push_event_bus_names_the_bus(queue, monkeypatch):
    """GIVEN PUSH_EVENT_BUS naming a custom bus with the push rule WHEN a push comes THEN
    the event is put on that bus, not on the default one."""
    boto3.client("events", region_name=REGION).create_event_bus(Name="gitops-pushes")
    custom = route_to_queue("gitops-pushes")
    monkeypatch.setenv("PUSH_EVENT_BUS", "gitops-pushes")
    assert deliver(envelope(payload()))[0] == 202
    assert len(received(custom)) == 1
    assert received(queue) == []


# Early filtering: answered 200, nothing put on the bus, nothing read but the secret


@pytest.mark.parametrize("ref", ["refs/heads/feature", "refs/tags/v1.0.0"], ids=["branch", "tag"])
def test_a_push_to_another_ref_is_skipped_without_an_event(queue, calls, ref):
    """GIVEN a push to a branch or tag this reconciler does not follow WHEN delivered
    THEN 200 skipped naming both refs; no event, no AWS call but the secret read."""
    status, answer = deliver(envelope(payload(ref=ref)))
    assert (status, answer["status"]) == (200, "skipped")
    assert ref in answer["reason"] and "refs/heads/main" in answer["reason"]
    assert calls == ["GetSecretValue"]
    assert received(queue) == []


def test_a_push_for_another_repository_is_rejected_with_200_without_an_event(queue, calls):
    """GIVEN a webhook of another repository signed with this secret WHEN a push comes
    THEN 200 rejected naming both repositories (a redelivery cannot change that), and no
    event is put."""
    status, answer = deliver(envelope(other_repository("someone/else")))
    assert (status, answer["status"]) == (200, "rejected")
    assert "someone/else" in answer["reason"] and "owner/repo" in answer["reason"]
    assert calls == ["GetSecretValue"]
    assert received(queue) == []


def test_a_push_deleting_the_branch_is_skipped_without_an_event(queue, calls):
    """GIVEN a push deleting main WHEN delivered THEN 200 skipped saying so: the stacks
    are left as they are, and no event is put."""
    status, answer = deliver(envelope(payload(deleted=True, after="0" * 40)))
    assert (status, answer["status"]) == (200, "skipped")
    assert "deleted" in answer["reason"]
    assert calls == ["GetSecretValue"]
    assert received(queue) == []


@pytest.mark.parametrize(
    "repository",
    [None, "codecommit:repo", "/srv/git/repo", "github:owner"],
    ids=["unset", "codecommit", "git-path", "no-name"],
)
def test_a_desired_state_repository_not_on_github_answers_500(
    webhook_env, calls, monkeypatch, repository
):
    """GIVEN DESIRED_STATE_REPOSITORY unset or not github:OWNER/NAME WHEN a push comes
    THEN 500 saying what to set (someone must fix it, then redeliver); no event."""
    if repository is None:
        monkeypatch.delenv("DESIRED_STATE_REPOSITORY")
    else:
        monkeypatch.setenv("DESIRED_STATE_REPOSITORY", repository)
    status, answer = deliver(envelope(payload()))
    assert status == 500
    assert answer["message"].startswith(
        "webhook not configured: DESIRED_STATE_REPOSITORY must be github:OWNER/NAME"
    )
    assert calls == ["GetSecretValue"]


# A failed forward: 503, no record kept, a redelivery forwards


def test_a_bus_that_does_not_exist_answers_503_and_a_redelivery_forwards(webhook_env, monkeypatch):
    """GIVEN PUSH_EVENT_BUS naming a bus not created yet WHEN a push is delivered THEN
    503 naming the bus and no record is kept; WHEN the bus is created and the delivery is
    redelivered THEN 202 and one event on it."""
    monkeypatch.setenv("PUSH_EVENT_BUS", "gitops-pushes")
    request = envelope(payload())
    status, answer = deliver(request)
    assert status == 503
    assert answer["message"].startswith("push not put on bus 'gitops-pushes': AWS PutEvents")
    assert "ResourceNotFoundException" in answer["message"]

    boto3.client("events", region_name=REGION).create_event_bus(Name="gitops-pushes")
    queue = route_to_queue("gitops-pushes")
    status, answer = deliver(request)
    assert (status, answer["status"]) == (202, "accepted")
    assert [e["id"] for e in received(queue)] == [answer["event_id"]]


def test_an_entry_refused_by_eventbridge_answers_503_and_a_redelivery_forwards(queue):
    """GIVEN EventBridge answering FailedEntryCount 1 (InternalFailure) WHEN a push is
    delivered THEN 503 naming the error code; WHEN EventBridge recovers and the delivery
    is redelivered THEN it is forwarded once."""
    stub = Stubber(session.client("events"))  # the handler's cached client
    stub.add_response(
        "put_events",
        {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "x"}]},
    )
    request = envelope(payload())
    with stub:
        status, answer = deliver(request)
    assert status == 503
    assert "refused it: InternalFailure" in answer["message"]
    assert received(queue) == []

    assert deliver(request)[0] == 202
    assert len(received(queue)) == 1


def test_forward_push_raises_eventbridges_error_code_for_a_refused_entry(aws):
    """GIVEN PutEvents answering 200 with a failed entry WHEN forward_push is called
    THEN a one-line AwsError with EventBridge's code and message, and the request was
    the one entry the push handler's rule matches."""
    client = boto3.client("events", region_name=REGION)
    stub = Stubber(client)
    entry = {
        "Source": "gitops.github",
        "DetailType": "Git Push",
        "Detail": json.dumps(
            {"repository": "owner/repo", "ref": "refs/heads/main", "after": SHA, "delivery": "d"}
        ),
        "EventBusName": "default",
    }
    failed = {"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded"}
    stub.add_response(
        "put_events", {"FailedEntryCount": 1, "Entries": [failed]}, {"Entries": [entry]}
    )
    with stub, pytest.raises(AwsError) as raised:
        forward_push("owner/repo", "refs/heads/main", SHA, "d", "default", client=client)
    assert str(raised.value) == (
        "push not put on bus 'default': AWS PutEvents refused it: "
        "ThrottlingException: Rate exceeded"
    )


# End to end: the event as EventBridge delivers it, handled by the push Lambda


def test_the_forwarded_event_deploys_the_head_through_the_push_handler(
    queue, fake_github, monkeypatch
):
    """GIVEN a push forwarded by the webhook WHEN the event the rule delivered is handed
    to the push handler (with GitHub served by the fake) THEN the push handler reads the
    head from GitHub's REST API and creates the stack at that sha."""
    assert deliver(envelope(payload()))[0] == 202
    (event,) = received(queue)
    # EventBridge's targets get `account` too; moto 5.2.5's default target input drops it.
    event.setdefault("account", "123456789012")
    monkeypatch.setenv("GITHUB_API_URL", fake_github.api_url)
    _forget()

    outcome = push.handler(event, LambdaContext())
    assert (outcome["status"], outcome["revision"]) == ("reconciled", SHA)
    assert [(s["stack_name"], s["outcome"]) for s in outcome["stacks"]] == [("app-dev", "executed")]
    cfn = boto3.client("cloudformation", region_name=REGION)
    assert [s["StackName"] for s in cfn.describe_stacks()["Stacks"]] == ["app-dev"]
    assert {r.path for r in fake_github.seen("api")} == {
        "/repos/owner/repo/branches/main",  # the head, read again before a change
        f"/repos/owner/repo/tarball/{SHA}",
        # its author and pull request, once a stack changes (change control, audit)
        f"/repos/owner/repo/commits/{SHA}",
        f"/repos/owner/repo/commits/{SHA}/pulls",
    }


# Only a signed body is read


def test_a_forged_signature_is_refused_before_anything_is_read(webhook_env, calls):
    """GIVEN a push signed with another secret WHEN delivered THEN 401: no AWS call but
    reading the webhook secret is made, and nothing is put on the bus."""
    status, answer = deliver(envelope(payload(), signature=sign(payload(), "guessed")))
    assert (status, answer) == (401, {"message": "signature missing or wrong"})
    assert calls == ["GetSecretValue"]


def test_a_missing_signature_is_refused(webhook_env, calls):
    """GIVEN a push without X-Hub-Signature-256 WHEN delivered THEN 401 and no event."""
    request = envelope(payload())
    del request["headers"]["x-hub-signature-256"]
    status, _ = deliver(request)
    assert status == 401
    assert calls == ["GetSecretValue"]


@pytest.mark.parametrize(
    "signature",
    ["", "sha256=", "sha1=" + "0" * 40, "sha256=" + "z" * 64, "sha256 " + "0" * 64],
    ids=["empty", "no-digest", "sha1", "not-hex", "no-equals"],
)
def test_a_malformed_signature_is_refused(webhook_env, calls, signature):
    """GIVEN a signature header that is not sha256=<64 hex> WHEN delivered THEN 401."""
    status, _ = deliver(envelope(payload(), signature=signature))
    assert status == 401
    assert calls == ["GetSecretValue"]


def test_a_signature_replayed_on_a_modified_body_is_refused(webhook_env, calls):
    """GIVEN the signature of a real delivery WHEN sent with a body changed in one field
    THEN 401: the HMAC covers the raw body."""
    original = payload()
    request = envelope(payload(ref="refs/heads/evil"), signature=sign(original))
    status, _ = deliver(request)
    assert status == 401
    assert calls == ["GetSecretValue"]


def test_a_body_over_1_mib_is_refused_before_the_secret_is_read(webhook_env, calls):
    """GIVEN a body of 1 MiB and one byte WHEN delivered THEN 413, without reading the
    webhook secret (no AWS call at all)."""
    body = payload(padding="x" * (1024 * 1024))
    status, _ = deliver(envelope(body))
    assert status == 413
    assert calls == []


def test_a_base64_body_over_1_mib_is_refused_before_the_secret_is_read(webhook_env, calls):
    """GIVEN a base64-encoded body over 1 MiB WHEN delivered THEN 413, no AWS call."""
    body = payload(padding="x" * (1024 * 1024))
    status, _ = deliver(envelope(body, encoded=True))
    assert status == 413
    assert calls == []


def test_a_base64_encoded_body_is_verified_and_read_decoded(webhook_env):
    """GIVEN a Function URL event with isBase64Encoded WHEN delivered THEN the signature
    is checked over the decoded bytes and the payload read from them."""
    body = payload(ref="refs/heads/feature")
    status, answer = deliver(envelope(body, encoded=True))
    assert status == 200
    assert answer["status"] == "skipped" and "refs/heads/feature" in answer["reason"]


def test_a_body_that_is_not_base64_is_a_bad_request(webhook_env, calls):
    """GIVEN isBase64Encoded with a body that is not base64 WHEN delivered THEN 400."""
    request = envelope(payload(), encoded=True)
    request["body"] = "not base64!"
    status, _ = deliver(request)
    assert status == 400
    assert calls == []


def test_ping_answers_pong(webhook_env, calls):
    """GIVEN GitHub's ping when the webhook is created WHEN delivered THEN 200 pong."""
    status, answer = deliver(envelope(payload("github_ping.json"), event="ping"))
    assert (status, answer) == (200, {"status": "pong"})
    assert calls == ["GetSecretValue"]


def test_an_event_other_than_push_is_accepted_and_ignored(webhook_env, calls):
    """GIVEN an issues event (the webhook sends more than push) WHEN delivered THEN 202
    ignored, and nothing is put on the bus."""
    body = json.dumps({"action": "opened", "issue": {"number": 1}}).encode()
    status, answer = deliver(envelope(body, event="issues"))
    assert status == 202
    assert answer["status"] == "ignored" and "issues event" in answer["reason"]
    assert calls == ["GetSecretValue"]


def test_a_signed_malformed_json_body_is_a_bad_request(webhook_env, calls):
    """GIVEN a signed body that is not JSON WHEN delivered THEN 400 saying so."""
    status, answer = deliver(envelope(b'{"ref": "refs/heads/main", '))
    assert status == 400
    assert answer["message"].startswith("not a GitHub push payload: Invalid JSON")
    assert calls == ["GetSecretValue"]


@pytest.mark.parametrize("field", ["repository", "ref", "after"])
def test_a_signed_push_without_a_field_it_needs_is_a_bad_request(webhook_env, calls, field):
    """GIVEN a signed push payload lacking repository, ref or after WHEN delivered THEN
    400 naming the missing field, and no event."""
    body = json.loads(payload())
    del body[field]
    status, answer = deliver(envelope(json.dumps(body).encode()))
    assert status == 400
    assert "Field required" in answer["message"]
    assert calls == ["GetSecretValue"]


def test_a_push_without_a_delivery_id_is_a_bad_request(webhook_env, calls):
    """GIVEN a signed push without X-GitHub-Delivery (the idempotency key) WHEN delivered
    THEN 400, and no event."""
    request = envelope(payload())
    del request["headers"]["x-github-delivery"]
    status, answer = deliver(request)
    assert (status, answer) == (400, {"message": "X-GitHub-Delivery header missing"})
    assert calls == ["GetSecretValue"]


def test_a_form_encoded_push_asks_for_json(webhook_env):
    """GIVEN a webhook set to application/x-www-form-urlencoded WHEN a push comes THEN
    415 saying which content type to choose."""
    request = envelope(payload())
    request["headers"]["content-type"] = "application/x-www-form-urlencoded"
    status, answer = deliver(request)
    assert status == 415 and "application/json" in answer["message"]


def test_header_names_are_case_insensitive(webhook_env):
    """GIVEN headers spelled as GitHub sends them (X-Hub-Signature-256) WHEN delivered
    THEN they are found."""
    request = envelope(payload("github_ping.json"), event="ping")
    headers = request["headers"]
    for name in ("x-hub-signature-256", "x-github-event", "x-github-delivery"):
        spelled = "-".join(part.capitalize() for part in name.split("-")).replace(
            "Github", "GitHub"
        )
        headers[spelled] = headers.pop(name)
    assert deliver(request) == (200, {"status": "pong"})


# The webhook secret


def test_webhook_secret_not_configured_answers_500_and_reads_nothing(
    webhook_env, calls, monkeypatch
):
    """GIVEN GITHUB_WEBHOOK_SECRET unset WHEN anything is delivered THEN 500 saying so:
    never accepted unsigned, nothing read from AWS."""
    monkeypatch.delenv("GITHUB_WEBHOOK_SECRET")
    status, answer = deliver(envelope(payload()))
    assert status == 500
    assert "GITHUB_WEBHOOK_SECRET is not set" in answer["message"]
    assert calls == []


def test_a_webhook_secret_that_cannot_be_read_answers_500_without_details(
    webhook_env, calls, monkeypatch
):
    """GIVEN GITHUB_WEBHOOK_SECRET naming a missing secret WHEN delivered THEN 500; the
    caller, not yet authenticated, is not told the secret's name."""
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", "gitops/missing")
    status, answer = deliver(envelope(payload()))
    assert status == 500
    assert "gitops/missing" not in answer["message"]
    assert calls == ["GetSecretValue"]


def test_a_json_webhook_secret_uses_its_secret_key(webhook_env, monkeypatch):
    """GIVEN the secret stored as {"secret": ...} WHEN a ping signed with that value comes
    THEN it is accepted."""
    session.client("secretsmanager").create_secret(
        Name="gitops/webhook-json", SecretString=json.dumps({"secret": "from-json"})
    )
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", "gitops/webhook-json")
    body = payload("github_ping.json")
    status, _ = deliver(envelope(body, event="ping", signature=sign(body, "from-json")))
    assert status == 200


def test_the_webhook_secret_is_read_once_for_many_deliveries(webhook_env, calls):
    """GIVEN two pings a moment apart WHEN delivered THEN Secrets Manager is asked once:
    the value is kept five minutes per container."""
    for _ in range(2):
        assert deliver(envelope(payload("github_ping.json"), event="ping"))[0] == 200
    assert calls.count("GetSecretValue") == 1


def test_a_secret_that_cannot_be_read_is_an_error_naming_it_not_its_value(webhook_env):
    """GIVEN a secret id that does not exist WHEN read THEN a one-line AwsError naming the
    id."""
    with pytest.raises(AwsError) as raised:
        secret_string("gitops/missing")
    message = str(raised.value)
    assert message.startswith("secret 'gitops/missing' cannot be read: AWS GetSecretValue failed")
    assert "ResourceNotFoundException" in message and "\n" not in message


# What a refusal leaves behind


def test_a_refused_delivery_is_logged_without_signature_or_body(webhook_env, monkeypatch):
    """GIVEN a forged delivery WHEN refused THEN the log names the delivery and says why,
    and holds neither the signature nor anything of the body."""
    log = io.StringIO()
    monkeypatch.setattr(runtime.logger.registered_handler, "stream", log)
    body = payload()
    forged = sign(body, "guessed")
    deliver(envelope(body, delivery="d-123", signature=forged))
    written = log.getvalue()
    assert "X-Hub-Signature-256 missing or wrong" in written and "d-123" in written
    assert forged[7:] not in written and "owner@example.com" not in written


def test_a_refused_delivery_is_counted_as_a_metric(webhook_env, capsys):
    """GIVEN a forged delivery WHEN refused THEN a WebhookRefused count is published (EMF),
    so an alarm can show someone probing the public URL."""
    body = payload()
    deliver(envelope(body, signature=sign(body, "guessed")))
    published = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if "_aws" in line
    ]
    assert [m["WebhookRefused"] for m in published if "WebhookRefused" in m] == [[1.0]]
