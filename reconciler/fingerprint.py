"""The desired hash: a digest of everything that decides a stack's shape (template
body, parameters, tags). It is kept in a stack tag, so an unchanged stack is recognised
from DescribeStacks alone, with no further call."""

from __future__ import annotations

import hashlib
import json

from reconciler.desired import StackSpec


def desired_hash(spec: StackSpec, template_body: str) -> str:
    canonical = json.dumps(
        {"template": template_body, "parameters": spec.parameters, "tags": spec.tags},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]
