"""Files a person downloads from a document: its current text (.txt, .md, .docx) and its edit log.

The edit log is core.data.export's decision log narrowed to one document (one row per decision, as
JSONL or CSV), so the columns match every other export.
"""

from __future__ import annotations

import io
import re
import unicodedata

from sqlmodel import Session

from core import documents
from core.data.export import log_bytes
from core.data.export_query import ExportFilters
from core.errors import InputError
from core.models import RoundStatus, ThreadStatus, id_of
from core.revision import review, threads

TEXT_FORMATS: dict[str, str] = {
    "txt": "text/plain",
    "md": "text/markdown",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
LOG_FORMATS: dict[str, str] = {"jsonl": "application/x-ndjson", "csv": "text/csv"}
# Characters XML 1.0 cannot hold (python-docx would refuse the whole document).
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_UNSAFE_NAME = re.compile(r"[^\w\- .]+", re.UNICODE)


def safe_filename(title: str, extension: str, fallback: str = "document") -> str:
    """A file name from an untrusted title: no path separators, control or shell characters."""
    name = unicodedata.normalize("NFKC", title or "")
    name = _UNSAFE_NAME.sub("_", name).strip(" ._")[:80].strip(" ._")
    return f"{name or fallback}.{extension}"


def docx_bytes(text: str, title: str | None = None) -> bytes:
    """The text as a Word document: one paragraph per line (blank lines kept)."""
    from docx import Document as DocxDocument  # python-docx, imported only when asked for

    doc = DocxDocument()
    if title:
        doc.core_properties.title = _XML_INVALID.sub("", title)[:255]
    for line in text.split("\n"):
        doc.add_paragraph(_XML_INVALID.sub("", line))
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def text_bytes(text: str, fmt: str, title: str | None = None) -> bytes:
    """`text` as a file of format txt, md or docx."""
    if fmt in ("txt", "md"):
        return text.encode("utf-8")
    if fmt == "docx":
        return docx_bytes(text, title)
    raise InputError(f"Unknown text format {fmt!r}; use {', '.join(TEXT_FORMATS)}.")


def current_text(session: Session, document_id: int, user_id: int) -> str:
    """The text as this person has it now: the head version, with the decisions of a round they are
    reviewing applied (what "Apply" would make)."""
    thread = threads.latest_thread(session, document_id, user_id)
    if thread is not None and thread.status == ThreadStatus.ACTIVE:
        rnd = threads.current_round(session, id_of(thread))
        if rnd is not None and rnd.status == RoundStatus.REVIEWING:
            return review.round_view(session, id_of(rnd), user_id).preview_text()
    return documents.head_version(session, document_id).text


def edit_log_bytes(session: Session, document_id: int, fmt: str, user_ids: tuple[int, ...] = ()) -> bytes:
    """Every decision on this document's edits (of `user_ids`, or all people), as JSONL or CSV."""
    if fmt not in LOG_FORMATS:
        raise InputError(f"Unknown log format {fmt!r}; use {', '.join(LOG_FORMATS)}.")
    documents.get_document(session, document_id)
    return log_bytes(session, ExportFilters(document_ids=(document_id,), user_ids=user_ids), fmt)
