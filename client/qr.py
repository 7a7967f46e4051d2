"""QR codes of the client's links, as inline SVG (drawn here, nothing fetched): printed on the plan summary and
shown to staff beside the link."""

from __future__ import annotations

import html

import segno


def qr_svg(url: str, title: str) -> str:
    """The link as an SVG QR code with an accessible title (medium error correction survives a crumpled print)."""
    return str(segno.make(url, error="m").svg_inline(scale=4, title=html.escape(title), svgclass="qr", lineclass=None))
