"""A CloudFormation template as the reconciler needs it: its text, its decoded body,
and the declared parameters with the line each is declared on."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.yamlfile import ParseError, key_line, parse, read_text


@dataclass(frozen=True)
class TemplateParameter:
    name: str
    line: int
    has_default: bool
    no_echo: bool


@dataclass(frozen=True)
class Template:
    path: str  # relative to the repository root
    body: str
    data: dict[str, Any] = field(repr=False)
    parameters: dict[str, TemplateParameter]

    @property
    def resources(self) -> dict[str, Any]:
        resources = self.data.get("Resources")
        return resources if isinstance(resources, dict) else {}


def load_template(root: Path, rel_path: str) -> tuple[Template | None, ParseError | None]:
    text, error = read_text(root / rel_path)
    if error:
        return None, error
    return parse_template(rel_path, text)


def parse_template(rel_path: str, text: str) -> tuple[Template | None, ParseError | None]:
    data, error = parse(text)
    if error:
        return None, error
    if not isinstance(data, dict) or not isinstance(data.get("Resources"), dict):
        return None, ParseError(1, "not a CloudFormation template: no Resources mapping")
    declared = data.get("Parameters") or {}
    if not isinstance(declared, dict):
        return None, ParseError(key_line(data, "Parameters", 1), "Parameters must be a mapping")
    parameters = {
        str(name): TemplateParameter(
            name=str(name),
            line=key_line(declared, name, 1),
            has_default=isinstance(spec, dict) and "Default" in spec,
            no_echo=isinstance(spec, dict) and str(spec.get("NoEcho", "")).lower() == "true",
        )
        for name, spec in declared.items()
    }
    return Template(path=rel_path, body=text, data=data, parameters=parameters), None
