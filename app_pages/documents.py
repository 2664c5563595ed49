"""Documents: create by paste or upload; list, open, rename, delete; see versions."""

import functools
import hashlib
import math

import pyarrow as pa
import streamlit as st

from core.access import Action
from core.errors import RedraftError
from core.files import SUPPORTED_EXTENSIONS
from core.services import documents, history
from ui import cached
from ui.lazy import when_open
from ui.pickers import DOC_PARAM
from ui.state import actor, current_project_id, engine, flash, show_flashes
from ui.text import md_escape

st.title("Documents")
show_flashes()
eng = engine()
me = actor()
project_id = current_project_id()

PAGE_SIZE = 100  # rows of the documents table drawn at a time
NEW_OPEN = "doc_new_open"  # the "New document" box is open
DUPLICATES = "_doc_duplicates"  # [(name, existing id, existing title)] not imported: already documents
UPLOAD_GEN = "_doc_upload_gen"  # a new uploader key after each import: it starts empty


def matching(listed: cached.DocumentList, wanted: str) -> list[int]:
    """Positions in the list of the documents whose title or file name holds `wanted` (any case)."""
    needle = wanted.strip().casefold()
    if not needle:
        return list(range(len(listed.rows)))
    return [
        k
        for k, r in enumerate(listed.rows)
        if needle in r.title.casefold() or needle in (r.source_filename or "").casefold()
    ]


def open_in_revise(doc_id: int) -> None:
    st.session_state.document_id = doc_id
    st.switch_page("app_pages/revise.py", query_params={DOC_PARAM: str(doc_id)})


def show_duplicates() -> None:
    """Texts that were not imported because a document already has them, each with a way to open it."""
    for n, (name, existing_id, existing_title) in enumerate(st.session_state.get(DUPLICATES, [])):
        with st.container(horizontal=True, vertical_alignment="center"):
            st.warning(
                f"Not imported: “{md_escape(name)}” has the same text as “{md_escape(existing_title)}” "
                f"(#{existing_id}).",
                icon=":material/content_copy:",
            )
            if st.button("Open it", key=f"dup_open_{n}_{existing_id}", icon=":material/rate_review:"):
                st.session_state.pop(DUPLICATES, None)
                open_in_revise(existing_id)


def paste_text() -> None:
    """A title and a text: a new document (a duplicate text is named, and can be created anyway)."""
    with st.form("paste_form", clear_on_submit=False, border=False):
        title = st.text_input("Title", key="paste_title", max_chars=200)
        text = st.text_area("Text", key="paste_text", height=220, placeholder="Paste the document to revise…")
        submitted = st.form_submit_button("Create document", type="primary", icon=":material/add:")
    anyway = st.session_state.get("_paste_duplicate") == (title, text) and st.button(
        "Create it anyway", key="paste_anyway", icon=":material/add:"
    )
    if submitted or anyway:
        st.session_state.pop(DUPLICATES, None)
        try:
            doc = documents.create_document(eng, me, project_id, title, text, allow_duplicate=bool(anyway))
            st.session_state.pop("_paste_duplicate", None)
            st.session_state.document_id = doc.id
            st.session_state.pop("doc_page", None)  # the new document heads the list
            flash(f"Created “{md_escape(doc.title)}”.")
            st.rerun()
        except documents.DuplicateDocumentError as exc:
            dup = exc.duplicate
            st.session_state[DUPLICATES] = [(dup.name, dup.existing.id, dup.existing.title)]
            st.session_state._paste_duplicate = (title, text)
            st.rerun()
        except RedraftError as exc:
            st.error(md_escape(str(exc)), icon=":material/error:")
    if st.session_state.get("_paste_duplicate") is not None and st.session_state._paste_duplicate != (title, text):
        st.session_state.pop("_paste_duplicate", None)


def upload_files() -> None:
    """.txt, .md and .docx files: one document each; the uploader starts empty after an import."""
    gen = st.session_state.setdefault(UPLOAD_GEN, 0)
    uploads = st.file_uploader(
        "Files",
        type=[e.lstrip(".") for e in SUPPORTED_EXTENSIONS],
        accept_multiple_files=True,
        key=f"uploads_{gen}",
    )
    encoding = st.selectbox(
        "Text encoding",
        ["UTF-8 (default)", "cp1252", "latin-1", "utf-16", "shift_jis", "gb18030"],
        help="Text files are read as UTF-8. If a file is refused as not UTF-8, choose its encoding here.",
    )
    if st.button("Import", disabled=not uploads, icon=":material/upload:"):
        chosen = None if encoding.startswith("UTF-8") else encoding
        result = documents.import_files(eng, me, project_id, [(up.name, up.getvalue()) for up in uploads or []], chosen)
        for message in result.errors:
            flash(md_escape(message), "error")
        if result.imported:
            flash(f"Imported {len(result.imported)} document(s).")
            st.session_state.document_id = result.imported[-1].id
            st.session_state.pop("doc_page", None)
        st.session_state[DUPLICATES] = [(d.name, d.existing.id, d.existing.title) for d in result.duplicates]
        st.session_state[UPLOAD_GEN] = gen + 1  # the uploader starts empty: the next Import is the next files
        st.rerun()


listed = cached.document_list(eng, me, project_id)
rows = listed.rows

if documents.may_create(me, project_id):  # annotators judge the documents they are given (core checks too)
    # Drawn only while open (the page opens at once); open to begin with while there is no document,
    # then as the writer leaves it (its parameters stay the same: a changed one would make a new box).
    st.session_state.setdefault(NEW_OPEN, not rows)
    new_box = st.expander("New document", key=NEW_OPEN, on_change="rerun", icon=":material/add:")
    if new_box.open:
        with new_box:
            st.caption(f"Limit: {documents.max_document_size()} of text per document.")
            # A key keeps the chosen tab across reruns (a message appearing above must not flip it back).
            # The paste form is always drawn (a form's unsent text lives only in the browser: drawing it
            # again would lose a draft); the uploader only while its tab is open.
            paste_tab, upload_tab = st.tabs(["Paste text", "Upload files"], key="doc_tabs", on_change="rerun")
            with paste_tab:
                paste_text()
            if upload_tab.open:
                with upload_tab:
                    upload_files()

show_duplicates()

st.subheader("Your documents")

if not rows:
    st.info("No documents yet: paste text or upload a file above.", icon=":material/info:")
    st.stop()

# The selection is the document (its id), not the row: renaming re-sorts the list, deleting shifts it.
all_ids = [r.id for r in rows]
if st.session_state.get("document_id") not in all_ids:
    st.session_state.pop("document_id", None)
selected = st.session_state.get("document_id")

# A page of the list at a time, with a search over every document: a table of thousands of rows is slow
# to draw (and to send) on every visit. A list that fits one page has the table's own search.
wanted, page, matches = "", 1, list(range(len(rows)))
if len(rows) > PAGE_SIZE:
    with st.container(horizontal=True, vertical_alignment="bottom"):
        wanted = st.text_input(
            "Find a document",
            key="doc_find",
            placeholder="Part of a title or file name",
            on_change=lambda: st.session_state.pop("doc_page", None),
        )
        matches = matching(listed, wanted)
        pages = max(1, math.ceil(len(matches) / PAGE_SIZE))
        if pages > 1:
            page = int(st.number_input("Page", min_value=1, max_value=pages, step=1, key="doc_page", width=140))
first = (page - 1) * PAGE_SIZE
shown = matches[first : first + PAGE_SIZE]
current = next((r for r in rows if r.id == selected), None)
hint = "" if current else " Select a document to open, rename or delete it."
if len(rows) > PAGE_SIZE:
    st.caption(
        f"{first + 1 if shown else 0:,}–{first + len(shown):,} of {len(matches):,} document(s)"
        + (f" matching “{md_escape(wanted)}”" if wanted else "")
        + f" · {len(rows):,} in all, most recently changed first."
        + hint
    )
elif hint:
    st.caption(hint.strip())
ids = [rows[k].id for k in shown]


def _pick_row(table_key: str, shown_ids: tuple[int, ...]) -> None:
    """The row picked in the table as it was drawn (`shown_ids`): its document becomes the selection."""
    picked_rows = st.session_state[table_key].selection.rows
    if picked_rows:
        st.session_state.document_id = shown_ids[picked_rows[0]]
    else:
        st.session_state.pop("document_id", None)


# A new table (key) whenever the rows shown change, its highlighted row set to the selected document.
order_sig = hashlib.sha1(",".join(map(str, ids)).encode()).hexdigest()[:12]
table_key = f"doc_table_{order_sig}"
st.dataframe(
    listed.table.take(pa.array(shown, pa.int64())),  # typed: an empty page is an empty table
    key=table_key,
    on_select=functools.partial(_pick_row, table_key, tuple(ids)),
    selection_mode="single-row",
    selection_default={"selection": {"rows": [ids.index(selected)]}} if selected in ids else None,
    hide_index=True,
    column_config={"Updated": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm")},
)
if current is None:
    st.stop()


@st.dialog("Delete document")
def confirm_delete(doc_id: int, doc_title: str) -> None:
    st.text(doc_title)
    try:
        impact = documents.deletion_impact(eng, me, doc_id)
    except RedraftError as exc:
        st.error(md_escape(str(exc)))
        return
    st.write("The document leaves every list and page. Its versions and decisions are kept for exports.")
    if impact.others_decisions:
        st.warning(
            f"{impact.others_decisions} decision(s) of {impact.others_people} other person(s) are on it: "
            "they will no longer see their work here.",
            icon=":material/group:",
        )
    if st.button("Delete", type="primary", key="confirm_delete"):
        try:
            documents.delete_document(eng, me, doc_id)
            flash("Document deleted.")
        except RedraftError as exc:
            flash(md_escape(str(exc)), "error")
        st.session_state.pop("document_id", None)
        st.rerun()


with st.container(border=True):
    st.text(current.title)
    st.caption(f"Document #{current.id} · created {current.created_at:%Y-%m-%d %H:%M}")
    with st.container(horizontal=True, vertical_alignment="bottom"):
        # Rename and delete: the owner (while they may create documents here) or an admin; core checks too.
        if documents.may(me, Action.DOCUMENT_RENAME, current, project_id):
            new_title = st.text_input("Rename", value=current.title, key=f"rename_{current.id}", max_chars=200)
            if st.button("Save title", key="save_title"):
                try:
                    documents.rename_document(eng, me, current.id, new_title)
                    flash("Title saved.")
                    st.rerun()
                except RedraftError as exc:
                    st.error(md_escape(str(exc)))
        if documents.may(me, Action.DOCUMENT_DELETE, current, project_id) and st.button(
            "Delete…", key="delete_doc", icon=":material/delete:"
        ):
            confirm_delete(current.id, current.title)
        if st.button("Open in Revise", key="open_revise", type="primary", icon=":material/rate_review:"):
            open_in_revise(current.id)

        st.page_link(
            "app_pages/history.py",
            label="History",
            icon=":material/history:",
            query_params={DOC_PARAM: str(current.id)},
        )

    # every version is on the History page; here, how many and the current text (read once opened)
    st.caption(f"{current.versions:,} version(s) · the current text has {current.characters:,} characters")

    def current_text() -> None:
        head_text = history.version_history(eng, me, current.id).head_text
        st.text(head_text[:20000] + ("…" if len(head_text) > 20000 else ""))

    when_open(st.expander("Current text", key="doc_current_text", on_change="rerun"), current_text)
