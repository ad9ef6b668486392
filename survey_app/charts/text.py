"""User text in charts: Plotly reads a few HTML tags (and links) in titles, labels and hover
text, so every name, note or flag a chart shows is escaped to be shown as written."""

from __future__ import annotations

import html


def esc(text: object) -> str:
    """Return text with &, <, > escaped, and Plotly's template braces neutralised, so a note
    containing a link or markup shows as text."""
    return html.escape(str(text), quote=False).replace("%{", "%&#123;")
