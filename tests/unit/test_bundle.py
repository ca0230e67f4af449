"""`make package` (reconciler/bundle.py): the reconciler's zip carries our packages and,
in the real build, every runtime dependency pip resolves for Lambda's platform; the local
build carries our packages alone; the rotation zip is built by the same machinery.

No test downloads the real dependencies (the full build is checked by hand, see
docs/packaging.md): the pip command is tested as the function that builds it, the pip
failure with no index at all, and what the build does with pip's files with a stand-in
for pip."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

import rotation_lambda.package
from reconciler import bundle
from reconciler.bundle import (
    LAMBDA_PLATFORM,
    LAMBDA_PYTHON,
    LOCAL_RECONCILER_ZIP,
    PYPROJECT,
    ROTATION_ZIP,
    PackageError,
    pip_command,
    project_dependencies,
    reconciler_zip,
    rotation_zip,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def local_zip(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("local") / LOCAL_RECONCILER_ZIP
    reconciler_zip(out, local=True)
    return out


def names(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        return archive.namelist()


def sources(package: str) -> set[str]:
    return {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / package).rglob("*.py")
        if "__pycache__" not in p.parts
    }


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    """`python -m reconciler.bundle` as `make package` runs it, without RDS_CA_BUNDLE."""
    environ = {k: v for k, v in os.environ.items() if k != bundle.CA_ENV} | env
    return subprocess.run(
        [sys.executable, "-m", "reconciler.bundle", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environ,
        timeout=300,
        check=False,
    )


def pyproject_with(tmp_path: Path, dependencies: str) -> Path:
    """pyproject.toml with its [project] dependencies list replaced."""
    text = PYPROJECT.read_text()
    block = re.compile(r"^dependencies = \[\n.*?^\]\n", re.M | re.S)
    assert block.search(text), "pyproject.toml has no dependencies list to replace"
    copy = tmp_path / "pyproject.toml"
    copy.write_text(block.sub(dependencies, text))
    return copy


# --- The local build: our packages only --------------------------------------------------


def test_local_zip_carries_every_reconciler_and_handlers_module(local_zip):
    """GIVEN the reconciler/ and handlers/ sources WHEN the local zip is built THEN it
    carries each of their modules, under their package paths, and the build tool is the
    only one left out."""
    expected = (sources("reconciler") | sources("handlers")) - {"reconciler/bundle.py"}
    assert {"handlers/push.py", "reconciler/reconcile.py", "reconciler/aws/session.py"} <= expected
    assert set(names(local_zip)) == expected


def test_local_zip_leaves_out_localaws_tests_bench_and_dependencies(local_zip):
    """GIVEN a checkout with localaws/, tests/, bench/ and rotation_lambda/ beside our
    packages WHEN the local zip is built THEN nothing outside reconciler/ and handlers/ is
    in it: no dependency, no bytecode."""
    outside = [
        n
        for n in names(local_zip)
        if n.split("/", 1)[0] not in ("reconciler", "handlers")
        or "__pycache__/" in n
        or n.endswith(".pyc")
    ]
    assert outside == []


def test_two_local_builds_are_byte_identical(local_zip, tmp_path):
    """GIVEN a local zip built once WHEN it is built again from the same checkout THEN the
    bytes are the same (so is the content-hash key bootstrap uploads it under)."""
    again = reconciler_zip(tmp_path / "again.zip", local=True)
    assert again.path.read_bytes() == local_zip.read_bytes()


def test_zip_entries_are_sorted_with_fixed_times_and_modes(local_zip):
    """GIVEN a built zip WHEN its entries are read THEN they are in name order, dated
    1980-01-01 and mode 0644: nothing of the build machine leaks into the bytes."""
    with zipfile.ZipFile(local_zip) as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {i.external_attr >> 16 for i in infos} == {0o100644}


def test_the_handlers_import_from_the_zips_own_copy(local_zip, tmp_path):
    """GIVEN the local zip extracted first on PYTHONPATH WHEN every handler module is
    imported THEN each loads from the extracted copy (the dependencies come from this
    environment, as the full zip brings its own)."""
    with zipfile.ZipFile(local_zip) as archive:
        archive.extractall(tmp_path)
    handlers = sorted(
        f"handlers.{Path(n).stem}"
        for n in names(local_zip)
        if re.fullmatch(r"handlers/\w+\.py", n) and not n.endswith("__init__.py")
    )
    code = (
        "import importlib, sys\nfor m in sys.argv[1:]: print(importlib.import_module(m).__file__)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *handlers],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path), "AWS_DEFAULT_REGION": "us-east-1"},
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    files = done.stdout.split()
    assert len(files) == len(handlers) >= 5
    assert [f for f in files if not Path(f).is_relative_to(tmp_path)] == []


# --- The real build: pip for Lambda's platform -------------------------------------------


def test_the_real_builds_pip_command_targets_lambdas_platform_with_resolution(tmp_path):
    """GIVEN the runtime dependencies WHEN the real build's pip command is made THEN it
    installs wheels only, for CPython 3.13 on manylinux2014 x86_64, into the target, with
    dependency resolution (no --no-deps) and the constraints file."""
    constraints = tmp_path / "constraints.txt"
    command = pip_command(
        project_dependencies(), tmp_path / "target", resolve=True, constraints=constraints
    )
    assert command[:4] == [sys.executable, "-m", "pip", "install"]
    flags = " ".join(command)
    assert f"--target {tmp_path / 'target'}" in flags
    assert f"--platform {LAMBDA_PLATFORM} --python-version {LAMBDA_PYTHON}" in flags
    assert "--implementation cp" in flags and "--only-binary=:all:" in flags
    assert f"--constraint {constraints}" in flags
    assert "--no-deps" not in command


def test_the_real_build_asks_pip_for_every_pinned_runtime_dependency(tmp_path):
    """GIVEN pyproject's dependencies (boto3 and botocore among them: the runtime's copy may
    be older than our pin) WHEN the real build's pip command is made THEN it names each of
    them, pinned, as written."""
    pinned = project_dependencies()
    assert {"boto3", "botocore", "cfn-lint"} <= {r.partition("==")[0] for r in pinned}
    command = pip_command(pinned, tmp_path, resolve=True)
    assert command[-len(pinned) :] == list(pinned)
    assert all("==" in r for r in pinned)


def test_the_rotation_zips_pip_command_installs_exactly_the_list(tmp_path):
    """GIVEN the rotation group WHEN its pip command is made THEN it is --no-deps: the
    rotation zip carries exactly the pinned wheels."""
    command = pip_command(("PyMySQL==1.2.4",), tmp_path, resolve=False)
    assert "--no-deps" in command
    assert command[-1] == "PyMySQL==1.2.4"


def test_transitive_dependencies_are_constrained_to_the_tested_versions():
    """GIVEN this environment (where the tests run) WHEN the constraints are made THEN they
    pin the versions installed here, such as sympy (cfn-lint's dependency), but neither the
    pinned requirements themselves nor pip or the project."""
    pinned = project_dependencies()
    constraints = bundle.installed_constraints(pinned)
    assert f"sympy=={metadata.version('sympy')}" in constraints
    constrained = {c.partition("==")[0] for c in constraints}
    assert constrained.isdisjoint({"boto3", "botocore", "cfn-lint", "pip", "gitops-reconciler"})


def test_an_unpinned_runtime_dependency_is_refused(tmp_path):
    """GIVEN a runtime dependency not pinned by == WHEN the real build runs THEN it raises
    PackageError naming it, before pip runs: the zip could change between two builds."""
    copy = pyproject_with(tmp_path, 'dependencies = [\n    "boto3>=1.40",\n]\n')
    with pytest.raises(PackageError, match=r"pin every runtime dependency .*: boto3>=1\.40$"):
        reconciler_zip(tmp_path / "out.zip", pyproject=copy)
    assert not (tmp_path / "out.zip").exists()


def fake_pip(files: dict[str, bytes]):
    """A stand-in for pip_install: the files a real install would have left."""

    def install(requirements, target, *, resolve=True, constraints=None):
        return sorted(files.items())

    return install


def test_the_real_zip_carries_what_pip_installed_and_names_the_distributions(tmp_path, monkeypatch):
    """GIVEN pip having installed two distributions WHEN the real zip is built THEN their
    files sit at the zip's root beside our packages, and the result names them with their
    versions."""
    monkeypatch.setattr(
        bundle,
        "pip_install",
        fake_pip(
            {
                "sympy/__init__.py": b"",
                "sympy-1.14.0.dist-info/METADATA": b"Name: sympy\n",
                "cfnlint/data/schemas/x.json": b"{}",
                "cfn_lint-1.58.0.dist-info/METADATA": b"Name: cfn-lint\n",
            }
        ),
    )
    result = reconciler_zip(tmp_path / "reconciler.zip")
    carried = set(names(result.path))
    assert {"sympy/__init__.py", "cfnlint/data/schemas/x.json", "handlers/push.py"} <= carried
    assert result.requirements == ("cfn_lint==1.58.0", "sympy==1.14.0")


def test_a_zip_over_lambdas_unzipped_limit_is_reported_with_what_is_big(tmp_path, monkeypatch):
    """GIVEN dependencies that unzip over Lambda's limit WHEN the real zip is built THEN the
    result says so and its warning names the largest folders, biggest first."""
    monkeypatch.setattr(bundle, "LAMBDA_UNZIPPED_LIMIT", 50_000)
    monkeypatch.setattr(
        bundle,
        "pip_install",
        fake_pip({"sympy/big.py": b"x" * 40_000, "botocore/data.json": b"y" * 30_000}),
    )
    result = reconciler_zip(tmp_path / "reconciler.zip")
    assert result.over_lambda_limit
    (warning,) = result.warnings
    assert "over Lambda's" in warning
    assert warning.index("sympy") < warning.index("botocore")


def test_a_dependency_shipping_files_inside_our_packages_is_refused(tmp_path, monkeypatch):
    """GIVEN a dependency that installs a top-level `handlers` package WHEN the real zip is
    built THEN it raises PackageError naming the file: it would replace our handlers."""
    monkeypatch.setattr(bundle, "pip_install", fake_pip({"handlers/push.py": b"evil = 1\n"}))
    with pytest.raises(PackageError, match=r"inside our packages: handlers/push\.py"):
        reconciler_zip(tmp_path / "reconciler.zip")


def test_pips_scripts_data_and_bookkeeping_stay_out_of_a_zip():
    """GIVEN the files pip leaves in its target WHEN they are sorted for the zip THEN console
    scripts, data files, bytecode and pip's own dist-info files are left out, and the
    code, data and licences of the wheels kept."""
    kept = [
        "cfnlint/data/schemas/providers/us_east_1/__init__.py",
        "sympy-1.14.0.dist-info/LICENSE",
        "sympy-1.14.0.dist-info/METADATA",
    ]
    dropped = [
        "bin/cfn-lint",
        "share/man/man1/isympy.1",
        "sympy/__pycache__/core.cpython-313.pyc",
        "sympy-1.14.0.dist-info/RECORD",
        "sympy-1.14.0.dist-info/INSTALLER",
    ]
    assert [p for p in kept + dropped if bundle.wanted(Path(p))] == kept


# --- The rotation zip, the CLI -----------------------------------------------------------


def test_the_rotation_zip_is_built_by_the_shared_machinery(tmp_path):
    """GIVEN rotation_lambda.package's public build() WHEN it builds THEN the bytes are the
    shared rotation_zip's, and its PackageError and BuildResult are the shared types."""
    via_package = rotation_lambda.package.build(tmp_path / "a.zip")
    shared = rotation_zip(tmp_path / "b.zip")
    assert via_package.path.read_bytes() == shared.path.read_bytes()
    assert rotation_lambda.package.PackageError is PackageError
    assert rotation_lambda.package.BuildResult is bundle.BuildResult


def test_the_cli_builds_both_zips_and_prints_their_sizes_and_hashes(tmp_path):
    """GIVEN `python -m reconciler.bundle --local --out-dir DIR` WHEN it runs THEN both zips
    are in DIR, and for each it prints the path, the zipped and unzipped sizes against
    Lambda's limit, and the sha256."""
    done = run_cli("--local", "--out-dir", str(tmp_path))
    assert done.returncode == 0, done.stderr
    for name in (LOCAL_RECONCILER_ZIP, ROTATION_ZIP):
        path = tmp_path / name
        result_line = done.stdout.splitlines().index(str(path))
        size, sha = done.stdout.splitlines()[result_line + 1 : result_line + 3]
        assert size.startswith(f"  size    {path.stat().st_size} bytes (")
        assert "unzipped; Lambda allows 250.0 MB unzipped" in size
        assert hashlib.sha256(path.read_bytes()).hexdigest() in sha


def test_a_pip_failure_of_the_real_build_exits_1_with_one_line(tmp_path):
    """GIVEN a pip that can reach no index WHEN the real build runs THEN it exits 1 with
    one line carrying pip's error, no traceback, and no reconciler.zip."""
    empty = tmp_path / "no-wheels"
    empty.mkdir()
    done = run_cli(
        "--out-dir",
        str(tmp_path / "dist"),
        PIP_CONFIG_FILE=os.devnull,
        PIP_NO_INDEX="1",
        PIP_FIND_LINKS=str(empty),
    )
    assert done.returncode == 1
    (line,) = done.stderr.splitlines()
    assert line.startswith("error: pip could not install boto3==")
    assert "ERROR: " in line
    assert not (tmp_path / "dist" / "reconciler.zip").exists()
