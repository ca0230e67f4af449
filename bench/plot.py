"""PNG plots for docs/: matplotlib without a screen (Agg), one figure per call, written
where docs/benchmarks.md shows them. Imported only by `make bench`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs"


def pyplot():
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
    plt = pyplot()
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
    return save(plt, figure, name)


def bars(
    name: str, title: str, ylabel: str, values: Mapping[str, float], *, baseline: str = ""
) -> Path:
    """One bar per label; the baseline's bar (if named) drawn apart in grey."""
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(7, 4), dpi=100)
    labels = list(values)
    colors = ["grey" if label == baseline else "tab:blue" for label in labels]
    axes.bar(labels, [values[label] for label in labels], color=colors)
    axes.set(title=title, ylabel=ylabel)
    axes.tick_params(axis="x", labelrotation=20)
    axes.grid(True, axis="y", alpha=0.3)
    return save(plt, figure, name)


@dataclass(frozen=True)
class Panel:
    """One panel of `panels`: lines (label -> (xs, ys)) with markers on the measured
    points; `styles` gives a label its matplotlib format ("--", "C1:"), `marks` draws
    labelled horizontal lines (targets, say)."""

    title: str
    xlabel: str
    ylabel: str
    series: Mapping[str, tuple[Sequence[float], Sequence[float]]]
    styles: Mapping[str, str] = field(default_factory=dict)
    marks: Mapping[str, float] = field(default_factory=dict)
    logx: bool = False
    logy: bool = False
    xticks: Sequence[float] = ()


def panels(name: str, *shown: Panel) -> Path:
    """Panels side by side in one PNG."""
    plt = pyplot()
    figure, grid = plt.subplots(1, len(shown), figsize=(5.5 * len(shown), 4), dpi=100)
    for axes, panel in zip(grid if len(shown) > 1 else [grid], shown, strict=True):
        for label, (xs, ys) in panel.series.items():
            axes.plot(xs, ys, panel.styles.get(label, "-"), marker="o", label=label)
        for label, y in panel.marks.items():
            axes.axhline(y, color="grey", linestyle=":", linewidth=1)
            axes.annotate(
                label, (0.01, y), xycoords=("axes fraction", "data"), color="grey", fontsize=8
            )
        if panel.logx:
            axes.set_xscale("log")
        if panel.logy:
            axes.set_yscale("log")
            for formatter in (axes.yaxis.set_major_formatter, axes.yaxis.set_minor_formatter):
                formatter(_plain_log())  # 0.6 and 20, not 6x10^-1 and 2x10^1
        if panel.xticks:
            axes.set_xticks(list(panel.xticks), [f"{x:g}" for x in panel.xticks])
            axes.xaxis.set_minor_locator(plt.NullLocator())  # only the measured sizes
        axes.set(title=panel.title, xlabel=panel.xlabel, ylabel=panel.ylabel)
        axes.grid(True, which="both", alpha=0.3)
        axes.legend(fontsize=8)
    return save(plt, figure, name)


def _plain_log():
    """matplotlib's choice of log ticks to label, written as plain numbers."""
    from matplotlib.ticker import LogFormatter

    class Plain(LogFormatter):
        def _num_to_string(self, x, vmin, vmax):
            return f"{x:g}"

    return Plain(labelOnlyBase=False, minor_thresholds=(2, 1))


def save(plt, figure, name: str) -> Path:
    path = DOCS / name
    figure.tight_layout()
    figure.savefig(path, format="png")
    plt.close(figure)
    return path
