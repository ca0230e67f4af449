"""PNG plots for docs/: matplotlib without a screen (Agg), one figure per call, written
where docs/benchmarks.md shows them. Imported only by `make bench`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def lines(
    name: str,
    title: str,
    xlabel: str,
    ylabel: str,
    series: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    *,
    logx: bool = False,
    logy: bool = False,
) -> Path:
    """One line per series (label -> (xs, ys)), markers on the measured points."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(7, 4), dpi=100)
    for label, (xs, ys) in series.items():
        axes.plot(xs, ys, marker="o", label=label)
    if logx:
        axes.set_xscale("log")
    if logy:
        axes.set_yscale("log")
    axes.set(title=title, xlabel=xlabel, ylabel=ylabel)
    axes.grid(True, alpha=0.3)
    axes.legend()
    return _save(plt, figure, name)


def bars(
    name: str, title: str, ylabel: str, values: Mapping[str, float], *, baseline: str = ""
) -> Path:
    """One bar per label; the baseline's bar (if named) drawn apart in grey."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(7, 4), dpi=100)
    labels = list(values)
    colors = ["grey" if label == baseline else "tab:blue" for label in labels]
    axes.bar(labels, [values[label] for label in labels], color=colors)
    axes.set(title=title, ylabel=ylabel)
    axes.tick_params(axis="x", labelrotation=20)
    axes.grid(True, axis="y", alpha=0.3)
    return _save(plt, figure, name)


def _save(plt, figure, name: str) -> Path:
    path = DOCS / name
    figure.tight_layout()
    figure.savefig(path, format="png")
    plt.close(figure)
    return path
