"""An executed notebook as one self-contained HTML page: narrative and outputs, never code.

Written here rather than with nbconvert because the report must open offline (nbconvert's
templates link MathJax and require.js from a CDN) and because nbconvert's import alone costs
about as much as the rest of a status run. Markdown cells keep the pilot's narrative; code cells
contribute only their outputs (HTML, images, Markdown, text, errors); the machine-readable
summary output is left out.
"""

from __future__ import annotations

import html
import re
from typing import Any

from markdown_it import MarkdownIt

from .headless import SUMMARY_MIME

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_RICH_ORDER = ("text/html", "image/png", "image/svg+xml", "text/markdown", "text/plain")
_STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 70em; padding: 0 1em; color: #1f2328; line-height: 1.45; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
th, td { border: 1px solid #d0d7de; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
pre { background: #f6f8fa; padding: 8px; overflow-x: auto; font-size: 0.85em; }
pre.error { background: #fdecea; border-left: 6px solid #c62828; white-space: pre-wrap; }
code { background: #f6f8fa; padding: 0 3px; }
section.cell { margin: 0.6em 0; }
"""


def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": True}).enable("table")


def render_output(output: dict[str, Any], markdown: MarkdownIt) -> str:
    """One output in its richest form this page can show."""
    kind = output.get("output_type")
    if kind == "stream":
        return f"<pre>{html.escape(''.join(output.get('text', '')))}</pre>"
    if kind == "error":
        trace = _ANSI.sub("", "\n".join(output.get("traceback", [])))
        text = trace or f"{output.get('ename')}: {output.get('evalue')}"
        return f'<pre class="error">{html.escape(text)}</pre>'
    data = output.get("data", {})
    if SUMMARY_MIME in data:
        return ""
    for mime in _RICH_ORDER:
        if mime not in data:
            continue
        value = data[mime]
        text = "".join(value) if isinstance(value, list) else str(value)
        if mime == "text/html":
            return text
        if mime == "image/png":
            return f'<img alt="figure" src="data:image/png;base64,{text.strip()}">'
        if mime == "image/svg+xml":
            return text
        if mime == "text/markdown":
            return markdown.render(text)
        return f"<pre>{html.escape(text)}</pre>"
    return ""


def render(notebook: dict[str, Any], title: str) -> str:
    """The whole page for an executed notebook (as nbformat's JSON structure)."""
    markdown = _markdown()
    parts = []
    for cell in notebook.get("cells", []):
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        if cell.get("cell_type") == "markdown":
            parts.append(markdown.render(source))
        elif cell.get("cell_type") == "code":
            parts.extend(render_output(output, markdown) for output in cell.get("outputs", []))
    body = "\n".join(f'<section class="cell">{part}</section>' for part in parts if part)
    return page(title, body)


def page(title: str, body: str) -> str:
    """A complete, self-contained HTML page (inline style, no external resources)."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body>\n{body}\n</body></html>\n"
    )
