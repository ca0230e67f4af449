"""Read YAML and JSON with line numbers, through cfn-lint's decoder (one parser for
stack files and templates, CloudFormation short forms included)."""

from __future__ import annotations

import logging
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# cfn-lint logs parse errors itself; we report them as findings instead.
logging.getLogger("cfnlint").setLevel(logging.CRITICAL)

MAX_FILE_BYTES = 1024 * 1024
# Collections inside collections. CloudFormation templates need a dozen or so; the YAML
# composer recurses in C once per level, and tens of thousands of levels crash the
# process (a segmentation fault, nothing recorded), so deeper files are refused first.
MAX_DEPTH = 100


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
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            # A FIFO would block the read forever; a device could never end.
            return None, ParseError(0, "not a regular file")
        size = info.st_size
        if size > MAX_FILE_BYTES:
            return None, ParseError(0, f"file is {size} bytes, over the 1 MiB limit")
        return path.read_bytes().decode("utf-8"), None
    except UnicodeDecodeError:
        return None, ParseError(0, "file is not UTF-8 text")
    except OSError as err:
        return None, ParseError(0, f"cannot read file: {err.strerror}")
    except ValueError:  # a NUL byte in the path
        return None, ParseError(0, "cannot read file: its path holds a NUL byte")


def parse(text: str) -> tuple[Any, ParseError | None]:
    """Decode YAML (or JSON) text; on failure return the first error with its line."""
    # Imported on first use: cfn-lint's package import costs ~0.4 s of a cold start.
    from cfnlint.decode import decode_str

    if too_deep := nesting_problem(text):
        return None, too_deep
    try:
        data, matches = decode_str(text)
    except RecursionError:  # a backstop: nesting_problem should have refused it
        return None, ParseError(1, f"nested too deeply (over {MAX_DEPTH} levels)")
    if matches:
        first = min(matches, key=lambda m: m.linenumber)
        return None, ParseError(first.linenumber, first.message)
    return data, None


def nesting_problem(text: str, limit: int = MAX_DEPTH) -> ParseError | None:
    """The first line where collections nest deeper than `limit`, from the YAML events
    (the parser keeps its own stack on the heap; only composing recurses). Counting
    events rather than brackets and indents also sees compact `- - - x` sequences and
    ignores brackets inside strings and block scalars."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    depth = 0
    try:
        for event in yaml.parse(text, Loader=loader):
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > limit:
                    return _too_deep(event.start_mark.line + 1, limit)
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    except yaml.YAMLError:
        return _json_nesting_problem(text, limit)  # cfn-lint then tries it as JSON
    return None


def _json_nesting_problem(text: str, limit: int) -> ParseError | None:
    depth, line, in_string, escaped = 0, 1, False, False
    for char in text:
        if char == "\n":
            line += 1
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return _too_deep(line, limit)
        elif char in "]}":
            depth -= 1
    return None


def _too_deep(line: int, limit: int) -> ParseError:
    return ParseError(
        line, f"nested more than {limit} levels deep; CloudFormation templates never need that"
    )
