"""A disk cache for cfn-lint's work, keyed by everything the answer depends on, so that
`validate` and `plan` over inputs already validated never import cfn-lint (0.4 s) nor run
it again (docs/validation-cache.md).

What is kept: a file's parsed YAML or JSON (key: its text), cfn-lint's findings on a
template (key: the text, the regions and the rule configuration) and lookups in the data
cfn-lint ships (resource schemas, engine versions, zones; key: the arguments). Every key
also holds cfn-lint's version, which fixes its parser, its rules and its data, and
FORMAT, this module's. The reconciler's own rules are not cached: they are quick and read
parameters, today's date and AWS's answers, which no key could pin down.

Where: $RECONCILER_CACHE_DIR; else /tmp in a Lambda container (the only writable place);
else the user's cache directory (platformdirs: ~/.cache/gitops-reconciler on Linux).
Each entry is one JSON file written atomically, so concurrent runs never read a
half-written one; entries older than 30 days are removed now and then. A cache that
cannot be used is skipped, never an error: an unreadable or corrupt entry is a miss (and
is written again), an unwritable directory stores nothing, and a directory another user
could write to is not read at all (its entries could hide findings).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

FORMAT = 2  # raise when what is stored, or how it is derived, changes
APP = "gitops-reconciler"
ENV_DIR = "RECONCILER_CACHE_DIR"
ENV_OFF = "RECONCILER_NO_CACHE"
LAMBDA_DIR = "/tmp/gitops-reconciler-cache"
# Old entries go when a write's key starts with PRUNE_PREFIX: one write in 256, so the
# folder stays small without a listing on every run.
MAX_AGE_SECONDS = 30 * 24 * 3600
PRUNE_PREFIX = "00"

_enabled = True


@contextmanager
def bypassed() -> Iterator[None]:
    """`--no-cache`: inside, everything is computed afresh and nothing read or written."""
    global _enabled
    was, _enabled = _enabled, False
    try:
        yield
    finally:
        _enabled = was


def directory() -> Path:
    """Where entries are kept (see the module's docstring)."""
    chosen = os.environ.get(ENV_DIR)
    if chosen:
        return Path(chosen)
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        return Path(LAMBDA_DIR)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir(APP, appauthor=False))


def active() -> bool:
    return _enabled and os.environ.get(ENV_OFF, "").lower() not in ("1", "true", "yes")


@cache
def cfn_lint_version() -> str:
    """cfn-lint's version, read from its version module without importing the package
    (whose import is what the cache saves). '' when it cannot be read: nothing is cached."""
    try:
        spec = find_spec("cfnlint")
    except (ImportError, ValueError):
        return ""
    if spec is None or not spec.origin:
        return ""
    try:
        text = Path(spec.origin).with_name("version.py").read_text(encoding="utf-8")
    except OSError:
        return ""
    found = re.search(r"""__version__\s*=\s*["']([^"']+)["']""", text)
    return found.group(1) if found else ""


def key(kind: str, *parts: Any) -> str:
    """The entry name for `kind` over `parts` (JSON values), with the versions that fix
    the answer."""
    payload = json.dumps([FORMAT, cfn_lint_version(), kind, *parts], separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()


# What load() raises on a stored value that is not of the shape compute() returns.
WRONG_SHAPE = (TypeError, ValueError, KeyError, IndexError, AttributeError, RecursionError)


def memo(
    kind: str, parts: tuple, compute: Callable[[], Any], load: Callable[[Any], Any] = lambda v: v
) -> Any:
    """load(compute()'s value) (JSON-serialisable), from the cache when an entry for
    exactly these inputs exists, else computed and stored. `load` checks the value's shape
    (raising one of WRONG_SHAPE): an entry it refuses is a miss, and is written again."""
    if not active() or not cfn_lint_version():
        return load(compute())
    name = key(kind, *parts)
    folder = _folder()
    if folder is not None:
        found = _read(folder / kind / f"{name}.json")
        if found is not None:
            try:
                return load(found[0])
            except WRONG_SHAPE:
                pass
    value = compute()
    if folder is not None:
        _write(folder / kind, f"{name}.json", value)
    return load(value)


def strings(value: Any) -> list[str]:
    """`value` if it is a list of strings (a load() for memo)."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TypeError("not a list of strings")
    return value


def _folder() -> Path | None:
    """The cache directory when it is safe to use: created if missing (owner only), and
    refused when it is not a directory or others could write to it."""
    path = directory()
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = path.stat()
    except (OSError, ValueError):
        return None
    if not stat.S_ISDIR(info.st_mode):
        return None
    if hasattr(os, "getuid") and (info.st_uid != os.getuid() or info.st_mode & 0o022):
        return None
    return path


def _read(path: Path) -> tuple[Any] | None:
    """(value,) of an entry, or None when absent or unreadable."""
    try:
        with path.open("rb") as f:
            entry = json.loads(f.read())
    except (OSError, ValueError, RecursionError):  # RecursionError: nested too deeply
        return None
    if not isinstance(entry, dict) or entry.get("format") != FORMAT or "value" not in entry:
        return None
    return (entry["value"],)


def _write(folder: Path, name: str, value: Any) -> None:
    try:
        data = json.dumps({"format": FORMAT, "value": value}, separators=(",", ":"))
    except (TypeError, ValueError):
        return  # not JSON: not cached
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=folder, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8", errors="surrogatepass") as f:
                f.write(data)
            os.replace(temp, folder / name)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
    except OSError:
        return  # a full or read-only disk: the answer stands, uncached
    if name.startswith(PRUNE_PREFIX):
        prune(folder)


def prune(folder: Path, now: float | None = None) -> None:
    """Remove the entries of `folder` written more than MAX_AGE_SECONDS ago (an entry
    still in use is simply computed and written again)."""
    cutoff = (time.time() if now is None else now) - MAX_AGE_SECONDS
    try:
        entries = list(folder.iterdir())
    except OSError:
        return
    for entry in entries:
        try:
            if entry.stat().st_mtime < cutoff:
                entry.unlink()
        except OSError:
            continue
