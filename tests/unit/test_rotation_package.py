"""`make package` (rotation_lambda/package.py): the rotation Lambda's zip carries the
function's modules and the `rotation` group's packages, byte for byte the same on every
build, with the RDS CA bundle where the template's DB_TLS_CA_FILE looks, and imports from
its own contents.

The builds run the venv's real pip against the configured package registry (or its
cache): three builds in the whole session, kept in session fixtures. The error paths stop
before pip, or run pip with no index at all."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from cfn_flip import load_yaml

from rotation_lambda.package import (
    CA_ENV,
    CA_IN_ZIP,
    CA_URL,
    LAMBDA_PYTHON,
    PYPROJECT,
    PackageError,
    build,
)
from tests.servers.tls import make_tls

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "rotation_lambda"


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    """`python -m rotation_lambda.package` as `make package` runs it, without RDS_CA_BUNDLE
    from the caller's environment unless given."""
    environ = {k: v for k, v in os.environ.items() if k != CA_ENV} | env
    return subprocess.run(
        [sys.executable, "-m", "rotation_lambda.package", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environ,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="session")
def plain_build(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """The CLI's build with no CA bundle: the zip and what the CLI printed."""
    out = tmp_path_factory.mktemp("plain") / "rotation_lambda.zip"
    return out, run_cli("--out", str(out))


@pytest.fixture(scope="session")
def plain_zip(plain_build) -> Path:
    out, done = plain_build
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture(scope="session")
def ca_pem(tmp_path_factory) -> Path:
    return make_tls(tmp_path_factory.mktemp("ca")).ca


@pytest.fixture(scope="session")
def ca_zip(tmp_path_factory, ca_pem) -> Path:
    """The CLI's build with the CA bundle named by RDS_CA_BUNDLE."""
    out = tmp_path_factory.mktemp("with-ca") / "rotation_lambda.zip"
    done = run_cli("--out", str(out), **{CA_ENV: str(ca_pem)})
    assert done.returncode == 0, done.stderr
    return out


def names(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        return archive.namelist()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def pyproject_copy(tmp_path: Path, rotation_group: str | None) -> Path:
    """pyproject.toml with its `rotation` group replaced (or removed when None)."""
    text = PYPROJECT.read_text()
    group = re.compile(r"^rotation = \[\n.*?^\]\n", re.M | re.S)
    assert group.search(text), "pyproject.toml has no rotation group to replace"
    copy = tmp_path / "pyproject.toml"
    copy.write_text(group.sub(rotation_group or "", text))
    return copy


# --- What the zip carries ----------------------------------------------------------------


def test_zip_carries_every_rotation_module_under_rotation_lambda(plain_zip):
    """GIVEN the rotation_lambda/ sources WHEN the zip is built THEN it carries each of its
    modules (handler, secrets and the rotators as they exist) and only those."""
    expected = {f"rotation_lambda/{p.name}" for p in SOURCE.glob("*.py") if p.name != "package.py"}
    assert {"rotation_lambda/handler.py", "rotation_lambda/secrets.py"} <= expected
    carried = {n for n in names(plain_zip) if n.startswith("rotation_lambda/")}
    assert carried == expected


def test_zip_carries_the_rotation_groups_packages_at_its_root(plain_zip):
    """GIVEN pyproject's rotation group (PyMySQL, redis) WHEN the zip is built THEN their
    packages sit at the zip's root, where Lambda's sys.path finds them."""
    carried = set(names(plain_zip))
    assert {"pymysql/__init__.py", "pymysql/connections.py", "redis/__init__.py"} <= carried
    dist_infos = {n.split("-")[0] for n in carried if ".dist-info/" in n}
    assert dist_infos == {"pymysql", "redis"}  # their licences and metadata travel along


def test_zip_leaves_out_the_build_tool_readme_tests_and_bytecode(plain_zip):
    """GIVEN a source tree with README.md, package.py and maybe __pycache__ WHEN the zip is
    built THEN none of them, no test module and no .pyc is in it."""
    unwanted = [
        n
        for n in names(plain_zip)
        if n in ("rotation_lambda/package.py", "rotation_lambda/README.md")
        or "__pycache__/" in n
        or n.endswith(".pyc")
        or "/tests/" in n
        or n.rsplit("/", 1)[-1].startswith("test_")
    ]
    assert unwanted == []


def test_zip_leaves_out_what_pip_writes_at_install_time(plain_zip):
    """GIVEN pip installing the wheels WHEN the zip is built THEN the dist-info files pip
    writes itself (RECORD, INSTALLER, REQUESTED) are left out: they change with pip's
    version, and the zip's bytes must not."""
    written = [
        n
        for n in names(plain_zip)
        if ".dist-info/" in n and n.rsplit("/", 1)[-1] in ("RECORD", "INSTALLER", "REQUESTED")
    ]
    assert written == []


def test_zip_entries_are_sorted_with_fixed_times_and_modes(plain_zip):
    """GIVEN a built zip WHEN its entries are read THEN they are in name order, dated
    1980-01-01 and mode 0644, so nothing of the build machine leaks into the bytes."""
    with zipfile.ZipFile(plain_zip) as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {i.external_attr >> 16 for i in infos} == {0o100644}


def test_the_zips_modules_import_from_the_zips_own_contents(plain_zip, tmp_path):
    """GIVEN the zip extracted alone on PYTHONPATH WHEN every rotation module, pymysql and
    redis are imported THEN they all load, from the extracted copies (boto3 comes from the
    runtime, as in Lambda)."""
    with zipfile.ZipFile(plain_zip) as archive:
        archive.extractall(tmp_path)
    modules = sorted(
        f"rotation_lambda.{Path(n).stem}"
        for n in names(plain_zip)
        if re.fullmatch(r"rotation_lambda/\w+\.py", n) and not n.endswith("__init__.py")
    )
    code = (
        "import importlib, sys\n"
        "for name in sys.argv[1:]: print(importlib.import_module(name).__file__)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *modules, "pymysql", "redis"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    files = done.stdout.split()
    assert len(files) == len(modules) + 2
    assert [f for f in files if not Path(f).is_relative_to(tmp_path)] == []


def test_lambda_python_of_the_build_is_the_templates_runtime():
    """GIVEN the template's rotation function WHEN the builder picks wheels THEN it picks
    them for the Python the function runs."""
    template = load_yaml((ROOT / "templates" / "pci-database.yml").read_text())
    runtime = template["Resources"]["RotationFunction"]["Properties"]["Runtime"]
    assert runtime == f"python{LAMBDA_PYTHON}"


# --- Reproducible bytes, the CLI's report ------------------------------------------------


def test_the_cli_prints_the_zips_path_size_and_sha256(plain_build, plain_zip):
    """GIVEN `python -m rotation_lambda.package --out PATH` WHEN it succeeds THEN it prints
    the path, the size in bytes and the sha256 of the zip it wrote."""
    _, done = plain_build
    assert done.stdout.splitlines()[0] == str(plain_zip)
    assert f"{plain_zip.stat().st_size} bytes" in done.stdout
    assert sha256(plain_zip) in done.stdout


def test_two_builds_of_the_same_inputs_are_byte_identical(ca_zip, ca_pem, tmp_path):
    """GIVEN a zip the CLI built with RDS_CA_BUNDLE WHEN build() runs again with the same
    bundle THEN the bytes (so the S3 ETag and Lambda's CodeSha256) are the same."""
    again = build(tmp_path / "again.zip", ca_bundle=ca_pem)
    assert again.sha256 == sha256(ca_zip)
    assert again.size == ca_zip.stat().st_size


# --- The RDS CA bundle -------------------------------------------------------------------


def test_the_ca_bundle_lands_where_db_tls_ca_file_looks(ca_zip, ca_pem):
    """GIVEN RDS_CA_BUNDLE naming a PEM file WHEN the zip is built THEN the file is in it at
    rotation_lambda/certs/rds-global-bundle.pem, unchanged."""
    assert CA_IN_ZIP == "rotation_lambda/certs/rds-global-bundle.pem"
    with zipfile.ZipFile(ca_zip) as archive:
        assert archive.read(CA_IN_ZIP) == ca_pem.read_bytes()


def test_without_a_ca_bundle_the_build_succeeds_with_a_loud_warning(plain_build, plain_zip):
    """GIVEN no --ca-bundle and no RDS_CA_BUNDLE WHEN the zip is built THEN it exits 0, has
    no CA file, and warns that MySQL rotation will refuse to connect, with the URL."""
    _, done = plain_build
    assert CA_IN_ZIP not in names(plain_zip)
    assert done.stderr.startswith("WARNING: the zip has no RDS CA bundle.")
    assert "MySQL rotation will refuse to connect" in done.stderr
    assert CA_URL in done.stderr


def test_a_ca_bundle_that_is_not_pem_is_refused(tmp_path):
    """GIVEN a CA bundle file with no PEM certificate WHEN build() runs THEN it raises
    PackageError naming the file and writes no zip."""
    bundle = tmp_path / "bundle.pem"
    bundle.write_text("not a certificate\n")
    with pytest.raises(PackageError, match=r"bundle\.pem: no PEM certificate"):
        build(tmp_path / "out.zip", ca_bundle=bundle)
    assert not (tmp_path / "out.zip").exists()


def test_a_missing_ca_bundle_file_exits_1_with_one_line(tmp_path):
    """GIVEN --ca-bundle naming no file WHEN the CLI runs THEN it exits 1 with one line on
    stderr and no traceback."""
    done = run_cli("--out", str(tmp_path / "out.zip"), "--ca-bundle", str(tmp_path / "nope.pem"))
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"error: RDS CA bundle {tmp_path / 'nope.pem'}: No such file or directory"
    ]


# --- Bad pyproject, failing pip ----------------------------------------------------------


def test_a_pyproject_without_the_rotation_group_exits_1_with_one_line(tmp_path):
    """GIVEN a pyproject.toml with no rotation group WHEN the CLI runs THEN it exits 1 with
    one line naming the missing group, no traceback and no zip."""
    copy = pyproject_copy(tmp_path, None)
    out = tmp_path / "out.zip"
    done = run_cli("--out", str(out), "--pyproject", str(copy))
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"error: {copy}: no [project.optional-dependencies] rotation group "
        "(the rotation Lambda's dependencies)"
    ]
    assert not out.exists()


def test_an_unpinned_rotation_dependency_is_refused(tmp_path):
    """GIVEN a rotation group with a requirement not pinned by == WHEN build() runs THEN it
    raises PackageError naming it: the zip could change between two builds."""
    copy = pyproject_copy(tmp_path, 'rotation = [\n    "PyMySQL>=1.2",\n    "redis==8.1.0",\n]\n')
    with pytest.raises(PackageError, match=r"pin every rotation dependency .*: PyMySQL>=1\.2$"):
        build(tmp_path / "out.zip", pyproject=copy)


def test_the_installed_pinned_wheels_are_used_with_no_index_at_all(tmp_path):
    """GIVEN the pinned rotation group installed here (as make installs it) WHEN the CLI
    runs with pip unable to reach any index THEN the zip is built anyway: no download."""
    empty = tmp_path / "no-wheels"
    empty.mkdir()
    out = tmp_path / "out.zip"
    done = run_cli(
        "--out", str(out), PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX="1", PIP_FIND_LINKS=str(empty)
    )
    assert done.returncode == 0, done.stderr
    names = zipfile.ZipFile(out).namelist()
    assert "pymysql/__init__.py" in names and "redis/__init__.py" in names


def test_a_pip_failure_exits_1_with_pips_reason_on_one_line(tmp_path):
    """GIVEN a pin that is not installed here and a pip that can find no wheel WHEN the
    CLI runs THEN it exits 1 with one line carrying pip's error, no traceback and no zip."""
    empty = tmp_path / "no-wheels"
    empty.mkdir()
    copy = pyproject_copy(tmp_path, 'rotation = [\n    "PyMySQL==1.0.0",\n]\n')
    out = tmp_path / "out.zip"
    done = run_cli(
        "--out",
        str(out),
        "--pyproject",
        str(copy),
        PIP_CONFIG_FILE=os.devnull,
        PIP_NO_INDEX="1",
        PIP_FIND_LINKS=str(empty),
    )
    assert done.returncode == 1
    (line,) = done.stderr.splitlines()
    assert line.startswith("error: pip could not install PyMySQL==1.0.0: ERROR: ")
    assert "No matching distribution found" in line
    assert not out.exists()
