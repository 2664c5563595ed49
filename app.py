"""Redraft: human-in-the-loop iterative text revision. Run with `streamlit run app.py`."""

import streamlit as st

from core.services import campaign_views
from ui.signin import signed_in_user, who_caption
from ui.state import actor, begin_run, engine

st.set_page_config(page_title="Redraft", page_icon=":material/edit_note:", layout="wide")

begin_run()
engine()  # open (and migrate) the database before any page runs
signed_in_user()  # local mode: the local admin; password / OIDC: the sign-in page until signed in
who_caption()

PAGES = [
    st.Page("app_pages/documents.py", title="Documents", icon=":material/description:", default=True),
    st.Page("app_pages/revise.py", title="Revise", icon=":material/rate_review:"),
    st.Page("app_pages/history.py", title="History", icon=":material/history:"),
    st.Page("app_pages/export.py", title="Export", icon=":material/download:"),
    st.Page("app_pages/models.py", title="Models", icon=":material/model_training:"),
    st.Page("app_pages/analytics.py", title="Analytics", icon=":material/monitoring:"),
    st.Page("app_pages/learning.py", title="Learning", icon=":material/school:"),
]
if actor().is_admin:  # people and invitations: admins only (the service checks too)
    PAGES.append(st.Page("app_pages/people.py", title="People", icon=":material/group:"))
# Annotation campaigns: each page for the people the policy lets use it (core.services.campaign_views).
_campaign_access = campaign_views.page_access(engine(), actor())
if _campaign_access.runs:
    PAGES.append(st.Page("app_pages/campaigns.py", title="Campaigns", icon=":material/groups:"))
if _campaign_access.annotates:
    PAGES.append(st.Page("app_pages/annotate.py", title="Annotate", icon=":material/fact_check:"))

st.navigation(PAGES).run()
