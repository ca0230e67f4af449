"""The validation cache (reconciler/cache.py) proven on whole `reconciler validate`
processes: a warm run imports no cfn-lint module and answers as a cold one; --no-cache
and RECONCILER_NO_CACHE lint afresh and touch nothing; no input that changed (template
bytes, regions, parameters, cfn-lint's version, a .cfnlintrc, the cache's FORMAT) is
answered from an old entry; hostile entries and folders are misses, never errors; and
where the folder is.

Processes run in a fresh interpreter through a wrapper that calls reconciler.cli.main and
then prints which `cfnlint` modules are in sys.modules. Each process gets its own
environment: no AWS_* or RECONCILER_* from the caller, HOME and the working directory in
an empty folder (so no ~/.cfnlintrc or ./.cfnlintrc is read unless a test writes one),
and RECONCILER_CACHE_DIR in a folder of the test's."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from reconciler import cache, iam_actions, render, schemas, yamlfile
from reconciler.cli import main, parser
from reconciler.validation import cfn_lint
from reconciler.validation.offline_catalog import OfflineCatalog, _enum
from tests.cli_process import Run, run_reconciler
from tests.repo import STACK, TEMPLATE, make_repo

PROJECT = Path(__file__).resolve().parents[2]

# An unknown property: cfn-lint's E3002, so validate exits 1.
BAD_TEMPLATE = TEMPLATE.replace(
    "      Type: String\n      Value: !Ref Greeting\n",
    "      Type: String\n      Value: !Ref Greeting\n      Colour: blue\n",
)
COLOUR_LINE = BAD_TEMPLATE.splitlines().index("      Colour: blue") + 1
# A parameter nothing uses: cfn-lint's W2001, a warning (exit 0).
UNUSED_PARAMETER = TEMPLATE.replace(
    "Parameters:\n", "Parameters:\n  Unused:\n    Type: String\n    Default: x\n", 1
)
# A type CloudFormation offers in us-east-1 only (cfn-lint's E3006 elsewhere).
US_EAST_1_ONLY = TEMPLATE.replace(
    "Resources:\n", "Resources:\n  Gallery:\n    Type: AWS::ECR::PublicRepository\n", 1
)
DNS_LINE = "      EnableDnsSupport: true\n"


def reconciler(
    *args: str, cache_dir: Path, quiet: Path, cwd: Path | None = None, **env: str
) -> Run:
    """`reconciler *args` in a fresh interpreter."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RECONCILER_"))}
    environ.update(HOME=str(quiet), RECONCILER_CACHE_DIR=str(cache_dir), **env)
    return run_reconciler(*args, cwd=cwd or quiet, env=environ, timeout=120)


def snapshot(folder: Path) -> dict[str, tuple[bool, int, int, bytes]]:
    """Every file and folder below `folder`: kind, mode, modification time, bytes."""
    found = {}
    for path in sorted(folder.rglob("*")):
        info = path.stat()
        body = path.read_bytes() if path.is_file() else b""
        found[path.relative_to(folder).as_posix()] = (
            path.is_dir(),
            info.st_mode,
            info.st_mtime_ns,
            body,
        )
    return found


def entries(folder: Path) -> dict[str, Any]:
    """Each entry file below `folder`, as JSON (None when it is not JSON)."""
    found = {}
    for path in sorted(folder.rglob("*.json")):
        try:
            found[path.relative_to(folder).as_posix()] = json.loads(path.read_bytes())
        except ValueError:
            found[path.relative_to(folder).as_posix()] = None
    return found


def copy_repo(target: Path) -> Path:
    for folder in ("desired-state", "templates"):
        shutil.copytree(PROJECT / folder, target / folder)
    return target


@dataclass(frozen=True)
class Warm:
    repo: Path
    cache: Path
    first: Run  # the run that filled the cache


@pytest.fixture(scope="module")
def quiet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty folder: each process's home and working directory."""
    return tmp_path_factory.mktemp("quiet")


@pytest.fixture(scope="module")
def pci(tmp_path_factory: pytest.TempPathFactory, quiet: Path) -> Warm:
    """The project's own stack files and PCI template, validated once into a cache."""
    repo = copy_repo(tmp_path_factory.mktemp("pci"))
    folder = tmp_path_factory.mktemp("pci-cache") / "cache"
    return Warm(
        repo, folder, reconciler("validate", "--offline", str(repo), cache_dir=folder, quiet=quiet)
    )


@pytest.fixture(scope="module")
def bad(tmp_path_factory: pytest.TempPathFactory, quiet: Path) -> Warm:
    """A small repository whose template cfn-lint refuses, validated once into a cache."""
    repo = make_repo(tmp_path_factory.mktemp("bad"), {"templates/app.yml": BAD_TEMPLATE})
    folder = tmp_path_factory.mktemp("bad-cache") / "cache"
    return Warm(
        repo, folder, reconciler("validate", "--offline", str(repo), cache_dir=folder, quiet=quiet)
    )


def warm_copy(warm: Warm, tmp_path: Path) -> Path:
    """A copy of a warm cache a test may change (modes kept: owner only)."""
    target = tmp_path / "cache"
    shutil.copytree(warm.cache, target)
    return target


# --- A warm run imports no cfn-lint and answers as the cold one -------------------------


def test_a_second_validate_of_the_pci_repository_imports_no_cfnlint_and_answers_the_same(
    pci, quiet
):
    """GIVEN the project's stack files and PCI template (Availability Zones, stateful types,
    engine versions) validated once WHEN validated again in a fresh interpreter with the
    same cache THEN no cfnlint module is imported, and output and exit code are the same."""
    second = reconciler("validate", "--offline", str(pci.repo), cache_dir=pci.cache, quiet=quiet)
    assert pci.first.code == 0, pci.first.err
    assert pci.first.cfnlint  # the cold run did lint
    assert {"parse", "lint", "availability-zones", "stateful-types", "engine-versions"} <= {
        p.name for p in pci.cache.iterdir()
    }
    assert second.cfnlint == ()
    assert second.answer == pci.first.answer
    assert "Traceback" not in second.err, second.err


def test_a_second_validate_of_a_refused_template_imports_no_cfnlint_and_repeats_its_findings(
    bad, quiet
):
    """GIVEN a template with an unknown property validated once (exit 1, E3002) WHEN
    validated again THEN the same findings and exit code, without importing cfnlint."""
    second = reconciler("validate", "--offline", str(bad.repo), cache_dir=bad.cache, quiet=quiet)
    assert bad.first.code == 1
    assert f"templates/app.yml:{COLOUR_LINE}: error:" in bad.first.out
    assert "[E3002]" in bad.first.out and "'Colour' was unexpected" in bad.first.out
    assert second.cfnlint == ()
    assert second.answer == bad.first.answer


@pytest.mark.parametrize(
    ("flag", "env"),
    [(("--no-cache",), {}), ((), {"RECONCILER_NO_CACHE": "1"})],
    ids=["--no-cache", "RECONCILER_NO_CACHE=1"],
)
def test_no_cache_on_a_warm_cache_lints_afresh_answers_the_same_and_changes_no_entry(
    bad, quiet, flag, env
):
    """GIVEN a warm cache WHEN validate runs with --no-cache (or RECONCILER_NO_CACHE=1)
    THEN cfnlint is imported (a fresh run), the answer is the same, and no file in the
    cache folder is added or changed."""
    before = snapshot(bad.cache)
    fresh = reconciler(
        "validate", "--offline", *flag, str(bad.repo), cache_dir=bad.cache, quiet=quiet, **env
    )
    assert "cfnlint.api" in fresh.cfnlint
    assert fresh.answer == bad.first.answer
    assert snapshot(bad.cache) == before


@pytest.mark.parametrize("command", ["validate", "plan", "apply"])
def test_no_cache_turns_the_cache_off_for_the_command_only(monkeypatch, command):
    """GIVEN validate, plan and apply WHEN run with --no-cache THEN the cache is off while
    the command runs, and on again after it; without the flag it stays on."""
    seen: list[bool] = []
    monkeypatch.setattr(
        f"reconciler.cli.cmd_{command}", lambda args: seen.append(cache.active()) or 0
    )
    monkeypatch.delenv("RECONCILER_NO_CACHE", raising=False)
    assert parser().parse_args([command, "--no-cache"]).no_cache is True
    assert main([command, "--no-cache"]) == 0
    assert main([command]) == 0
    assert seen == [False, True]
    assert cache.active()


# --- Changed inputs are never answered from an old entry --------------------------------


def test_one_changed_byte_of_a_template_on_a_warm_cache_is_linted_afresh(pci, quiet, tmp_path):
    """GIVEN the PCI repository's warm cache WHEN one byte of the template changes (an
    unknown property) THEN the next run lints it (cfnlint imported) and reports E3002 at
    its line, exit 1."""
    folder = warm_copy(pci, tmp_path)
    repo = copy_repo(tmp_path / "repo")
    template = repo / "templates" / "pci-database.yml"
    text = template.read_text()
    changed = text.replace(DNS_LINE, DNS_LINE.replace("Support:", "SupporT:"))
    assert (
        len(changed) == len(text) and sum(a != b for a, b in zip(changed, text, strict=True)) == 1
    )
    template.write_text(changed)
    line = changed.splitlines().index(DNS_LINE.replace("Support:", "SupporT:").rstrip()) + 1

    run = reconciler("validate", "--offline", str(repo), cache_dir=folder, quiet=quiet)

    assert run.code == 1
    assert "cfnlint.api" in run.cfnlint
    assert f"templates/pci-database.yml:{line}: error:" in run.out
    assert "'EnableDnsSupporT' was unexpected" in run.out and "[E3002]" in run.out


def test_a_stack_moved_to_another_region_is_linted_for_that_region(quiet, tmp_path):
    """GIVEN a template using a type offered only in us-east-1, validated for a stack in
    us-east-1 (no finding) WHEN the stack file moves the stack to eu-central-1 THEN the
    next run reports E3006 for eu-central-1; moved back, the us-east-1 answer returns
    (from the cache: both are kept)."""
    repo = make_repo(tmp_path / "repo", {"templates/app.yml": US_EAST_1_ONLY})
    stack = repo / "desired-state" / "app-dev.yml"
    folder = tmp_path / "cache"

    def validate() -> Run:
        return reconciler("validate", "--offline", str(repo), cache_dir=folder, quiet=quiet)

    east = validate()
    stack.write_text(STACK.replace("region: us-east-1", "region: eu-central-1"))
    central = validate()
    stack.write_text(STACK)
    east_again = validate()

    assert east.code == 0 and "E3006" not in east.out, east.out
    assert central.code == 1
    assert "Resource type 'AWS::ECR::PublicRepository' does not exist in 'eu-central-1'" in (
        central.out
    )
    assert east_again.answer == east.answer
    assert east_again.cfnlint == ()


def test_a_changed_parameter_gives_its_parameter_dependent_finding_on_a_warm_cache(
    pci, quiet, tmp_path
):
    """GIVEN the PCI repository's warm cache WHEN the dev stack file sets DBEngineVersion
    8.0.35 THEN the next run reports RDS001 (deprecated in us-east-1) at the stack file."""
    folder = warm_copy(pci, tmp_path)
    repo = copy_repo(tmp_path / "repo")
    dev = repo / "desired-state" / "pci-db-dev.yml"
    text = dev.read_text()
    dev.write_text(
        text.replace(
            "  EnvironmentSuffix: dev\n", "  EnvironmentSuffix: dev\n  DBEngineVersion: 8.0.35\n"
        )
    )

    run = reconciler("validate", "--offline", str(repo), cache_dir=folder, quiet=quiet)

    assert run.code == 1
    assert "desired-state/pci-db-dev.yml:3: error:" in run.out
    assert "mysql 8.0.35 is deprecated (no new instances) in us-east-1" in run.out
    assert "[RDS001]" in run.out


def test_a_cfnlintrc_in_the_working_directory_changes_the_findings_and_the_key(quiet, tmp_path):
    """GIVEN a template with an unused parameter (W2001) validated from a folder without
    a .cfnlintrc WHEN validated from a folder whose .cfnlintrc ignores W2001 THEN cfn-lint
    runs again and W2001 is gone; back in the first folder, W2001 is answered from the
    cache (its entry was kept under another key)."""
    repo = make_repo(tmp_path / "repo", {"templates/app.yml": UNUSED_PARAMETER})
    folder = tmp_path / "cache"
    configured = tmp_path / "configured"
    configured.mkdir()
    (configured / ".cfnlintrc").write_text("ignore_checks:\n  - W2001\n")

    def validate(cwd: Path) -> Run:
        return reconciler(
            "validate", "--offline", str(repo), cache_dir=folder, quiet=quiet, cwd=cwd
        )

    plain = validate(quiet)
    ignoring = validate(configured)
    plain_again = validate(quiet)

    assert plain.code == 0 and "[W2001]" in plain.out, plain.out
    assert "[W2001]" not in ignoring.out
    assert "cfnlint.api" in ignoring.cfnlint
    assert len(list((folder / "lint").iterdir())) == 2
    assert plain_again.answer == plain.answer
    assert plain_again.cfnlint == ()


# In-process: the cache's keys, read through the functions that use them.

CACHED_FUNCTIONS: tuple[Callable[[], None], ...] = (
    cfn_lint.lint.cache_clear,
    render.availability_zones.cache_clear,
    schemas.stateful_types.cache_clear,
    schemas._schema.cache_clear,
    schemas.create_only_paths.cache_clear,
    schemas.conditional_create_only_paths.cache_clear,
    iam_actions.handler_permissions.cache_clear,
    iam_actions.handler_actions.cache_clear,
    _enum.cache_clear,
    cache.cfn_lint_version.cache_clear,
)


def forget() -> None:
    """Empty the in-memory caches in front of the disk cache."""
    for clear in CACHED_FUNCTIONS:
        clear()


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty cache folder of this test's, with the in-memory caches emptied before and
    after (a test that fails mid-way must leave no wrong answer behind)."""
    target = tmp_path / "cache"
    monkeypatch.setenv("RECONCILER_CACHE_DIR", str(target))
    monkeypatch.delenv("RECONCILER_NO_CACHE", raising=False)
    forget()
    yield target
    forget()


def only_entry(folder: Path, kind: str) -> Path:
    (entry,) = (folder / kind).iterdir()
    return entry


def plant(entry: Path, value: Any, format: int = cache.FORMAT) -> None:
    entry.write_text(json.dumps({"format": format, "value": value}))


REGIONS = ("us-east-1",)


def planted(folder: Path) -> tuple[tuple[str, int, str], ...]:
    """BAD_TEMPLATE's findings, stored and then planted to say 'no findings', which is
    what lint then answers (the proof that a test's later answer is not the entry's)."""
    real = cfn_lint.lint(BAD_TEMPLATE, REGIONS)
    assert any(rule == "E3002" for rule, _, _ in real)
    plant(only_entry(folder, "lint"), [])
    forget()
    assert cfn_lint.lint(BAD_TEMPLATE, REGIONS) == ()
    forget()
    return real


def test_another_cfn_lint_version_is_a_miss(folder, monkeypatch):
    """GIVEN findings stored, and the entry planted to say 'no findings' WHEN cfn-lint's
    version differs THEN lint runs again: the real findings, in an entry of their own."""
    real = planted(folder)
    monkeypatch.setattr(cache, "cfn_lint_version", lambda: "0.0.1-another")
    assert cfn_lint.lint(BAD_TEMPLATE, REGIONS) == real
    assert len(list((folder / "lint").iterdir())) == 2


def test_a_format_bump_is_a_miss(folder, monkeypatch):
    """GIVEN findings stored, and the entry planted to say 'no findings' WHEN FORMAT is
    raised THEN lint runs again; an entry of the old format under the new key is not
    read either."""
    real = planted(folder)
    monkeypatch.setattr(cache, "FORMAT", cache.FORMAT + 1)
    new_key = cache.key("lint", BAD_TEMPLATE, list(REGIONS), cfn_lint.rule_set())
    plant(folder / "lint" / f"{new_key}.json", [], format=cache.FORMAT - 1)
    assert cfn_lint.lint(BAD_TEMPLATE, REGIONS) == real


def test_a_file_the_cfnlintrc_names_is_part_of_the_key(folder, tmp_path, monkeypatch):
    """GIVEN a .cfnlintrc in the working directory naming a custom rules file, whose rule
    fires on the template, and that finding stored WHEN the rules file changes so that its
    rule no longer fires THEN lint runs again: the old finding is not served."""
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(home))
    (work / ".cfnlintrc").write_text("custom_rules: custom.txt\n")
    rules = work / "custom.txt"
    rules.write_text('AWS::SSM::Parameter Type EQUALS "StringList" ERROR "must be StringList"\n')
    assert [rule for rule, _, _ in cfn_lint.lint(TEMPLATE, REGIONS)] == ["E9001"]
    rules.write_text('AWS::SSM::Parameter Type EQUALS "String" ERROR "must be String"\n')
    forget()
    assert cfn_lint.lint(TEMPLATE, REGIONS) == ()


def test_availability_zones_are_kept_per_region(folder):
    """GIVEN us-east-1's zones stored, and the entry planted with a made-up zone WHEN
    another region's zones are asked THEN they are that region's, not the entry's."""
    central = render.availability_zones("eu-central-1")
    forget()
    shutil.rmtree(folder / "availability-zones")
    east = render.availability_zones("us-east-1")
    assert east and central and east != central
    plant(only_entry(folder, "availability-zones"), ["zz-test-1a"])
    forget()
    assert render.availability_zones("us-east-1") == ("zz-test-1a",)
    assert render.availability_zones("eu-central-1") == central


# --- Hostile entries and folders ---------------------------------------------------------

CORRUPTIONS: dict[str, Callable[[bytes], bytes]] = {
    "garbage-bytes": lambda original: b"\x00\xff\xfe\x80 not json \xc3\x28",
    "truncated-json": lambda original: original[: len(original) // 2],
    "wrong-shape": lambda original: b'{"format":1,"value":{"data":["M",1]}}',
    "deeply-nested": lambda original: b"[" * 100_000 + b"]" * 100_000,
}


@pytest.mark.parametrize("corruption", CORRUPTIONS.values(), ids=CORRUPTIONS.keys())
def test_a_corrupt_entry_is_a_miss_the_answer_is_right_and_the_entry_is_written_again(
    bad, quiet, tmp_path, corruption
):
    """GIVEN every entry of a warm cache (the stack file's and the template's parses, the
    template's findings, the stateful types) corrupted WHEN validate runs THEN it answers
    as the cold run did, without a traceback, and every entry holds its right value
    again."""
    folder = warm_copy(bad, tmp_path)
    originals = entries(folder)
    assert originals and None not in originals.values()
    for rel in originals:
        path = folder / rel
        path.write_bytes(corruption(path.read_bytes()))

    run = reconciler("validate", "--offline", str(bad.repo), cache_dir=folder, quiet=quiet)

    assert bad.first.code == 1 and "[E3002]" in bad.first.out
    assert "Traceback" not in run.err, run.err
    assert run.answer == bad.first.answer
    assert entries(folder) == originals


@dataclass(frozen=True)
class Kind:
    """One use of the cache: the call that reads it, in a fresh process's terms."""

    folder: str
    call: Callable[[], Any]


KINDS = {
    "parse": Kind("parse", lambda: yamlfile.parse(TEMPLATE)),
    "parse-error": Kind("parse", lambda: yamlfile.parse("a: 1\na: 2\n")),
    "lint": Kind("lint", lambda: cfn_lint.lint(BAD_TEMPLATE, REGIONS)),
    "availability-zones": Kind(
        "availability-zones", lambda: render.availability_zones("us-east-1")
    ),
    "stateful-types": Kind("stateful-types", schemas.stateful_types),
    "engine-versions": Kind(
        "engine-versions", lambda: OfflineCatalog().cache_engine_versions("us-east-1", "redis")
    ),
    "schema-paths": Kind(
        "schema-paths", lambda: schemas.create_only_paths("us-east-1", "AWS::RDS::DBInstance")
    ),
    "handler-permissions": Kind(
        "handler-permissions",
        lambda: iam_actions.handler_permissions("us-east-1", "AWS::SSM::Parameter"),
    ),
}


@pytest.mark.parametrize("kind", KINDS.values(), ids=KINDS.keys())
def test_an_entry_of_the_wrong_shape_is_a_miss_for_each_kind(folder, kind):
    """GIVEN one answer stored WHEN its entry is valid JSON of the wrong shape
    ({"format":1,"value":{"data":["M",1]}}) THEN the next call answers as the first did,
    raising nothing, and the entry holds the right value again."""
    first = kind.call()
    entry = only_entry(folder, kind.folder)
    original = json.loads(entry.read_bytes())
    entry.write_bytes(b'{"format":1,"value":{"data":["M",1]}}')
    forget()

    again = kind.call()

    assert again == first
    assert json.loads(entry.read_bytes()) == original


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda tmp: _below_a_file(tmp), id="below-a-regular-file"),
        pytest.param(
            lambda tmp: _read_only(tmp),
            id="read-only-folder",
            marks=pytest.mark.skipif(
                hasattr(os, "geteuid") and os.geteuid() == 0,
                reason="root writes into a 0o500 folder",
            ),
        ),
    ],
)
def test_an_unwritable_cache_folder_still_validates_without_an_error(bad, quiet, tmp_path, make):
    """GIVEN a cache folder nothing can be written in WHEN validate runs THEN the answer is
    the same as with a cache, with no error and no traceback, and nothing is stored."""
    folder = make(tmp_path)
    run = reconciler("validate", "--offline", str(bad.repo), cache_dir=folder, quiet=quiet)
    assert run.answer == bad.first.answer
    assert "Traceback" not in run.err, run.err
    assert not folder.exists() or list(folder.iterdir()) == []


def _below_a_file(tmp: Path) -> Path:
    (tmp / "a-file").write_text("not a folder\n")
    return tmp / "a-file" / "cache"


def _read_only(tmp: Path) -> Path:
    folder = tmp / "cache"
    folder.mkdir(mode=0o500)
    folder.chmod(0o500)
    return folder


@pytest.mark.parametrize("mode", [0o777, 0o770], ids=oct)
def test_a_cache_folder_others_can_write_to_is_not_read(bad, quiet, tmp_path, mode):
    """GIVEN a warm cache whose lint entry was planted to say 'no findings' (read from
    an owner-only folder, the finding disappears: the plant works) WHEN the folder is
    writable by group or others THEN it is not read: the finding is back; nor written."""
    folder = warm_copy(bad, tmp_path)
    plant(only_entry(folder, "lint"), [])
    fooled = reconciler("validate", "--offline", str(bad.repo), cache_dir=folder, quiet=quiet)
    assert fooled.code == 0 and "[E3002]" not in fooled.out
    folder.chmod(mode)
    before = snapshot(folder)

    run = reconciler("validate", "--offline", str(bad.repo), cache_dir=folder, quiet=quiet)

    assert run.answer == bad.first.answer
    assert snapshot(folder) == before


def test_a_cache_dir_naming_a_regular_file_validates_without_a_cache(bad, quiet, tmp_path):
    """GIVEN RECONCILER_CACHE_DIR naming a regular file WHEN validate runs THEN the
    answer is right, without an error, and the file is untouched."""
    target = tmp_path / "cache"
    target.write_bytes(b"a file\n")
    before = snapshot(tmp_path)
    run = reconciler("validate", "--offline", str(bad.repo), cache_dir=target, quiet=quiet)
    assert run.answer == bad.first.answer
    assert "Traceback" not in run.err, run.err
    assert snapshot(tmp_path) == before


BIG = list(range(30_000))  # about 200 kB of JSON: a write long enough to overlap others


def test_concurrent_writers_of_one_key_in_threads_leave_a_readable_entry_and_no_temp_files(
    folder,
):
    """GIVEN eight threads that miss the same key at once, twenty times over WHEN each
    stores its answer THEN every call returns the whole value, the entry reads back
    whole, and the folder holds only that entry."""
    threads, rounds = 8, 20
    barrier = threading.Barrier(threads)
    answers: list[Any] = []
    failures: list[BaseException] = []

    def writer() -> None:
        try:
            for _ in range(rounds):
                barrier.wait()
                answers.append(cache.memo("concurrency", ("one key",), lambda: BIG))
                barrier.wait()
                if threading.current_thread() is workers[0]:
                    (entry,) = (folder / "concurrency").iterdir()  # no temporary file
                    assert entry.suffix == ".json", entry
                    assert json.loads(entry.read_bytes())["value"] == BIG
                    entry.unlink()  # the next round misses again
                barrier.wait()
        except BaseException as e:  # reported below
            failures.append(e)
            barrier.abort()

    workers = [threading.Thread(target=writer) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert failures == []
    assert len(answers) == threads * rounds
    assert all(answer == BIG for answer in answers)


PROCESS_WRITER = """
import sys
from reconciler import cache
BIG = list(range(30_000))
for _ in range(3):
    for number in range(40):
        value = [number, *BIG]
        assert cache.memo("concurrency", (number,), lambda: value) == value
"""


def test_concurrent_writers_of_one_key_in_processes_leave_readable_entries_and_no_temp_files(
    folder,
):
    """GIVEN four processes that each store and read the same forty keys WHEN they run at
    once THEN each read the whole value every time, and each key's entry reads back whole,
    with no temporary file left."""
    environ = {**os.environ, "RECONCILER_CACHE_DIR": str(folder)}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", PROCESS_WRITER], env=environ, stderr=subprocess.PIPE
        )
        for _ in range(4)
    ]
    errors = [p.communicate(timeout=120)[1].decode() for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0, 0], errors
    found = sorted((folder / "concurrency").iterdir())
    assert len(found) == 40
    assert all(path.suffix == ".json" and not path.name.startswith(".") for path in found)
    values = sorted(json.loads(path.read_bytes())["value"][0] for path in found)
    assert values == list(range(40))


# --- Where the cache lives ---------------------------------------------------------------


def test_reconciler_cache_dir_wins_even_in_lambda(monkeypatch, tmp_path):
    monkeypatch.setenv("RECONCILER_CACHE_DIR", str(tmp_path / "mine"))
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "stack-worker")
    assert cache.directory() == tmp_path / "mine"


def test_in_lambda_without_an_override_the_cache_is_in_tmp(monkeypatch):
    monkeypatch.delenv("RECONCILER_CACHE_DIR", raising=False)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "stack-worker")
    assert cache.directory() == Path("/tmp/gitops-reconciler-cache")


def test_otherwise_the_cache_is_the_platforms_user_cache_directory(monkeypatch, tmp_path):
    from platformdirs import user_cache_dir

    monkeypatch.delenv("RECONCILER_CACHE_DIR", raising=False)
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    expected = Path(user_cache_dir("gitops-reconciler", appauthor=False))
    assert cache.directory() == expected
    if sys.platform.startswith("linux"):
        assert expected == tmp_path / "xdg-cache" / "gitops-reconciler"


def test_entries_older_than_thirty_days_are_pruned_on_a_pruning_write_and_newer_ones_kept(
    folder, monkeypatch
):
    """GIVEN a kind's folder holding an entry written 31 days ago and one written a day ago
    WHEN a write whose key starts with the pruning prefix lands (here: every write) THEN the
    old entry is gone, the recent one and the new one stay, and a later lookup of the
    pruned inputs is simply computed again."""
    import time

    now = time.time()
    cache.memo("availability-zones", ("old-region",), lambda: ["a"], cache.strings)
    cache.memo("availability-zones", ("recent-region",), lambda: ["b"], cache.strings)
    kind = folder / "availability-zones"
    old = kind / f"{cache.key('availability-zones', 'old-region')}.json"
    recent = kind / f"{cache.key('availability-zones', 'recent-region')}.json"
    os.utime(old, (now - 31 * 24 * 3600, now - 31 * 24 * 3600))
    os.utime(recent, (now - 24 * 3600, now - 24 * 3600))
    monkeypatch.setattr(cache, "PRUNE_PREFIX", "")

    cache.memo("availability-zones", ("new-region",), lambda: ["c"], cache.strings)

    assert not old.exists()
    assert recent.exists()
    assert (kind / f"{cache.key('availability-zones', 'new-region')}.json").exists()
    assert cache.memo("availability-zones", ("old-region",), lambda: ["a2"], cache.strings) == [
        "a2"
    ]


def test_a_write_without_the_pruning_prefix_removes_nothing(folder, monkeypatch):
    """GIVEN an entry written 31 days ago WHEN a write whose key does not start with the
    prefix lands THEN nothing is removed (pruning lists the folder only now and then)."""
    import time

    cache.memo("availability-zones", ("old-region",), lambda: ["a"], cache.strings)
    old = folder / "availability-zones" / f"{cache.key('availability-zones', 'old-region')}.json"
    then = time.time() - 31 * 24 * 3600
    os.utime(old, (then, then))
    monkeypatch.setattr(cache, "PRUNE_PREFIX", "not-hex")

    cache.memo("availability-zones", ("new-region",), lambda: ["c"], cache.strings)

    assert old.exists()
