"""Files people look at: loss plots and a self-contained HTML report (image grids, JSON and
Markdown tables are written by :mod:`gancraft.core.reports`)."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any



def plot_losses(records: Sequence[dict[str, float]], path: Path, keys: Sequence[str] | None = None) -> Path | None:
    """Loss curves from a run's log records (``logs/metrics.jsonl``) as a PNG (None when there are none)."""
    if not records:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    skip = ("step", "time", "steps_per_s")
    keys = list(keys or [k for k in records[0] if k not in skip and not k.startswith("lr_")])
    fig, ax = plt.subplots(figsize=(8, 4), dpi=100)
    steps = [r["step"] for r in records]
    for key in keys:
        ax.plot(steps, [r.get(key, math.nan) for r in records], label=key)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend(ncol=4, fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def html_table(header: Sequence[str] | None, rows: Sequence[Sequence[Any]]) -> str:
    """An HTML table; ``header=None`` for a key/value table without a heading row."""
    head = "<thead><tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in header) + "</tr></thead>" if header else ""
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table>{head}<tbody>{body}</tbody></table>"


_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; color: #222; padding: 0 1em; }
table { border-collapse: collapse; margin: 1em 0; font-size: 14px; }
th, td { border: 1px solid #ccc; padding: 4px 10px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
img { max-width: 100%; image-rendering: pixelated; border: 1px solid #ddd; }
.pass { color: #0a0; font-weight: bold; } .fail { color: #c00; font-weight: bold; }
figcaption { color: #555; font-size: 13px; margin-bottom: 1.5em; }
"""


def write_html(path: Path, title: str, sections: Sequence[tuple[str, str]]) -> Path:
    """A standalone page; ``sections`` are (heading, HTML body) pairs; images are relative links."""
    parts = [f"<h2>{html.escape(h)}</h2>\n{body}" for h, body in sections]
    page = f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>{''.join(parts)}</body></html>"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page)
    return path


def figure(src: str, caption: str) -> str:
    return f"<figure><img src='{html.escape(src)}' alt='{html.escape(caption)}'><figcaption>{html.escape(caption)}</figcaption></figure>"
