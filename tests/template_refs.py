"""What a CloudFormation template node refers to, read independently of the product's
own code (the tests' oracle for renamed and moved references)."""

from __future__ import annotations

import re
from typing import Any

SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def references(node: Any) -> set[str]:
    """Every name a node refers to by Ref, Fn::GetAtt, a Fn::Sub variable or DependsOn."""
    found: set[str] = set()
    if isinstance(node, list):
        for item in node:
            found |= references(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                found.add(value[0] if isinstance(value, list) else str(value).split(".")[0])
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) and value else value
                if isinstance(text, str):
                    found |= {v.split(".")[0] for v in SUB_VARIABLE.findall(text) if v[:1] != "!"}
            elif key == "DependsOn":
                names = [value] if isinstance(value, str) else value
                found |= (
                    {n for n in names if isinstance(n, str)} if isinstance(names, list) else set()
                )
            found |= references(value)
    return found
