"""Dependency order between stacks (depends-on).

Both walks keep their own stack instead of recursing: a depends-on chain thousands of
stacks long must be a finding or an order, not a RecursionError."""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def find_cycle(graph: Mapping[str, Iterable[str]]) -> list[str] | None:
    """A cycle in `name -> dependencies`, as the list of names on it, or None."""
    state: dict[str, int] = {}  # 1 visiting, 2 done
    for start in sorted(graph):
        if start in state:
            continue
        path: list[str] = [start]  # the names being visited, in order
        pending = [iter(list(graph.get(start, ())))]
        state[start] = 1
        while pending:
            dep = next(pending[-1], None)
            if dep is None:
                state[path.pop()] = 2
                pending.pop()
            elif state.get(dep) == 1:
                return path[path.index(dep) :]
            elif dep not in state:
                state[dep] = 1
                path.append(dep)
                pending.append(iter(list(graph.get(dep, ()))))
    return None


def dependency_order(graph: Mapping[str, Iterable[str]]) -> list[str]:
    """Names with every dependency before its dependents; ties in name order.
    The graph must be acyclic (validation guarantees it)."""
    done: list[str] = []
    seen: set[str] = set()
    for start in sorted(graph):
        if start in seen:
            continue
        seen.add(start)
        path = [start]
        pending = [iter(sorted(graph.get(start, ())))]
        while pending:
            dep = next(pending[-1], None)
            if dep is None:
                done.append(path.pop())
                pending.pop()
            elif dep in graph and dep not in seen:
                seen.add(dep)
                path.append(dep)
                pending.append(iter(sorted(graph[dep])))
    return done
