"""A small weekly-mentions bar chart as PNG bytes (matplotlib, run off the event loop)."""

from __future__ import annotations

import io
from datetime import date


def weekly_chart(title: str, weekly: list[tuple[date, int]]) -> bytes:
    # Imported here: matplotlib costs memory and start-up time that only charts need.
    import matplotlib

    matplotlib.use("Agg")  # no display
    import matplotlib.pyplot as plt

    labels = [f"{d:%d %b}" for d, _ in weekly]
    counts = [n for _, n in weekly]
    fig, ax = plt.subplots(figsize=(6, 2.2), dpi=100)
    try:
        ax.bar(range(len(counts)), counts, color="#1f8a8a")
        ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=7)
        ax.set_title(title, fontsize=9)
        ax.set_ylabel("articles", fontsize=8)
        ax.yaxis.get_major_locator().set_params(integer=True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(fig)
