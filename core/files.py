"""Turning what a person pastes or uploads into document text, or a clear error.

Text is kept as given, except CRLF -> LF and other control characters removed (tab and newline stay),
each change recorded in a note; text with NUL is refused (a binary file, not a document). Titles and
file names are plain one-line text: control, bidi override and invisible characters removed, long ones
shortened (core.text.clean).
"""

from __future__ import annotations

import io
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from core.errors import InputError
from core.text.clean import clean_name, clean_text
from core.text.sizes import format_size, too_large

SUPPORTED_EXTENSIONS = (".txt", ".md", ".docx")
# Tried in this order; a file that fits none is refused, never decoded into mojibake.
TEXT_ENCODINGS = ("utf-8", "utf-16 (with BOM)")
MAX_TITLE_CHARS = 200
MAX_FILENAME_CHARS = 120


@dataclass(frozen=True)
class PreparedText:
    """Text ready to store, with notes on anything that was changed on the way in."""

    text: str
    notes: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class UploadedDocument:
    title: str
    filename: str
    text: str
    notes: tuple[str, ...] = field(default=())


def prepare_text(text: str, max_bytes: int) -> PreparedText:
    """Validate document text and normalise line endings. Raises InputError naming the problem."""
    if not isinstance(text, str):
        raise InputError("Document text must be a string.")
    if not text.strip():
        raise InputError("The document is empty (or only whitespace): paste or upload some text.")
    if "\x00" in text:
        raise InputError("The text contains NUL characters, which a text document never has: is it a binary file?")
    size = len(text.encode("utf-8", errors="surrogatepass"))
    if size > max_bytes:
        raise InputError(too_large("The document", size, max_bytes))
    notes: list[str] = []
    cleaned = clean_text(text)
    if cleaned.note:
        text = cleaned.text
        notes.append(cleaned.note)
    if "\r\n" in text:
        count = text.count("\r\n")
        text = text.replace("\r\n", "\n")
        notes.append(f"CRLF line endings normalised to LF ({count} lines).")
    return PreparedText(text=text, notes=tuple(notes))


def clean_title(title: str) -> str:
    """A title as plain one-line text (no control, bidi-override or invisible characters), shortened to
    MAX_TITLE_CHARS; never empty."""
    cleaned = clean_name(title or "", MAX_TITLE_CHARS)
    if not cleaned:
        raise InputError("A document needs a title (one with visible characters).")
    return cleaned


def safe_filename(name: str) -> tuple[str, list[str]]:
    """The base name of an uploaded file, cleaned for showing (control and bidi characters removed, long
    names shortened keeping the extension), with notes on what changed. The caller keeps the original."""
    notes: list[str] = []
    raw = name or ""
    base = PurePath(raw.replace("\\", "/")).name
    if base != raw:
        notes.append(f"The file name contained path separators; kept only {base!r}.")
    path = PurePath(base)
    suffix = path.suffix if len(path.suffix) <= 10 else ""
    stem = clean_name(base[: len(base) - len(suffix)] if suffix else base, MAX_FILENAME_CHARS - len(suffix))
    cleaned = stem + clean_name(suffix, 10) if stem else ""
    if not cleaned or cleaned in {".", ".."} or not stem.strip("."):
        raise InputError(f"The file name {raw!r} has no usable name in it: rename the file and try again.")
    if cleaned != base:
        notes.append(f"File name shown as {cleaned!r} (control or direction characters removed, or shortened).")
    return cleaned, notes


def decode_bytes(data: bytes, encoding: str | None = None) -> str:
    """Decode a text file. Without an explicit encoding, UTF-8 (with or without BOM) or BOM-marked UTF-16."""
    if encoding:
        try:
            return data.decode(encoding)
        except LookupError as exc:
            raise InputError(f"Unknown encoding {encoding!r}.") from exc
        except UnicodeDecodeError as exc:
            raise InputError(f"The file is not valid {encoding}: {exc.reason} at byte {exc.start}.") from exc
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise InputError(f"The file has a UTF-16 byte-order mark but is not valid UTF-16: {exc.reason}.") from exc
    if _looks_binary(data):
        raise InputError(
            "The file looks binary (it has NUL or many control bytes), not text: upload .txt, .md or .docx."
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        guess = _guess_encoding(data)
        hint = f" It looks like {guess}; choose that encoding and upload again." if guess else ""
        raise InputError(
            f"The file is not valid UTF-8 (byte {exc.start}: {exc.reason}). Tried: {', '.join(TEXT_ENCODINGS)}.{hint}"
        ) from exc


def _looks_binary(data: bytes) -> bool:
    sample = data[:8192]
    if b"\x00" in sample:
        return True
    controls = sum(1 for b in sample if b < 9 or 13 < b < 32)
    return bool(sample) and controls / len(sample) > 0.05


def _guess_encoding(data: bytes) -> str | None:
    from charset_normalizer import from_bytes

    best = from_bytes(data[:65536]).best()
    return best.encoding if best is not None else None


XML_BUDGET = 12  # XML parts may unpack to at most this many times the text limit, in all
MAX_XML_RATIO = 200  # Word's XML compresses ~5-20x; 200x and more is a zip bomb, not a document


def check_docx_zip(data: bytes, max_bytes: int) -> None:
    """Refuse a .docx whose zip declares more than it could need before anything is inflated: XML parts
    over XML_BUDGET x the text limit in all (markup is ~10x the text), any part compressed more than
    MAX_XML_RATIO : 1, other parts (images) over 4x the text limit, or XML with a DOCTYPE (entities
    are how XML bombs expand; Word never writes one). python-docx reads every part into memory, so
    this bounds its memory: the declared sizes are what zipfile will inflate at most."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        raise InputError(f"The .docx file is corrupt or not a Word document ({exc.__class__.__name__}).") from exc
    if len(members) > 2000:
        raise InputError(f"The .docx file holds {len(members)} parts; a Word document has far fewer.")
    xml = [m for m in members if m.filename.endswith((".xml", ".rels"))]
    xml_total = sum(m.file_size for m in xml)
    other_total = sum(m.file_size for m in members) - xml_total
    if xml_total > XML_BUDGET * max_bytes or other_total > 4 * max_bytes:
        raise InputError(
            f"The .docx file declares {format_size(xml_total + other_total)} when unpacked, more than a document "
            f"within the {format_size(max_bytes)} text limit needs; it was not opened. Split the document into "
            f"parts of at most {format_size(max_bytes)} of text."
        )
    for m in xml:
        if m.file_size > 1_000_000 and m.file_size > MAX_XML_RATIO * max(m.compress_size, 1):
            raise InputError(
                f"The .docx part {m.filename} would unpack {m.file_size // max(m.compress_size, 1)} times larger "
                "than it is stored: a zip bomb, not a Word document. It was not opened."
            )
        with archive.open(m) as part:
            prolog = part.read(2048)
        if b"<!DOCTYPE" in prolog.upper() or b"<!ENTITY" in prolog.upper():
            raise InputError(f"The .docx part {m.filename} declares a DOCTYPE or entities; Word never does.")


W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_OFFICE_DOCUMENT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"


def docx_text(data: bytes, max_bytes: int) -> str:
    """Paragraph text of a .docx, one paragraph per line, then tables row by row (cells joined by tabs).

    The zip is checked first (check_docx_zip); the document part is then parsed as a stream (lxml
    iterparse, entities never resolved, no network), each paragraph dropped once read, so memory stays
    flat whatever the markup: python-docx's whole-tree parse took over 500 MB on 24 MB of tiny paragraphs."""
    from lxml import etree

    check_docx_zip(data, max_bytes)
    archive = zipfile.ZipFile(io.BytesIO(data))
    part = _main_part(archive, etree)
    lines: list[str] = []
    rows: list[str] = []
    cells: list[str] = []
    cell: list[str] = []
    table_depth = 0
    try:
        with archive.open(part) as stream:
            events = etree.iterparse(
                stream, events=("start", "end"), resolve_entities=False, no_network=True, load_dtd=False
            )
            for event, el in events:
                tag = el.tag
                if event == "start":
                    table_depth += tag == W + "tbl"
                    continue
                if tag == W + "p":
                    text = _paragraph_text(el)
                    (cell if table_depth else lines).append(text)
                elif tag == W + "tc":
                    cells.append("\n".join(cell))
                    cell = []
                elif tag == W + "tr":
                    rows.append("\t".join(cells))
                    cells = []
                elif tag == W + "tbl":
                    table_depth -= 1
                else:
                    continue
                if not table_depth or tag == W + "tr":
                    el.clear()
                    while el.getprevious() is not None:
                        del el.getparent()[0]
    except (etree.XMLSyntaxError, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise InputError(f"The .docx file could not be read: {exc.__class__.__name__}: {exc}") from exc
    return "\n".join(lines + rows)


def _paragraph_text(p: Any) -> str:  # noqa: ANN401 - an lxml element
    """A paragraph's text as python-docx gives it: runs' text, tabs and breaks; deleted text left out."""
    out = []
    for el in p.iter(W + "t", W + "tab", W + "br", W + "cr"):
        if el.tag == W + "t":
            out.append(el.text or "")
        elif el.tag == W + "tab":
            out.append("\t")
        else:
            out.append("\n")
    return "".join(out)


def _main_part(archive: zipfile.ZipFile, etree: Any) -> str:  # noqa: ANN401 - the lxml.etree module
    """The document part the package's relationships name (word/document.xml in every Word file)."""
    try:
        with archive.open("_rels/.rels") as f:
            rels = etree.parse(f, etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False))
    except (KeyError, etree.XMLSyntaxError) as exc:
        raise InputError(f"The .docx file is corrupt or not a Word document ({exc.__class__.__name__}).") from exc
    for rel in rels.getroot():
        if rel.get("Type") == _OFFICE_DOCUMENT and rel.get("TargetMode") != "External":
            target = (rel.get("Target") or "").lstrip("/")
            if target in archive.namelist():
                return target
    raise InputError("The .docx file is corrupt or not a Word document (no main document part).")


def read_upload(name: str, data: bytes, max_bytes: int, encoding: str | None = None) -> UploadedDocument:
    """Text and title from an uploaded file. Raises InputError naming what is wrong."""
    filename, notes = safe_filename(name)
    suffix = PurePath(filename).suffix.lower()
    if suffix not in SUPPORTED_EXTENSIONS:
        raise InputError(
            f"{filename!r}: unsupported file type {suffix or '(none)'}; use {', '.join(SUPPORTED_EXTENSIONS)}."
        )
    if not data:
        raise InputError(f"{filename!r} is empty.")
    # Refuse before decoding: a huge upload should not be decoded only to be rejected.
    if len(data) > 4 * max_bytes:
        raise InputError(too_large(f"{filename!r}", len(data), max_bytes))
    try:
        raw = docx_text(data, max_bytes) if suffix == ".docx" else decode_bytes(data, encoding)
        prepared = prepare_text(raw, max_bytes)
    except InputError as exc:
        raise InputError(f"{filename!r}: {exc}") from exc
    title = unicodedata.normalize("NFC", PurePath(filename).stem) or filename
    # The record keeps the name as uploaded (minus any path and NUL); titles and listings show the clean one.
    original = clean_text(PurePath((name or "").replace("\\", "/")).name).text[:1000] or filename
    return UploadedDocument(
        title=clean_title(title), filename=original, text=prepared.text, notes=tuple(notes) + prepared.notes
    )
