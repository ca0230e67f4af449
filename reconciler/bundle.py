"""`make package`: the Lambda zips, built the same way every time.

Two zips, one machinery:

- `reconciler.zip` (the bootstrap stack's functions): the `reconciler/` and `handlers/`
  packages, and every runtime dependency of the project (pyproject's `dependencies`, pinned,
  and what they need in turn), installed by pip for Lambda's platform. boto3 and botocore
  travel too: the runtime's own copy may be older than our pin. `--local` builds
  `reconciler-local.zip` instead: our packages alone, for the local AWS, where moto never
  runs the code.
- `rotation_lambda.zip` (the PCI stack's rotation function): `rotation_lambda/` and the
  `rotation` group (PyMySQL, redis), without boto3 (the runtime has it).

The bytes depend only on the inputs (sorted entries, 1980-01-01 timestamps, 0644 files, no
pip bookkeeping, no bytecode), so an unchanged build keeps its sha256: `reconciler
bootstrap` uploads under that hash, and an unchanged zip means no upload and no redeploy.

This module is a build tool for a developer or CI; it is in neither zip.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import os
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path

from reconciler.errors import ReconcilerError

PROJECT = Path(__file__).resolve().parent.parent
PYPROJECT = PROJECT / "pyproject.toml"
DEFAULT_OUT_DIR = PROJECT / "dist"
RECONCILER_ZIP = "reconciler.zip"
LOCAL_RECONCILER_ZIP = "reconciler-local.zip"
ROTATION_ZIP = "rotation_lambda.zip"
RECONCILER_PACKAGES = ("reconciler", "handlers")
ROTATION_PACKAGE = "rotation_lambda"
ROTATION_GROUP = "rotation"
# The build tools themselves: never in a zip.
BUILD_TOOLS = frozenset({"reconciler/bundle.py", "rotation_lambda/package.py"})

# Every function runs python3.13 on x86_64: pip picks wheels for it.
LAMBDA_PYTHON = "3.13"
LAMBDA_PLATFORM = "manylinux2014_x86_64"
# Lambda's quotas: 250 MB unzipped (code and layers), 50 MB zipped for a direct upload only
# (bootstrap deploys from S3, where the unzipped quota is the one that binds).
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024
LAMBDA_DIRECT_UPLOAD_LIMIT = 50 * 1024 * 1024

CA_IN_ZIP = "rotation_lambda/certs/rds-global-bundle.pem"
CA_URL = "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem"
CA_ENV = "RDS_CA_BUNDLE"

# dist-info files pip writes (or rewrites) at install time, not taken from the wheel.
PIP_WRITTEN = frozenset({"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"})
# What pip puts beside the packages (console scripts, data files): not importable.
NOT_IMPORTABLE = frozenset({"bin", "share"})
# Never constrained to this environment's version: the build tooling and the project.
NOT_CONSTRAINED = frozenset({"pip", "setuptools", "wheel", "gitops-reconciler"})
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold
FILE_MODE = 0o100644  # a regular file, readable by Lambda's user


class PackageError(ReconcilerError):
    """A zip cannot be built (pyproject, CA bundle or pip); nothing is written."""


@dataclass(frozen=True)
class BuildResult:
    path: Path
    size: int  # the zip's bytes
    sha256: str  # hex, as sha256sum prints it
    requirements: tuple[str, ...]  # the distributions carried beside our code, name==version
    has_ca_bundle: bool = False  # the rotation zip's RDS CA bundle
    unzipped_size: int = 0
    largest: tuple[tuple[str, int], ...] = ()  # top-level folders by unzipped bytes
    warnings: tuple[str, ...] = ()

    @property
    def code_sha256(self) -> str:
        """The form Lambda reports as the function's CodeSha256 (base64)."""
        return base64.b64encode(bytes.fromhex(self.sha256)).decode()

    @property
    def over_lambda_limit(self) -> bool:
        return self.unzipped_size > LAMBDA_UNZIPPED_LIMIT


# --- The two zips ------------------------------------------------------------------------


def rotation_zip(
    out: Path, ca_bundle: Path | None = None, *, pyproject: Path = PYPROJECT
) -> BuildResult:
    """The rotation function's zip at `out`. Pure-Python wheels already installed at the
    pinned version are copied from this environment (no network); otherwise pip fetches
    exactly the pinned list for Lambda's platform."""
    requirements = optional_group(pyproject, ROTATION_GROUP)
    ca_pem = read_ca_bundle(ca_bundle) if ca_bundle else None
    files = dict(package_modules(ROTATION_PACKAGE))
    installed = [installed_files(r) for r in requirements]
    if all(found is not None for found in installed):
        for found in installed:
            files.update(found)
    else:
        with tempfile.TemporaryDirectory(prefix="rotation-deps-") as target:
            files.update(pip_install(requirements, Path(target), resolve=False))
    if ca_pem is not None:
        files[CA_IN_ZIP] = ca_pem
    warnings = () if ca_pem is not None else (no_ca_warning(),)
    return write_zip(out, files, requirements, has_ca_bundle=ca_pem is not None, warnings=warnings)


def reconciler_zip(out: Path, *, local: bool = False, pyproject: Path = PYPROJECT) -> BuildResult:
    """The bootstrap stack's functions' zip at `out`. `local`: our packages only, no
    dependency and no network, for a local AWS that never runs the code."""
    files: dict[str, bytes] = {}
    for package in RECONCILER_PACKAGES:
        files.update(package_modules(package))
    if local:
        return write_zip(out, files, ())
    requirements = project_dependencies(pyproject)
    with tempfile.TemporaryDirectory(prefix="reconciler-deps-") as folder:
        constraints = Path(folder) / "constraints.txt"
        constraints.write_text("".join(f"{c}\n" for c in installed_constraints(requirements)))
        deps = pip_install(requirements, Path(folder) / "target", constraints=constraints)
    clashes = sorted(name for name, _ in deps if name.split("/", 1)[0] in RECONCILER_PACKAGES)
    if clashes:
        raise PackageError(f"a dependency ships files inside our packages: {clashes[0]}")
    files.update(deps)
    result = write_zip(out, files, carried_distributions(name for name, _ in deps))
    if result.over_lambda_limit:
        big = ", ".join(f"{name} {mib(size)}" for name, size in result.largest)
        result = _with_warning(
            result,
            f"WARNING: {out.name} unzips to {mib(result.unzipped_size)}, over Lambda's "
            f"{mib(LAMBDA_UNZIPPED_LIMIT)}: the functions cannot be created. Largest: {big} "
            "(see docs/packaging.md for what can be trimmed safely)",
        )
    return result


# --- Reading pyproject -------------------------------------------------------------------


def _project(pyproject: Path) -> dict:
    try:
        return tomllib.loads(pyproject.read_text())["project"]
    except (OSError, ValueError, KeyError) as error:
        raise PackageError(f"{pyproject}: cannot read [project]: {error}") from None


def project_dependencies(pyproject: Path = PYPROJECT) -> tuple[str, ...]:
    """pyproject's runtime `dependencies`, each pinned with ==."""
    found = _project(pyproject).get("dependencies")
    if not found:
        raise PackageError(f"{pyproject}: no [project] dependencies (the reconciler's runtime)")
    return _pinned(tuple(found), "runtime", pyproject)


def optional_group(pyproject: Path, group: str) -> tuple[str, ...]:
    found = _project(pyproject).get("optional-dependencies", {}).get(group)
    if not found:
        raise PackageError(
            f"{pyproject}: no [project.optional-dependencies] {group} group "
            "(the rotation Lambda's dependencies)"
        )
    return _pinned(tuple(found), group, pyproject)


def _pinned(requirements: tuple[str, ...], what: str, pyproject: Path) -> tuple[str, ...]:
    """An unpinned requirement would let the zip's bytes change between two builds of the
    same commit."""
    unpinned = [r for r in requirements if "==" not in r]
    if unpinned:
        raise PackageError(
            f"{pyproject}: pin every {what} dependency with == so the zip is reproducible: "
            f"{', '.join(unpinned)}"
        )
    return requirements


def read_ca_bundle(path: Path) -> bytes:
    try:
        pem = path.read_bytes()
    except OSError as error:
        raise PackageError(f"RDS CA bundle {path}: {error.strerror or error}") from None
    if b"-----BEGIN CERTIFICATE-----" not in pem:
        raise PackageError(f"RDS CA bundle {path}: no PEM certificate in it (get {CA_URL})")
    return pem


def no_ca_warning() -> str:
    return (
        "WARNING: the zip has no RDS CA bundle. MySQL rotation will refuse to connect "
        "until it is added:\n"
        f"  the function fails closed while DB_TLS_CA_FILE (/var/task/{CA_IN_ZIP}) is "
        "missing.\n"
        f"  Download {CA_URL}\n"
        f"  and build again with --ca-bundle PATH (or {CA_ENV}=PATH)."
    )


# --- Collecting files --------------------------------------------------------------------


def package_modules(package: str, root: Path = PROJECT) -> list[tuple[str, bytes]]:
    """A package's modules as the zip names them: every .py file but tests, bytecode and
    the build tools."""
    base = root / package
    found = []
    for path in sorted(base.rglob("*.py")):
        name = f"{package}/{path.relative_to(base).as_posix()}"
        parts = path.relative_to(base).parts
        if name in BUILD_TOOLS or path.name.startswith("test_"):
            continue
        if {"__pycache__", "tests"}.intersection(parts):
            continue
        found.append((name, path.read_bytes()))
    return found


def installed_files(requirement: str) -> list[tuple[str, bytes]] | None:
    """The files of a pure-Python wheel already installed here at the pinned version: no
    download, no build. None when it is not installed at that version, or carries compiled
    code for this machine."""
    name, _, version = requirement.partition("==")
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return None
    wheel = dist.read_text("WHEEL") or ""
    if dist.version != version or "Root-Is-Purelib: true" not in wheel or dist.files is None:
        return None
    return [
        (file.as_posix(), Path(dist.locate_file(file)).read_bytes())
        for file in sorted(dist.files, key=lambda f: f.as_posix())
        if not file.as_posix().startswith("..") and wanted(Path(file.as_posix()))
    ]


def installed_constraints(requirements: Iterable[str]) -> list[str]:
    """`name==version` of every distribution installed here but the pinned ones and the
    tooling: pip resolves the transitive dependencies to the versions the tests ran
    against, so two builds from the same environment carry the same versions. pip ignores
    a constraint on a distribution the resolution does not need."""
    pinned = {_normal(r.partition("==")[0]) for r in requirements}
    found = set()
    for dist in metadata.distributions():
        name = dist.metadata["Name"] or ""
        if not name or _normal(name) in pinned | NOT_CONSTRAINED or "+" in dist.version:
            continue
        found.add(f"{_normal(name)}=={dist.version}")
    return sorted(found)


def _normal(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def pip_command(
    requirements: tuple[str, ...],
    target: Path,
    *,
    resolve: bool = True,
    constraints: Path | None = None,
) -> list[str]:
    """pip installing the wheels Lambda's runtime takes into `target`: wheels only (no
    build step), no .pyc (they would carry timestamps). `resolve`: also install what the
    requirements need; otherwise exactly the list."""
    return [
        sys.executable, "-m", "pip", "install", "--target", str(target),
        *([] if resolve else ["--no-deps"]),
        *(["--constraint", str(constraints)] if constraints else []),
        "--no-compile", "--only-binary=:all:", "--no-input",
        "--disable-pip-version-check", "--platform", LAMBDA_PLATFORM,
        "--python-version", LAMBDA_PYTHON, "--implementation", "cp", *requirements,
    ]  # fmt: skip


def pip_install(
    requirements: tuple[str, ...],
    target: Path,
    *,
    resolve: bool = True,
    constraints: Path | None = None,
) -> list[tuple[str, bytes]]:
    command = pip_command(requirements, target, resolve=resolve, constraints=constraints)
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR:")]
        reason = errors[-1] if errors else (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise PackageError(f"pip could not install {' '.join(requirements)}: {reason}")
    return [
        (path.relative_to(target).as_posix(), path.read_bytes())
        for path in sorted(target.rglob("*"))
        if path.is_file() and wanted(path.relative_to(target))
    ]


def wanted(path: Path) -> bool:
    """What the wheels put in a zip: their code, data, metadata and licences. Not what pip
    adds at install time (its RECORD, INSTALLER...: they change with pip's version, and so
    would the zip's bytes), nor bytecode, nor console scripts and data files (Lambda runs
    and imports none)."""
    if path.suffix == ".pyc" or "__pycache__" in path.parts or path.parts[0] in NOT_IMPORTABLE:
        return False
    return not (path.parts[0].endswith(".dist-info") and path.name in PIP_WRITTEN)


def carried_distributions(names: Iterable[str]) -> tuple[str, ...]:
    """name==version of each distribution whose .dist-info folder is in the zip."""
    found = set()
    for name in names:
        top = name.split("/", 1)[0]
        if top.endswith(".dist-info"):
            dist, _, version = top.removesuffix(".dist-info").partition("-")
            found.add(f"{dist}=={version}")
    return tuple(sorted(found, key=str.lower))


# --- Writing -----------------------------------------------------------------------------


def zip_bytes(files: dict[str, bytes]) -> bytes:
    """The same files give the same bytes: sorted names, fixed times and modes, no
    directory entries (Python imports from a zip's extraction without them)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.create_system = 3  # Unix, so the mode below is read
            info.external_attr = FILE_MODE << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name], compresslevel=9)
    return buffer.getvalue()


def write_zip(
    out: Path,
    files: dict[str, bytes],
    requirements: tuple[str, ...],
    *,
    has_ca_bundle: bool = False,
    warnings: tuple[str, ...] = (),
) -> BuildResult:
    """Write the zip at `out`, replaced whole, never left half written."""
    data = zip_bytes(files)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(f".{out.name}.partial")
        partial.write_bytes(data)
        partial.replace(out)
    except OSError as error:
        raise PackageError(f"cannot write {out}: {error.strerror or error}") from None
    return BuildResult(
        path=out,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        requirements=requirements,
        has_ca_bundle=has_ca_bundle,
        unzipped_size=sum(len(content) for content in files.values()),
        largest=largest(files),
        warnings=warnings,
    )


def largest(files: dict[str, bytes], count: int = 5) -> tuple[tuple[str, int], ...]:
    """The top-level folders (or files) that weigh most, unzipped."""
    sizes: dict[str, int] = {}
    for name, content in files.items():
        top = name.split("/", 1)[0]
        sizes[top] = sizes.get(top, 0) + len(content)
    ranked = sorted(sizes.items(), key=lambda item: (-item[1], item[0]))
    return tuple(ranked[:count])


def _with_warning(result: BuildResult, warning: str) -> BuildResult:
    return replace(result, warnings=(*result.warnings, warning))


def mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


# --- CLI ---------------------------------------------------------------------------------


def describe(result: BuildResult, own: str) -> list[str]:
    """What `make package` prints for one zip: path, sizes against Lambda's quotas, hash,
    and what it carries."""
    carried = [own, *result.requirements]
    lines = [
        str(result.path),
        f"  size    {result.size} bytes ({mib(result.size)} zipped, "
        f"{mib(result.unzipped_size)} unzipped; Lambda allows {mib(LAMBDA_UNZIPPED_LIMIT)} "
        "unzipped)",
        f"  sha256  {result.sha256} (Lambda CodeSha256 {result.code_sha256})",
        f"  carries {', '.join(carried)}",
    ]
    heavy = [f"{n} {mib(s)}" for n, s in result.largest if s >= 1024 * 1024]
    if heavy:
        lines.append(f"  largest {', '.join(heavy)}")
    if result.size > LAMBDA_DIRECT_UPLOAD_LIMIT:
        lines.append(
            f"  note    over {mib(LAMBDA_DIRECT_UPLOAD_LIMIT)} zipped: deploy it from S3 "
            "(reconciler bootstrap does), not by direct upload"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m reconciler.bundle",
        description=f"Build {RECONCILER_ZIP} (the bootstrap stack's functions) and "
        f"{ROTATION_ZIP} (the PCI stack's rotation function).",
    )
    parser.add_argument(
        "--out-dir", type=Path, default=DEFAULT_OUT_DIR, help="where to write the zips"
    )
    parser.add_argument(
        "--ca-bundle",
        type=Path,
        default=Path(os.environ[CA_ENV]) if os.environ.get(CA_ENV) else None,
        help=f"the RDS CA bundle the rotation zip carries (default: ${CA_ENV}); from {CA_URL}",
    )
    parser.add_argument(
        "--local",
        action="store_true",
        help=f"{LOCAL_RECONCILER_ZIP}: our packages only, no dependency (for the local AWS)",
    )
    parser.add_argument("--pyproject", type=Path, default=PYPROJECT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    name = LOCAL_RECONCILER_ZIP if args.local else RECONCILER_ZIP
    try:
        reconciler = reconciler_zip(args.out_dir / name, local=args.local, pyproject=args.pyproject)
        rotation = rotation_zip(
            args.out_dir / ROTATION_ZIP, args.ca_bundle, pyproject=args.pyproject
        )
    except PackageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for line in describe(reconciler, "reconciler/, handlers/"):
        print(line)
    ca = "RDS CA bundle" if rotation.has_ca_bundle else "no CA bundle"
    for line in describe(rotation, f"rotation_lambda/, {ca}"):
        print(line)
    for warning in (*reconciler.warnings, *rotation.warnings):
        print(warning, file=sys.stderr)
    return 1 if reconciler.over_lambda_limit else 0


if __name__ == "__main__":
    sys.exit(main())
