"""Plan and deploy results posted back to GitHub: one pull-request comment, commit
statuses, and check runs when a GitHub App is configured.

Posting is best effort: a GitHubReportError is logged by the caller and never fails a
reconcile. The token goes only to the API's own origin, in the Authorization header;
redirects are refused, not followed. Throttling (429, 403 with no rate left) and 5xx
are retried a few times with a capped wait. Errors and logs name the method, the path
and the status, never a token nor a body.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from reconciler.errors import ReconcilerError
from reconciler.github import _NAME, API_VERSION, USER_AGENT

log = logging.getLogger(__name__)

MARKER = "<!-- gitops-reconciler:plan -->"
PLAN_CONTEXT = "gitops-reconciler/plan"
DEPLOY_CONTEXT = "gitops-reconciler/deploy"
STATES = ("pending", "success", "failure", "error")
LEVELS = ("failure", "warning", "notice")
MAX_DESCRIPTION = 140  # a commit status's description
MAX_OUTPUT = 65535  # a check run's output.title / output.summary
MAX_COMMENT = 65536  # an issue comment's body
MAX_ANNOTATIONS = 50  # per check-run request
# The longest pause between two attempts of one GitHub request, whatever GitHub asks: a
# retry backoff, as botocore's own between attempts, never a wait for a stack operation.
MAX_WAIT_SECONDS = 10.0
MAX_ANSWER_BYTES = 5 * 1024 * 1024
PER_PAGE = 100
MAX_PAGES = 30
TOKEN_MARGIN_SECONDS = 300  # an installation token is renewed this long before it expires


class GitHubReportError(ReconcilerError):
    """GitHub refused or did not take a report, after retries. Callers log it; the
    reconcile itself has succeeded or failed on its own."""


@dataclass(frozen=True)
class Annotation:
    path: str
    line: int
    level: str  # "failure" | "warning" | "notice"
    message: str
    title: str = ""


@dataclass(frozen=True)
class AppCredentials:
    """A GitHub App's id and private key (PEM); the installation is looked up from the
    repository when not given."""

    app_id: str
    private_key_pem: str = field(repr=False)
    installation_id: str | None = None


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


class GitHubReporter:
    """Reports on `repository` ("OWNER/NAME"). `token` returns a token that may write
    statuses and pull-request comments; it is called per request, not at construction.
    With `app`, the App's installation token is used instead (check runs need it); `app`
    may be a function giving the credentials, called at the first request that needs a
    token, so a reporter that never posts never reads a secret. Credentials that cannot
    be had (an unreadable secret) are a GitHubReportError, as any other failed report."""

    def __init__(
        self,
        repository: str,
        *,
        api_url: str = "https://api.github.com",
        token: Callable[[], str],
        app: AppCredentials | Callable[[], AppCredentials] | None = None,
        timeout: float = 10.0,
        attempts: int = 3,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not _NAME.fullmatch(repository):
            raise GitHubReportError(f"GitHub repository must be OWNER/NAME, got {repository!r}")
        if urlsplit(api_url).scheme not in ("https", "http"):
            raise GitHubReportError("GitHub API URL must be http(s)")
        self.repository = repository
        self.api_url = api_url.rstrip("/")
        self._token = token
        self._app = app
        self._timeout = timeout
        self._attempts = max(1, attempts)
        self._sleep = sleep
        self._installation: tuple[str, float] | None = None  # token, expiry (epoch)
        self._lock = threading.Lock()

    # -- reports ---------------------------------------------------------------------

    def upsert_comment(self, pr_number: int, body: str) -> None:
        """One comment per pull request: the one starting with MARKER is edited in place,
        or created when there is none."""
        text = body if body.startswith(MARKER) else f"{MARKER}\n{body}"
        text = text[:MAX_COMMENT]
        repo = f"/repos/{self.repository}"
        existing = self._find_comment(int(pr_number))
        if existing is None:
            self._call("POST", f"{repo}/issues/{int(pr_number)}/comments", {"body": text})
        else:
            self._call("PATCH", f"{repo}/issues/comments/{existing}", {"body": text})

    def set_status(
        self, sha: str, context: str, state: str, description: str, target_url: str = ""
    ) -> None:
        if state not in STATES:
            raise ValueError(f"commit status state must be one of {STATES}, got {state!r}")
        body = {"state": state, "context": context, "description": _cut(description, 140)}
        if target_url:
            body["target_url"] = target_url
        self._call("POST", f"/repos/{self.repository}/statuses/{_sha(sha)}", body)

    def report_plan(
        self, sha: str, *, ok: bool, summary: str, annotations: Sequence[Annotation] = ()
    ) -> None:
        """Without an App: a commit status. With one: a completed check run carrying the
        annotations, the first 50 in the create and the rest in updates (GitHub takes at
        most 50 per request)."""
        if self._app is None:
            state = "success" if ok else "failure"
            self.set_status(sha, PLAN_CONTEXT, state, _first_line(summary))
            return
        title = "Plan: no errors" if ok else "Plan: errors found"
        batches = [
            [_annotation(a) for a in annotations[i : i + MAX_ANNOTATIONS]]
            for i in range(0, len(annotations), MAX_ANNOTATIONS)
        ] or [[]]
        output = {"title": title, "summary": _cut(summary, MAX_OUTPUT) or title}
        created = self._call(
            "POST",
            f"/repos/{self.repository}/check-runs",
            {
                "name": PLAN_CONTEXT,
                "head_sha": _sha(sha),
                "status": "completed",
                "conclusion": "success" if ok else "failure",
                "output": {**output, "annotations": batches[0]},
            },
        )
        run_id = created.get("id") if isinstance(created, dict) else None
        if len(batches) > 1 and not isinstance(run_id, int):
            raise GitHubReportError("GitHub POST check-runs: answer has no check run id")
        for batch in batches[1:]:
            self._call(
                "PATCH",
                f"/repos/{self.repository}/check-runs/{run_id}",
                {"output": {**output, "annotations": batch}},
            )

    # -- plumbing --------------------------------------------------------------------

    def _find_comment(self, pr_number: int) -> int | None:
        path = f"/repos/{self.repository}/issues/{pr_number}/comments"
        for page in range(1, MAX_PAGES + 1):
            comments = self._call("GET", f"{path}?per_page={PER_PAGE}&page={page}")
            if not isinstance(comments, list):
                raise GitHubReportError(f"GitHub GET {path}: answer is not a list")
            for comment in comments:
                if (
                    isinstance(comment, dict)
                    and str(comment.get("body") or "").startswith(MARKER)
                    and isinstance(comment.get("id"), int)
                ):
                    return comment["id"]
            if len(comments) < PER_PAGE:
                return None
        return None

    def _bearer(self) -> str:
        if self._app is None:
            return self._credential(self._token) or ""
        with self._lock:
            cached = self._installation
            if cached and cached[1] - TOKEN_MARGIN_SECONDS > time.time():
                return cached[0]
            app = self._app if isinstance(self._app, AppCredentials) else None
            if app is None:
                app = self._credential(self._app)
                if not isinstance(app, AppCredentials):
                    raise GitHubReportError("GitHub App credentials: none given")
                self._app = app  # read once per reporter; a new container reads it anew
            self._installation = self._installation_token(app)
            return self._installation[0]

    @staticmethod
    def _credential(read: Callable[[], Any]) -> Any:
        """A token or the App's credentials; a secret that cannot be read is a failed
        report (its message names the secret, never a value), not a failed reconcile."""
        try:
            return read()
        except ReconcilerError as err:
            if isinstance(err, GitHubReportError):
                raise
            raise GitHubReportError(f"GitHub credentials not read: {err}") from err

    def _installation_token(self, app: AppCredentials) -> tuple[str, float]:
        jwt = app_jwt(app.app_id, app.private_key_pem)
        installation = app.installation_id
        if not installation:
            found = self._call("GET", f"/repos/{self.repository}/installation", auth=jwt)
            installation = str(found.get("id", "")) if isinstance(found, dict) else ""
            if not installation.isdigit():
                raise GitHubReportError("GitHub GET installation: answer has no installation id")
        path = f"/app/installations/{installation}/access_tokens"
        answer = self._call("POST", path, {}, auth=jwt)
        try:
            token = answer["token"]
            expires = datetime.fromisoformat(answer["expires_at"].replace("Z", "+00:00"))
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise GitHubReportError(f"GitHub POST {path}: unexpected answer") from err
        if not isinstance(token, str) or not token:
            raise GitHubReportError(f"GitHub POST {path}: unexpected answer")
        return token, expires.timestamp()

    def _call(
        self, method: str, path: str, body: dict | None = None, *, auth: str | None = None
    ) -> Any:
        """One API request, retried on 5xx and throttling; the parsed JSON answer."""
        what = f"GitHub {method} {path.split('?')[0]}"
        data = json.dumps(body).encode() if body is not None else None
        for attempt in range(1, self._attempts + 1):
            token = auth if auth is not None else self._bearer()
            request = urllib.request.Request(
                self.api_url + path, data=data, method=method, headers=_headers(token)
            )
            if data is not None:
                request.add_header("Content-Type", "application/json")
            try:
                with _opener.open(request, timeout=self._timeout) as answer:
                    raw = answer.read(MAX_ANSWER_BYTES + 1)
                if len(raw) > MAX_ANSWER_BYTES:
                    raise GitHubReportError(f"{what}: answer too large")
                try:
                    return json.loads(raw) if raw.strip() else None
                except ValueError as err:
                    raise GitHubReportError(f"{what}: answer is not JSON") from err
            except urllib.error.HTTPError as err:
                code, headers = err.code, err.headers
                err.close()
                if 300 <= code < 400:
                    raise GitHubReportError(f"{what}: HTTP {code}: redirect refused") from None
                throttled = code == 429 or (
                    code == 403 and headers.get("X-RateLimit-Remaining") == "0"
                )
                if not (throttled or code >= 500):
                    raise GitHubReportError(f"{what}: HTTP {code}{_meaning(code)}") from None
                reason = f"HTTP {code}" + (": rate limit reached" if throttled else "")
                wait = _wait(headers, attempt) if throttled else _backoff(attempt)
            except (TimeoutError, urllib.error.URLError, OSError) as err:
                text = getattr(err, "reason", None) or err.__class__.__name__
                reason = f"unavailable: {'timed out' if isinstance(text, TimeoutError) else text}"
                wait = _backoff(attempt)
            if attempt == self._attempts:
                break
            log.warning("%s: %s; attempt %d of %d", what, reason, attempt, self._attempts)
            self._sleep(wait)
        raise GitHubReportError(f"{what}: {reason} (after {self._attempts} attempts)")


def app_jwt(app_id: str, private_key_pem: str, now: float | None = None) -> str:
    """The App's JWT (RS256): issued a minute ago against clock drift, valid nine more
    minutes (GitHub accepts at most ten)."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    issued = int(now if now is not None else time.time())
    header = _b64(json.dumps({"alg": "RS256", "typ": "JWT"}, separators=(",", ":")).encode())
    claims = {"iat": issued - 60, "exp": issued + 540, "iss": str(app_id)}
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    try:
        key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    except (ValueError, TypeError) as err:
        raise GitHubReportError("GitHub App private key is not an unencrypted PEM key") from err
    if not isinstance(key, rsa.RSAPrivateKey):
        raise GitHubReportError("GitHub App private key is not an RSA key")
    signed = f"{header}.{payload}".encode()
    signature = key.sign(signed, padding.PKCS1v15(), hashes.SHA256())
    return f"{header}.{payload}.{_b64(signature)}"


# -- deploy status -------------------------------------------------------------------

_FAILED = ("blocked", "failed")
_DONE = ("unchanged", "orphaned")


def deploy_status(results: Iterable[Any]) -> tuple[str, str]:
    """The `gitops-reconciler/deploy` state after a pass: failure when a stack was blocked
    or failed, pending while a stack is being changed (executed, tags updated, waiting,
    ...), success when nothing had to change. `results` are StackResults or the dicts
    of Outcome.stacks."""
    outcomes = [_field(r, "outcome") for r in results]
    bad = sum(o in _FAILED for o in outcomes)
    busy = sum(o not in _FAILED and o not in _DONE for o in outcomes)
    if bad:
        return "failure", _cut(f"{bad} of {len(outcomes)} stack(s) blocked or failed", 140)
    if busy:
        return "pending", _cut(f"{busy} of {len(outcomes)} stack(s) being applied", 140)
    return "success", f"{len(outcomes)} stack(s) up to date"


def settled_status(statuses: Iterable[Any]) -> tuple[str, str]:
    """The deploy state once stack status events arrive: success when every stack is
    Synced, failure when one is Failed or Blocked, pending otherwise. `statuses` are
    StackStatus values or their sync strings."""
    syncs = [str(s) if isinstance(s, str) else str(_field(s, "sync")) for s in statuses]
    bad = sum(s in ("Failed", "Blocked") for s in syncs)
    synced = sum(s == "Synced" for s in syncs)
    if bad:
        return "failure", _cut(f"{bad} of {len(syncs)} stack(s) failed or blocked", 140)
    if synced == len(syncs):
        return "success", f"{synced} stack(s) synced"
    return "pending", f"{synced} of {len(syncs)} stack(s) synced"


# -- helpers -------------------------------------------------------------------------


def _field(item: Any, name: str) -> str:
    value = item.get(name) if isinstance(item, dict) else getattr(item, name, "")
    return str(value or "")


def _headers(token: str) -> dict[str, str]:
    headers = {
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": API_VERSION,
        "User-Agent": USER_AGENT,
    }
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def _annotation(a: Annotation) -> dict[str, Any]:
    if a.level not in LEVELS:
        raise ValueError(f"annotation level must be one of {LEVELS}, got {a.level!r}")
    line = max(1, int(a.line))
    out = {
        "path": a.path,
        "start_line": line,
        "end_line": line,
        "annotation_level": a.level,
        "message": _cut(a.message, 64 * 1024) or a.level,
    }
    if a.title:
        out["title"] = _cut(a.title, 255)
    return out


def _wait(headers: Any, attempt: int) -> float:
    """GitHub's retry-after, else the time to x-ratelimit-reset, capped."""
    retry_after = headers.get("Retry-After")
    if retry_after and retry_after.strip().isdigit():
        return min(float(retry_after), MAX_WAIT_SECONDS)
    reset = headers.get("X-RateLimit-Reset")
    if reset and reset.strip().isdigit():
        return min(max(float(reset) - time.time(), 0.0), MAX_WAIT_SECONDS)
    return _backoff(attempt)


def _backoff(attempt: int) -> float:
    return min(0.5 * 2 ** (attempt - 1), MAX_WAIT_SECONDS)


def _meaning(code: int) -> str:
    return {
        401: ": bad credentials",
        403: ": token lacks permission",
        404: ": not found (or the token cannot see it)",
        422: ": request refused as invalid",
    }.get(code, "")


def _sha(sha: str) -> str:
    if not (len(sha) == 40 and all(c in "0123456789abcdef" for c in sha)):
        raise ValueError("a commit sha is 40 lower-case hex digits")
    return sha


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
