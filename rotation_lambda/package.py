"""`python -m rotation_lambda.package`: the rotation Lambda's zip alone.

The zip holds this package's modules under `rotation_lambda/` and the wheels of
pyproject.toml's `rotation` group (PyMySQL, redis) at its root, where Lambda puts them on
sys.path; boto3 is not carried (the Lambda runtime has it). The RDS CA bundle goes in as
`rotation_lambda/certs/rds-global-bundle.pem`, the file the template's DB_TLS_CA_FILE
names. Without it the build still succeeds, loudly: the MySQL rotation fails closed (no
TLS, no login) until a zip with the bundle is uploaded.

The build itself is `reconciler.bundle.rotation_zip`, shared with the reconciler's zip
(`make package` builds both); this module keeps the rotation zip's own command and names.
It is a build tool for a developer or CI; it is not put in the zip.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from reconciler.bundle import (
    CA_ENV,
    CA_IN_ZIP,
    CA_URL,
    LAMBDA_PLATFORM,
    LAMBDA_PYTHON,
    PROJECT,
    PYPROJECT,
    ROTATION_ZIP,
    BuildResult,
    PackageError,
    rotation_zip,
)

__all__ = [
    "CA_ENV",
    "CA_IN_ZIP",
    "CA_URL",
    "DEFAULT_OUT",
    "LAMBDA_PLATFORM",
    "LAMBDA_PYTHON",
    "PYPROJECT",
    "BuildResult",
    "PackageError",
    "build",
    "main",
]

DEFAULT_OUT = PROJECT / "dist" / ROTATION_ZIP


def build(out: Path, ca_bundle: Path | None = None, *, pyproject: Path = PYPROJECT) -> BuildResult:
    """Build the zip at `out` (replaced whole, never left half written)."""
    return rotation_zip(out, ca_bundle, pyproject=pyproject)


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
