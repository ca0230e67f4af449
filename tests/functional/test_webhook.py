"""The GitHub webhook handler on moto, reading a fake GitHub on 127.0.0.1: only a body
signed with the webhook secret is read, a push deploys the branch head, a delivery is
done once, and each answer tells GitHub whether redelivering can help."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import uuid
from pathlib import Path

import boto3
import pytest

from handlers import idempotency, runtime, webhook
from localaws import extensions
from localaws.lambda_context import LambdaContext
from reconciler.aws import session
from reconciler.aws.secrets import forget_secrets, secret_string
from reconciler.errors import AwsError
from tests.functional.fake_github import SHA, fake_github

__all__ = ["fake_github"]  # the fixture, imported for pytest

extensions.install_all()
EVENTS = Path(__file__).parent.parent / "events"
SECRET = "It's a Secret to Everybody"
TOKEN = "ghp_token_that_must_not_leak"
STACK_WRITES = {"CreateChangeSet", "ExecuteChangeSet", "CreateStack", "UpdateStack", "PutParameter"}


@pytest.fixture
def calls() -> list[str]:
    """The AWS operations the code under test calls, in order."""
    made: list[str] = []
    session.on_every_call(lambda model, **_: made.append(model.name))
    return made


@pytest.fixture
def github(aws, fake_github, monkeypatch, calls):
    """The webhook as deployed: its secret and the GitHub token in Secrets Manager, the
    desired state at github:owner/repo, served by the fake."""
    secrets = session.client("secretsmanager")  # the handler's client: one model load
    secrets.create_secret(Name="gitops/github-webhook", SecretString=SECRET)
    secrets.create_secret(Name="gitops/github-token", SecretString=TOKEN)
    calls.clear()
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", "gitops/github-webhook")
    monkeypatch.setenv("GITHUB_TOKEN_SECRET", "gitops/github-token")
    monkeypatch.setenv("DESIRED_STATE_REPOSITORY", "github:owner/repo")
    monkeypatch.setenv("GITHUB_API_URL", fake_github.api_url)
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "WARNING")
    _forget()
    yield fake_github
    _forget()


def _forget() -> None:
    runtime.services.cache_clear()
    runtime.source.cache_clear()
    idempotency.reset()
    forget_secrets()


def payload(name: str = "github_push.json", **changes) -> bytes:
    body = json.loads((EVENTS / name).read_text())
    body.update(changes)
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


def stack_names() -> list[str]:
    cfn = boto3.client("cloudformation", region_name="us-east-1")
    return [s["StackName"] for s in cfn.describe_stacks()["Stacks"]]


def test_a_signed_push_deploys_the_branch_head(github, calls):
    """GIVEN a push signed with the webhook secret WHEN delivered THEN 200 with the
    outcome: the stack is created at the head's sha, read with the token as Bearer."""
    status, outcome = deliver(envelope(payload()))
    assert status == 200
    assert (outcome["status"], outcome["revision"]) == ("reconciled", SHA)
    assert [(s["stack_name"], s["outcome"]) for s in outcome["stacks"]] == [("app-dev", "executed")]
    assert stack_names() == ["app-dev"]
    assert github.seen("api")[0].headers["authorization"] == f"Bearer {TOKEN}"


def test_a_forged_signature_is_refused_before_anything_is_read(github, calls):
    """GIVEN a push signed with another secret WHEN delivered THEN 401: GitHub is never
    asked, and no AWS call but reading the webhook secret is made."""
    status, answer = deliver(envelope(payload(), signature=sign(payload(), "guessed")))
    assert (status, answer) == (401, {"message": "signature missing or wrong"})
    assert github.requests == []
    assert calls == ["GetSecretValue"]
    assert stack_names() == []


def test_a_missing_signature_is_refused(github, calls):
    request = envelope(payload())
    del request["headers"]["x-hub-signature-256"]
    status, _ = deliver(request)
    assert status == 401
    assert github.requests == [] and not STACK_WRITES & set(calls)


@pytest.mark.parametrize(
    "signature",
    ["", "sha256=", "sha1=" + "0" * 40, "sha256=" + "z" * 64, "sha256 " + "0" * 64],
    ids=["empty", "no-digest", "sha1", "not-hex", "no-equals"],
)
def test_a_malformed_signature_is_refused(github, signature):
    status, _ = deliver(envelope(payload(), signature=signature))
    assert status == 401
    assert github.requests == []


def test_a_signature_replayed_on_a_modified_body_is_refused(github, calls):
    """GIVEN the signature of a real delivery WHEN sent with a body changed in one field
    THEN 401: the HMAC covers the raw body."""
    original = payload()
    request = envelope(payload(ref="refs/heads/evil"), signature=sign(original))
    status, _ = deliver(request)
    assert status == 401
    assert github.requests == [] and not STACK_WRITES & set(calls)


def test_a_redelivered_push_is_done_once_and_answers_the_same(github, calls):
    """GIVEN a push delivered WHEN the same X-GitHub-Delivery comes again THEN the first
    result is returned: one checkout from GitHub, one change set."""
    request = envelope(payload(), delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958")
    first = deliver(request)
    again = deliver(request)
    assert first[0] == again[0] == 200
    assert again[1] == first[1]
    assert len(github.seen("codeload")) == 1
    assert calls.count("CreateChangeSet") == 1


def test_a_body_over_1_mib_is_refused_before_the_secret_is_read(github, calls):
    """GIVEN a body of 1 MiB and one byte WHEN delivered THEN 413, without reading the
    webhook secret (no AWS call at all) or asking GitHub."""
    body = payload(padding="x" * (1024 * 1024))
    status, _ = deliver(envelope(body))
    assert status == 413
    assert calls == [] and github.requests == []


def test_a_base64_body_over_1_mib_is_refused_before_the_secret_is_read(github, calls):
    body = payload(padding="x" * (1024 * 1024))
    status, _ = deliver(envelope(body, encoded=True))
    assert status == 413
    assert calls == []


def test_a_base64_encoded_body_is_verified_and_read_decoded(github):
    """GIVEN a Function URL event with isBase64Encoded WHEN delivered THEN the signature
    is checked over the decoded bytes and the payload read from them."""
    body = payload(ref="refs/heads/feature")
    status, outcome = deliver(envelope(body, encoded=True))
    assert status == 200
    assert outcome["status"] == "skipped" and "refs/heads/feature" in outcome["reason"]


def test_a_body_that_is_not_base64_is_a_bad_request(github, calls):
    request = envelope(payload(), encoded=True)
    request["body"] = "not base64!"
    status, _ = deliver(request)
    assert status == 400
    assert calls == []


def test_ping_answers_pong(github):
    """GIVEN GitHub's ping when the webhook is created WHEN delivered THEN 200 pong."""
    status, answer = deliver(envelope(payload("github_ping.json"), event="ping"))
    assert (status, answer) == (200, {"status": "pong"})
    assert github.requests == []


def test_an_event_other_than_push_is_accepted_and_ignored(github, calls):
    """GIVEN an issues event (the webhook sends more than push) WHEN delivered THEN 202
    ignored, and nothing is read."""
    body = json.dumps({"action": "opened", "issue": {"number": 1}}).encode()
    status, answer = deliver(envelope(body, event="issues"))
    assert status == 202
    assert answer["status"] == "ignored" and "issues event" in answer["reason"]
    assert github.requests == [] and calls == ["GetSecretValue"]


def test_a_signed_malformed_json_body_is_a_bad_request(github, calls):
    status, answer = deliver(envelope(b'{"ref": "refs/heads/main", '))
    assert status == 400
    assert answer["message"].startswith("not a GitHub push payload: Invalid JSON")
    assert github.requests == [] and calls == ["GetSecretValue"]


def test_a_signed_push_without_its_repository_is_a_bad_request(github):
    status, answer = deliver(envelope(json.dumps({"ref": "refs/heads/main"}).encode()))
    assert status == 400
    assert "Field required" in answer["message"]


def test_a_push_to_another_branch_is_skipped(github, calls):
    """GIVEN a push to a branch this reconciler does not follow WHEN delivered THEN 200
    skipped: GitHub is not read and nothing is written."""
    status, outcome = deliver(envelope(payload(ref="refs/heads/feature")))
    assert status == 200
    assert outcome["status"] == "skipped"
    assert github.requests == [] and not STACK_WRITES & set(calls)


def test_a_push_for_another_repository_is_rejected_with_200(github):
    """GIVEN a webhook of another repository pointed at this URL WHEN a push comes THEN
    200 rejected (a redelivery cannot change that), and nothing is read."""
    other = json.loads(payload())
    other["repository"]["full_name"] = "someone/else"
    status, outcome = deliver(envelope(json.dumps(other).encode()))
    assert status == 200
    assert outcome["status"] == "rejected" and "someone/else" in outcome["reason"]
    assert github.requests == []


def test_a_push_deleting_the_branch_leaves_the_stacks(github, calls):
    body = payload(deleted=True, after="0" * 40)
    status, outcome = deliver(envelope(body))
    assert status == 200
    assert outcome["status"] == "skipped" and "deleted" in outcome["reason"]
    assert github.requests == [] and not STACK_WRITES & set(calls)


def test_github_unavailable_answers_503_and_a_redelivery_does_the_work(github):
    """GIVEN GitHub answering 500 WHEN a push is delivered THEN 503 and no idempotency
    record is kept; WHEN GitHub recovers and the delivery is redelivered THEN it deploys."""
    request = envelope(payload())
    github.status = 500
    status, answer = deliver(request)
    assert status == 503
    assert "GitHub unavailable" in answer["message"]
    assert stack_names() == []

    github.status = None
    status, outcome = deliver(request)
    assert (status, outcome["status"]) == (200, "reconciled")
    assert stack_names() == ["app-dev"]


def test_a_token_without_access_answers_500_naming_the_repository_not_the_token(github):
    """GIVEN GitHub refusing the token WHEN a push is delivered THEN 500 (someone must
    fix the token, then redeliver) with a message naming repository and status."""
    github.status = 401
    status, answer = deliver(envelope(payload()))
    assert status == 500
    assert answer["message"] == (
        "cannot read github:owner/repo at main: HTTP 401: token missing or lacks contents:read"
    )
    assert TOKEN not in json.dumps(answer)


def test_webhook_secret_not_configured_answers_500_and_reads_nothing(github, calls, monkeypatch):
    """GIVEN GITHUB_WEBHOOK_SECRET unset WHEN anything is delivered THEN 500 saying so:
    never accepted unsigned, nothing read from AWS or GitHub."""
    monkeypatch.delenv("GITHUB_WEBHOOK_SECRET")
    status, answer = deliver(envelope(payload()))
    assert status == 500
    assert "GITHUB_WEBHOOK_SECRET is not set" in answer["message"]
    assert calls == [] and github.requests == []


def test_a_webhook_secret_that_cannot_be_read_answers_500_without_details(github, monkeypatch):
    """GIVEN GITHUB_WEBHOOK_SECRET naming a missing secret WHEN delivered THEN 500; the
    caller, not yet authenticated, is not told the secret's name."""
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", "gitops/missing")
    status, answer = deliver(envelope(payload()))
    assert status == 500
    assert "gitops/missing" not in answer["message"]
    assert github.requests == []


def test_a_json_webhook_secret_uses_its_secret_key(github, monkeypatch):
    """GIVEN the secret stored as {"secret": ...} WHEN a ping signed with that value comes
    THEN it is accepted."""
    session.client("secretsmanager").create_secret(
        Name="gitops/webhook-json", SecretString=json.dumps({"secret": "from-json"})
    )
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", "gitops/webhook-json")
    body = payload("github_ping.json")
    status, _ = deliver(envelope(body, event="ping", signature=sign(body, "from-json")))
    assert status == 200


def test_header_names_are_case_insensitive(github):
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


def test_a_form_encoded_push_asks_for_json(github):
    """GIVEN a webhook set to application/x-www-form-urlencoded WHEN a push comes THEN
    415 saying which content type to choose."""
    request = envelope(payload())
    request["headers"]["content-type"] = "application/x-www-form-urlencoded"
    status, answer = deliver(request)
    assert status == 415 and "application/json" in answer["message"]


def test_a_refused_delivery_is_logged_without_signature_or_body(github, monkeypatch):
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


def test_a_refused_delivery_is_counted_as_a_metric(github, capsys):
    """GIVEN a forged delivery WHEN refused THEN a WebhookRefused count is published (EMF),
    so an alarm can show someone probing the public URL."""
    body = payload()
    deliver(envelope(body, signature=sign(body, "guessed")))
    published = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if "_aws" in line
    ]
    assert [m["WebhookRefused"] for m in published if "WebhookRefused" in m] == [[1.0]]


def test_the_webhook_secret_is_read_once_for_many_deliveries(github, calls):
    """GIVEN two pings a moment apart WHEN delivered THEN Secrets Manager is asked once:
    the value is kept five minutes per container."""
    for _ in range(2):
        assert deliver(envelope(payload("github_ping.json"), event="ping"))[0] == 200
    assert calls.count("GetSecretValue") == 1


def test_a_secret_that_cannot_be_read_is_an_error_naming_it_not_its_value(github):
    """GIVEN a secret id that does not exist WHEN read THEN a one-line AwsError naming the
    id."""
    with pytest.raises(AwsError) as raised:
        secret_string("gitops/missing")
    message = str(raised.value)
    assert message.startswith("secret 'gitops/missing' cannot be read: AWS GetSecretValue failed")
    assert "ResourceNotFoundException" in message and "\n" not in message
