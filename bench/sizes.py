"""The `--sizes` argument of the benchmarks: stack counts, comma-separated."""

from __future__ import annotations

import argparse


def stack_sizes(text: str) -> tuple[int, ...]:
    """'1,10,100' -> (1, 10, 100): whole numbers of at least 1, increasing (the stacks of
    a size are those of the size before, and more)."""
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"sizes are whole numbers: {text!r}") from None
    if not sizes or min(sizes) < 1 or list(sizes) != sorted(set(sizes)):
        raise argparse.ArgumentTypeError(f"sizes are at least 1, increasing: {text!r}")
    return sizes
