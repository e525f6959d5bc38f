"""A small weekly-mentions bar chart as PNG bytes (matplotlib, run off the event loop).

Drawn for both Discord themes: a transparent background, labels and ticks in a mid grey
that reads on the dark (#313338) and the light (#FFFFFF) theme, and bars in Discord's
blurple. Nothing to draw (no weeks, or every week zero) gives no chart at all."""

from __future__ import annotations

import io
from datetime import date

INK = "#949BA4"  # Discord's muted text colour: readable on both themes
BARS = "#5865F2"  # Discord blurple
GRID = "#949BA4"


def has_data(weekly: list[tuple[date, int]]) -> bool:
    return any(count > 0 for _, count in weekly)


def weekly_chart(title: str, weekly: list[tuple[date, int]]) -> bytes | None:
    """The chart, or None when there is nothing to draw (the caller attaches nothing)."""
    if not has_data(weekly):
        return None
    # Imported here: matplotlib costs memory and start-up time that only charts need.
    import matplotlib

    matplotlib.use("Agg")  # no display
    import matplotlib.pyplot as plt

    labels = [f"{d:%d %b}" for d, _ in weekly]
    counts = [n for _, n in weekly]
    fig, ax = plt.subplots(figsize=(6, 2.2), dpi=100)
    try:
        fig.patch.set_alpha(0.0)
        ax.set_facecolor("none")
        ax.bar(range(len(counts)), counts, color=BARS)
        ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=7)
        ax.set_title(title, fontsize=9, color=INK)
        ax.set_ylabel("articles", fontsize=8, color=INK)
        ax.tick_params(colors=INK, labelcolor=INK)
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.grid(axis="y", color=GRID, alpha=0.25, linewidth=0.6)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        for side in ("left", "bottom"):
            ax.spines[side].set_color(INK)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", transparent=True)
        return buffer.getvalue()
    finally:
        plt.close(fig)
