"""A template as one stack deploys it: parameter references resolved with the stack
file's values (so a rule sees `EngineVersion: 8.0.35`, not `!Ref DBEngineVersion`), with
the line of every resource and property kept for the finding."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from reconciler.desired import StackSpec
from reconciler.diff import parameter_values, resolve
from reconciler.template import Template
from reconciler.validation.context import Context
from reconciler.yamlfile import key_line, line_of


@dataclass(frozen=True)
class Resource:
    logical_id: str
    type: str
    line: int
    node: Any  # the decoded resource, as written
    props: dict[str, Any]  # Properties with parameter references resolved

    def line_of(self, prop: str) -> int:
        props = self.node.get("Properties")
        return key_line(props, prop, self.line) if isinstance(props, dict) else self.line

    def attribute(self, name: str) -> Any:
        return self.node.get(name)


@dataclass(frozen=True)
class StackView:
    spec: StackSpec
    template: Template
    parameters: dict[str, Any]

    @property
    def path(self) -> str:
        return self.template.path

    def resources(self, *types: str) -> Iterator[Resource]:
        for logical_id, node in self.template.resources.items():
            if not isinstance(node, dict) or (types and node.get("Type") not in types):
                continue
            props = node.get("Properties")
            resolved = resolve(props, self.parameters) if isinstance(props, dict) else {}
            line = line_of(logical_id, 1)
            yield Resource(str(logical_id), str(node.get("Type")), line, node, resolved)

    def by_id(self, logical_id: str) -> Resource | None:
        return next((r for r in self.resources() if r.logical_id == logical_id), None)


def stack_views(ctx: Context) -> Iterator[StackView]:
    """Each stack with its template (stacks whose template did not load are skipped:
    loading reported them)."""
    for spec in ctx.state.stacks:
        template = ctx.state.templates.get(spec.template_file_path)
        if template is not None:
            values = parameter_values(template.data, spec.parameters)
            yield StackView(spec, template, values)
