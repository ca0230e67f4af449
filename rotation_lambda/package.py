"""`make package`: the rotation Lambda's zip, built the same way every time.

The zip holds this package's modules under `rotation_lambda/` and the wheels of
pyproject.toml's `rotation` group (PyMySQL, redis) at its root, where Lambda puts them on
sys.path. Pure-Python wheels already installed at the pinned version are copied from
this environment (no network); anything else is fetched by pip for Lambda's platform.
boto3 is not carried: the Lambda runtime has it. The bytes depend only on the inputs
(sorted entries, 1980-01-01 timestamps, 0644 files), so an unchanged build keeps its S3
ETag and CloudFormation sees no code change.

The RDS CA bundle goes in as `rotation_lambda/certs/rds-global-bundle.pem`, the file the
template's DB_TLS_CA_FILE names. Without it the build still succeeds, loudly: the MySQL
rotation fails closed (no TLS, no login) until a zip with the bundle is uploaded.

This module is a build tool for a developer or CI; it is not put in the zip.
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
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from reconciler.errors import ReconcilerError

PACKAGE = Path(__file__).resolve().parent
PROJECT = PACKAGE.parent
PYPROJECT = PROJECT / "pyproject.toml"
DEFAULT_OUT = PROJECT / "dist" / "rotation_lambda.zip"
GROUP = "rotation"
# The template's RotationFunction runs python3.13 on x86_64: pip picks wheels for it.
LAMBDA_PYTHON = "3.13"
LAMBDA_PLATFORM = "manylinux2014_x86_64"
CA_IN_ZIP = "rotation_lambda/certs/rds-global-bundle.pem"
CA_URL = "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem"
CA_ENV = "RDS_CA_BUNDLE"
# dist-info files pip writes (or rewrites) at install time, not taken from the wheel.
PIP_WRITTEN = frozenset({"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"})
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold
FILE_MODE = 0o100644  # a regular file, readable by Lambda's user


class PackageError(ReconcilerError):
    """The zip cannot be built (pyproject, CA bundle or pip); nothing is written."""


@dataclass(frozen=True)
class BuildResult:
    path: Path
    size: int
    sha256: str  # hex, as sha256sum prints it
    requirements: tuple[str, ...]
    has_ca_bundle: bool

    @property
    def code_sha256(self) -> str:
        """The form Lambda reports as the function's CodeSha256 (base64)."""
        return base64.b64encode(bytes.fromhex(self.sha256)).decode()

    @property
    def warnings(self) -> tuple[str, ...]:
        if self.has_ca_bundle:
            return ()
        return (
            "WARNING: the zip has no RDS CA bundle. MySQL rotation will refuse to connect "
            "until it is added:\n"
            f"  the function fails closed while DB_TLS_CA_FILE (/var/task/{CA_IN_ZIP}) is "
            "missing.\n"
            f"  Download {CA_URL}\n"
            f"  and build again with --ca-bundle PATH (or {CA_ENV}=PATH).",
        )


def build(out: Path, ca_bundle: Path | None = None, *, pyproject: Path = PYPROJECT) -> BuildResult:
    """Build the zip at `out` (replaced whole, never left half written)."""
    requirements = rotation_requirements(pyproject)
    ca_pem = read_ca_bundle(ca_bundle) if ca_bundle else None
    files = dict(own_modules())
    installed = [installed_files(r) for r in requirements]
    if all(found is not None for found in installed):
        for found in installed:
            files.update(found)
    else:
        with tempfile.TemporaryDirectory(prefix="rotation-deps-") as target:
            files.update(install(requirements, Path(target)))
    if ca_pem is not None:
        files[CA_IN_ZIP] = ca_pem
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
        has_ca_bundle=ca_pem is not None,
    )


def rotation_requirements(pyproject: Path) -> tuple[str, ...]:
    """The `rotation` optional-dependency group, each pinned with == (an unpinned one would
    let the zip's bytes change between two builds of the same commit)."""
    try:
        project = tomllib.loads(pyproject.read_text())["project"]
    except (OSError, ValueError, KeyError) as error:
        raise PackageError(f"{pyproject}: cannot read [project]: {error}") from None
    group = project.get("optional-dependencies", {}).get(GROUP)
    if not group:
        raise PackageError(
            f"{pyproject}: no [project.optional-dependencies] {GROUP} group "
            "(the rotation Lambda's dependencies)"
        )
    unpinned = [r for r in group if "==" not in r]
    if unpinned:
        raise PackageError(
            f"{pyproject}: pin every {GROUP} dependency with == so the zip is reproducible: "
            f"{', '.join(unpinned)}"
        )
    return tuple(group)


def read_ca_bundle(path: Path) -> bytes:
    try:
        pem = path.read_bytes()
    except OSError as error:
        raise PackageError(f"RDS CA bundle {path}: {error.strerror or error}") from None
    if b"-----BEGIN CERTIFICATE-----" not in pem:
        raise PackageError(f"RDS CA bundle {path}: no PEM certificate in it (get {CA_URL})")
    return pem


def own_modules() -> list[tuple[str, bytes]]:
    """The function's code: every module of the package but this build tool and tests."""
    return [
        (f"rotation_lambda/{path.relative_to(PACKAGE).as_posix()}", path.read_bytes())
        for path in sorted(PACKAGE.rglob("*.py"))
        if path != Path(__file__).resolve()
        and not path.name.startswith("test_")
        and not {"__pycache__", "tests"}.intersection(path.relative_to(PACKAGE).parts)
    ]


def installed_files(requirement: str) -> list[tuple[str, bytes]] | None:
    """The files of a pure-Python wheel already installed here at the pinned version
    (`make` installs the `rotation` group with the dev tools): no download, no build. None
    when it is not installed at that version, or carries compiled code for this machine."""
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


def install(requirements: tuple[str, ...], target: Path) -> list[tuple[str, bytes]]:
    """pip installs the wheels Lambda's runtime takes into `target`. Wheels only (no build
    step), no dependencies beyond the pinned list, no .pyc (they would carry timestamps)."""
    command = [
        sys.executable, "-m", "pip", "install", "--target", str(target),
        "--no-deps", "--no-compile", "--only-binary=:all:", "--no-input",
        "--disable-pip-version-check", "--platform", LAMBDA_PLATFORM,
        "--python-version", LAMBDA_PYTHON, "--implementation", "cp", *requirements,
    ]  # fmt: skip
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
    """What the wheels put in the zip: their code, metadata and licences. Not what pip adds
    at install time (its RECORD, INSTALLER...: they change with pip's version, and so would
    the zip's bytes), nor bytecode, nor console scripts (Lambda runs none)."""
    if path.suffix == ".pyc" or "__pycache__" in path.parts or path.parts[0] == "bin":
        return False
    return not (path.parts[0].endswith(".dist-info") and path.name in PIP_WRITTEN)


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m rotation_lambda.package",
        description="Build the rotation Lambda's zip (the template's RotationLambdaS3Key).",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="zip to write")
    parser.add_argument(
        "--ca-bundle",
        type=Path,
        default=Path(os.environ[CA_ENV]) if os.environ.get(CA_ENV) else None,
        help=f"the RDS CA bundle to carry (default: ${CA_ENV}); from {CA_URL}",
    )
    parser.add_argument("--pyproject", type=Path, default=PYPROJECT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        result = build(args.out, args.ca_bundle, pyproject=args.pyproject)
    except PackageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(result.path)
    print(f"  size    {result.size} bytes")
    print(f"  sha256  {result.sha256} (Lambda CodeSha256 {result.code_sha256})")
    carried = [*result.requirements, "RDS CA bundle" if result.has_ca_bundle else "no CA bundle"]
    print(f"  carries rotation_lambda/, {', '.join(carried)}")
    for warning in result.warnings:
        print(warning, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
