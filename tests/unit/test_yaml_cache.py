"""yamlfile.parse through the disk cache gives what cfn-lint's decoder gives: the same
values, and the same marks (line and column) on every mapping, list and string, whether
the cache missed (decoded now) or answered (decoded by an earlier run); parse errors are
the same (line, message) either way. Every YAML and JSON file of the repository is read."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode_str

from reconciler import yamlfile

PROJECT = Path(__file__).resolve().parents[2]


def project_files() -> list[Path]:
    found = [
        *PROJECT.glob("templates/*.yml"),
        *PROJECT.glob("desired-state/*.yml"),
        *PROJECT.glob("infra/*.yml"),
    ]
    for pattern in ("*.yml", "*.yaml", "*.json"):
        found.extend(p for p in (PROJECT / "tests").rglob(pattern) if "__pycache__" not in p.parts)
    return sorted(set(found))


JSON_TEMPLATE = """\
{
\t"AWSTemplateFormatVersion": "2010-09-09",
\t"Parameters": {"Name": {"Type": "String", "Default": "caf\\u00e9 \\/ \\t"}},
\t"Resources": {
\t\t"Topic": {
\t\t\t"Type": "AWS::SNS::Topic",
\t\t\t"Properties": {
\t\t\t\t"TopicName": {"Fn::Sub": "${Name}-topic"},
\t\t\t\t"Tags": [{"Key": "n", "Value": 1.5}, {"Key": "b", "Value": true}]
\t\t\t}
\t\t}
\t},
\t"Outputs": {"Arn": {"Value": {"Fn::GetAtt": ["Topic", "TopicArn"]}}}
}
"""

DATES_AND_SHORT_FORMS = """\
AWSTemplateFormatVersion: 2010-09-09
Description: >-
  dates, short forms, anchors and YAML's scalar types
Metadata:
  Released: 2026-12-07
  At: 2026-12-07T06:53:46Z
  Offset: 2001-12-14t21:59:43.10-05:00
  Numbers: [1, -2, 0o17, 0x1F, 1.5, 1e3, .inf, -.inf]
  Flags: [true, false, yes, no, on, off, ~, null]
  Blob: !!binary aGVsbG8=
  Names: !!set {a, b}
  Unicode: "caf\\u00e9 \\U0001F600"
  Base: &base {Key: a, Value: b}
  Merged:
    <<: *base
    Value: c
  Again: *base
  7: seven
Conditions:
  IsProd: !Equals [!Ref Env, prod]
Parameters:
  Env: {Type: String}
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Condition: IsProd
    Properties:
      BucketName: !Sub "${Env}-${AWS::Region}"
      Tags:
        - Key: zone
          Value: !Select [0, !GetAZs ""]
        - Key: joined
          Value: !Join [",", [a, !Ref Env]]
        - !If [IsProd, {Key: prod, Value: "yes"}, !Ref AWS::NoValue]
  Policy:
    Type: AWS::S3::BucketPolicy
    Properties:
      Bucket: !Ref Bucket
      PolicyDocument:
        Statement:
          - Resource: !GetAtt Bucket.Arn
            Principal: {AWS: !GetAtt [Bucket, Arn]}
            Condition: !Base64 {"Fn::Sub": "x"}
Outputs:
  Arn:
    Value: !GetAtt Bucket.Arn
  Domain:
    Value: !GetAtt Bucket.DomainName
    Condition: IsProd
"""

INLINE = {
    "json-template": JSON_TEMPLATE,
    "dates-and-short-forms": DATES_AND_SHORT_FORMS,
    "empty": "",
    "only-a-comment": "# nothing\n",
    "a-scalar": "just text\n",
}


def cases() -> list[Any]:
    return list(_cases())


def _cases() -> Iterator[Any]:
    for path in project_files():
        yield pytest.param(
            path.read_text(encoding="utf-8"), id=path.relative_to(PROJECT).as_posix()
        )
    for name, text in INLINE.items():
        yield pytest.param(text, id=name)


@pytest.fixture(autouse=True)
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test's own empty cache folder: its first parse is a miss."""
    monkeypatch.setenv("RECONCILER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("RECONCILER_NO_CACHE", raising=False)
    return tmp_path / "cache"


def miss_and_hit(text: str, folder: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    """parse(text) on a miss, then on a hit (where decoding anything again would fail)."""
    assert not (folder / "parse").exists()
    miss = yamlfile.parse(text)
    assert len(list((folder / "parse").iterdir())) == 1

    def no_decoding(_text: str) -> Any:
        raise AssertionError("a hit decoded the text again")

    with monkeypatch.context() as patch:
        patch.setattr(yamlfile, "_decoded", no_decoding)
        hit = yamlfile.parse(text)
    return miss, hit


def marks(node: Any) -> tuple[int, int, int, int] | None:
    start, end = getattr(node, "start_mark", None), getattr(node, "end_mark", None)
    if start is None:
        return None
    return start.line, start.column, end.line, end.column


def differences(ours: Any, theirs: Any, where: str = "") -> Iterator[str]:
    """Where `ours` differs from cfn-lint's `theirs`: a value, a scalar's type, or the
    marks of a mapping, list, string or mapping key that cfn-lint marks."""
    if isinstance(theirs, (str, dict, list)) and marks(theirs) and marks(ours) != marks(theirs):
        yield f"{where or '/'}: marks {marks(ours)} != {marks(theirs)}"
    if isinstance(theirs, dict):
        if not isinstance(ours, dict) or list(ours) != list(theirs):
            yield f"{where}: keys {list(ours)!r} != {list(theirs)!r}"
            return
        for (our_key, our_value), their_key in zip(ours.items(), theirs, strict=True):
            path = f"{where}/{their_key}"
            if marks(their_key) is not None and marks(our_key) != marks(their_key):
                yield f"{path} (key): marks {marks(our_key)} != {marks(their_key)}"
            yield from differences(our_value, theirs[their_key], path)
    elif isinstance(theirs, list):
        if not isinstance(ours, list) or len(ours) != len(theirs):
            yield f"{where}: {ours!r} != {theirs!r}"
            return
        for index, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            yield from differences(a, b, f"{where}/{index}")
    elif isinstance(theirs, str):
        if not isinstance(ours, str) or str(ours) != str(theirs):
            yield f"{where}: {ours!r} != {theirs!r}"
    elif type(ours) is not type(theirs) or ours != theirs:
        yield f"{where}: {ours!r} ({type(ours).__name__}) != {theirs!r} ({type(theirs).__name__})"


def every_node(value: Any) -> Iterator[Any]:
    """Every mapping, list, string and mapping key below `value`, itself included."""
    yield value
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from every_node(item)
    elif isinstance(value, list):
        for item in value:
            yield from every_node(item)


@pytest.mark.parametrize("text", cases())
def test_parse_on_a_miss_on_a_hit_and_cfn_lints_decoder_agree_in_values_and_marks(
    text, empty_cache, monkeypatch
):
    """GIVEN a YAML or JSON file WHEN parsed on a miss, then on a hit THEN both give what
    cfn-lint's decode_str gives: equal values, scalars of the same types, and the same
    start and end marks wherever cfn-lint marks a node."""
    theirs, matches = decode_str(text)
    assert matches == []
    (miss, miss_error), (hit, hit_error) = miss_and_hit(text, empty_cache, monkeypatch)
    assert miss_error is None and hit_error is None
    assert miss == theirs and hit == theirs
    assert list(differences(miss, theirs)) == []
    assert list(differences(hit, theirs)) == []


def test_the_date_and_short_forms_template_holds_what_it_is_meant_to(empty_cache, monkeypatch):
    """GIVEN the template with an unquoted date, timestamps, binary, a set and !GetAtt
    short forms WHEN parsed on a hit THEN those values come back as such."""
    _, (hit, error) = miss_and_hit(DATES_AND_SHORT_FORMS, empty_cache, monkeypatch)
    assert error is None
    assert hit["AWSTemplateFormatVersion"] == datetime.date(2010, 9, 9)
    metadata = hit["Metadata"]
    assert metadata["At"] == datetime.datetime(2026, 12, 7, 6, 53, 46, tzinfo=datetime.UTC)
    assert metadata["Offset"].utcoffset() == datetime.timedelta(hours=-5)
    assert metadata["Blob"] == b"hello" and metadata["Names"] == {"a", "b"}
    assert metadata[7] == "seven" and metadata["Merged"] == {"Key": "a", "Value": "c"}
    assert hit["Outputs"]["Arn"]["Value"] == {"Fn::GetAtt": ["Bucket", "Arn"]}
    policy = hit["Resources"]["Policy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert policy["Principal"]["AWS"] == {"Fn::GetAtt": ["Bucket", "Arn"]}


def test_nodes_cfn_lint_leaves_unmarked_are_unmarked_on_a_miss_and_a_hit(empty_cache, monkeypatch):
    """GIVEN short forms, whose keys ('Fn::Sub') and plain arguments cfn-lint's decoder
    gives without marks WHEN parsed on a miss and on a hit THEN those nodes are unmarked
    too, so yamlfile.line_of gives the caller's default for them, as it did on cfn-lint's
    nodes (not line 1 from a made-up mark at line 0, column 0)."""
    theirs, _ = decode_str(DATES_AND_SHORT_FORMS)
    (miss, _), (hit, _) = miss_and_hit(DATES_AND_SHORT_FORMS, empty_cache, monkeypatch)
    for ours in (miss, hit):
        pairs = zip(every_node(ours), every_node(theirs), strict=True)
        unmarked = [(o, t) for o, t in pairs if isinstance(t, (str, dict, list)) and not marks(t)]
        assert unmarked  # the template has such nodes
        wrong = [(o, yamlfile.line_of(o, -1)) for o, _ in unmarked if yamlfile.line_of(o, -1) != -1]
        assert wrong == []


PARSE_ERRORS = {
    "duplicate-key": "Resources:\n  A:\n    Type: X\n  A:\n    Type: Y\n",
    "bad-indentation": "Resources:\n  A:\n    Type: X\n   B: 1\n",
    "tabs-in-json-missing-comma": '{\n\t"Resources": {\n\t\t"A": {"T": "X"}\n\t\t"B": 1\n\t}\n}\n',
    "tabs-in-json-duplicate-key": '{\n\t"A": 1,\n\t"A": 2\n}\n',
    "control-character": "a: \x00\n",
}


@pytest.mark.parametrize("text", PARSE_ERRORS.values(), ids=PARSE_ERRORS.keys())
def test_a_parse_error_is_the_same_line_and_message_on_a_miss_on_a_hit_and_in_cfn_lint(
    text, empty_cache, monkeypatch
):
    """GIVEN text cfn-lint's decoder refuses WHEN parsed on a miss and on a hit THEN no
    value, and the error of cfn-lint's first match (line, message) both times."""
    _, matches = decode_str(text)
    first = min(matches, key=lambda m: m.linenumber)
    (miss, miss_error), (hit, hit_error) = miss_and_hit(text, empty_cache, monkeypatch)
    assert miss is None and hit is None
    assert (miss_error.line, miss_error.message) == (first.linenumber, first.message)
    assert hit_error == miss_error


@pytest.mark.parametrize(
    "text",
    [
        "a: " + "[" * 150 + "]" * 150 + "\n",
        '{\n\t"a": ' + "[" * 150 + "]" * 150 + "\n}\n",
    ],
    ids=["yaml", "json-with-tabs"],
)
def test_a_file_nested_too_deeply_is_the_same_error_on_a_miss_and_a_hit(
    text, empty_cache, monkeypatch
):
    (miss, miss_error), (hit, hit_error) = miss_and_hit(text, empty_cache, monkeypatch)
    assert miss is None and hit is None
    assert miss_error is not None and "nested more than" in miss_error.message
    assert hit_error == miss_error
