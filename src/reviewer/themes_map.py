"""themes.png: a 2-D map of a draft's reviewed papers, coloured by theme and labelled with their keys.

The coordinates are the draft's ``points`` (a projection of the paper embeddings, computed by the review
chain). Readable at a glance: labels never overlap (the most central papers of each theme are labelled, where
there is room), the legend under the plot names every theme in full, and the plot fills the picture. The picture is deterministic: a fixed size and resolution, matplotlib's default style whatever the
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
_LEGEND_CHARS = 80


def colour(theme_id: int) -> str:
    """The colour of a theme, by id."""
    return COLOURS[theme_id % len(COLOURS)]


def skip_reason(draft: "Draft") -> str | None:
    """Why the draft gets no map (None: it gets one)."""
    if len(draft.points) < MIN_POINTS:
        return f"no theme map: it needs at least {MIN_POINTS} reviewed papers with coordinates"
    return None


def alt_text(draft: "Draft") -> str:
    """What themes.png shows, in words (review.md's alt text for it)."""
    counts = {theme.id: sum(1 for k in theme.keys if k in draft.points) for theme in draft.themes}
    themes = "; ".join(f"{theme.name} ({counts[theme.id]})" for theme in draft.themes if counts[theme.id])
    return (f"Theme map of the {len(draft.points)} reviewed papers on {_one_line(draft.topic)}: each point is a "
            f"paper, nearby points are similar papers, colours are the {len(draft.themes)} themes"
            + (f" ({themes})" if themes else "") + "; the most central papers of each theme are labelled")


def render_png(draft: "Draft") -> bytes | None:
    """The theme map as PNG bytes, or None when the draft has fewer than two mapped papers."""
    if skip_reason(draft):
        return None
    with _style():
        figure, _ = draw(draft)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _style():
    from matplotlib import style

    return style.context("default")


def draw(draft: "Draft"):
    """(the matplotlib Figure of the map, the key labels drawn on it). Labels never overlap one another or leave
    the plot: each theme's most central papers are labelled first (at most :data:`LABELS_PER_THEME`), each
    label takes the first free place around its point, and a label with no free place is left out. The legend,
    with the themes' full names, sits under the plot, inside the picture."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=SIZE_INCHES, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)  # a renderer to measure the labels with
    axes = figure.subplots()
    theme_of = {key: theme for theme in draft.themes for key in theme.keys}
    groups = [(theme.name, colour(theme.id), [k for k in theme.keys if k in draft.points]) for theme in draft.themes]
    unthemed = sorted(k for k in draft.points if k not in theme_of)
    if unthemed:
        groups.append(("(no theme)", UNTHEMED, unthemed))
    for name, fill, keys in groups:
        if not keys:
            continue
        xs, ys = zip(*(draft.points[k] for k in keys))
        axes.scatter(xs, ys, s=36, color=fill, edgecolors="white", linewidths=0.5, label=_label(name, len(keys)),
                     zorder=2)
    axes.set_title(_plain(excerpt(f"Themes: {draft.topic}", 90)), fontsize=10)
    axes.set_xlabel("2-D projection of the paper embeddings (nearby papers are similar)", fontsize=8)
    axes.set_xticks([])
    axes.set_yticks([])
    axes.margins(0.08)
    shown = [g for g in groups if g[2]]
    figure.legend(loc="outside lower center", ncols=1 if len(shown) <= 3 else 2, fontsize=7, frameon=False)
    figure.canvas.draw()  # lay out the figure: label places are checked in display coordinates
    # Most central first, theme by theme in turn, so every theme gets its first label before any gets a second.
    ranked = [keys[:LABELS_PER_THEME] for _, _, keys in groups]
    order = [row[i] for i in range(LABELS_PER_THEME) for row in ranked if i < len(row)]
    return figure, _place_labels(figure, axes, draft, order)


LABELS_PER_THEME = 3
# Where a label may go around its point, in points (dx, dy) and alignment, first choice first.
_PLACES = ((4, 4, "left", "bottom"), (4, -4, "left", "top"), (-4, 4, "right", "bottom"), (-4, -4, "right", "top"),
           (0, 7, "center", "bottom"), (0, -7, "center", "top"))


def _place_labels(figure, axes, draft: "Draft", keys: list[str]) -> list:
    renderer = figure.canvas.get_renderer()
    frame = axes.get_window_extent(renderer)
    points = [axes.transData.transform(draft.points[k]) for k in draft.points]
    placed, boxes = [], []
    for key in keys:
        for dx, dy, ha, va in _PLACES:
            label = axes.annotate(_plain(key), draft.points[key], xytext=(dx, dy), textcoords="offset points",
                                  fontsize=6, color="#333333", ha=ha, va=va, zorder=3)
            box = label.get_window_extent(renderer).expanded(1.05, 1.1)
            inside = frame.contains(box.x0, box.y0) and frame.contains(box.x1, box.y1)
            covers_point = any(box.contains(x, y) for x, y in points)
            if inside and not covers_point and not any(box.overlaps(other) for other in boxes):
                placed.append(label)
                boxes.append(box)
                break
            label.remove()
    return placed


def _one_line(text: str) -> str:
    return " ".join(str(text).split())
def _label(name: str, count: int) -> str:
    return _plain(f"{excerpt(name, _LEGEND_CHARS)} ({count})")


def _plain(text: str) -> str:
    """Text matplotlib draws as is (a ``$`` would start mathtext)."""
    return text.replace("$", r"\$")
