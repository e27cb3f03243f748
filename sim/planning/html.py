"""Small HTML pieces of the decision brief: escaped text, numbers, money, tables, images."""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Sequence
from typing import Any

__all__ = ["esc", "html_table", "image", "money", "number", "percent"]


def esc(value: Any) -> str:
    """``value`` as HTML-escaped text."""
    return html.escape(str(value))


def number(value: Any, digits: int = 3) -> str:
    """A number for a table: '-' when absent, thousands separators from 1,000."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.{digits}f}"
    return esc(value)


def html_table(header: Sequence[str], rows: Sequence[Sequence[str]], text_columns: int = 1) -> str:
    """An HTML table; the first ``text_columns`` columns are left-aligned text."""

    def cell(tag: str, index: int, content: str) -> str:
        kind = ' class="text"' if index < text_columns else ""
        return f"<{tag}{kind}>{content}</{tag}>"

    head = "".join(cell("th", i, esc(h)) for i, h in enumerate(header))
    body = "".join(
        "<tr>" + "".join(cell("td", i, c) for i, c in enumerate(row)) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def image(png: bytes, alt: str) -> str:
    """A PNG embedded as a data URI (the brief fetches nothing)."""
    data = base64.b64encode(png).decode("ascii")
    return f'<p><img alt="{esc(alt)}" src="data:image/png;base64,{data}"></p>'


def money(value: Any) -> str:
    """A sum of money: whole units with thousands separators, '-' when absent."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{float(value):,.0f}"


def percent(share: float) -> str:
    """A share in 0-1 as a whole percentage."""
    return f"{100 * share:.0f} %"
