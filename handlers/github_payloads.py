"""The fields of GitHub's webhook payloads the webhook reads (handlers/webhook.py), the
rest ignored. Validated by pydantic-core from schemas written here, as handlers/events.py
does, with the words pydantic would use. The webhook imports this module on the first
signed delivery it parses, not at a cold start: a ping, an unsigned or an unhandled
delivery never needs it."""

from __future__ import annotations

from pydantic_core import core_schema as cs

from handlers.events import Record, default, field, model, optional, required


class _Repository(Record):
    full_name: str

    @classmethod
    def schema(cls) -> cs.CoreSchema:
        return model(cls, {"full_name": required()})


class GitHubPush(Record):
    """The fields of GitHub's push payload this handler uses; the rest is ignored."""

    ref: str
    after: str
    repository: _Repository
    deleted: bool

    @classmethod
    def schema(cls) -> cs.CoreSchema:
        fields = {
            "ref": required(),
            "after": required(),
            "repository": field(_Repository.schema()),
            "deleted": default(cs.bool_schema(), False),
        }
        return model(cls, fields)


class _RepositoryOrNone(_Repository):
    pass


class _Branch(Record):
    ref: str
    sha: str
    repo: _RepositoryOrNone | None  # null when the fork was deleted

    @classmethod
    def schema(cls) -> cs.CoreSchema:
        fields = {
            "ref": required(),
            "sha": required(),
            "repo": optional(_RepositoryOrNone.schema()),
        }
        return model(cls, fields)


class _PullRequest(Record):
    number: int
    html_url: str
    draft: bool
    head: _Branch
    base: _Branch

    @classmethod
    def schema(cls) -> cs.CoreSchema:
        fields = {
            "number": field(cs.int_schema()),
            "html_url": default(cs.str_schema(), ""),
            "draft": default(cs.bool_schema(), False),
            "head": field(_Branch.schema()),
            "base": field(_Branch.schema()),
        }
        return model(cls, fields)


class GitHubPullRequest(Record):
    """The fields of GitHub's pull_request payload this handler uses."""

    action: str
    number: int
    pull_request: _PullRequest
    repository: _Repository

    @classmethod
    def schema(cls) -> cs.CoreSchema:
        fields = {
            "action": required(),
            "number": field(cs.int_schema()),
            "pull_request": field(_PullRequest.schema()),
            "repository": field(_Repository.schema()),
        }
        return model(cls, fields)

    @property
    def head_repository(self) -> str:
        return self.pull_request.head.repo.full_name if self.pull_request.head.repo else ""

    @property
    def base_repository(self) -> str:
        return _base_repository(self.pull_request.base, self.repository)

    @property
    def from_fork(self) -> bool:
        return self.head_repository.casefold() != self.base_repository.casefold()


class _Reviewer(Record):
    login: str

    @classmethod
    def schema(cls) -> cs.CoreSchema:
        return model(cls, {"login": required()})


class _Review(Record):
    state: str  # lower case in webhooks: approved, commented, changes_requested, dismissed
    commit_id: str
    submitted_at: str | None
    user: _Reviewer | None  # null for a deleted account

    @classmethod
    def schema(cls) -> cs.CoreSchema:
        fields = {
            "state": required(),
            "commit_id": default(cs.str_schema(), ""),
            "submitted_at": optional(cs.str_schema()),
            "user": optional(_Reviewer.schema()),
        }
        return model(cls, fields)


class _ReviewedPullRequest(Record):
    number: int
    merged_at: str | None
    merge_commit_sha: str | None
    head: _Branch
    base: _Branch

    @classmethod
    def schema(cls) -> cs.CoreSchema:
        fields = {
            "number": field(cs.int_schema()),
            "merged_at": optional(cs.str_schema()),
            "merge_commit_sha": optional(cs.str_schema()),
            "head": field(_Branch.schema()),
            "base": field(_Branch.schema()),
        }
        return model(cls, fields)


class GitHubPullRequestReview(Record):
    """The fields of GitHub's pull_request_review payload this handler uses."""

    action: str
    review: _Review
    pull_request: _ReviewedPullRequest
    repository: _Repository

    @classmethod
    def schema(cls) -> cs.CoreSchema:
        fields = {
            "action": required(),
            "review": field(_Review.schema()),
            "pull_request": field(_ReviewedPullRequest.schema()),
            "repository": field(_Repository.schema()),
        }
        return model(cls, fields)

    @property
    def base_repository(self) -> str:
        return _base_repository(self.pull_request.base, self.repository)


def _base_repository(base: _Branch, repository: _Repository) -> str:
    """The repository a pull request merges into: its base branch's, else the payload's."""
    return base.repo.full_name if base.repo else repository.full_name


# The payload model of each GitHub event handled, and what a rejection calls it.
PAYLOADS: dict[str, tuple[type[Record], str]] = {
    "push": (GitHubPush, "push"),
    "pull_request": (GitHubPullRequest, "pull request"),
    "pull_request_review": (GitHubPullRequestReview, "pull request review"),
}
