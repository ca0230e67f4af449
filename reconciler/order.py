"""Dependency order between stacks (depends-on)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def find_cycle(graph: Mapping[str, Iterable[str]]) -> list[str] | None:
    """A cycle in `name -> dependencies`, as the list of names on it, or None."""
    state: dict[str, int] = {}  # 1 visiting, 2 done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in graph.get(node, ()):
            if state.get(dep) == 1:
                return stack[stack.index(dep) :]
            if dep not in state and (found := visit(dep)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def dependency_order(graph: Mapping[str, Iterable[str]]) -> list[str]:
    """Names with every dependency before its dependents; ties in name order.
    The graph must be acyclic (validation guarantees it)."""
    done: list[str] = []
    seen: set[str] = set()

    def visit(node: str) -> None:
        if node in seen:
            return
        seen.add(node)
        for dep in sorted(graph.get(node, ())):
            if dep in graph:
                visit(dep)
        done.append(node)

    for node in sorted(graph):
        visit(node)
    return done
