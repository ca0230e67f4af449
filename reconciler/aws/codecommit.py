"""The desired-state repository on CodeCommit, read through its API (the Lambda runtime
has no git). A checkout reads one commit: the branch head is resolved once with
GetBranch and every GetFolder and GetFile names that commit id, so a push landing in the
middle of the read cannot mix two revisions."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import botocore.exceptions

from reconciler.aws import session
from reconciler.errors import SourceError
from reconciler.source import Checkout, CommitInfo, Review

# What the desired state can need: stack files (YAML) and templates (YAML, JSON, or the
# `.template` extension CloudFormation's own samples use). Nothing else is fetched.
SUFFIXES = (".yml", ".yaml", ".json", ".template")
MAX_FILES = 1_000
MAX_FOLDERS = 1_000  # bounds the walk (one GetFolder call each) in a large repository
MAX_FILE_BYTES = 1024 * 1024

# Errors no retry can fix: the configuration names a repository or branch that is not
# there (or cannot be). Anything else is left to session.aws_errors.
_PERMANENT = {
    "RepositoryDoesNotExistException": "repository does not exist",
    "InvalidRepositoryNameException": "not a valid repository name",
    "BranchDoesNotExistException": "branch does not exist",
    "InvalidBranchNameException": "not a valid branch name",
}
# GetCommit's answers for a commit the repository does not have: no author to tell.
_NO_COMMIT = {"CommitIdDoesNotExistException", "InvalidCommitIdException"}


class CodeCommitSource:
    """A CodeCommit repository followed at one branch, in one region (the Lambda's own
    unless told): `DESIRED_STATE_REPOSITORY=codecommit:NAME`."""

    def __init__(
        self, repository: str, branch: str = "main", region: str | None = None, client: Any = None
    ) -> None:
        self.repository = repository
        self.branch = branch
        self._client = client or session.client("codecommit", region)
        self._authors: dict[str, CommitInfo] = {}  # a commit's author never changes

    def is_repository(self, name: str) -> bool:
        """CodeCommit repository names are case sensitive (CodeCommit quotas: "Names are
        case sensitive"), so only the exact name is this repository."""
        return name == self.repository

    def head_revision(self) -> str:
        with self._errors():
            answer = self._client.get_branch(repositoryName=self.repository, branchName=self.branch)
        return answer["branch"]["commitId"]

    def checkout(self, dest: Path) -> Checkout:
        """The desired-state files at the branch head, written under `dest` with their
        repository paths: only files ending in .yml, .yaml, .json or .template (stack files
        and templates; a template with another extension is not read). At most MAX_FILES
        such files of at most MAX_FILE_BYTES each; a path that is absolute or has `..` is
        refused.

        Symbolic links and submodules, which GetFolder lists apart from files, are left
        out: a link's content is the path it points at, which may lie outside the
        repository, and a submodule is another repository at a pinned commit, not part of
        this one. The desired state is plain files, as with CloudFormation Git sync."""
        commit = self.head_revision()
        folders, files = self._walk(commit)
        dest.mkdir(parents=True)
        for folder in folders:
            (dest / folder).mkdir(parents=True, exist_ok=True)
        for path in files:
            (dest / path).write_bytes(self._file(commit, path))
        return Checkout(dest, commit)

    def commit(self, revision: str) -> CommitInfo:
        """The author git recorded, from GetCommit ("Name <email>": CodeCommit knows no
        logins, and a pull request is not linked to the commit it merged). A revision the
        repository does not have is an empty CommitInfo. Read once per revision."""
        if revision in self._authors:
            return self._authors[revision]
        with self._errors():
            try:
                answer = self._client.get_commit(repositoryName=self.repository, commitId=revision)
            except botocore.exceptions.ClientError as err:
                if session.error_code(err) in _NO_COMMIT:
                    return CommitInfo()
                raise
        author = answer.get("commit", {}).get("author", {})
        name, email = str(author.get("name", "")).strip(), str(author.get("email", "")).strip()
        shown = f"{name} <{email}>" if name and email else name or email
        found = CommitInfo(author=shown, author_name=name, author_email=email)
        self._authors[revision] = found
        return found

    def reviews(self, revision: str) -> tuple[Review, ...]:
        """(): CodeCommit's pull request approval rules are out of scope. An approval of
        a CodeCommit change is given with `reconciler approve`."""
        return ()

    def _walk(self, commit: str) -> tuple[list[str], list[str]]:
        """(folders, wanted files) of the tree at `commit`, as repository-relative paths
        built from the names GetFolder gives, breadth first in the order listed."""
        folders: list[str] = []
        files: list[str] = []
        queue = deque([""])
        while queue:
            folder = queue.popleft()
            if len(folders) == MAX_FOLDERS:
                raise self._error(f"more than {MAX_FOLDERS} folders; not read")
            folders.append(folder)
            with self._errors():
                listing = self._client.get_folder(
                    repositoryName=self.repository,
                    commitSpecifier=commit,
                    folderPath="/" + folder,
                )
            for sub in listing.get("subFolders", []):
                queue.append(self._child(folder, sub["relativePath"]))
            for entry in listing.get("files", []):
                path = self._child(folder, entry["relativePath"])
                if entry.get("fileMode") != "SYMLINK" and path.lower().endswith(SUFFIXES):
                    files.append(path)
            if len(files) > MAX_FILES:
                raise self._error(f"more than {MAX_FILES} desired-state files; not read")
        return folders, files

    def _file(self, commit: str, path: str) -> bytes:
        with self._errors(path):
            answer = self._client.get_file(
                repositoryName=self.repository, commitSpecifier=commit, filePath="/" + path
            )
        content = answer["fileContent"]
        if max(answer["fileSize"], len(content)) > MAX_FILE_BYTES:
            raise self._error(f"{path} is larger than {MAX_FILE_BYTES >> 20} MiB; not read")
        return content

    def _child(self, folder: str, name: str) -> str:
        """`folder/name`, where name must be one plain path component: the path is built
        here, never taken whole from the answer, so nothing can land outside `dest`."""
        if not name or "/" in name or name in (".", ".."):
            shown = f"{folder}/{name}" if folder else name
            raise self._error(f"refusing path {shown!r}: it would leave the repository")
        return f"{folder}/{name}" if folder else name

    def _error(self, problem: str) -> SourceError:
        return SourceError(f"CodeCommit {self.repository} (branch {self.branch}): {problem}")

    @contextmanager
    def _errors(self, path: str = "") -> Iterator[None]:
        """A missing repository or branch, or a file GetFile will not return, is a
        permanent SourceError; throttling and 5xx were already retried by the client's
        retry mode; the rest become one-line AwsErrors."""
        with session.aws_errors():
            try:
                yield
            except botocore.exceptions.ClientError as err:
                code = session.error_code(err)
                if code == "FileTooLargeException":
                    raise self._error(f"{path} is too large for GetFile; not read") from err
                problem = _PERMANENT.get(code)
                if problem is None:
                    raise
                region = self._client.meta.region_name
                raise self._error(f"{problem} in {region}") from err
