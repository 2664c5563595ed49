"""People (admins only): who is here with which role in which project; invitations; project roles."""

from __future__ import annotations

import streamlit as st

from core.errors import RedraftError
from core.models import ROLES
from core.services import people, settings
from ui.state import actor, engine, flash, show_flashes
from ui.text import md_escape

st.title("People")
show_flashes()
eng = engine()
me = actor()
if not me.is_admin:  # app.py lists this page for admins only; a deep link gets this, and core refuses too
    st.error("Only an admin manages people and invitations.")
    st.stop()

projects = settings.project_names(eng, me)
everyone = people.list_people(eng, me)
st.dataframe(
    [
        {
            "Name": p.name,
            "Role": p.role,
            "Email": p.email or "",
            "Signs in by": p.signs_in_by,
            "Projects": ", ".join(f"{name}: {role}" for name, role in p.projects.items()),
        }
        for p in everyone
    ],
    hide_index=True,
)

st.subheader("Invite by email")
st.caption(
    "They join with this role in this project the first time they sign in with their identity provider "
    "(someone who has joined already gets the role now)."
)
with st.form("invite", clear_on_submit=True):
    email = st.text_input("Email", key="pp_email")
    c1, c2 = st.columns(2)
    role = c1.selectbox("Role", ROLES, index=ROLES.index("annotator"), key="pp_role")
    project_id = c2.selectbox("Project", list(projects), format_func=projects.get, key="pp_project")
    if st.form_submit_button("Invite", type="primary", icon=":material/person_add:"):
        try:
            row = people.invite(eng, me, email, role, project_id)
            flash(f"Invited {md_escape(row.email)} as {row.role}.")
            st.rerun()
        except RedraftError as exc:
            st.error(md_escape(str(exc)))

invitations = people.list_invitations(eng, me)
if invitations:
    st.subheader("Invitations")
    for inv in invitations:
        c1, c2 = st.columns([5, 1], vertical_alignment="center")
        state = f"joined {inv.accepted_at:%Y-%m-%d}" if inv.accepted_at else "not yet joined"
        c1.text(f"{inv.email} · {inv.role} in {inv.project or 'the default project'} · {state}")
        if c2.button("Remove", key=f"pp_uninvite_{inv.id}", icon=":material/close:"):
            people.remove_invitation(eng, me, inv.id)
            flash(f"Invitation for {md_escape(inv.email)} removed.")
            st.rerun()

st.subheader("Change a role in a project")
names = {p.id: p.name for p in everyone}
with st.form("project_role"):
    c1, c2, c3 = st.columns(3)
    user_id = c1.selectbox("Person", list(names), format_func=names.get, key="pp_user")
    role_project = c2.selectbox("Project", list(projects), format_func=projects.get, key="pp_role_project")
    new_role = c3.selectbox("Role", ROLES, key="pp_new_role")
    if st.form_submit_button("Save role", icon=":material/save:"):
        try:
            people.set_project_role(eng, me, user_id, role_project, new_role)
            flash(f"{md_escape(names[user_id])} is now {new_role} in {md_escape(projects[role_project])}.")
            st.rerun()
        except RedraftError as exc:
            st.error(md_escape(str(exc)))
