"""Rendering untrusted text (documents, titles, file names, model output) safely."""

from __future__ import annotations

import re

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def md_escape(text: str) -> str:
    """Escape text for st.markdown so it shows literally: no links, HTML, headings or emphasis."""
    return _MD_SPECIAL.sub(r"\\\1", text).replace("\n", " ")


_HTML = re.compile(r"([<>])")
_IMAGE = re.compile(r"!(?=\[)")  # "![alt](url)" becomes the link "[alt](url)": nothing is fetched
_LINK_SCHEME = re.compile(r"\]\(\s*<?\s*(?!(?:https?|mailto):|#|/)([a-zA-Z][a-zA-Z0-9+.\-]*):", re.IGNORECASE)


def safe_markdown(text: str) -> str:
    """Markdown written by a person (campaign guidelines) for st.markdown: headings, lists, emphasis
    and links stay; raw HTML shows as text, images become links (no request to another server), and
    links other than http(s), mailto or within the page lose their link."""
    text = _HTML.sub(r"\\\1", text)
    text = _IMAGE.sub(r"\\!", text)
    return _LINK_SCHEME.sub(lambda m: "]\\(" + m.group(0)[2:], text)
