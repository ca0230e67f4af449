"""DS015: stack tags within CloudFormation's limits, checked before AWS is asked.

CreateStack takes at most 50 tags, the reconciler's own two included; a key is 1 to 128
characters, a value 1 to 256 (CloudFormation's Tag type). CloudFormation copies stack
tags to the resources, so keys and values keep to the characters every tagging service
takes: Unicode letters, digits and spaces, and `_ . : / = + - @`."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator

from reconciler import HASH_TAG, MANAGED_TAG
from reconciler.findings import Finding
from reconciler.validation.context import Context
from reconciler.validation.rule import Rule, error

MAX_TAGS = 50
OWN_TAGS = (MANAGED_TAG, HASH_TAG)  # see reconciler.desired.managed_tags
KEY_LENGTH = (1, 128)
VALUE_LENGTH = (1, 256)
SYMBOLS = set("_.:/=+-@")


def check(ctx: Context) -> Iterator[Finding]:
    for spec in ctx.state.stacks:
        room = MAX_TAGS - len(OWN_TAGS)
        if len(spec.tags) > room:
            msg = (
                f"{len(spec.tags)} tags: a stack takes {MAX_TAGS}, and the reconciler adds "
                f"{len(OWN_TAGS)} of its own ({', '.join(OWN_TAGS)}), so give {room} at most"
            )
            yield error(spec.path, spec.line("tags"), "DS015", msg)
        for key, value in spec.tags.items():
            if problem := _problem(key, value):
                yield error(spec.path, spec.item_line("tags", key), "DS015", problem)


def _problem(key: str, value: str) -> str | None:
    shown = repr(key if len(key) <= 40 else key[:40] + "...")
    for what, text, (low, high) in (("key", key, KEY_LENGTH), ("value", value, VALUE_LENGTH)):
        if not low <= len(text) <= high:
            return f"tag {shown}: the {what} is {len(text)} characters; AWS takes {low} to {high}"
        bad = next((c for c in text if not _allowed(c)), None)
        if bad is not None:
            return (
                f"tag {shown}: the {what} holds {bad!r}; tags take letters, digits, spaces "
                f"and {' '.join(sorted(SYMBOLS))}"
            )
    return None


def _allowed(char: str) -> bool:
    # Letters (L*), digits and numbers (N*), and separators such as the space (Z*):
    # the Unicode classes of AWS's tag pattern [\p{L}\p{Z}\p{N}_.:/=+\-@]*.
    return char in SYMBOLS or unicodedata.category(char)[0] in "LNZ"


RULE = Rule(("DS015",), "stack tags within CloudFormation's count, length and characters", check)
