"""ui.text.safe_markdown: guidelines keep their Markdown; HTML, images and script links become inert.

The output is checked with markdown-it (CommonMark, as Streamlit's renderer parses it), so a
test fails if anything would still parse as HTML, an image, or a javascript: link.
"""

from __future__ import annotations

import pytest
from markdown_it import MarkdownIt

from ui.text import safe_markdown

MD = MarkdownIt("commonmark", {"html": True})  # HTML on: the worst case a renderer could allow


def tokens(text: str) -> list[str]:
    out = []
    for block in MD.parse(safe_markdown(text)):
        out.append(block.type)
        out.extend(child.type for child in block.children or [])
    return out


def rendered(text: str) -> str:
    return MD.render(safe_markdown(text))


def test_markdown_stays_markdown() -> None:
    html = rendered("# Rules\n\n- **accept** real fixes\n- see [the guide](https://example.org/guide)\n")
    assert "<h1>Rules</h1>" in html and "<strong>accept</strong>" in html
    assert '<a href="https://example.org/guide">the guide</a>' in html


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        "<img src=http://127.0.0.1:9/x.png onerror=alert(1)>",
        '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
        "<style>body{display:none}</style>",
        "text <b onmouseover=alert(1)>bold</b>",
    ],
)
def test_html_shows_as_text(hostile: str) -> None:
    kinds = tokens(hostile)
    assert "html_block" not in kinds and "html_inline" not in kinds
    html = rendered(hostile)
    assert "<script" not in html and "<img" not in html and "<iframe" not in html and "<style" not in html
    assert "&lt;" in html  # shown, not dropped: the person sees what was written


@pytest.mark.parametrize(
    "image",
    ["![tracker](http://127.0.0.1:9/pixel.png)", "![t][r]\n\n[r]: http://127.0.0.1:9/p.png", "!![x](http://a/b.png)"],
)
def test_images_become_links_and_nothing_is_fetched(image: str) -> None:
    assert "image" not in tokens(image)
    assert "<img" not in rendered(image)


@pytest.mark.parametrize("link", ["[x](javascript:alert(1))", "[x]( JavaScript:alert(1))", "[x](data:text/html,hi)"])
def test_script_and_data_links_lose_their_link(link: str) -> None:
    html = rendered(link)
    assert "<a " not in html


def test_page_and_mail_links_stay() -> None:
    html = rendered("[top](#rules) and [mail](mailto:a@b.org)")
    assert '<a href="#rules">' in html and '<a href="mailto:a@b.org">' in html
