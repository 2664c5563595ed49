"""Documents: create by paste or upload; list, open, rename, delete; see versions."""

import streamlit as st

from core.errors import RedraftError
from core.files import SUPPORTED_EXTENSIONS
from core.services import documents, history
from ui.state import actor, current_project_id, engine, flash, show_flashes
from ui.text import md_escape

st.title("Documents")
show_flashes()
eng = engine()
me = actor()
project_id = current_project_id()

paste_tab, upload_tab = st.tabs(["Paste text", "Upload files"])

with paste_tab:
    with st.form("paste_form", clear_on_submit=False, border=False):
        title = st.text_input("Title", key="paste_title", max_chars=200)
        text = st.text_area("Text", key="paste_text", height=220, placeholder="Paste the document to revise…")
        submitted = st.form_submit_button("Create document", type="primary", icon=":material/add:")
    if submitted:
        try:
            doc = documents.create_document(eng, me, project_id, title, text)
            st.session_state.document_id = doc.id
            flash(f"Created “{md_escape(doc.title)}”.")
            st.rerun()
        except RedraftError as exc:
            st.error(md_escape(str(exc)), icon=":material/error:")

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
        result = documents.import_files(eng, me, project_id, [(up.name, up.getvalue()) for up in uploads or []], chosen)
        for message in result.errors:
            st.error(md_escape(message), icon=":material/error:")
        if result.imported:
            flash(f"Imported {len(result.imported)} document(s).")
            if not result.errors:
                st.rerun()

st.divider()
st.subheader("Your documents")
rows = documents.list_documents(eng, me, project_id)

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
        try:
            documents.delete_document(eng, me, doc_id)
            flash("Document deleted.")
        except RedraftError as exc:
            flash(md_escape(str(exc)), "error")
        st.session_state.pop("document_id", None)
        st.rerun()


with st.container(border=True):
    st.text(current.title)
    with st.container(horizontal=True, vertical_alignment="bottom"):
        new_title = st.text_input("Rename", value=current.title, key=f"rename_{current.id}", max_chars=200)
        if st.button("Save title", key="save_title"):
            try:
                documents.rename_document(eng, me, current.id, new_title)
                flash("Title saved.")
                st.rerun()
            except RedraftError as exc:
                st.error(md_escape(str(exc)))
        if st.button("Delete…", key="delete_doc", icon=":material/delete:"):
            confirm_delete(current.id, current.title)
        if st.button("Open in Revise", key="open_revise", type="primary", icon=":material/rate_review:"):
            st.switch_page("app_pages/revise.py")

    versions = history.version_history(eng, me, current.id)
    head = versions.head_id
    st.caption(f"{len(versions.versions)} version(s)")
    st.dataframe(
        [
            {
                "Version": v.id,
                "Created": v.created_at,
                "Origin": versions.origins[v.id],
                "Characters": len(v.text),
                "Current": v.id == head,
                "Note": v.note or "",
            }
            for v in reversed(versions.versions)
        ],
        hide_index=True,
        key="versions_table",
        column_config={"Created": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss")},
    )
    head_text = versions.head_text
    with st.expander("Current text", expanded=False):
        st.text(head_text[:20000] + ("…" if len(head_text) > 20000 else ""))

st.caption(f"Limit: {documents.max_document_bytes() / 1_000_000:.1f} MB of text per document.")
