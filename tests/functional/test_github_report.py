"""GitHubReporter against the fake GitHub on 127.0.0.1: one comment per pull request,
commit statuses and check runs shaped as GitHub documents them, the App's JWT, the
token's reach, and retries that give up with an error naming no secret."""

from __future__ import annotations

import base64
import json
import time

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from reconciler.github_report import (
    MARKER,
    Annotation,
    AppCredentials,
    GitHubReporter,
    GitHubReportError,
    deploy_status,
    settled_status,
)
from tests.functional.fake_github import SHA, Failure, FakeGitHub, fake_github, rate_limited

__all__ = ["fake_github"]  # the fixture, imported for pytest
TOKEN = "ghp_do_not_print_me"
REPO = "/repos/owner/repo"


@pytest.fixture(scope="module")
def app_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def reporter(fake: FakeGitHub, waits: list[float] | None = None, **kwargs) -> GitHubReporter:
    sleeps = waits if waits is not None else []
    return GitHubReporter(
        "owner/repo", api_url=fake.api_url, token=lambda: TOKEN, sleep=sleeps.append, **kwargs
    )


def app_reporter(fake: FakeGitHub, key: rsa.RSAPrivateKey, **kwargs) -> GitHubReporter:
    fake.app_public_key = key.public_key()
    return reporter(fake, app=AppCredentials(fake.app_id, pem(key), None), **kwargs)


def test_a_comment_is_created_once_then_edited_in_place(fake_github):
    """GIVEN a pull request with no comment of ours WHEN two plans are reported THEN one
    comment, starting with the marker, holding the second plan."""
    github = reporter(fake_github)
    github.upsert_comment(7, "plan one")
    github.upsert_comment(7, "plan two")
    (comment,) = fake_github.issue_comments(7)
    assert comment["body"] == f"{MARKER}\nplan two"
    assert len(fake_github.calls("POST", rf"{REPO}/issues/7/comments")) == 1
    (edit,) = fake_github.calls("PATCH", rf"{REPO}/issues/comments/\d+")
    assert edit.path == f"{REPO}/issues/comments/{comment['id']}"
    assert edit.body == {"body": f"{MARKER}\nplan two"}
    assert fake_github.invalid == []


def test_our_comment_is_found_past_the_first_page(fake_github):
    """GIVEN 150 comments by others, then ours WHEN a plan is reported THEN the comment on
    page two is edited, and nothing is created."""
    fake_github.add_comments(7, [f"looks good {i}" for i in range(150)])
    (ours,) = fake_github.add_comments(7, [f"{MARKER}\nold plan"])
    reporter(fake_github).upsert_comment(7, "new plan")
    pages = [r.query for r in fake_github.calls("GET", rf"{REPO}/issues/7/comments")]
    assert pages == ["per_page=100&page=1", "per_page=100&page=2"]
    assert fake_github.comments[ours]["body"] == f"{MARKER}\nnew plan"
    assert fake_github.calls("POST") == []


def test_a_status_is_shaped_as_github_documents_and_its_description_cut(fake_github):
    """GIVEN a long description WHEN a status is set THEN state, context, target_url and
    a description of at most 140 characters, with the token as Bearer."""
    reporter(fake_github).set_status(
        SHA, "gitops-reconciler/deploy", "pending", "x" * 300, "https://t"
    )
    (seen,) = fake_github.calls("POST", rf"{REPO}/statuses/{SHA}")
    assert seen.body["state"] == "pending"
    assert seen.body["context"] == "gitops-reconciler/deploy"
    assert seen.body["target_url"] == "https://t"
    assert len(seen.body["description"]) == 140
    assert seen.headers["authorization"] == f"Bearer {TOKEN}"
    assert seen.headers["content-type"] == "application/json"
    assert fake_github.invalid == []


def test_without_an_app_the_plan_is_a_commit_status(fake_github):
    """GIVEN no App WHEN a failed plan is reported THEN a failure status in the plan
    context, described by the summary's first line."""
    reporter(fake_github).report_plan(SHA, ok=False, summary="2 errors\nmore", annotations=[])
    assert fake_github.statuses == [
        {
            "sha": SHA,
            "state": "failure",
            "context": "gitops-reconciler/plan",
            "description": "2 errors",
        }
    ]


def test_a_check_run_carries_120_annotations_in_three_requests(fake_github, app_key):
    """GIVEN an App and 120 findings WHEN the plan is reported THEN one check run created
    with 50 annotations, then two updates with 50 and 20, all valid."""
    notes = [Annotation(f"stacks/s{i}.yml", i + 1, "warning", f"finding {i}") for i in range(120)]
    app_reporter(fake_github, app_key).report_plan(SHA, ok=True, summary="plan", annotations=notes)
    (create,) = fake_github.calls("POST", rf"{REPO}/check-runs")
    updates = fake_github.calls("PATCH", rf"{REPO}/check-runs/\d+")
    assert [len(r.body["output"]["annotations"]) for r in (create, *updates)] == [50, 50, 20]
    assert create.body["name"] == "gitops-reconciler/plan"
    assert (create.body["head_sha"], create.body["status"], create.body["conclusion"]) == (
        SHA, "completed", "success",
    )  # fmt: skip
    (run,) = fake_github.check_runs.values()
    assert [a["message"] for a in run["annotations"]] == [f"finding {i}" for i in range(120)]
    assert run["annotations"][0] == {
        "path": "stacks/s0.yml", "start_line": 1, "end_line": 1,
        "annotation_level": "warning", "message": "finding 0",
    }  # fmt: skip
    assert fake_github.invalid == []


def test_the_app_jwt_is_rs256_signed_by_the_apps_key(fake_github, app_key):
    """GIVEN an App without an installation id WHEN a plan is reported THEN the
    installation is looked up and a token asked for, both with a JWT that the App's
    public key verifies (iat a minute back, exp nine minutes ahead, iss the App id); the
    check run then carries the installation token."""
    before = int(time.time())
    app_reporter(fake_github, app_key).report_plan(SHA, ok=False, summary="bad")
    (lookup,) = fake_github.calls("GET", rf"{REPO}/installation")
    (grant,) = fake_github.calls("POST", r"/app/installations/4242/access_tokens")
    jwt = lookup.headers["authorization"].removeprefix("Bearer ")
    assert grant.headers["authorization"] == f"Bearer {jwt}"
    header, claims, signature = jwt.split(".")
    app_key.public_key().verify(
        unb64(signature), f"{header}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256()
    )
    assert json.loads(unb64(header)) == {"alg": "RS256", "typ": "JWT"}
    claims = json.loads(unb64(claims))
    assert claims["iss"] == fake_github.app_id
    assert before - 60 <= claims["iat"] <= int(time.time()) - 60
    assert claims["exp"] - claims["iat"] == 600
    (create,) = fake_github.calls("POST", rf"{REPO}/check-runs")
    assert create.headers["authorization"] == f"Bearer {fake_github.installation_tokens[0]}"
    assert fake_github.invalid == []


def test_the_installation_token_is_reused_until_near_its_expiry(fake_github, app_key):
    """GIVEN an App and a given installation id WHEN two plans are reported THEN one
    token asked for, no installation lookup."""
    fake_github.app_public_key = app_key.public_key()
    creds = AppCredentials(fake_github.app_id, pem(app_key), "4242")
    github = reporter(fake_github, app=creds)
    github.report_plan(SHA, ok=True, summary="one")
    github.report_plan(SHA, ok=True, summary="two")
    assert len(fake_github.calls("POST", r"/app/installations/4242/access_tokens")) == 1
    assert fake_github.calls("GET", rf"{REPO}/installation") == []
    assert "PRIVATE KEY" not in repr(creds)


def test_a_redirect_to_another_host_is_refused_and_the_token_stays(fake_github):
    """GIVEN the API answering with a redirect to another origin WHEN a status is set THEN
    it is not followed (the other host sees nothing) and the error names the redirect."""
    location = {"location": f"{fake_github.codeload_url}/steal"}
    fake_github.failures = [Failure(307, location)]
    with pytest.raises(GitHubReportError, match="HTTP 307: redirect refused"):
        reporter(fake_github).set_status(SHA, "c", "success", "ok")
    assert fake_github.seen("codeload") == []


@pytest.mark.parametrize("failure", [Failure(500), Failure(429)])
def test_persistent_failures_are_retried_then_raised_without_secrets(fake_github, failure):
    """GIVEN GitHub answering 500 (or 429) every time WHEN a comment is upserted THEN
    three attempts, two waits, then one error naming method, path and status, not the
    token nor the body."""
    fake_github.failures = [failure] * 3
    waits: list[float] = []
    with pytest.raises(GitHubReportError) as caught:
        reporter(fake_github, waits).upsert_comment(7, "secret plan body")
    message = str(caught.value)
    assert f"GET {REPO}/issues/7/comments: HTTP {failure.status}" in message
    assert TOKEN not in message and "secret plan body" not in message
    assert len(fake_github.requests) == 3
    assert len(waits) == 2 and all(0 < w <= 10 for w in waits)


def test_a_transient_failure_is_retried_and_then_succeeds(fake_github):
    """GIVEN one 502 WHEN a status is set THEN it is set on the second attempt."""
    fake_github.failures = [Failure(502)]
    reporter(fake_github).set_status(SHA, "c", "success", "ok")
    assert len(fake_github.statuses) == 1


def test_the_rate_limit_reset_is_honoured_but_the_wait_capped(fake_github):
    """GIVEN a 403 with no rate left until an hour from now, then a retry-after of 3 s
    WHEN a status is set THEN it waits 10 s (the cap), then 3 s, and succeeds."""
    fake_github.failures = [
        rate_limited(reset=int(time.time()) + 3600),
        rate_limited(retry_after=3),
    ]
    waits: list[float] = []
    reporter(fake_github, waits).set_status(SHA, "c", "success", "ok")
    assert waits == [10.0, 3.0]
    assert len(fake_github.statuses) == 1


def test_a_plain_403_is_not_retried(fake_github):
    """GIVEN a 403 with rate left (a permission problem) WHEN a status is set THEN one
    attempt, an error that says so."""
    fake_github.failures = [Failure(403, {"x-ratelimit-remaining": "4999"})]
    with pytest.raises(GitHubReportError, match="HTTP 403: token lacks permission"):
        reporter(fake_github).set_status(SHA, "c", "success", "ok")
    assert len(fake_github.requests) == 1


def test_deploy_status_of_a_pass():
    """Blocked or failed wins; stacks being applied keep it pending; else success."""
    assert deploy_status([{"outcome": "unchanged"}] * 2)[0] == "success"
    assert deploy_status([{"outcome": "unchanged"}, {"outcome": "executed"}])[0] == "pending"
    assert deploy_status([{"outcome": "tags-updated"}])[0] == "pending"
    state, description = deploy_status([{"outcome": "executed"}, {"outcome": "blocked"}])
    assert (state, description) == ("failure", "1 of 2 stack(s) blocked or failed")


def test_settled_status_of_stack_statuses():
    """All Synced: success; any Failed or Blocked: failure; else pending."""
    assert settled_status(["Synced", "Synced"])[0] == "success"
    assert settled_status(["Synced", "OutOfSync"]) == ("pending", "1 of 2 stack(s) synced")
    assert settled_status(["Synced", "Blocked", "OutOfSync"])[0] == "failure"


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_app_credentials_are_read_from_a_json_secret(monkeypatch):
    """GIVEN GITHUB_APP_SECRET's JSON WHEN read THEN the App's credentials; a secret
    without a key is an error naming the secret, not its value."""
    from reconciler.aws import secrets

    values = {
        "app": json.dumps({"app_id": 12345, "private_key": "-----BEGIN PRIVATE KEY-----x"}),
        "bad": json.dumps({"app_id": "1", "private_key": "hunter2"}),
    }
    monkeypatch.setattr(secrets, "secret_string", values.__getitem__)
    creds = secrets.github_app_credentials("app")
    assert (creds.app_id, creds.installation_id) == ("12345", None)
    with pytest.raises(Exception, match="'bad' has no PEM private_key") as caught:
        secrets.github_app_credentials("bad")
    assert "hunter2" not in str(caught.value)
