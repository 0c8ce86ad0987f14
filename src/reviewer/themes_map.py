"""themes.png: a 2-D map of a draft's reviewed papers, coloured by theme and labelled with their keys.

The coordinates are the draft's ``points`` (a projection of the paper embeddings, computed by the review
chain). The picture is deterministic: a fixed size and resolution, matplotlib's default style whatever the
user's matplotlibrc says, and no software/date metadata in the PNG, so the same draft gives the same bytes.
matplotlib is imported only here, when a picture is drawn.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from reviewer.text import excerpt

if TYPE_CHECKING:  # pragma: no cover
    from reviewer.draft import Draft

SIZE_INCHES = (9.0, 6.5)
DPI = 150
MIN_POINTS = 2
# One colour per theme id (matplotlib's tab10, then two more), the same in every run.
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf", "#393b79", "#637939")
UNTHEMED = "#b0b0b0"
_LEGEND_CHARS = 40


def colour(theme_id: int) -> str:
    """The colour of a theme, by id."""
    return COLOURS[theme_id % len(COLOURS)]


def skip_reason(draft: "Draft") -> str | None:
    """Why the draft gets no map (None: it gets one)."""
    if len(draft.points) < MIN_POINTS:
        return f"no theme map: it needs at least {MIN_POINTS} reviewed papers with coordinates"
    return None


def render_png(draft: "Draft") -> bytes | None:
    """The theme map as PNG bytes, or None when the draft has fewer than two mapped papers."""
    if skip_reason(draft):
        return None
    from matplotlib import style
    from matplotlib.figure import Figure

    with style.context("default"):
        figure = Figure(figsize=SIZE_INCHES, dpi=DPI)
        axes = figure.subplots()
        _draw(axes, draft)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _draw(axes, draft: "Draft") -> None:
    theme_of = {key: theme for theme in draft.themes for key in theme.keys}
    groups = [(theme.name, colour(theme.id), [k for k in theme.keys if k in draft.points]) for theme in draft.themes]
    unthemed = sorted(k for k in draft.points if k not in theme_of)
    if unthemed:
        groups.append(("(no theme)", UNTHEMED, unthemed))
    for name, fill, keys in groups:
        if not keys:
            continue
        xs, ys = zip(*(draft.points[k] for k in keys))
        axes.scatter(xs, ys, s=36, color=fill, edgecolors="white", linewidths=0.5, label=_label(name, len(keys)))
    for key in sorted(draft.points):
        x, y = draft.points[key]
        axes.annotate(_plain(key), (x, y), xytext=(3, 3), textcoords="offset points", fontsize=6, color="#333333")
    axes.set_title(_plain(excerpt(f"Themes: {draft.topic}", 90)), fontsize=10)
    axes.set_xlabel("2-D projection of the paper embeddings (nearby papers are similar)", fontsize=8)
    axes.set_xticks([])
    axes.set_yticks([])
    axes.margins(0.08)
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False, borderaxespad=0.0)


def _label(name: str, count: int) -> str:
    return _plain(f"{excerpt(name, _LEGEND_CHARS)} ({count})")


def _plain(text: str) -> str:
    """Text matplotlib draws as is (a ``$`` would start mathtext)."""
    return text.replace("$", r"\$")
