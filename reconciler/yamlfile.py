"""Read YAML and JSON with line numbers, through cfn-lint's decoder (one parser for
stack files and templates, CloudFormation short forms included)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# cfn-lint logs parse errors itself; we report them as findings instead.
logging.getLogger("cfnlint").setLevel(logging.CRITICAL)

MAX_FILE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class ParseError:
    line: int
    message: str


def line_of(node: Any, default: int = 0) -> int:
    """1-based line where a decoded node (or mapping key) starts, if known."""
    mark = getattr(node, "start_mark", None)
    return mark.line + 1 if mark is not None else default


def key_line(mapping: Any, key: str, default: int = 0) -> int:
    """1-based line of `key` inside a decoded mapping."""
    for k in mapping:
        if k == key:
            return line_of(k, default)
    return default


def read_text(path: Path) -> tuple[str | None, ParseError | None]:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return None, ParseError(0, f"file is {size} bytes, over the 1 MiB limit")
        return path.read_bytes().decode("utf-8"), None
    except UnicodeDecodeError:
        return None, ParseError(0, "file is not UTF-8 text")
    except OSError as err:
        return None, ParseError(0, f"cannot read file: {err.strerror}")


def parse(text: str) -> tuple[Any, ParseError | None]:
    """Decode YAML (or JSON) text; on failure return the first error with its line."""
    # Imported on first use: cfn-lint's package import costs ~0.4 s of a cold start.
    from cfnlint.decode import decode_str

    data, matches = decode_str(text)
    if matches:
        first = min(matches, key=lambda m: m.linenumber)
        return None, ParseError(first.linenumber, first.message)
    return data, None
