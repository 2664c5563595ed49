"""History: every version of a document with its origin, a diff of any two, restore an old one."""

from __future__ import annotations

import streamlit as st

from core.errors import RedraftError
from core.services import history
from ui.diff_view import diff_view
from ui.lazy import when_open
from ui.pickers import document_picker, linked_round, unlink_round, write_url
from ui.state import actor, engine, flash, show_flashes
from ui.text import md_escape

st.title("History")
show_flashes()
eng = engine()
me = actor()

doc_id, _ = document_picker(eng, "history_doc")

linked = linked_round()  # `&round=ID`: show the version that round made, against its base
found = history.version_history(eng, me, doc_id)
versions, head_id, origin, by_id = found.versions, found.head_id, found.origins, found.by_id
made = next((v for v in versions if linked is not None and v.round_id == linked), None)
if linked is not None and made is None:
    st.caption(f"Round #{linked} made no version of this document (not applied, or not this document).")
write_url(doc=doc_id, round=linked if made is not None else None)


def label(version_id: int) -> str:
    v = by_id[version_id]
    current = " · current" if version_id == head_id else ""
    return f"{found.label(version_id)} · {origin[v.id]} · {v.created_at:%Y-%m-%d %H:%M}{current}"


st.dataframe(
    [
        {
            "Version": found.label(v.id),
            "Created": v.created_at,
            "Origin": origin[v.id],
            "Parent": found.label(v.parent_id) if v.parent_id in by_id else "",
            "Characters": len(v.text),
            "Current": v.id == head_id,
            "Note": v.note or "",
        }
        for v in reversed(versions)
    ],
    hide_index=True,
    key="history_versions",
    column_config={"Created": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss")},
)

st.subheader("Compare two versions")
ids_newest_first = [v.id for v in reversed(versions)]
if len(versions) < 2:
    st.caption("There is only one version so far: revise the document to make more.")
else:
    head = by_id[head_id] if head_id in by_id else versions[-1]
    default_old = head.parent_id if head.parent_id in by_id else ids_newest_first[1]
    default_new = head.id
    if made is not None and made.parent_id in by_id:
        default_old, default_new = made.parent_id, made.id
    marker = (doc_id, head.id, linked)
    if st.session_state.get("_history_pair_for") != marker:
        st.session_state._history_pair_for = marker
        st.session_state.history_old = default_old
        st.session_state.history_new = default_new

    def _pair_changed() -> None:
        unlink_round()  # the pair shown is no longer that round's
        st.session_state._history_pair_for = (doc_id, head.id, None)

    with st.container(horizontal=True, vertical_alignment="bottom"):
        old_id = st.selectbox("From", ids_newest_first, format_func=label, key="history_old", on_change=_pair_changed)
        new_id = st.selectbox("To", ids_newest_first, format_func=label, key="history_new", on_change=_pair_changed)
    if old_id == new_id:
        st.caption("Pick two different versions to see what changed.")
    else:
        summary = diff_view(by_id[old_id].text, by_id[new_id].text, key=f"diff_{old_id}_{new_id}")
        if summary.changes == 0:
            st.caption("The two versions have the same text.")

older = [i for i in ids_newest_first if i != head_id]


def restore() -> None:
    with st.container(horizontal=True, vertical_alignment="bottom"):
        chosen = st.selectbox("Version to restore", older, format_func=label, key="history_restore")
        if st.button("Restore as the current version", icon=":material/restore:", key="history_restore_btn"):
            try:
                history.restore_version(eng, me, doc_id, chosen)
                flash(f"Version {found.label(chosen)} restored as the new current version; nothing was deleted.")
                st.rerun()
            except RedraftError as exc:
                st.error(md_escape(str(exc)), icon=":material/error:")
    st.caption("Restoring never rewrites history: the old text becomes a new version on top.")


if not found.may_restore:  # it moves everyone's head: the document's owner or an admin (core checks too)
    st.caption("Only the document's owner or an admin restores an old version.")
elif not older:
    st.caption("Nothing to restore: this is the only version.")
else:  # drawn once opened: the page opens at once
    when_open(
        st.expander(
            "Restore an earlier version", key="history_restore_open", on_change="rerun", icon=":material/restore:"
        ),
        restore,
    )
