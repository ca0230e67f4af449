"""Read YAML and JSON with line numbers, through cfn-lint's decoder (one parser for
stack files and templates, CloudFormation short forms included). What it decodes is kept in
the disk cache (reconciler/cache.py) by the text, as mappings, lists and strings that carry
their marks (Map, Seq, Str), so a file already read is not decoded again, nor cfn-lint
imported: the same types come back whether or not the cache answered."""

from __future__ import annotations

import datetime
import logging
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler import cache as disk

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
    return disk.memo("parse", (text,), lambda: _decoded(text), _loaded)


def _loaded(stored: Any) -> tuple[Any, ParseError | None]:
    """parse()'s answer from what _decoded stored; TypeError or ValueError for another
    shape (memo then decodes the text again)."""
    if not isinstance(stored, dict):
        raise TypeError("not a decoded document")
    if "error" in stored:
        line, message = stored["error"]
        if type(line) is not int or not isinstance(message, str):
            raise TypeError("an error is [line, message]")
        return None, ParseError(line, message)
    return _thaw(stored["data"]), None


def _decoded(text: str) -> dict[str, Any]:
    """{"data": the decoded document, frozen} or {"error": [line, message]}."""
    # Imported on first use: cfn-lint's package import costs ~0.4 s of a cold start.
    from cfnlint.decode import decode_str

    if too_deep := nesting_problem(text):
        return {"error": [too_deep.line, too_deep.message]}
    try:
        data, matches = decode_str(text)
    except RecursionError:  # a backstop: nesting_problem should have refused it
        return {"error": [1, f"nested too deeply (over {MAX_DEPTH} levels)"]}
    if matches:
        first = min(matches, key=lambda m: m.linenumber)
        return {"error": [first.linenumber, first.message]}
    return {"data": _freeze(data)}


@dataclass(frozen=True)
class Mark:
    """Where a node starts or ends: 0-based line and column, as the YAML parser counts."""

    line: int
    column: int


_UNMARKED = [None, None, None, None]  # a node cfn-lint's decoder gave without marks


class Map(dict):
    """A decoded mapping with its marks. `get` with a mapping default gives it this
    mapping's marks, as cfn-lint's dict_node does, so a missing key reports the line of
    the mapping it is missing from."""

    start_mark: Mark
    end_mark: Mark

    def get(self, key: Any, default: Any = None) -> Any:
        if (
            isinstance(default, dict)
            and not isinstance(default, Map)
            and _marks(self)[0] is not None
        ):
            default = _marked(Map(default), self)
        return super().get(key, default)


class Seq(list):
    """A decoded sequence with its marks."""

    start_mark: Mark
    end_mark: Mark


class Str(str):
    """A decoded string with its marks."""

    start_mark: Mark
    end_mark: Mark


def _marked(node: Any, like: Any) -> Any:
    node.start_mark, node.end_mark = like.start_mark, like.end_mark
    return node


def _marks(node: Any) -> list[int]:
    start, end = getattr(node, "start_mark", None), getattr(node, "end_mark", None)
    if start is None or end is None:
        return list(_UNMARKED)
    return [int(start.line), int(start.column), int(end.line), int(end.column)]


def _freeze(node: Any) -> Any:
    """The decoded document as JSON: every mapping, list and string a tagged list with
    its marks ["M"|"L"|"S", start line, start column, end line, end column, value]; dates
    tagged too; numbers, booleans and null as they are."""
    if isinstance(node, dict):
        items = []
        for k, v in node.items():
            items.extend((_freeze(k), _freeze(v)))
        return ["M", *_marks(node), items]
    if isinstance(node, (list, tuple)):
        return ["L", *_marks(node), [_freeze(v) for v in node]]
    if isinstance(node, str):
        return ["S", *_marks(node), str(node)]
    if isinstance(node, datetime.datetime):
        return ["T", node.isoformat()]
    if isinstance(node, datetime.date):
        return ["D", node.isoformat()]
    if isinstance(node, bytes):
        return ["B", node.decode("latin-1")]
    if isinstance(node, (set, frozenset)):
        return ["E", [_freeze(v) for v in node]]
    return node  # int, float, bool, None


_BARE = (bool, int, float, type(None))  # what _freeze stores untagged
_KINDS = {"S": str, "L": list, "M": list}


def _thaw(node: Any) -> Any:
    """_freeze undone; TypeError or ValueError for anything _freeze does not write."""
    if not isinstance(node, list):
        if not isinstance(node, _BARE):
            raise TypeError(f"not a frozen node: {type(node).__name__}")
        return node
    tag = node[0] if node else None
    if tag in ("T", "D", "B", "E"):
        (_, value) = node
        if tag == "T":
            return datetime.datetime.fromisoformat(value)
        if tag == "D":
            return datetime.date.fromisoformat(value)
        if tag == "B":
            return value.encode("latin-1")
        if not isinstance(value, list):
            raise TypeError("a set is a list")
        return {_thaw(v) for v in value}
    if tag not in _KINDS or len(node) != 6 or not isinstance(node[5], _KINDS[tag]):
        raise TypeError(f"not a frozen node: {tag!r}")
    marks, value = node[1:5], node[5]
    if tag == "S":
        made: Any = Str(value)
    elif tag == "L":
        made = Seq(_thaw(v) for v in value)
    else:
        if len(value) % 2:
            raise ValueError("a mapping's items come in pairs")
        made = Map()
        for i in range(0, len(value), 2):
            dict.__setitem__(made, _thaw(value[i]), _thaw(value[i + 1]))
    if marks != _UNMARKED:
        if not all(type(m) is int for m in marks):
            raise TypeError("marks are four integers")
        made.start_mark, made.end_mark = Mark(marks[0], marks[1]), Mark(marks[2], marks[3])
    return made


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
