"""Documents: create by paste or upload; list, open, rename, delete; see versions."""

import streamlit as st

from core import documents
from core.config import load_settings
from core.db import session_scope
from core.errors import RedraftError
from core.files import SUPPORTED_EXTENSIONS
from ui.state import current_project_id, current_user_id, engine, flash, show_flashes

st.title("Documents")
show_flashes()
eng = engine()
user_id = current_user_id()
project_id = current_project_id()

paste_tab, upload_tab = st.tabs(["Paste text", "Upload files"])

with paste_tab:
    with st.form("paste_form", clear_on_submit=False, border=False):
        title = st.text_input("Title", key="paste_title", max_chars=200)
        text = st.text_area("Text", key="paste_text", height=220, placeholder="Paste the document to revise…")
        submitted = st.form_submit_button("Create document", type="primary", icon=":material/add:")
    if submitted:
        try:
            with session_scope(eng) as s:
                doc = documents.create_document(
                    s, title or "Untitled", text, project_id=project_id, user_id=user_id, origin="paste"
                )
                doc_id, doc_title = doc.id, doc.title
            st.session_state.document_id = doc_id
            flash(f"Created “{doc_title}”.")
            st.rerun()
        except RedraftError as exc:
            st.error(str(exc), icon=":material/error:")

with upload_tab:
    uploads = st.file_uploader(
        "Files", type=[e.lstrip(".") for e in SUPPORTED_EXTENSIONS], accept_multiple_files=True, key="uploads"
    )
    encoding = st.selectbox(
        "Text encoding",
        ["UTF-8 (default)", "cp1252", "latin-1", "utf-16", "shift_jis", "gb18030"],
        help="Text files are read as UTF-8. If a file is refused as not UTF-8, choose its encoding here.",
    )
    if st.button("Import", disabled=not uploads, icon=":material/upload:"):
        chosen = None if encoding.startswith("UTF-8") else encoding
        imported, errors = [], []
        for up in uploads or []:
            try:
                with session_scope(eng) as s:
                    doc = documents.import_file(
                        s, up.name, up.getvalue(), encoding=chosen, project_id=project_id, user_id=user_id
                    )
                    imported.append(doc.title)
            except RedraftError as exc:
                errors.append(str(exc))
        for message in errors:
            st.error(message, icon=":material/error:")
        if imported:
            flash(f"Imported {len(imported)} document(s).")
            if not errors:
                st.rerun()

st.divider()
st.subheader("Your documents")
with session_scope(eng) as s:
    rows = documents.list_documents(s, project_id=project_id)

if not rows:
    st.info("No documents yet: paste text or upload a file above.", icon=":material/info:")
    st.stop()

table = [
    {
        "ID": r.id,
        "Title": r.title,
        "File": r.source_filename or "",
        "Versions": r.versions,
        "Characters": r.characters,
        "Updated": r.updated_at,
    }
    for r in rows
]
selection = st.dataframe(
    table,
    key="doc_table",
    on_select="rerun",
    selection_mode="single-row",
    hide_index=True,
    column_config={"Updated": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm")},
)
picked = selection.selection.rows if selection else []
if picked:
    st.session_state.document_id = rows[picked[0]].id
current = next((r for r in rows if r.id == st.session_state.get("document_id")), None)
if current is None:
    st.caption("Select a document to open, rename or delete it.")
    st.stop()


@st.dialog("Delete document")
def confirm_delete(doc_id: int, doc_title: str) -> None:
    st.write("This deletes the document with all its versions, rounds and decisions. It cannot be undone.")
    st.text(doc_title)
    if st.button("Delete for good", type="primary", key="confirm_delete"):
        with session_scope(eng) as s:
            documents.delete_document(s, doc_id)
        st.session_state.pop("document_id", None)
        flash("Document deleted.")
        st.rerun()


with st.container(border=True):
    st.text(current.title)
    with st.container(horizontal=True, vertical_alignment="bottom"):
        new_title = st.text_input("Rename", value=current.title, key=f"rename_{current.id}", max_chars=200)
        if st.button("Save title", key="save_title"):
            try:
                with session_scope(eng) as s:
                    documents.rename_document(s, current.id, new_title)
                flash("Title saved.")
                st.rerun()
            except RedraftError as exc:
                st.error(str(exc))
        if st.button("Delete…", key="delete_doc", icon=":material/delete:"):
            confirm_delete(current.id, current.title)
        if st.button("Open in Revise", key="open_revise", type="primary", icon=":material/rate_review:"):
            st.switch_page("app_pages/revise.py")

    with session_scope(eng) as s:
        history = documents.versions(s, current.id)
        head = documents.get_document(s, current.id).head_version_id
    st.caption(f"{len(history)} version(s)")
    st.dataframe(
        [
            {
                "Version": v.id,
                "Created": v.created_at,
                "Origin": documents.describe_origin(v),
                "Characters": len(v.text),
                "Current": v.id == head,
                "Note": v.note or "",
            }
            for v in reversed(history)
        ],
        hide_index=True,
        key="versions_table",
        column_config={"Created": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss")},
    )
    head_text = next(v.text for v in history if v.id == head)
    with st.expander("Current text", expanded=False):
        st.text(head_text[:20000] + ("…" if len(head_text) > 20000 else ""))

st.caption(f"Limit: {load_settings().max_document_bytes / 1_000_000:.1f} MB of text per document.")
