"""The report's page: sections of plotly figures and notes, rendered as one self-contained HTML file.

The page embeds plotly's script once and every figure as JSON, so it opens offline. Colours are the Okabe-Ito
palette (safe for the common colour-vision deficiencies); every figure has a title, axis titles with units and a
caption that states its key number. No Typer or rich here.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field

#: Okabe-Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
#: Every figure's layout defaults: the toolbar upright at the right, the legend (when a figure has one) in a row
#: above the plot, clear of the title and the toolbar.
LAYOUT = {
    "template": "plotly_white",
    "modebar": {"orientation": "v"},
    "height": 380,
    "margin": {"l": 70, "r": 40, "t": 80, "b": 60},
    "legend": {"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom"},
}


@dataclass
class Page:
    """Sections of figures and notes, rendered once at the end."""

    sections: list[tuple[str, list[str]]] = field(default_factory=list)
    figures: int = 0

    def section(self, title: str) -> list[str]:
        """A new section (its anchor is its title in lower case: #data, #model, #policy, #daemon-config)."""
        parts: list[str] = []
        self.sections.append((title, parts))
        return parts

    def figure(self, parts: list[str], fig: dict, caption: str) -> None:
        self.figures += 1
        div = f"fig{self.figures}"
        spec = json.dumps({"data": fig["data"], "layout": {**LAYOUT, **fig["layout"]}}, default=float)
        # inside <script>: no "</script>" (or any markup) from the data (an app's name) can end it
        spec = spec.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        parts.append(
            f'<figure><div id="{div}" class="plot"></div><figcaption>{html.escape(caption)}</figcaption></figure>'
            f'<script>plots.push(Plotly.newPlot("{div}", ...(s => [s.data, s.layout, {{responsive: true, '
            f"displaylogo: false}}])({spec})));</script>"
        )

    @staticmethod
    def note(parts: list[str], text: str) -> None:
        """What is missing and what to run to get it."""
        parts.append(f'<p class="missing">{html.escape(text)}</p>')

    @staticmethod
    def text(parts: list[str], text: str, pre: bool = False) -> None:
        """A paragraph, or preformatted text (a YAML file) when `pre`."""
        parts.append(f"<pre>{html.escape(text)}</pre>" if pre else f"<p>{html.escape(text)}</p>")


def line_trace(x: list, y: list, name: str, colour: str) -> dict:
    """A named line over time."""
    return {"type": "scatter", "mode": "lines", "x": x, "y": y, "name": name, "line": {"color": colour}}


def axes(title: str, x: str, y: str) -> dict:
    return {"title": {"text": title}, "xaxis": {"title": {"text": x}}, "yaxis": {"title": {"text": y}}}


STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:1200px;margin:auto;padding:1em;color:#222}"
    "figure{margin:1.5em 0}.plot{min-height:360px}figcaption{font-size:.95em;color:#333}"
    ".missing{background:#fff4e0;padding:.6em;border-left:4px solid #E69F00}h2{border-bottom:1px solid #ccc}"
    "pre{background:#f6f6f6;padding:.8em;overflow-x:auto;font-size:.9em}"
)


#: The page checks itself: every figure's promise resolved (`data-rendered` on <body> counts them) or the first
#: script error (`data-render-error`), so a browser, or a test driving one, can tell a finished page from a broken one.
WATCH = (
    "<script>const plots = []; window.addEventListener('error', e => "
    "document.body.setAttribute('data-render-error', String(e.message)));</script>"
)
DONE = (
    "<script>Promise.all(plots).then(p => document.body.setAttribute('data-rendered', String(p.length)))"
    ".catch(e => document.body.setAttribute('data-render-error', String(e)));</script>"
)


def render(page: Page, title: str) -> str:
    from plotly.offline import get_plotlyjs

    body = "".join(
        f'<section id="{anchor(t)}"><h2>{html.escape(t)}</h2>{"".join(parts)}</section>' for t, parts in page.sections
    )
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{STYLE}</style><script>{get_plotlyjs()}</script>{WATCH}</head><body><h1>{html.escape(title)}</h1>"
        f"{body}{DONE}</body></html>"
    )


def anchor(title: str) -> str:
    """A section's id: its title in lower case, words joined by '-'."""
    return "-".join(title.lower().split())
