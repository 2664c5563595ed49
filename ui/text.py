"""Rendering untrusted text (documents, titles, file names, model output) safely."""

from __future__ import annotations

import re

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def md_escape(text: str) -> str:
    """Escape text for st.markdown so it shows literally: no links, HTML, headings or emphasis."""
    return _MD_SPECIAL.sub(r"\\\1", text).replace("\n", " ")
