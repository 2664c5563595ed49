"""Hostile inputs built on the fly, shared by the tests and bench/hostile.py."""

from __future__ import annotations

import io
import zipfile

CONTENT_TYPES = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    b'<Default Extension="xml" ContentType="application/xml"/>'
    b'<Override PartName="/word/document.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
)
RELS = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    b'officeDocument" Target="word/document.xml"/></Relationships>'
)
W = b'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def docx_bytes(body: bytes, prolog: bytes = b"") -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", CONTENT_TYPES)
        z.writestr("_rels/.rels", RELS)
        z.writestr("word/document.xml", prolog + b"<w:document " + W + b"><w:body>" + body + b"</w:body></w:document>")
    return out.getvalue()


def docx_bomb(unpacked_mb: int) -> bytes:
    """A .docx whose document.xml inflates to about `unpacked_mb` MB of empty paragraphs (streamed: the
    bomb is never whole in memory here)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", CONTENT_TYPES)
        z.writestr("_rels/.rels", RELS)
        with z.open("word/document.xml", "w", force_zip64=True) as part:
            part.write(b"<w:document " + W + b"><w:body>")
            block = b"<w:p/>" * (1024 * 1024 // 6)
            for _ in range(unpacked_mb):
                part.write(block)
            part.write(b"</w:body></w:document>")
    return out.getvalue()


def docx_billion_laughs() -> bytes:
    prolog = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
    )
    return docx_bytes(b"<w:p><w:r><w:t>&lol2;</w:t></w:r></w:p>", prolog)


def docx_tiny_paragraphs(count: int = 680_000, seed: int = 1) -> bytes:
    """A .docx near the limits that is hardest on a tree parser: ~24 MB of XML in 680,000 two-letter
    paragraphs (2 MB of text, 1.6 MB stored; random letters, so it compresses like a real file)."""
    import random

    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    body = "".join(f"<w:p><w:r><w:t>{rng.choice(letters)}{rng.choice(letters)}</w:t></w:r></w:p>" for _ in range(count))
    return docx_bytes(body.encode())
